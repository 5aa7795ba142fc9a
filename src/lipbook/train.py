"""The toy WGAN trainer: K settings of one hyperparameter trained at once, on CPU or GPU.

WGAN (Arjovsky et al., 2017) trains a critic f and a generator g on

    min_g max_{f ∈ 1-Lip}  E_{x~P_r} f(x) − E_{z~p(z)} f(g(z)),

approximating "f ∈ 1-Lip" with one of the methods of :mod:`lipbook.constraints`. As in
Algorithm 1 of WGAN-GP (Gulrajani et al., 2017), each generator iteration takes

1. ``critic_steps`` critic updates: draw x_r ~ P_r, z ~ p(z), t ~ U[0, 1]; x_g = g(z),
   x̂ = t x_r + (1 − t) x_g; L_D = E f(x_g) − E f(x_r) + λ E (‖∇f(x̂)‖ − 1)² (the penalty for
   gp / lp only); one optimizer step on the critic, then the clip to [−c, c] for ``clip``;
2. one generator update on L_G = −E f(g(z)).

``loss="hinge"`` or ``"ns"`` replaces L_D and L_G by those of :mod:`lipbook.losses` (the ones
the GN-GAN and GraN-GAN papers train with). The critic f is the method's: W/σ̂ per layer for
``sn`` (:class:`lipbook.members.BatchedPowerIteration`), f̂ of :mod:`lipbook.constraints` for
``gn`` / ``gran``, Björck-orthonormalized weights for ``orthogonal``. The gradients come from
one engine of :mod:`lipbook.engines`, chosen once by ``WGANConfig.engine``.

One code path. The networks are :class:`lipbook.nets.BatchedMLP` with a leading dimension K:
:func:`sweep` trains K settings with batched matmuls, and :func:`train` is ``sweep`` with K = 1
(what the batching needs lives in :mod:`lipbook.members`). Members share every random draw when
they share a seed, so ``sweep`` and K separate ``train`` runs agree to rounding (tested to 1e-6
in float64). Where the loop departs from the textbook, for speed: one critic forward on the
concatenated batch [x_r; x_g] instead of two (so SN takes one power step per critic update,
plus one in the generator step), the penalty's double backpropagation over the B interpolates
only, fused Adam and foreach RMSprop. Evaluation (exact W1 by POT on fixed held-out sets, every
``eval_every`` iterations) draws from its own random stream, so it never changes the run.

>>> r = train(WGANConfig(method="gp", hidden=16, steps=20, eval_every=10, eval_samples=64,
...                      device="cpu"))
>>> r.history["step"], r.config.hyperparameter
([0, 10, 20], 'lam')
"""

from __future__ import annotations

import dataclasses
import numbers
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

from . import constraints, toy
from .checks import ArgumentTypeError, check_positive_int
from .config import (
    CRITIC_ONLY_NOISE,
    METHODS,
    SWEEPABLE,
    WGANConfig,
    check_sweep,
    warn_if_degenerate,
)
from .constraints import SN_WARMUP, GradientNormalized, gn_transform, gran_transform
from .device import get_device
from .engines import engine_for
from .members import BatchedPowerIteration, Members
from .nets import BJORCK_ITERS, BatchedMLP, bjorck
from .results import Evaluation, Progress, TrainingDiverged, TrainResult, trend, trend_verdict

__all__ = ["WGANConfig", "train", "sweep", "sweep_seeds", "trend", "trend_verdict", "TrainResult",
           "Progress", "TrainingDiverged", "METHODS"]


class _Run:
    """K members trained together (internal; use :func:`train` / :func:`sweep`)."""

    def __init__(self, configs: Sequence[WGANConfig]):
        self.configs = list(configs)
        self.cfg = cfg = configs[0]
        self.K = K = len(configs)
        self.device = torch.device(cfg.device) if cfg.device is not None else get_device()
        self.dtype = getattr(torch, cfg.dtype)
        if self.dtype == torch.float64 and self.device.type == "mps":
            raise ValueError("dtype='float64' needs device='cpu' or 'cuda': Apple's MPS has no "
                             "float64")
        self.members = m = Members(configs, self.device, self.dtype)
        self.D = BatchedMLP(K, 2, 1, cfg.hidden, cfg.depth, cfg.activation, self.device)
        self.G = BatchedMLP(K, cfg.z_dim, 2, cfg.hidden, cfg.depth, "relu", self.device)
        self.D.to(self.dtype).init_(m.gens, m.c.flatten() if cfg.init == "uniform_c" else None)
        self.G.to(self.dtype).init_(m.gens)
        self.engine = engine_for(self)
        self.power = (BatchedPowerIteration(self._shaped_weights(), m, SN_WARMUP)
                      if cfg.spec.spectral else None)
        self.opt_D, self.opt_G = self._optimizer(self.D), self._optimizer(self.G)
        self.evaluation = Evaluation(configs, m, self.dtype)
        self.train_seconds = 0.0
        self.step = 0

    def _optimizer(self, net: nn.Module) -> torch.optim.Optimizer:
        cfg = self.cfg
        fused = {"fused": True} if self.device.type in ("cpu", "cuda") else {}
        if cfg.optimizer == "adam":
            return torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=cfg.betas, **fused)
        # why foreach: on CPU the default is a Python loop over the parameters, ≈ 20 % slower
        return torch.optim.RMSprop(net.parameters(), lr=cfg.lr, foreach=True)

    # -- random draws: x_r ~ P_r, z ~ N(0, I), t ~ U[0, 1], each [K, ...] ------------------------

    def _real(self) -> torch.Tensor:
        cfg = self.cfg
        return self.members.draw(lambda g: toy.sample(cfg.dataset, cfg.batch, generator=g)
                                 ).to(self.dtype)  # [K, B, 2]

    def _noise(self, n: int, d: int) -> torch.Tensor:
        return self.members.draw(lambda g: torch.randn(n, d, generator=g)).to(self.dtype)

    def interpolates(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """x̂ = t x_r + (1 − t) x_g, one t ~ U[0, 1] per sample, [K, B, 2]."""
        B = self.cfg.batch
        t = self.members.draw(lambda g: torch.rand(B, 1, generator=g)).to(self.dtype)
        return t * real + (1 - t) * fake

    # -- the critic f ---------------------------------------------------------------------------

    def _shaped_weights(self) -> list[torch.Tensor]:
        """The raw weights, Björck-orthonormalized for ``orthogonal``."""
        Ws = list(self.D.weights)
        return [bjorck(W, BJORCK_ITERS) for W in Ws] if self.cfg.orthogonal else Ws

    def critic_weights(self, training: bool = True) -> list[torch.Tensor]:
        """The weights the critic uses: raw or Björck-orthonormalized, then W/σ̂ for SN (its
        power steps, in training mode only, run on the weights it normalizes)."""
        Ws = self._shaped_weights()
        if self.power is not None:
            if training:
                self.power.steps(Ws, self.members.n_power)
            Ws = self.power.normalized(Ws)
        return Ws

    def input_gradient_norm(self, x: torch.Tensor, f: torch.Tensor, weights) -> torch.Tensor:
        """‖∇ₓf(x)‖ ``[K, N, 1]`` (:func:`lipbook.constraints.input_gradient_norm` for the batched
        critic), differentiable w.r.t. the critic's weights; ``f = D(x)``.
        ReLU/LeakyReLU critics use the explicit chain :meth:`BatchedMLP.input_gradient` (same
        value, less work than double backpropagation); others use autograd."""
        if self.D.piecewise_linear:
            grad = self.D.input_gradient(x, weights)
        else:
            (grad,) = torch.autograd.grad(f.sum(), x, create_graph=True)
        return grad.norm(dim=-1, keepdim=True)

    def critic_out(self, x: torch.Tensor, weights) -> torch.Tensor:
        """f(x) [K, N, 1], or f̂(x) for GN/GraN (then x must require grad)."""
        f = self.D(x, weights)
        normalizer = self.cfg.spec.normalizer
        if normalizer:
            norm = self.input_gradient_norm(x, f, weights)  # ‖∇f(x)‖, [K, N, 1]
            f = (gn_transform(f, norm) if normalizer == "gn"
                 else gran_transform(f, norm, self.members.eps, self.members.tau))
        return f

    # -- one generator iteration ----------------------------------------------------------------

    def critic_step(self) -> torch.Tensor:
        """Step 1 above: one critic update; returns L_D [K]."""
        cfg, B = self.cfg, self.cfg.batch
        real = self._real()
        if cfg.critic_only:
            fake = self._real() + CRITIC_ONLY_NOISE * self._noise(B, 2)
        else:
            fake = self.engine.fake(self._noise(B, cfg.z_dim))
        loss = self.engine.critic_grads(real, fake)
        self.members.step(self.opt_D, self.D)
        if cfg.spec.clips:
            with torch.no_grad():
                for p in self.D.parameters():  # p ← max(min(p, c), −c), in place
                    torch.minimum(p, self.members.c, out=p)
                    torch.maximum(p, self.members.neg_c, out=p)
        return loss.detach()

    def generator_step(self) -> torch.Tensor:
        """Step 2 above: one generator update; returns L_G [K]."""
        self.D.requires_grad_(False)  # why: the generator step needs no critic gradients
        loss = self.engine.generator_grads(self._noise(self.cfg.batch, self.cfg.z_dim))
        self.members.step(self.opt_G, self.G)
        self.D.requires_grad_(True)
        return loss.detach()

    # -- evaluation -----------------------------------------------------------------------------

    def evaluate(self, critic_loss: torch.Tensor, gen_loss: torch.Tensor) -> None:
        """One evaluation of every member on the held-out sets (:class:`Evaluation`)."""
        ev = self.evaluation
        fake = ev.fake(self.G)
        x = torch.cat([ev.real, fake], dim=1).detach().requires_grad_(True)  # [K, 2n, 2]
        out = self.critic_out(x, [W.detach() for W in self.critic_weights(training=False)])
        norm = constraints.input_gradient_norm(out, x, batch_ndim=2, create_graph=False)
        ev.record(self.step, self.train_seconds, critic_loss, gen_loss, fake, out, norm)

    def check_finite(self, critic_loss: torch.Tensor, gen_loss: torch.Tensor) -> None:
        """Raise :class:`TrainingDiverged` for the first member with a non-finite loss or weight."""
        bad = ~(torch.isfinite(critic_loss) & torch.isfinite(gen_loss))
        for p in (*self.D.parameters(), *self.G.parameters()):
            bad |= ~torch.isfinite(p.detach()).flatten(1).all(dim=1)
        if bool(bad.any()):
            raise TrainingDiverged.at(self.configs, int(bad.nonzero()[0]), self.step)

    def result(self, k: int) -> TrainResult:
        """Member k, on the CPU: results are for analysis (bounds and slopes in float64, which
        MPS lacks; plots), and CPU copies mean no caller ever mixes devices."""
        cpu = torch.device("cpu")
        weights = [W.detach() for W in self.critic_weights(training=False)]
        critic = self.D.member(k, weights).to(cpu)
        if self.cfg.spec.normalizer == "gn":
            critic = GradientNormalized(critic)
        elif self.cfg.spec.normalizer == "gran":
            critic = GradientNormalized(critic, self.configs[k].eps, self.configs[k].tau)
        return TrainResult(config=self.configs[k],
                           history={key: list(v) for key, v in self.evaluation.history[k].items()},
                           critic=critic, generator=self.G.member(k).to(cpu),
                           samples=self.evaluation.fake(self.G)[k].detach().to(cpu, copy=True),
                           seconds=self.train_seconds)



def _run(configs: Sequence[WGANConfig], callback, progress: bool) -> list[TrainResult]:
    if callback is not None and not callable(callback):
        raise ArgumentTypeError(f"callback must be callable or None, got {type(callback).__name__}")
    warn_if_degenerate(configs)
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
    values = check_sweep(config, name, values, SWEEPABLE)
    configs = [dataclasses.replace(config, **{name: v}) for v in values]
    return _run(configs, callback, progress)


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
    values = check_sweep(config, name, values, tuple(n for n in SWEEPABLE if n != "seed"))
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
