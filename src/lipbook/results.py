"""What a run gives back: :class:`TrainResult` per member, its :class:`Evaluation` history,
:class:`Progress` for callbacks, :class:`TrainingDiverged`, and the book's one convergence test
:func:`trend`.

A member's history holds, at every evaluation (each ``eval_every`` generator iterations, and at
step 0): the step, the mean critic and generator losses since the last evaluation, the critic's
estimate E f(x_r) − E f(x_g) on held-out sets (``dual_w1``), the exact W1 between generated and
held-out target points (``exact_w1``, by POT), the mean ‖∇f‖ at those points, and the training
seconds so far.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from . import toy
from .checks import check_choice
from .config import CRITIC_ONLY_NOISE, WGANConfig, describe_member
from .wasserstein import exact_w1

if TYPE_CHECKING:
    from .train import _Run

__all__ = ["TrainResult", "Evaluation", "Progress", "TrainingDiverged", "HISTORY_KEYS", "trend",
           "trend_verdict", "TREND_TOL"]


class TrainingDiverged(RuntimeError):
    """A loss or a weight became NaN or infinite. The message says at which generator iteration,
    for which member of a sweep, and what usually fixes it. ``member`` (its index in the
    sweep) and ``step`` say the same as attributes (None when raised otherwise)."""

    member: int | None = None
    step: int | None = None

    @classmethod
    def at(cls, configs: Sequence[WGANConfig], k: int, step: int) -> TrainingDiverged:
        """The error for member ``k`` of ``configs`` at generator iteration ``step``."""
        cfg = configs[k]
        who = f" (member {k} of {len(configs)}: {describe_member(configs, k)})" if len(configs) > 1 else ""
        err = cls(f"training diverged at generator iteration {step} of {cfg.steps}{who}: "
                  f"a loss or a weight became NaN or infinite. Try a smaller learning rate "
                  f"(lr={cfg.lr:g} now, e.g. lr={cfg.lr / 10:g})"
                  + (", or a smaller λ" if cfg.spec.penalty and cfg.lam > 10 else "")
                  + (", or a larger ε" if cfg.spec.normalizer == "gran" else "") + ".")
        err.member, err.step = k, step
        return err


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

    def modes_covered(self) -> tuple[int, int]:
        """(modes covered, modes) of :func:`lipbook.toy.mode_coverage` on ``samples`` for
        this run's dataset; ``ValueError`` for a dataset without modes."""
        return toy.mode_coverage(self.samples.detach().cpu().float(), self.config.dataset)


TREND_TOL = 0.05  # the book's "levelled off": |trend| below 5 %

HISTORY_KEYS = ("step", "critic_loss", "generator_loss", "dual_w1", "exact_w1",
                "grad_norm_mean", "seconds")


class Evaluation:
    """The fixed held-out sets of every member, and their histories.

    Drawn from the members' evaluation streams (never the training ones, so evaluating never
    changes a run): ``eval_samples`` target points ``real`` ``[K, n, 2]``, noise ``z``
    ``[K, n, z_dim]`` for the generated points, and for ``critic_only`` the fixed noisy set
    x_r + N(0, σ²I) that stands in for the generator."""

    def __init__(self, configs: Sequence[WGANConfig], members, dtype: torch.dtype):
        cfg, n, gens = configs[0], configs[0].eval_samples, members.eval_gens
        self.real = members.draw(lambda g: toy.sample(cfg.dataset, n, generator=g),
                                 gens).to(dtype)  # [K, n, 2]
        self.z = members.draw(lambda g: torch.randn(n, cfg.z_dim, generator=g), gens).to(dtype)
        self.fixed_fake = (members.draw(
            lambda g: toy.sample_blurred(cfg.dataset, n, CRITIC_ONLY_NOISE, generator=g),
            gens).to(dtype) if cfg.critic_only else None)
        self.history = [{key: [] for key in HISTORY_KEYS} for _ in configs]

    def fake(self, generator: nn.Module) -> torch.Tensor:
        """The generated held-out points ``[K, n, 2]`` (the fixed set for ``critic_only``)."""
        if self.fixed_fake is not None:
            return self.fixed_fake
        with torch.no_grad():
            return generator(self.z)

    def record(self, step: int, seconds: float, critic_loss, gen_loss, fake: torch.Tensor,
               out: torch.Tensor, norm: torch.Tensor) -> None:
        """Append one evaluation: ``out`` is f on [real; fake] ``[K, 2n, 1]``, ``norm`` its
        ‖∇f‖; ``critic_loss``, ``gen_loss`` ``[K]`` the mean losses since the last one."""
        n = self.real.shape[1]
        dual = (out[:, :n].mean(dim=(1, 2)) - out[:, n:].mean(dim=(1, 2))).detach()  # [K]
        for k, h in enumerate(self.history):
            h["step"].append(step)
            h["critic_loss"].append(float(critic_loss[k]))
            h["generator_loss"].append(float(gen_loss[k]))
            h["dual_w1"].append(float(dual[k]))
            h["exact_w1"].append(exact_w1(fake[k], self.real[k]))
            h["grad_norm_mean"].append(float(norm[k].mean()))
            h["seconds"].append(seconds)


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


def trend(values, key: str = "exact_w1") -> float:
    """The book's one convergence test: the signed relative change

        (mean of the last third − mean of the third before) / |mean of the third before|

    of a curve (a sequence of floats, or ``result.history[key]`` of a :class:`TrainResult`).
    Negative: still falling; positive: rising. "Settled" is ``abs(trend(x)) < tol``, "still
    falling" is ``trend(x) < -tol``: a conclusion about training is drawn only once the exact W1
    has stopped falling. Raises ``ValueError`` for an unknown ``key``, fewer than three values,
    a non-finite value, or a zero mean in the third before.

    >>> trend([4.0, 4.0, 2.0, 2.0, 1.0, 1.0])  # the last third's mean is half the one before
    -0.5
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


def trend_verdict(tr: float, tol: float = TREND_TOL) -> str:
    """What a curve did over its last third, in words, from its signed :func:`trend` ``tr``:
    "levelled off" within ``tol``, else "still falling" or "still rising", with the change in
    percent. How the book states one run's behaviour (measured and said, not asserted).

    >>> trend_verdict(-0.5), trend_verdict(0.01)
    ('still falling (50 % below the third before)', 'levelled off (within 1 % of the third before)')
    """
    tr, tol = float(tr), float(tol)
    if not (math.isfinite(tr) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"trend_verdict needs a finite trend and a tolerance > 0, got tr={tr!r}, "
                         f"tol={tol!r}")
    if abs(tr) < tol:
        return f"levelled off (within {100 * abs(tr):.0f} % of the third before)"
    return (f"still {'falling' if tr < 0 else 'rising'} ({100 * abs(tr):.0f} % "
            f"{'below' if tr < 0 else 'above'} the third before)")
