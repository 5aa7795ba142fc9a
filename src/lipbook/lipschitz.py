"""Bounds on a network's Lipschitz constant K = sup ‖f(x) − f(y)‖ / ‖x − y‖ (Euclidean norms).

Upper bound (for a feed-forward stack of layers): Lip(f₂ ∘ f₁) ≤ Lip(f₂)·Lip(f₁), with
Lip(x ↦ Wx + b) = ‖W‖₂ (largest singular value) and Lip(σ) the activation's constant, so

    K ≤ Π_l ‖W_l‖₂ · Π_l Lip(σ_l).                                   (product bound)

Lower bounds: any slope |f(x) − f(y)| / ‖x − y‖ (:func:`pairwise_slope`), and any gradient norm
‖∇f(x)‖ of a scalar f (for differentiable f on a convex set, K = sup ‖∇f‖). A ReLU network is
piecewise linear, so ∇f is constant inside each linear region and plain gradient ascent on
‖∇f‖ does not move; :func:`lower_bound` therefore refines the best sampled points by local
random search. Computing K exactly is NP-hard (Scaman & Virmaux, 2018); the gap between the
two bounds is the subject of Chapter 2.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .checks import check_generator, check_int, check_module, check_points
from .constraints import GradientNormalized
from .device import draw_device
from .nets import GroupSort

GELU_LIP = 1.1289  # max over x of |d/dx x·Φ(x)|, attained at x = √2 (computed in Chapter 2)


def activation_constant(m: nn.Module) -> float | None:
    """The Lipschitz constant of an activation module, or None when ``m`` is not one."""
    if isinstance(m, (nn.ReLU, nn.Tanh, nn.Softplus, nn.Identity, GroupSort, nn.Hardtanh)):
        return 1.0
    if isinstance(m, nn.LeakyReLU):
        return max(1.0, abs(m.negative_slope))
    if isinstance(m, nn.ELU):
        return max(1.0, m.alpha)
    if isinstance(m, nn.Sigmoid):
        return 0.25
    if isinstance(m, nn.GELU):
        return GELU_LIP
    return None


def _layers(model: nn.Module):
    """The layers of a feed-forward stack in order; a Linear counts as one layer even when it
    carries a parametrization (whose modules sit inside it)."""
    if isinstance(model, nn.Linear) or not list(model.children()):
        yield model
        return
    for child in model.children():
        yield from _layers(child)


@torch.no_grad()
def upper_bound(model: nn.Module) -> float:
    """Product bound Π ‖W_l‖₂ · Π Lip(σ_l) for a feed-forward stack (``nn.Sequential`` of
    ``nn.Linear`` and activations, or a bare ``nn.Linear``).

    ‖W‖₂ is computed exactly (``torch.linalg.matrix_norm(W, 2)``, an SVD, in float64 on the
    CPU whatever the model's device) on the weight the layer uses, so for a spectrally normalized layer it is σ/σ̂ ≥ 1. Returns ``inf`` for a
    gradient-normalized critic (GN/GraN have no finite global constant). Raises ``ValueError``
    for a layer it cannot bound.

    >>> first, last = nn.Linear(2, 1), nn.Linear(1, 1)
    >>> with torch.no_grad():
    ...     _ = first.weight.copy_(torch.tensor([[3.0, 4.0]])), last.weight.fill_(-2.0)
    >>> round(upper_bound(nn.Sequential(first, nn.ReLU(), last)), 9)  # ‖(3, 4)‖ · 1 · |−2|
    10.0
    """
    check_module("model", model)
    if any(isinstance(m, GradientNormalized) for m in model.modules()):
        return math.inf  # anywhere in the stack, not only at the top
    bound = 1.0
    for m in _layers(model):
        if isinstance(m, nn.Linear):
            was_training = m.training
            m.eval()  # why: in training mode, reading a spectral-norm weight takes a power step
            # float64 on the CPU: Apple's MPS has no float64
            bound *= float(torch.linalg.matrix_norm(m.weight.detach().cpu().double(), 2))
            m.train(was_training)
        elif (const := activation_constant(m)) is not None:
            bound *= const
        elif isinstance(m, nn.Dropout):
            continue
        else:
            raise ValueError(f"upper_bound cannot bound a {type(m).__name__} layer; it takes "
                             "nn.Linear layers and the activations of activation_constant")
    return bound


def values_and_gradients(f, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x) ``[n]`` and ∇ₓf(x) ``[n, d]`` at each row of ``x`` ``[n, d]``, for a scalar f
    (``[n, d] -> [n, 1]`` or ``[n]``; a module or any function of a tensor).

    A module with parameters is evaluated in its own device and dtype (``x`` is moved there);
    the results are detached, on that device. Works under ``torch.no_grad`` (why: GN and GraN
    critics need autograd even to be evaluated). Samples must not interact (no batch norm), so
    the gradient of Σᵢ f(xᵢ) holds every sample's own gradient.

    >>> v, g = values_and_gradients(lambda x: (x ** 2).sum(1), torch.tensor([[1.0, 2.0]]))
    >>> v.tolist(), g.tolist()
    ([5.0], [[2.0, 4.0]])
    """
    check_module("f", f, callable_ok=True)
    x = check_points("x", x)
    if isinstance(f, nn.Module):
        for p in f.parameters():
            x = x.to(device=p.device, dtype=p.dtype)
            break
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = f(x)
        if out.shape not in ((len(x),), (len(x), 1)):
            raise ValueError(f"f must give one scalar per row of x ([n] or [n, 1] for n = "
                             f"{len(x)}), got shape {tuple(out.shape)}")
        (grad,) = torch.autograd.grad(out.sum(), x)
    return out.detach().reshape(len(x)), grad.detach()  # [n], [n, d]


def gradient_norms(model, x: torch.Tensor) -> torch.Tensor:
    """‖∇ₓ f(x)‖ for each row of ``x`` ``[n, d]``, for a scalar-output model or function:
    ``[n]`` (the norms of :func:`values_and_gradients`). Raises ``ValueError`` when the
    gradient is not finite.

    >>> gradient_norms(lambda x: 3 * x[:, :1] - 4 * x[:, 1:], torch.zeros(2, 2)).tolist()
    [5.0, 5.0]
    """
    check_module("model", model, callable_ok=True)
    norms = values_and_gradients(model, x)[1].norm(dim=1)  # [n]
    if not bool(torch.isfinite(norms).all()):
        raise ValueError("the model's gradient norm is NaN or infinite at some points of x")
    return norms


def lower_bound(model: nn.Module, x: torch.Tensor, steps: int = 100,
                generator: torch.Generator | None = None) -> float:
    """max ‖∇f‖ over ``x`` ``[n, d]``, refined by ``steps`` rounds of local random search.

    Each round proposes x' = x + s·ξ (ξ ~ N(0, I)) for every point and keeps the proposals whose
    gradient norm is larger; the step s shrinks geometrically from 0.5·(spread of x) to 1e-3 of
    it. Every value kept is a gradient norm the model really has, so the result is a lower
    bound on K, never above the true constant. Scalar-output models only.
    """
    check_points("x", x)
    steps = check_int("steps", steps, low=0)
    check_generator("generator", generator)
    pts = x.detach().clone()
    best = gradient_norms(model, pts)  # [n]
    spread = float(pts.std(dim=0).mean()) if len(pts) > 1 else 1.0
    for i in range(steps):
        s = 0.5 * spread * (2e-3 ** (i / max(steps - 1, 1)))  # geometric decay to 1e-3·spread
        noise = torch.randn(pts.shape, generator=generator, device=draw_device(generator),
                            dtype=pts.dtype).to(pts.device)
        prop = pts + s * noise
        g = gradient_norms(model, prop)
        better = g > best
        pts[better] = prop[better]
        best = torch.maximum(best, g)
    return float(best.max())


@torch.no_grad()
def pairwise_slope(model, x: torch.Tensor, y: torch.Tensor) -> float:
    """max over all pairs (i, j) of |f(x_i) − f(y_j)| / ‖x_i − y_j‖, pairs at distance 0 skipped.

    ``model``: any callable mapping ``[n, d]`` to ``[n]`` or ``[n, 1]`` (a network, or
    ``torch.sin``). ``x [n, d]``, ``y [m, d]``. A lower bound on the Lipschitz constant.
    The model runs where ``x`` and ``y`` are; the slopes are computed in float64 on the CPU.
    """
    check_module("model", model, callable_ok=True)
    check_points("x", x)
    check_points("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same d, got {x.shape[1]} and {y.shape[1]}")
    with torch.enable_grad():  # why: a gradient-normalized critic needs autograd to evaluate
        fx, fy = model(x), model(y)
    exact = "donot_use_mm_for_euclid_dist"  # why: the matmul shortcut loses digits for close pairs
    # float64 on the CPU (Apple's MPS has no float64)
    fx = fx.detach().reshape(len(x), -1).cpu().double()  # [n, o]
    fy = fy.detach().reshape(len(y), -1).cpu().double()  # [m, o]
    if not bool(torch.isfinite(fx).all() and torch.isfinite(fy).all()):
        raise ValueError("the model's output is NaN or infinite at some points of x or y")
    num = torch.cdist(fx, fy, compute_mode=exact)  # ‖f(x_i) − f(y_j)‖, [n, m]
    den = torch.cdist(x.detach().cpu().double(), y.detach().cpu().double(),
                      compute_mode=exact)  # [n, m]
    ok = den > 0
    if not ok.any():
        raise ValueError("x and y have no pair of distinct points")
    return float((num[ok] / den[ok]).max())


def activation_gradient_norms(model: nn.Sequential, x: torch.Tensor) -> list[float]:
    """Mean over ``x`` of ‖∂f/∂h_l‖ for the output h_l of every Linear layer l (input side
    first), for a scalar-output ``nn.Sequential``: how the gradient grows or vanishes as it
    flows back through the layers (WGAN-GP, Fig. 1b)."""
    if not isinstance(model, nn.Sequential):
        raise ValueError("activation_gradient_norms takes an nn.Sequential of layers")
    hs = []
    h = x.detach()
    with torch.enable_grad():
        for m in model:
            h = m(h)
            if isinstance(m, nn.Linear):
                h.retain_grad()
                hs.append(h)
        h.sum().backward()
    norms = [float(t.grad.norm(dim=-1).mean()) for t in hs]
    model.zero_grad(set_to_none=True)
    return norms


