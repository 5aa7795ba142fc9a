"""GAN losses on the critic's outputs: the Wasserstein loss of WGAN and the two losses the
gradient-normalization papers train with.

With D the critic's output (f, or the normalized f̂ of GN and GraN), x_r real and x_g = g(z)
generated points, and softplus(t) = log(1 + eᵗ):

==============  =====================================================  =========================
loss            critic L_D (minimized)                                 generator L_G (minimized)
==============  =====================================================  =========================
wasserstein     E D(x_g) − E D(x_r)                                    −E D(x_g)
hinge           E relu(1 − D(x_r)) + E relu(1 + D(x_g))                −E D(x_g)
ns              E softplus(−D(x_r)) + E softplus(D(x_g))               E softplus(−D(x_g))
==============  =====================================================  =========================

``wasserstein`` is WGAN's (Arjovsky et al., 2017): the critic maximizes the dual objective
E f(x_r) − E f(x_g), which is bounded only when f is Lipschitz. ``hinge`` is the geometric GAN's
(Lim & Ye, 2017), used by SNGAN (Miyato et al., 2018) and in GN-GAN's shipped configurations
(Wu et al., 2021). ``ns`` is the non-saturating loss of the original GAN (Goodfellow et al.,
2014): binary cross-entropy on the logit D for the critic, −log σ(D(x_g)) for the generator.
The hinge and ns critic losses are bounded below whatever the critic's scale, which the
Wasserstein loss is not: with GraN's f̂ ≈ (w·x + b)/‖w‖ inside a linear region, the WGAN
objective has no maximum (Chapter 6).

Every function reduces over all dimensions but the leading ``batch_ndim`` ones that are kept,
so ``[K, B, 1]`` outputs of K critics trained at once give ``[K]`` losses.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .checks import check_choice

LOSSES = ("wasserstein", "hinge", "ns")


def _mean(t: torch.Tensor, keep: int) -> torch.Tensor:
    """The mean over every dimension after the first ``keep``: ``[K, B, 1] -> [K]`` for 1."""
    return t.mean(dim=tuple(range(keep, t.ndim))) if t.ndim > keep else t


def critic_loss(loss: str, d_real: torch.Tensor, d_fake: torch.Tensor, keep: int = 0) -> torch.Tensor:
    """L_D of the table above for critic outputs ``d_real`` and ``d_fake`` (any shape, e.g.
    ``[B, 1]``), a mean over every dimension after the first ``keep``.

    >>> critic_loss("hinge", torch.tensor([2.0]), torch.tensor([-2.0]))  # both beyond the margin
    tensor(0.)
    >>> critic_loss("wasserstein", torch.tensor([2.0]), torch.tensor([-2.0]))  # E f(fake) − E f(real)
    tensor(-4.)
    """
    check_choice("loss", loss, LOSSES)
    if loss == "wasserstein":
        return _mean(d_fake, keep) - _mean(d_real, keep)
    if loss == "hinge":
        return _mean(F.relu(1 - d_real), keep) + _mean(F.relu(1 + d_fake), keep)
    return _mean(F.softplus(-d_real), keep) + _mean(F.softplus(d_fake), keep)


def generator_loss(loss: str, d_fake: torch.Tensor, keep: int = 0) -> torch.Tensor:
    """L_G of the table above for the critic's outputs ``d_fake`` on generated points."""
    check_choice("loss", loss, LOSSES)
    if loss == "ns":
        return _mean(F.softplus(-d_fake), keep)
    return -_mean(d_fake, keep)
