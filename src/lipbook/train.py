"""The toy WGAN trainer: K settings of one hyperparameter trained at once, on CPU or GPU.

WGAN (Arjovsky et al., 2017) trains a critic f and a generator g on

    min_g max_{f ∈ 1-Lip}  E_{x~P_r} f(x) − E_{z~p(z)} f(g(z)),

approximating "f ∈ 1-Lip" with one of the methods of :mod:`lipbook.constraints`. Each generator
iteration takes ``critic_steps`` critic updates on L_D = E f(x_g) − E f(x_r) (+ penalty), then
one generator update on L_G = −E f(g(z)) (Gulrajani et al., 2017, Algorithm 1). ``loss="hinge"``
or ``"ns"`` replaces L_D and L_G by the losses of :mod:`lipbook.losses` (the ones the GN-GAN and
GraN-GAN papers train with); the constraint methods are the same.

One code path. The networks are :class:`lipbook.nets.BatchedMLP` with a leading dimension K:
:func:`sweep` trains K settings (values of c, λ, ε, the power-iteration count, the seed or the
learning rate) with batched matmuls, and :func:`train` is ``sweep`` with K = 1. Members share
every random draw when they share a seed, so ``sweep`` and K separate ``train`` runs agree to
rounding (tested to 1e-6 in float64). Where it departs from the textbook loop, for speed:

- one critic forward on the concatenated batch [x_r; x_g] instead of two (and, for GP/LP, one
  on x̂ that reuses the same normalized weights), so a spectrally normalized critic takes one
  power step per critic update (plus one in the generator step), where separate ``D(real)``,
  ``D(fake)`` calls would take two; the double backpropagation of the penalty runs over the
  B interpolates only, not the whole concatenated batch;
- for ReLU and LeakyReLU critics with none, clip, GP, LP or SN, no autograd in the loop: the
  explicit passes of :mod:`lipbook.backprop` give the critic loss with its penalty in one
  forward and one backward recursion over the 3B rows [x_r; x_g; x̂], and the generator
  step's input gradient, in buffers allocated once (autograd's gradients to rounding; SN's
  W/σ̂ and Björck's orthonormalization are still differentiated by autograd). GN, GraN and
  the smooth or sorting activations take the autograd path;
- fused Adam, foreach RMSprop; evaluation (exact W1 by POT) on fixed held-out sets, every
  ``eval_every`` iterations, from its own random stream so it never changes the training run.

Defaults (``WGANConfig()``): WGAN-GP on ``8gaussians`` at width 128 — see the tuning note in
:class:`WGANConfig`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from . import toy
from .backprop import MLPBackprop
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
from .constraints import (
    GradientNormalized,
    _power_uv,
    gn_transform,
    gran_transform,
    input_gradient_norm,
    penalty_term,
)
from .device import check_device, get_device
from .losses import LOSSES, critic_loss, generator_loss
from .nets import LEAKY_SLOPE, BatchedMLP, bjorck
from .wasserstein import exact_w1

METHODS = ("none", "clip", "gp", "lp", "sn", "gn", "gran")
EXPLICIT_METHODS = ("none", "clip", "gp", "lp", "sn")  # by lipbook.backprop for ReLU critics
SWEEPABLE = ("c", "lam", "eps", "tau", "n_power_iterations", "seed", "lr")
OPTIMIZERS = ("adam", "rmsprop")
HYPERPARAMETER = {"clip": "c", "gp": "lam", "lp": "lam", "gran": "eps", "sn": "n_power_iterations"}
# the methods each method-specific field changes (tau: GraN's scale, beside its ε)
USED_BY = {**{h: tuple(m for m, g in HYPERPARAMETER.items() if g == h)
              for h in HYPERPARAMETER.values()}, "tau": ("gran",)}
CRITIC_ONLY_NOISE = 1.0  # σ of the fixed "generator" x_r + N(0, σ²I) (WGAN-GP, Fig. 1)
BJORCK_ITERS = 20  # Björck steps per forward for orthogonal=True (Anil et al. use 15-20)
SN_WARMUP = 15  # power steps at initialisation, as torch.nn.utils.parametrizations


@dataclass(frozen=True)
class WGANConfig:
    """Everything that defines a toy WGAN run. Frozen: derive variants with
    ``dataclasses.replace(config, lam=1.0)``. Invalid values raise ``ValueError`` at creation.

    Tuning of the defaults (WGAN-GP on ``8gaussians``, width 128, batch 256, 5 critic steps,
    seeds 0-2; "8/8" means ``toy.mode_coverage(samples, "8gaussians")``, radius 0.1, 1 % share;
    W1 is the exact W1 between 512 generated and 512 target points, whose noise floor — W1
    between two target samples of that size — is ≈ 0.1):

    - the reference settings (Adam 1e-4, β = (0.5, 0.9), width 128) need thousands of
      generator iterations;
    - Adam 1e-3, λ = 0.1 (the toy code's λ), constant lr: 8/8 first reached after 550-700
      iterations, but coverage flickers (6-8/8) and W1 plateaus at 0.14-0.22 after 1,500;
    - Adam 5e-4, or λ = 1 with β₁ = 0: no better; λ = 10 with lr 1e-3: no progress at all
      in 600 iterations (W1 ≈ 1.2; Chapter 4 discusses λ);
    - Adam 1e-3, λ = 0.1, lr decayed linearly to 0 over 1,000 iterations (chosen): 8/8 for all
      three seeds, W1 = 0.17, 0.13, 0.12 at the end (re-measured after the explicit
      backpropagation of :mod:`lipbook.backprop`, on another CPU: 8/8, 0.17, 0.14, 0.11).

    The decay ties the learning rate to ``steps``: a shorter budget decays faster.
    """

    method: str = "gp"  # none | clip | gp | lp | sn | gn | gran
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
        from .nets import ACTIVATIONS  # local: keeps the import list above short
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
    def hyperparameter(self) -> str:
        """The name of this method's main hyperparameter (the one its slider moves)."""
        return HYPERPARAMETER.get(self.method, "seed")


class TrainingDiverged(RuntimeError):
    """A loss or a weight became NaN or infinite. The message says at which generator iteration,
    for which member of a sweep, and what usually fixes it."""


@dataclass
class TrainResult:
    """One trained member. ``critic`` maps ``[B, 2] -> [B, 1]`` (the constrained critic as
    trained: W/σ̂ baked in for SN, Björck-orthonormalized weights for ``orthogonal``, wrapped in
    :class:`~lipbook.constraints.GradientNormalized` for GN/GraN); ``generator`` maps
    ``[B, z_dim] -> [B, 2]``; ``samples`` are its outputs on the held-out noise
    (``eval_samples`` points; for ``critic_only`` the fixed noisy set)."""

    config: WGANConfig
    history: dict[str, list[float]]
    critic: nn.Module
    generator: nn.Module
    samples: torch.Tensor
    seconds: float = 0.0


HISTORY_KEYS = ("step", "critic_loss", "generator_loss", "dual_w1", "exact_w1",
                "grad_norm_mean", "seconds")


@dataclass
class Progress:
    """What a ``callback`` receives every ``eval_every`` iterations: the step reached and a way
    to take a member's current state out as a :class:`TrainResult` (``progress.result(k)``)."""

    step: int
    steps: int
    seconds: float
    _run: _Run = field(repr=False)

    def result(self, k: int = 0) -> TrainResult:
        return self._run.result(k)


class _Run:
    """The state of K members trained together (internal; use :func:`train` / :func:`sweep`)."""

    def __init__(self, configs: Sequence[WGANConfig]):
        base = configs[0]
        self.configs = list(configs)
        self.cfg = base
        self.K = K = len(configs)
        self.device = torch.device(base.device) if base.device is not None else get_device()
        self.dtype = getattr(torch, base.dtype)
        if self.dtype == torch.float64 and self.device.type == "mps":
            raise ValueError("dtype='float64' needs device='cpu' or 'cuda': Apple's MPS has no "
                             "float64")
        dev, dt = self.device, self.dtype
        col = lambda name: torch.tensor(  # noqa: E731 - per-member hyperparameter, [K, 1, 1]
            [float(getattr(c, name)) for c in configs], device=dev, dtype=dt).view(K, 1, 1)
        self.c, self.lam, self.eps = col("c"), col("lam"), col("eps")
        # why a float when every τ is 1: f̂/1.0 is f̂, without one more tensor op per forward
        self.tau = col("tau") if any(c.tau != 1.0 for c in configs) else 1.0
        self.neg_c = -self.c  # the clipping box [−c, c], built once
        self.lr_scale = col("lr") / base.lr  # why: Adam/RMSprop steps are linear in lr
        self.same_lr = all(c.lr == base.lr for c in configs)  # why: _step then needs no tensor op
        self.n_power = [c.n_power_iterations for c in configs]
        seeds = [c.seed for c in configs]
        # Every draw is made on the CPU and then moved: a CUDA generator is another stream
        # (Philox), so this is what makes a GPU run start from the CPU run's numbers.
        mk = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
        self.gens = [mk(s) for s in seeds]  # one per member: each initialises its own weights
        eval_gens = [mk(s + 1_000_003) for s in seeds]  # why: evaluation never moves training
        # Members that share a seed share every draw: one stream per distinct seed, and
        # member k reads stream self.stream_of[k] (a settings × seeds grid draws once per seed).
        distinct = list(dict.fromkeys(seeds))
        self.stream_of = torch.tensor([distinct.index(s) for s in seeds], device=dev)  # [K]
        self.first = [seeds.index(s) for s in distinct]  # a member holding each stream
        self.shared = len(distinct) == 1
        self.one_each = len(distinct) == K  # why: then stack, no gather

        self.D = BatchedMLP(K, 2, 1, base.hidden, base.depth, base.activation, dev).to(dt)
        self.G = BatchedMLP(K, base.z_dim, 2, base.hidden, base.depth, "relu", dev).to(dt)
        bound = self.c.flatten() if base.init == "uniform_c" else None
        self.D.init_(self.gens, bound)
        self.G.init_(self.gens)
        # why: for ReLU critics the explicit passes of lipbook.backprop give autograd's
        # gradients with less memory traffic; GN/GraN and smooth or sorting σ use autograd
        self.backprop = self.g_backprop = None
        if (self.D.piecewise_linear and base.method in EXPLICIT_METHODS and base.depth > 0
                and base.loss == "wasserstein"):  # why: its output gradients are ±1/B seeds
            dims = lambda net: [(W.shape[2], W.shape[1]) for W in net.weights]  # noqa: E731
            slope = LEAKY_SLOPE if base.activation == "leaky_relu" else 0.0
            self.backprop = MLPBackprop(dims(self.D), K, slope, dev, dt)
            self.g_backprop = MLPBackprop(dims(self.G), K, 0.0, dev, dt)  # the generator: ReLU
        if base.method == "sn":  # persistent singular vectors u_l [K, m], v_l [K, n]
            self.v = [self._draw(lambda g, n=W.shape[2]: torch.randn(n, generator=g))
                      .to(dt).clone() for W in self.D.weights]
            self.u = [torch.zeros(K, W.shape[1], device=dev, dtype=dt) for W in self.D.weights]
            self._power_steps([SN_WARMUP] * K)

        self.opt_D = self._optimizer(self.D)
        self.opt_G = self._optimizer(self.G)
        n = base.eval_samples
        self.eval_real = self._draw(lambda g: toy.sample(base.dataset, n, generator=g),
                                    eval_gens).to(dt)  # [K, n, 2]
        self.eval_z = self._draw(lambda g: torch.randn(n, base.z_dim, generator=g),
                                 eval_gens).to(dt)
        self.eval_fake_fixed = (self._draw(lambda g: toy.sample(base.dataset, n, generator=g)
                                           + CRITIC_ONLY_NOISE * torch.randn(n, 2, generator=g),
                                           eval_gens).to(dt) if base.critic_only else None)
        self.history = [{k: [] for k in HISTORY_KEYS} for _ in range(K)]
        self.train_seconds = 0.0
        self.step = 0

    # -- building blocks --------------------------------------------------------------------

    def _optimizer(self, net: nn.Module) -> torch.optim.Optimizer:
        cfg = self.cfg
        fused = {"fused": True} if self.device.type in ("cpu", "cuda") else {}
        if cfg.optimizer == "adam":
            return torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=cfg.betas, **fused)
        # why foreach: on CPU the default is a Python loop over the parameters, ≈ 20 % slower
        return torch.optim.RMSprop(net.parameters(), lr=cfg.lr, foreach=True)

    def _step(self, opt: torch.optim.Optimizer, net: nn.Module) -> None:
        if self.same_lr:
            opt.step()
            return
        before = [p.detach().clone() for p in net.parameters()]
        opt.step()
        with torch.no_grad():
            for p, b in zip(net.parameters(), before):
                p.copy_(b + (p - b) * self.lr_scale.view(-1, *([1] * (p.ndim - 1))))

    def _draw(self, fn: Callable[[torch.Generator], torch.Tensor], gens=None) -> torch.Tensor:
        """One draw per distinct seed, made on the CPU by ``fn(generator)``, moved to the
        device and laid out per member, ``[K, ...]`` (a single draw expanded when all members
        share a seed)."""
        gens = self.gens if gens is None else gens
        if self.shared:
            x = fn(gens[0]).to(self.device)
            return x.unsqueeze(0).expand(self.K, *x.shape)
        x = torch.stack([fn(gens[k]) for k in self.first]).to(self.device)  # [S, ...]
        return x if self.one_each else x[self.stream_of]

    def _real(self) -> torch.Tensor:
        cfg = self.cfg
        return self._draw(lambda g: toy.sample(cfg.dataset, cfg.batch, generator=g)
                          ).to(self.dtype)  # [K, B, 2]

    def _noise(self, n: int, d: int) -> torch.Tensor:
        return self._draw(lambda g: torch.randn(n, d, generator=g)).to(self.dtype)

    def _power_steps(self, counts: list[int]) -> None:
        """Up to max(counts) batched power steps; member k keeps the vector of its counts[k]-th."""
        for j in range(max(counts)):
            every = j < min(counts)  # why: then no member is masked and torch.where is skipped
            live = None if every else torch.tensor(
                [j < n for n in counts], device=self.device).view(self.K, 1)  # [K, 1]
            for i, W in enumerate(self.D.weights):
                # u ← Wv/‖Wv‖, v ← Wᵀu/‖Wᵀu‖: power_iteration on Wᵀ with v persistent, the
                # order of torch.nn.utils.parametrizations.spectral_norm (its steps only: σ̂
                # is taken in critic_weights)
                v, u = _power_uv(W.detach().transpose(1, 2), self.v[i], 1)
                if every:
                    self.v[i], self.u[i] = v, u
                else:
                    self.v[i] = torch.where(live, v, self.v[i])
                    self.u[i] = torch.where(live, u, self.u[i])

    def critic_weights(self, training: bool = True) -> list[torch.Tensor]:
        """The weights the critic uses: raw, W/σ̂ (SN) or Björck-orthonormalized."""
        Ws = list(self.D.weights)
        if self.cfg.orthogonal:
            Ws = [bjorck(W, BJORCK_ITERS) for W in Ws]
        if self.cfg.method == "sn":
            if training:
                self._power_steps(self.n_power)
            out = []
            for W, u, v in zip(Ws, self.u, self.v):
                sigma = u.unsqueeze(1) @ W @ v.unsqueeze(-1)  # σ̂ = uᵀWv, [K, 1, 1]
                out.append(W / sigma)
            Ws = out
        return Ws

    def input_grad_norm(self, x: torch.Tensor, f: torch.Tensor, weights) -> torch.Tensor:
        """‖∇ₓf(x)‖ ``[K, N, 1]``, differentiable w.r.t. the critic's weights; ``f = D(x)``.

        ReLU/LeakyReLU critics use the explicit chain :meth:`BatchedMLP.input_gradient` (same
        value, ≈ 15 % less work than double backpropagation); others use autograd.
        """
        if self.D.piecewise_linear:
            grad = self.D.input_gradient(x, weights)
        else:
            (grad,) = torch.autograd.grad(f.sum(), x, create_graph=True)
        return grad.norm(dim=-1, keepdim=True)

    def critic_out(self, x: torch.Tensor, weights) -> torch.Tensor:
        """f(x) [K, N, 1], or f̂(x) for GN/GraN (then x must require grad)."""
        f = self.D(x, weights)
        if self.cfg.method in ("gn", "gran"):
            norm = self.input_grad_norm(x, f, weights)  # [K, N, 1]
            f = (gn_transform(f, norm) if self.cfg.method == "gn"
                 else gran_transform(f, norm, self.eps, self.tau))
        return f

    # -- one generator iteration --------------------------------------------------------------

    def critic_step(self) -> torch.Tensor:
        cfg, B = self.cfg, self.cfg.batch
        real = self._real()
        if cfg.critic_only:
            fake = self._real() + CRITIC_ONLY_NOISE * self._noise(B, 2)
        elif self.g_backprop is not None:  # into reused buffers (see lipbook.backprop)
            fake = self.g_backprop.forward(self._noise(B, cfg.z_dim), *self._params(self.G))
        else:
            with torch.no_grad():
                fake = self.G(self._noise(B, cfg.z_dim))
        if self.backprop is not None:
            loss = self._explicit_critic_grads(real, fake)
        else:
            loss = self._autograd_critic_grads(real, fake)
        self._step(self.opt_D, self.D)
        if cfg.method == "clip":
            with torch.no_grad():
                for p in self.D.parameters():  # p ← max(min(p, c), −c), in place
                    torch.minimum(p, self.c, out=p)
                    torch.maximum(p, self.neg_c, out=p)
        return loss.detach()

    @staticmethod
    def _params(net: BatchedMLP) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """A network's weights and biases, detached (for lipbook.backprop)."""
        return [W.detach() for W in net.weights], [b.detach() for b in net.biases]

    @staticmethod
    def _set_grads(net: BatchedMLP, dW: list[torch.Tensor], db: list[torch.Tensor]) -> None:
        for p, g in zip((*net.weights, *net.biases), (*dW, *db)):
            p.grad = g

    def _interpolates(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """x̂ = t x_r + (1 − t) x_g, one t ~ U[0, 1] per sample, [K, B, 2]."""
        B = self.cfg.batch
        t = self._draw(lambda g: torch.rand(B, 1, generator=g)).to(self.dtype)
        return t * real + (1 - t) * fake

    def _autograd_critic_grads(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The critic loss L_D [K] and its gradients by autograd (GN, GraN, smooth σ)."""
        cfg, B = self.cfg, self.cfg.batch
        x = torch.cat([real, fake], dim=1)  # [K, 2B, 2]: one forward for both
        if cfg.method in ("gn", "gran"):
            x.requires_grad_(True)
        weights = self.critic_weights()
        out = self.critic_out(x, weights)  # [K, 2B, 1]
        loss = critic_loss(cfg.loss, out[:, :B], out[:, B:], keep=1)  # L_D, [K]
        if cfg.method in ("gp", "lp"):
            x_hat = self._interpolates(real, fake).requires_grad_(True)
            f_hat = None if self.D.piecewise_linear else self.D(x_hat, weights)
            norm = self.input_grad_norm(x_hat, f_hat, weights)  # ‖∇f(x̂)‖, [K, B, 1]
            loss = loss + penalty_term(norm, self.lam, cfg.method == "lp").mean(dim=(1, 2))
        self.opt_D.zero_grad(set_to_none=True)
        loss.sum().backward()  # members are independent: each gets its own gradient
        return loss.detach()

    def _explicit_critic_grads(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The same loss and gradients by :class:`lipbook.backprop.MLPBackprop` (ReLU
        critics), with the same random draws in the same order."""
        cfg = self.cfg
        x_hat = self._interpolates(real, fake) if cfg.method in ("gp", "lp") else None
        weights = self.critic_weights()  # W/σ̂ (with its graph) for SN, Björck for orthogonal
        loss, _, dW, db = self.backprop.critic_grads(
            [W.detach() for W in weights], self._params(self.D)[1], real, fake, x_hat,
            self.lam, one_sided=cfg.method == "lp")
        if weights[0] is self.D.weights[0]:  # raw weights: dW is their gradient
            self._set_grads(self.D, dW, db)
        else:  # why: dW is w.r.t. W/σ̂ (or Björck's W); autograd takes it back to the raw W
            self._set_grads(self.D, [None] * len(dW), db)
            torch.autograd.backward(weights, dW)
        return loss

    def generator_step(self) -> torch.Tensor:
        cfg = self.cfg
        self.D.requires_grad_(False)  # why: the generator step needs no critic gradients
        z = self._noise(cfg.batch, cfg.z_dim)
        weights = self.critic_weights()
        if self.backprop is not None:  # L_G = −(1/B) Σ f(g(z)): ∂L_G/∂g(z) = −(1/B) ∇f(g(z))
            G_weights = self._params(self.G)
            fake = self.g_backprop.forward(z, *G_weights)  # [K, B, 2]
            f, d_fake = self.backprop.input_grad(weights, self._params(self.D)[1], fake,
                                                 -1.0 / cfg.batch)
            loss = -f.mean(dim=(1, 2))  # [K]
            self._set_grads(self.G, *self.g_backprop.backward(d_fake, G_weights[0]))
        else:
            fake = self.G(z)  # [K, B, 2]
            loss = generator_loss(cfg.loss, self.critic_out(fake, weights), keep=1)  # L_G, [K]
            self.opt_G.zero_grad(set_to_none=True)
            loss.sum().backward()
        self._step(self.opt_G, self.G)
        self.D.requires_grad_(True)
        return loss.detach()

    # -- evaluation ---------------------------------------------------------------------------

    def eval_fake(self) -> torch.Tensor:
        if self.eval_fake_fixed is not None:
            return self.eval_fake_fixed
        with torch.no_grad():
            return self.G(self.eval_z)

    def evaluate(self, critic_loss: torch.Tensor, gen_loss: torch.Tensor) -> None:
        real, fake = self.eval_real, self.eval_fake()
        x = torch.cat([real, fake], dim=1).detach().requires_grad_(True)
        weights = [W.detach() for W in self.critic_weights(training=False)]
        out = self.critic_out(x, weights)
        norm = input_gradient_norm(out, x, batch_ndim=2, create_graph=False)  # [K, 2n, 1]
        n = real.shape[1]
        dual = (out[:, :n].mean(dim=(1, 2)) - out[:, n:].mean(dim=(1, 2))).detach()
        for k in range(self.K):
            h = self.history[k]
            h["step"].append(self.step)
            h["critic_loss"].append(float(critic_loss[k]))
            h["generator_loss"].append(float(gen_loss[k]))
            h["dual_w1"].append(float(dual[k]))
            h["exact_w1"].append(exact_w1(fake[k], real[k]))
            h["grad_norm_mean"].append(float(norm[k].mean()))
            h["seconds"].append(self.train_seconds)

    def check_finite(self, critic_loss: torch.Tensor, gen_loss: torch.Tensor) -> None:
        bad = ~(torch.isfinite(critic_loss) & torch.isfinite(gen_loss))
        for p in (*self.D.parameters(), *self.G.parameters()):
            bad |= ~torch.isfinite(p.detach()).flatten(1).all(dim=1)
        if bool(bad.any()):
            k = int(bad.nonzero()[0])
            cfg = self.configs[k]
            who = f" (member {k} of {self.K}: {_swept(self.configs, k)})" if self.K > 1 else ""
            raise TrainingDiverged(
                f"training diverged at generator iteration {self.step} of {cfg.steps}{who}: "
                f"a loss or a weight became NaN or infinite. Try a smaller learning rate "
                f"(lr={cfg.lr:g} now, e.g. lr={cfg.lr / 10:g})"
                + (", or a smaller λ" if cfg.method in ("gp", "lp") and cfg.lam > 10 else "")
                + (", or a larger ε" if cfg.method == "gran" else "") + ".")

    def result(self, k: int) -> TrainResult:
        """Member k, on the CPU: results are for analysis (bounds and slopes in float64, which
        MPS lacks; plots), and CPU copies mean no caller ever mixes devices."""
        cpu = torch.device("cpu")
        weights = [W.detach() for W in self.critic_weights(training=False)]
        critic = self.D.member(k, weights).to(cpu)
        if self.cfg.method == "gn":
            critic = GradientNormalized(critic)
        elif self.cfg.method == "gran":
            critic = GradientNormalized(critic, self.configs[k].eps, self.configs[k].tau)
        return TrainResult(config=self.configs[k],
                           history={key: list(v) for key, v in self.history[k].items()},
                           critic=critic, generator=self.G.member(k).to(cpu),
                           samples=self.eval_fake()[k].detach().to(cpu, copy=True),
                           seconds=self.train_seconds)


def _check_used(config: WGANConfig, name: str) -> None:
    """A sweep over a hyperparameter that ``config.method`` ignores would train K identical
    runs: refuse it, naming the methods that use it."""
    users = USED_BY.get(name, ())
    if not users:  # seed, lr: every method
        return
    if config.method in users or (name == "c" and config.init == "uniform_c"):
        return
    extra = " (or any method with init='uniform_c')" if name == "c" else ""
    raise ValueError(f"name={name!r} changes nothing for method={config.method!r}: {name} is "
                     f"used by {', '.join(users)}{extra}; the members would be identical")


def _warn_if_degenerate(configs: Sequence[WGANConfig]) -> None:
    """Warn (once per call) about a clipping box so small that the critic cannot vary.

    With every weight and bias in [−c, c], |f(x) − f(y)| ≤ Π_l c·√(m_l n_l) · ‖x − y‖ (the
    bound of erratum 8), while |f| itself is about c (the last bias). When the slope bound is
    below one rounding step of c (the dtype's machine epsilon times c), the float critic is
    constant over distances of order 1: it cannot tell real from fake points."""
    from .nets import layer_dims  # local: keeps the import list above short

    for cfg in configs:
        if cfg.method != "clip":
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


def _swept(configs: Sequence[WGANConfig], k: int) -> str:
    for name in SWEEPABLE:
        if len({getattr(c, name) for c in configs}) > 1:
            return f"{name}={getattr(configs[k], name)}"
    return "identical settings"


def _run(configs: Sequence[WGANConfig], callback, progress: bool) -> list[TrainResult]:
    if callback is not None and not callable(callback):
        raise ArgumentTypeError(f"callback must be callable or None, got {type(callback).__name__}")
    _warn_if_degenerate(configs)
    run = _Run(configs)
    cfg = run.cfg
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=cfg.steps, desc=f"{cfg.method} ×{run.K}", leave=False)
    start = time.perf_counter()
    zero = torch.zeros(run.K, device=run.device, dtype=run.dtype)
    c_sum, g_sum, n_sum = zero.clone(), zero.clone(), 0
    try:
        run.evaluate(zero, zero)
        while run.step < cfg.steps:
            t0 = time.perf_counter()
            for _ in range(cfg.critic_steps):
                c_loss = run.critic_step()
            g_loss = zero if cfg.critic_only else run.generator_step()
            run.step += 1
            if cfg.lr_schedule == "linear":
                for opt in (run.opt_D, run.opt_G):
                    for group in opt.param_groups:
                        group["lr"] = cfg.lr * (1 - run.step / cfg.steps)
            c_sum, g_sum, n_sum = c_sum + c_loss, g_sum + g_loss, n_sum + 1
            if run.device.type == "cuda":
                torch.cuda.synchronize(run.device)  # why: honest seconds in the history
            run.train_seconds += time.perf_counter() - t0
            if bar is not None:
                bar.update(1)
            if run.step % 10 == 0 or run.step % cfg.eval_every == 0 or run.step == cfg.steps:
                run.check_finite(c_sum, g_sum)
            if run.step % cfg.eval_every == 0 or run.step == cfg.steps:
                run.evaluate(c_sum / n_sum, g_sum / n_sum)
                c_sum, g_sum, n_sum = zero.clone(), zero.clone(), 0
                if callback is not None:
                    callback(Progress(run.step, cfg.steps, time.perf_counter() - start, run))
    finally:
        if bar is not None:
            bar.close()
    results = [run.result(k) for k in range(run.K)]
    total = time.perf_counter() - start
    for r in results:
        r.seconds = total
    return results


def train(config: WGANConfig, callback: Callable[[Progress], None] | None = None,
          progress: bool = False) -> TrainResult:
    """Train one toy WGAN; ``sweep`` with K = 1.

    ``callback(progress)`` runs every ``config.eval_every`` iterations (an exception it raises
    stops training and propagates); ``progress=True`` shows a ``tqdm.auto`` bar. Raises
    :class:`TrainingDiverged` when a loss or weight becomes non-finite.
    """
    if not isinstance(config, WGANConfig):
        raise ArgumentTypeError(f"config must be a WGANConfig, got {type(config).__name__}")
    return _run([config], callback, progress)[0]


def sweep(config: WGANConfig, name: str, values: Sequence, callback=None,
          progress: bool = False) -> list[TrainResult]:
    """Train ``len(values)`` copies of ``config`` with ``name`` set to each value, at once.

    ``name`` is one of ``c``, ``lam``, ``eps``, ``tau``, ``n_power_iterations``, ``seed``, ``lr``. All
    members share ``config.seed`` (same data, noise and initialisation) unless ``name`` is
    ``seed``. Returns one :class:`TrainResult` per value, in order.
    """
    values = _sweep_args(config, name, values, SWEEPABLE)
    configs = [dataclasses.replace(config, **{name: v}) for v in values]
    return _run(configs, callback, progress)


def _sweep_args(config: WGANConfig, name: str, values, names) -> list:
    """The checks ``sweep`` and ``sweep_seeds`` share; ``values`` as a non-empty list."""
    if not isinstance(config, WGANConfig):
        raise ArgumentTypeError(f"config must be a WGANConfig, got {type(config).__name__}")
    check_choice("name", name, names)
    _check_used(config, name)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ArgumentTypeError(f"values must be a sequence of values, got {values!r}")
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value")
    return values


def sweep_seeds(config: WGANConfig, name: str, values: Sequence, seeds: int | Sequence[int] = 3,
                callback=None, progress: bool = False) -> list[list[TrainResult]]:
    """Train every value of ``name`` with several seeds, all ``len(values) × len(seeds)``
    members in one batched run (the cost of one sweep of that many members).

    ``seeds`` is a count S (the seeds ``config.seed``, ``config.seed + 1``, …,
    ``config.seed + S − 1``) or a list of distinct seeds. Returns ``out[i][j]``: ``values[i]``
    trained with the j-th seed, equal to ``train`` with those settings (to rounding: members
    that share a seed share its data, noise and initialisation). A ``callback``'s
    ``progress.result(k)`` numbers the members row by row, ``k = i · S + j``. ``name`` is one of
    ``c``, ``lam``, ``eps``, ``tau``, ``n_power_iterations``, ``lr`` (for seeds alone use
    ``sweep(config, "seed", ...)``).
    """
    values = _sweep_args(config, name, values, tuple(n for n in SWEEPABLE if n != "seed"))
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = [config.seed + j for j in range(check_positive_int("seeds", seeds))]
    elif isinstance(seeds, Sequence) and seeds and len(set(seeds)) == len(seeds):
        seeds = list(seeds)
    else:
        raise ValueError(f"seeds must be a count >= 1 or a list of distinct seeds, got {seeds!r}")
    configs = [dataclasses.replace(config, **{name: v, "seed": s}) for v in values for s in seeds]
    flat = _run(configs, callback, progress)
    S = len(seeds)
    return [flat[i * S:(i + 1) * S] for i in range(len(values))]


def trend(values, key: str = "exact_w1") -> float:
    """The book's one convergence test: the signed relative change

        (mean of the last third − mean of the third before) / |mean of the third before|

    of a curve (a sequence of floats, or ``result.history[key]`` of a :class:`TrainResult`).
    Negative: still falling; positive: rising. "Settled" is ``abs(trend(x)) < tol``, "still
    falling" is ``trend(x) < -tol``: a conclusion about training is drawn only once the exact W1
    has stopped falling. Raises ``ValueError`` for an unknown ``key``, fewer than three values,
    a non-finite value, or a zero mean in the third before.
    """
    if isinstance(values, TrainResult):
        check_choice("key", key, HISTORY_KEYS)
        values = values.history[key]
    values = [float(v) for v in values]
    n = len(values) // 3
    if n == 0:
        raise ValueError(f"trend needs at least 3 values, got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("trend got a NaN or infinite value")
    last = sum(values[-n:]) / n  # mean over the last third
    before = sum(values[-2 * n:-n]) / n  # mean over the third before it
    if before == 0:
        raise ValueError("trend is undefined: the mean of the third before the last is 0")
    return (last - before) / abs(before)

