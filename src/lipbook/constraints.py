"""The five ways to make a critic (approximately) Lipschitz.

=====================  ==============================================  =========================
method                 what it does                                    paper
=====================  ==============================================  =========================
weight clipping        W ← clip(W, −c, c) after every update           Arjovsky et al., 2017
gradient penalty (GP)  + λ E[(‖∇f(x̂)‖ − 1)²],  x̂ = t x_r + (1−t) x_g    Gulrajani et al., 2017
one-sided (LP)         + λ E[max(0, ‖∇f(x̂)‖ − 1)²]                      Petzka et al., 2018
spectral norm (SN)     W ← W / σ̂(W),  σ̂ = uᵀWv by power iteration      Miyato et al., 2018
gradient norm. (GN)    f̂ = f / (‖∇f‖ + |f|)                             Wu et al., 2021
GraN                   f̂ = f ‖∇f‖ / (‖∇f‖² + ε)                          Bhaskara et al., 2022
=====================  ==============================================  =========================

All gradients are with respect to the critic's input x, per sample, Euclidean norm. Critic
outputs keep their shape ``[B, 1]``: the source notes divide a ``[B, 1]`` output by a ``[B]``
norm, which broadcasts to ``[B, B]`` (erratum 7); here every norm is ``[B, 1]``.

The functions work on any leading batch shape: the public ones take ``[B, ...]`` inputs; the
trainer calls the same building blocks (:func:`input_gradient_norm`, :func:`penalty_term`,
:func:`gn_transform`, :func:`gran_transform`, the steps of :func:`power_iteration`) on
``[K, B, ...]`` tensors for K settings at once.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from .checks import (
    check_bool,
    check_generator,
    check_module,
    check_nonnegative,
    check_points,
    check_positive,
    check_positive_int,
    check_same_device,
)
from .device import draw_device

# ---------------------------------------------------------------------------------------------
# weight clipping (Arjovsky et al., 2017)


def clip_weights_(module: nn.Module, c: float) -> None:
    """Clip every parameter of ``module`` (biases too, as the WGAN code does) into [−c, c].

    In place, under ``torch.no_grad()`` (the source notes' ``p.data.clamp_`` works too but
    bypasses autograd's version tracking). This bounds each layer by ‖W‖₂ ≤ ‖W‖_F ≤ c√(mn),
    not by 1 (erratum 8): the critic is K-Lipschitz for a K set by c and the widths.
    """
    check_module("module", module)
    c = check_positive("c", c)
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)


# ---------------------------------------------------------------------------------------------
# gradients with respect to the input


def input_gradient_norm(f: torch.Tensor, x: torch.Tensor, batch_ndim: int = 1,
                        create_graph: bool = True) -> torch.Tensor:
    """‖∇ₓ f(x)‖ per sample, shape ``x.shape[:batch_ndim] + (1,)``.

    ``f`` is the critic's output on ``x`` (one scalar per sample); samples are independent, so
    the gradient of ``f.sum()`` holds every sample's own gradient. ``create_graph=True`` keeps
    the result differentiable (double backpropagation) for penalties and normalizations.
    """
    (grad,) = torch.autograd.grad(f.sum(), x, create_graph=create_graph)
    return grad.flatten(batch_ndim).norm(dim=-1, keepdim=True)  # [B, 1] or [K, B, 1]


def _with_grad(x: torch.Tensor) -> torch.Tensor:
    """``x`` itself when it already requires grad (so gradients flow back through it, e.g. to a
    generator), else a detached copy that does."""
    return x if x.requires_grad else x.detach().requires_grad_(True)


def _check_pair(real: torch.Tensor, fake: torch.Tensor) -> None:
    check_points("real", real, ndim=None)
    check_points("fake", fake, ndim=None)
    check_same_device(real=real, fake=fake)
    if real.ndim < 2:
        raise ValueError(f"real and fake must be [B, ...] batches of points, got shape "
                         f"{tuple(real.shape)}")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}")


def interpolates(real: torch.Tensor, fake: torch.Tensor, batch_ndim: int = 1,
                 rng: torch.Generator | None = None) -> torch.Tensor:
    """x̂ = t·x_r + (1 − t)·x_g with one t ~ U[0, 1] per sample (Gulrajani et al., Alg. 1)."""
    _check_pair(real, fake)
    check_generator("rng", rng)
    shape = real.shape[:batch_ndim] + (1,) * (real.ndim - batch_ndim)  # [B, 1] for [B, d]
    t = torch.rand(shape, generator=rng, device=draw_device(rng), dtype=real.dtype).to(real.device)
    return (t * real.detach() + (1 - t) * fake.detach()).requires_grad_(True)


def penalty_term(grad_norm: torch.Tensor, lam, one_sided: bool = False) -> torch.Tensor:
    """λ(‖∇f‖ − 1)² (GP, Gulrajani et al., eq. 3), or λ·max(0, ‖∇f‖ − 1)² when ``one_sided``
    (WGAN-LP, Petzka et al., 2018). Per sample; ``lam`` may be a tensor broadcasting over it.

    Not λ·max(‖∇f‖, 1), as the source notes write (erratum 6): that is λ plus a linear hinge
    λ·max(0, ‖∇f‖ − 1), never below λ, with a constant pull λ on every norm above 1 instead of
    one that fades as the norm approaches 1.
    """
    excess = grad_norm - 1
    if one_sided:
        excess = excess.clamp_min(0)
    return lam * excess.square()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, lam: float, *,
                     one_sided: bool = False, rng: torch.Generator | None = None) -> torch.Tensor:
    """The batch mean of λ(‖∇f(x̂)‖ − 1)² at random interpolates x̂ (WGAN-GP, eq. 3).

    ``real``, ``fake``: ``[B, ...]``; t ~ U[0, 1], one per sample, drawn from ``rng``.
    ``one_sided=True`` gives WGAN-LP's λ·max(0, ‖∇f(x̂)‖ − 1)². Returns a 0-d tensor that is
    differentiable w.r.t. the critic's parameters. The penalty holds only where it is sampled
    (erratum 9): far from real and fake points the gradient norm is free.
    """
    check_module("critic", critic, callable_ok=True)
    lam = check_nonnegative("lam", lam)
    one_sided = check_bool("one_sided", one_sided)
    x_hat = interpolates(real, fake, rng=rng)  # [B, d]
    grad_norm = input_gradient_norm(critic(x_hat), x_hat)  # [B, 1]
    return penalty_term(grad_norm, lam, one_sided).mean()


# ---------------------------------------------------------------------------------------------
# gradient normalization (Wu et al., 2021) and GraN (Bhaskara et al., 2022)


def gn_transform(f: torch.Tensor, grad_norm: torch.Tensor) -> torch.Tensor:
    """GN: f̂ = f / (‖∇f‖ + |f|) (Wu et al., 2021, eq. 9), in [−1, 1].

    Deviation from the paper: where ∇f = 0 and f = 0 the ratio is 0/0; we return 0 there (the
    limit along f → 0 with ∇f = 0 is ±1, along ∇f → 0 with f = 0 it is 0; 0 is the choice that
    keeps the output and its gradient finite). Anywhere else the formula is exact.

    >>> gn_transform(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 0.0]))  # 2/(1 + 2), 0/0 -> 0
    tensor([0.6667, 0.0000])
    """
    denom = grad_norm + f.abs()
    safe = torch.where(denom > 0, denom, torch.ones_like(denom))  # why: avoid 0/0 only
    return f / safe


def gran_transform(f: torch.Tensor, grad_norm: torch.Tensor, eps, tau=1.0) -> torch.Tensor:
    """GraN: f̂ = f‖∇f‖ / (τ(‖∇f‖² + ε)) (Bhaskara et al., 2022, eq. 5, with the output scale
    1/τ the paper writes as its Lipschitz constant K = 1/τ). Inside a linear region
    ‖∇f̂‖ = ‖∇f‖² / (τ(‖∇f‖² + ε)) < 1/τ: f̂ is piecewise (1/τ)-Lipschitz.

    >>> gran_transform(torch.tensor([2.0]), torch.tensor([1.0]), eps=1.0)  # 2·1/(1 + 1)
    tensor([1.])
    """
    out = f * grad_norm / (grad_norm.square() + eps)
    return out if isinstance(tau, float) and tau == 1.0 else out / tau


def gradient_normalize(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """GN-normalized critic output f̂(x) = f(x) / (‖∇ₓf(x)‖ + |f(x)|), shape ``[B, 1]``.

    Differentiable w.r.t. ``x`` (when it requires grad, e.g. a generator's output) and the
    critic's parameters. ‖∇f̂‖ ≤ 1 inside each linear region of a ReLU critic — not = 1, and not
    globally: f̂ can jump across region boundaries (erratum 5).
    """
    check_module("critic", critic, callable_ok=True)
    x = _with_grad(check_points("x", x, ndim=None))
    f = critic(x)  # [B, 1]
    return gn_transform(f, input_gradient_norm(f, x))


def gran_normalize(critic: nn.Module, x: torch.Tensor, eps: float, tau: float = 1.0) -> torch.Tensor:
    """GraN-normalized critic output f̂(x) = f(x)‖∇ₓf(x)‖ / (τ(‖∇ₓf(x)‖² + ε)), shape
    ``[B, 1]``; ``tau`` = 1/K sets its piecewise Lipschitz constant K (1 by default)."""
    check_module("critic", critic, callable_ok=True)
    eps = check_positive("eps", eps)
    tau = check_positive("tau", tau)
    x = _with_grad(check_points("x", x, ndim=None))
    f = critic(x)  # [B, 1]
    return gran_transform(f, input_gradient_norm(f, x), eps, tau)


class GradientNormalized(nn.Module):
    """A critic wrapped so that ``forward`` returns its GN (``eps=None``) or GraN output
    (with ``eps`` and GraN's scale ``tau``).

    ``.base`` is the raw critic f. There is no finite global Lipschitz constant to certify
    (erratum 5), so :func:`lipbook.lipschitz.upper_bound` returns ``inf`` for it.
    """

    def __init__(self, base: nn.Module, eps: float | None = None, tau: float = 1.0):
        super().__init__()
        self.base = check_module("base", base)
        self.eps = None if eps is None else check_positive("eps", eps)
        self.tau = check_positive("tau", tau)
        if self.eps is None and self.tau != 1.0:
            raise ValueError(f"tau={tau!r} is GraN's scale: it needs eps (GN has no tau)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():  # why: f̂ needs ∇f even when the caller is under no_grad
            if self.eps is None:
                return gradient_normalize(self.base, x)
            return gran_normalize(self.base, x, self.eps, self.tau)


# ---------------------------------------------------------------------------------------------
# spectral normalization (Miyato et al., 2018)


def _normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(eps)


SN_WARMUP = 15  # power steps at creation, as torch.nn.utils.parametrizations.spectral_norm


@torch.no_grad()
def power_iteration(W: torch.Tensor, u: torch.Tensor | None = None, n_iter: int = 1,
                    *, generator: torch.Generator | None = None):
    """σ̂ = uᵀWv by ``n_iter`` steps of v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖ (Miyato et al., Alg. 1).

    ``W``: ``[m, n]`` or batched ``[K, m, n]``; ``u``: ``[m]`` / ``[K, m]``, the persistent left
    vector (random when None, drawn from ``generator``). Returns ``(sigma, u, v)`` with sigma
    ``[]`` / ``[K]``. Since u and v are unit vectors, σ̂ = uᵀWv ≤ ‖W‖₂ = σ at every step
    (erratum 4): ‖W/σ̂‖₂ = σ/σ̂ ≥ 1, equal to 1 only at convergence. No gradient flows through
    u and v (as in the paper and PyTorch); differentiate σ̂ yourself as uᵀWv if needed.
    """
    n_iter = check_positive_int("n_iter", n_iter)
    check_points("W", W, ndim=None)
    if W.ndim not in (2, 3):
        raise ValueError(f"W must be [m, n] or [K, m, n], got shape {tuple(W.shape)}")
    check_generator("generator", generator)
    if u is not None:
        check_points("u", u, ndim=None)
        check_same_device(W=W, u=u)
    if u is None:
        u = torch.randn(W.shape[:-1], generator=generator, device=draw_device(generator),
                        dtype=W.dtype).to(W.device)
    if u.shape != W.shape[:-1]:
        raise ValueError(f"u must have shape {tuple(W.shape[:-1])}, got {tuple(u.shape)}")
    u, v = power_steps(W, u, n_iter)
    sigma = (u.unsqueeze(-2) @ W @ v.unsqueeze(-1)).squeeze(-1).squeeze(-1)  # uᵀWv
    return sigma, u, v


def power_steps(W: torch.Tensor, u: torch.Tensor, n_iter: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The steps of :func:`power_iteration` without its checks and without σ̂: unit ``(u, v)``
    after ``n_iter`` steps v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖ from ``u`` (normalized first), on any
    leading batch shape ``W [.., m, n]``, ``u [.., m]``. The trainer calls it on a detached W
    every critic update, where σ̂ would be thrown away."""
    u = _normalize(u)
    Wt = W.transpose(-1, -2)
    for _ in range(n_iter):
        v = _normalize((Wt @ u.unsqueeze(-1)).squeeze(-1))  # [.., n]
        u = _normalize((W @ v.unsqueeze(-1)).squeeze(-1))  # [.., m]
    return u, v


class SpectralNorm(nn.Module):
    """Parametrization W ↦ W / σ̂(W) with the state and schedule of
    ``torch.nn.utils.parametrizations.spectral_norm``.

    State: unit vectors ``_u`` ``[m]`` and ``_v`` ``[n]`` (buffers, saved in the state dict).
    At registration: u, v ~ N(0, I) normalized, then 15 warm-up steps. Each access of
    ``.weight`` in training mode runs ``n_power_iterations`` steps; in eval mode u, v are frozen.
    A step is u ← Wv/‖Wv‖, v ← Wᵀu/‖Wᵀu‖ — :func:`power_iteration` applied to Wᵀ with v as its
    persistent vector — so σ̂ = uᵀWv matches PyTorch's to rounding. Conv weights
    ``[out, in, kh, kw]`` are flattened to ``[out, in·kh·kw]`` (dim 0): that is the norm of the
    reshaped kernel, not the operator norm of the convolution (Sedghi et al., 2019).
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, eps: float = 1e-12):
        super().__init__()
        self.n_power_iterations = check_positive_int("n_power_iterations", n_power_iterations)
        self.eps = eps
        W = weight.detach().flatten(1)  # [m, n]
        u = _normalize(W.new_empty(W.shape[0]).normal_(0, 1), eps)  # same draws as PyTorch's
        v = _normalize(W.new_empty(W.shape[1]).normal_(0, 1), eps)
        self.register_buffer("_u", u)
        self.register_buffer("_v", v)
        self._step(W, 15)

    @torch.no_grad()
    def _step(self, W: torch.Tensor, n: int) -> None:
        _, v, u = power_iteration(W.transpose(0, 1), self._v, n)  # v-first on Wᵀ = u-first on W
        self._u.copy_(u)
        self._v.copy_(v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        W = weight.flatten(1)  # [m, n]
        if self.training:
            self._step(W.detach(), self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()  # why: later steps must not alter this graph
        sigma = u @ W @ v  # σ̂ = uᵀWv, differentiable w.r.t. W
        return weight / sigma


def spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Spectrally normalize every ``nn.Linear`` and ``nn.Conv*d`` in ``module``, in place.

    Afterwards ``m.weight`` reads W / σ̂(W) (SNGAN, Miyato et al., 2018, eq. 8) — divided by σ̂,
    not σ̂² as the source notes write (erratum 3) — with one power step per training-mode
    forward, exactly as ``torch.nn.utils.parametrizations.spectral_norm``. Returns ``module``.
    """
    check_module("module", module)
    check_positive_int("n_power_iterations", n_power_iterations)
    kinds = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    for m in list(module.modules()):
        if isinstance(m, kinds) and not parametrize.is_parametrized(m, "weight"):
            parametrize.register_parametrization(
                m, "weight", SpectralNorm(m.weight, n_power_iterations))
    return module
