"""What defines a toy WGAN run: the table of Lipschitz methods and :class:`WGANConfig`.

A run minimises over the generator g and maximises over a critic f held (approximately)
1-Lipschitz by one of the methods of :mod:`lipbook.constraints`:

    min_g max_{f ∈ 1-Lip}  E_{x~P_r} f(x) − E_{z~p(z)} f(g(z))     (Arjovsky et al., 2017, eq. 3)

Every method-dependent choice in the package reads :data:`METHOD_TABLE`, one frozen
:class:`Method` record per method: the hyperparameter only it uses, its penalty, whether it
clips, normalizes spectrally or normalizes by the gradient, whether the explicit gradient
engine of :mod:`lipbook.backprop` supports it, and the playground's control for it. Nothing
else tests ``method`` by its name.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from . import toy
from .checks import (
    ArgumentTypeError,
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_real,
)
from .device import check_device
from .losses import LOSSES
from .nets import ACTIVATIONS, layer_dims

__all__ = ["Method", "Control", "METHOD_TABLE", "METHODS", "WGANConfig", "ENGINES",
           "SWEEPABLE", "HYPERPARAMETER", "USED_BY"]


@dataclass(frozen=True)
class Control:
    """The playground's slider for a method: the config field it sets, the symbol shown, its
    range (log10 bounds for ``kind="log"``, integer bounds for ``"int"``)."""

    field: str
    symbol: str
    bounds: tuple
    kind: str  # log | int


@dataclass(frozen=True)
class Method:
    """One way to hold the critic Lipschitz, as the trainer, sweeps, plots and playground see it."""

    name: str
    paper: str
    hyperparameter: str | None  # the config field only this method uses (its slider's), if any
    control: Control
    penalty: str | None = None  # "two_sided" (λ(‖∇f‖ − 1)², GP) | "one_sided" (λ max(0, ‖∇f‖ − 1)², LP)
    clips: bool = False  # every critic parameter into [−c, c] after each critic step
    spectral: bool = False  # W/σ̂(W) per layer, σ̂ by persistent power iteration
    normalizer: str | None = None  # "gn" | "gran": the critic used is f̂ (lipbook.constraints)
    explicit: bool = False  # lipbook.backprop's engine supports it (GN/GraN need autograd's f̂)


_LR = Control("lr", "lr", (-5.0, -1.0), "log")  # methods without a hyperparameter of their own
METHOD_TABLE = {m.name: m for m in (
    Method("none", "no constraint", None, _LR, explicit=True),
    Method("clip", "weight clipping (Arjovsky et al., 2017)", "c",
           Control("c", "c", (-3.0, 0.0), "log"), clips=True, explicit=True),
    Method("gp", "gradient penalty (Gulrajani et al., 2017)", "lam",
           Control("lam", "λ", (-3.0, 3.0), "log"), penalty="two_sided", explicit=True),
    Method("lp", "Lipschitz penalty (Petzka et al., 2018)", "lam",
           Control("lam", "λ", (-3.0, 3.0), "log"), penalty="one_sided", explicit=True),
    Method("sn", "spectral normalization (Miyato et al., 2018)", "n_power_iterations",
           Control("n_power_iterations", "power iterations", (1, 10), "int"), spectral=True,
           explicit=True),
    Method("gn", "gradient normalization (Wu et al., 2021)", None, _LR, normalizer="gn"),
    Method("gran", "piecewise gradient normalization (Bhaskara et al., 2022)", "eps",
           Control("eps", "ε", (-4.0, 1.0), "log"), normalizer="gran"),
)}
METHODS = tuple(METHOD_TABLE)
HYPERPARAMETER = {m.name: m.hyperparameter for m in METHOD_TABLE.values() if m.hyperparameter}
# the methods each method-specific field changes (tau: GraN's scale, beside its ε)
USED_BY = {**{h: tuple(m for m, g in HYPERPARAMETER.items() if g == h)
              for h in HYPERPARAMETER.values()}, "tau": ("gran",)}
SWEEPABLE = ("c", "lam", "eps", "tau", "n_power_iterations", "seed", "lr")
OPTIMIZERS = ("adam", "rmsprop")
ENGINES = ("auto", "autograd", "explicit")
CRITIC_ONLY_NOISE = 1.0  # σ of the fixed "generator" x_r + N(0, σ²I) (WGAN-GP, Fig. 1)


@dataclass(frozen=True)
class WGANConfig:
    """Everything that defines a toy WGAN run. Frozen: derive variants with
    ``dataclasses.replace(config, lam=1.0)``. Invalid values raise ``ValueError`` at creation.
    The defaults (WGAN-GP on ``8gaussians``, Adam 1e-3 decayed linearly to 0 over ``steps``,
    λ = 0.1) and how they were chosen: README, "The trainer's defaults".

    >>> cfg = WGANConfig(method="clip", c=0.05)
    >>> cfg.hyperparameter, cfg.spec.clips
    ('c', True)
    >>> WGANConfig(lam=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: lam must be a finite number >= 0, got -1.0
    """

    method: str = "gp"  # none | clip | gp | lp | sn | gn | gran (METHOD_TABLE)
    c: float = 0.01  # clip: weights into [−c, c]
    lam: float = 0.1  # gp / lp: penalty weight λ (the toy code's 0.1; the paper's 10)
    eps: float = 1e-2  # gran: ε in f‖∇f‖ / (‖∇f‖² + ε)
    n_power_iterations: int = 1  # sn: power steps per training-mode forward
    dataset: str = "8gaussians"
    hidden: int = 128  # width of critic and generator
    depth: int = 3  # hidden layers (depth + 1 Linear layers)
    activation: str = "relu"  # the critic's; the generator always uses ReLU
    orthogonal: bool = False  # critic weights orthonormalized by Björck (Anil et al., 2019)
    steps: int = 1000  # generator iterations (the lr schedule decays over them)
    critic_steps: int = 5
    batch: int = 256
    optimizer: str = "adam"  # adam | rmsprop
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.9)
    critic_only: bool = False  # generator fixed at x_r + N(0, I) (WGAN-GP Fig. 1 setting)
    seed: int = 0
    device: str | None = None  # None -> lipbook.get_device()
    # Added to the contract's fields:
    z_dim: int = 2  # generator noise dimension (the toy code's 2)
    init: str = "he"  # he | uniform_c (critic weights U[−c, c], for the clipping chapter)
    eval_every: int = 50  # generator iterations between evaluations (and callbacks)
    eval_samples: int = 512  # held-out points per side for exact W1 and TrainResult.samples
    dtype: str = "float32"  # float32 | float64
    lr_schedule: str = "linear"  # linear (decay to 0 at `steps`, as WGAN-GP's CIFAR runs) | constant
    loss: str = "wasserstein"  # wasserstein | hinge | ns (lipbook.losses), for every method
    tau: float = 1.0  # gran: f̂/τ, so f̂ is piecewise (1/τ)-Lipschitz (GraN-GAN's K = 1/τ)
    engine: str = "auto"  # auto | autograd | explicit (lipbook.backprop): how gradients are taken

    def __post_init__(self):
        # Checked and normalised to plain Python values (a NumPy integer seed becomes an int),
        # so that equal settings compare and print alike. Frozen: hence object.__setattr__.
        def put(name, value):
            object.__setattr__(self, name, value)

        check_choice("method", self.method, METHODS)
        put("c", check_positive("c", self.c))
        put("lam", check_nonnegative("lam", self.lam))
        put("eps", check_positive("eps", self.eps))
        put("n_power_iterations", check_positive_int("n_power_iterations", self.n_power_iterations))
        check_choice("dataset", self.dataset, toy.DATASETS)
        put("hidden", check_positive_int("hidden", self.hidden))
        put("depth", check_int("depth", self.depth, low=0))
        check_choice("activation", self.activation, ACTIVATIONS)
        put("orthogonal", check_bool("orthogonal", self.orthogonal))
        put("critic_only", check_bool("critic_only", self.critic_only))
        for name in ("steps", "critic_steps", "batch", "z_dim", "eval_every", "eval_samples"):
            put(name, check_positive_int(name, getattr(self, name)))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        put("lr", check_positive("lr", self.lr))
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2) in [0, 1), got {self.betas!r}")
        betas = tuple(check_real(f"betas[{i}]", b, low=0.0, low_inclusive=True)
                      for i, b in enumerate(self.betas))
        for i, b in enumerate(betas):
            if b >= 1:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {b}")
        put("betas", betas)
        put("seed", check_int("seed", self.seed, low=0))
        check_choice("init", self.init, ("he", "uniform_c"))
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_choice("lr_schedule", self.lr_schedule, ("constant", "linear"))
        check_choice("loss", self.loss, LOSSES)
        put("tau", check_positive("tau", self.tau))
        check_choice("engine", self.engine, ENGINES)
        if self.engine == "explicit" and self._explicit_unsupported():
            raise ValueError(f"engine='explicit' cannot train this config: "
                             f"{self._explicit_unsupported()}; use engine='auto' or 'autograd'")
        if self.device is not None:  # why: here, not deep inside torch at the first tensor
            put("device", str(check_device("device", self.device)))
        for name in ("c", "lam", "eps", "lr", "tau"):  # values the run's dtype cannot hold
            held = torch.tensor(getattr(self, name), dtype=getattr(torch, self.dtype)).item()
            if not math.isfinite(held) or (held == 0) != (getattr(self, name) == 0):
                raise ValueError(f"{name}={getattr(self, name)!r} is not representable in "
                                 f"{self.dtype} (it becomes {held!r}): choose a value within "
                                 f"{torch.finfo(getattr(torch, self.dtype)).tiny:.3g} to "
                                 f"{torch.finfo(getattr(torch, self.dtype)).max:.3g}")

    @property
    def spec(self) -> Method:
        """This config's :class:`Method` record."""
        return METHOD_TABLE[self.method]

    @property
    def hyperparameter(self) -> str:
        """The name of this method's main hyperparameter (the one its slider moves)."""
        return self.spec.hyperparameter or "seed"

    @property
    def explicit(self) -> bool:
        """Whether the run takes its gradients by :mod:`lipbook.backprop` (``engine="explicit"``,
        or ``"auto"`` where that engine supports the config) rather than by autograd."""
        return self.engine != "autograd" and not self._explicit_unsupported()

    def _explicit_unsupported(self) -> str:
        """Why the explicit engine cannot train this config ("" when it can)."""
        if not self.spec.explicit:
            return f"method={self.method!r} differentiates the normalized critic by autograd"
        if self.activation not in ("relu", "leaky_relu"):
            return f"activation={self.activation!r} is not piecewise linear"
        if self.depth == 0:
            return "depth=0 (a linear critic)"
        if self.loss != "wasserstein":  # why: its output gradients are the constant ±1/B
            return f"loss={self.loss!r} (the engine's output gradients are WGAN's ±1/B)"
        return ""


def check_sweep(config: WGANConfig, name: str, values, names: Sequence[str]) -> list:
    """The checks ``sweep`` and ``sweep_seeds`` share; returns ``values`` as a non-empty list.
    A sweep over a hyperparameter that ``config.method`` ignores would train identical members:
    it is refused, naming the methods that use it."""
    if not isinstance(config, WGANConfig):
        raise ArgumentTypeError(f"config must be a WGANConfig, got {type(config).__name__}")
    check_choice("name", name, names)
    users = USED_BY.get(name, ())  # () for seed and lr: every method
    if users and config.method not in users and not (name == "c" and config.init == "uniform_c"):
        extra = " (or any method with init='uniform_c')" if name == "c" else ""
        raise ValueError(f"name={name!r} changes nothing for method={config.method!r}: {name} is "
                         f"used by {', '.join(users)}{extra}; the members would be identical")
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ArgumentTypeError(f"values must be a sequence of values, got {values!r}")
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value")
    return values


def warn_if_degenerate(configs: Sequence[WGANConfig]) -> None:
    """Warn (once per call) about a clipping box so small that the critic cannot vary.

    With every weight and bias in [−c, c], |f(x) − f(y)| ≤ Π_l c·√(m_l n_l) · ‖x − y‖ (the
    bound of erratum 8), while |f| itself is about c (the last bias). When the slope bound is
    below one rounding step of c (the dtype's machine epsilon times c), the float critic is
    constant over distances of order 1: it cannot tell real from fake points."""
    for cfg in configs:
        if not cfg.spec.clips:
            continue
        slope = math.prod(cfg.c * math.sqrt(i * o)
                          for i, o in layer_dims(2, 1, cfg.hidden, cfg.depth))
        resolution = torch.finfo(getattr(torch, cfg.dtype)).eps * cfg.c
        if slope < resolution:
            warnings.warn(
                f"c={cfg.c:g} makes the clipped critic's slope at most {slope:.3g}, below one "
                f"{cfg.dtype} rounding step of its output (about {resolution:.3g}): the critic "
                f"is constant up to rounding and cannot tell points apart; choose a larger c",
                UserWarning, stacklevel=3)
            return


def swept_field(configs: Sequence[WGANConfig]) -> str | None:
    """The first field of :data:`SWEEPABLE` whose value differs between ``configs``, if any."""
    for name in SWEEPABLE:
        if len({getattr(c, name) for c in configs}) > 1:
            return name
    return None


def describe_member(configs: Sequence[WGANConfig], k: int) -> str:
    """"name=value" of the setting that tells member k apart from the others."""
    name = swept_field(configs)
    return f"{name}={getattr(configs[k], name)}" if name else "identical settings"
