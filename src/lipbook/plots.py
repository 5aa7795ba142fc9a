"""Figures for the book: critic landscapes, ‖∇f‖ maps, gradient-norm and weight histograms,
training curves, the playground's figure, and a sweep's small multiples (and, for outside users,
its frame animation; the chapters' kernel-free twin of a slider is :mod:`lipbook.explorer`).

Every function draws with matplotlib's object-oriented API: the ``ax`` functions draw into an
``Axes`` they are given, and the figure functions build a :class:`matplotlib.figure.Figure`
without pyplot, so nothing here touches pyplot's global state. That makes them safe to call
from the playground's worker thread (pyplot is not thread-safe) and means a returned figure is
never shown twice: a notebook displays the ``Figure`` it gets back (or ``display(fig)``), and
:func:`sweep_animation` returns only its HTML.

The critic landscape shows f over the square [−lim, lim]² as filled contours (darker = larger
f), its gradient field ∇f as arrows, real samples in orange and generated samples in green.
The arrows are scaled so that the longest one spans one arrow spacing; the legend states the
largest ‖∇f‖ drawn, which is what a Lipschitz constraint is about (1 for a 1-Lipschitz critic).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from torch import nn

from . import toy
from .book import format_value, jshtml
from .checks import check_int, check_positive
from .config import swept_field
from .lipschitz import gradient_norms, values_and_gradients

REAL_COLOR = "tab:orange"
FAKE_COLOR = "tab:green"
CMAP = "Blues"  # light to dark: low to high f; orange and green points stand out on it
ARROWS = 15  # arrows per side of the gradient field
TARGET_POINTS = 512  # real points drawn for a result's figure
TARGET_SEED = 20_221_011  # fixed, so every figure of a dataset shows the same real points

__all__ = ["critic_landscape", "grad_norm_histogram", "gradient_norm_map", "weight_histogram",
           "training_curves", "result_figure", "sweep_grid", "sweep_animation"]


# ---------------------------------------------------------------------------------------------
# helpers


def _sweep_members(results, name):
    """The sweep's results as a non-empty list, and the swept field's name (inferred if None)."""
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    if not results:
        raise ValueError("results must hold at least one TrainResult")
    if name is None:  # the field that differs between the configs, else the method's own
        name = swept_field([r.config for r in results]) or results[0].config.hyperparameter
    if not hasattr(results[0].config, name):
        raise ValueError(f"unknown name={name!r}: not a WGANConfig field")
    return results, name


def _numpy_points(name: str, x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"{name} must be [n, 2] points, got shape {x.shape}")
    return x


def _grid_for(critic, lim: float, n: int) -> torch.Tensor:
    """:func:`lipbook.toy.grid` in the critic's dtype (a module's own; torch's default for a
    plain function, which may wrap a float32 module)."""
    params = critic.parameters() if isinstance(critic, nn.Module) else ()
    dtype = next((p.dtype for p in params), None)
    return toy.grid(lim, n, dtype=dtype or torch.get_default_dtype())


def _target_points(result, n: int = TARGET_POINTS) -> torch.Tensor:
    g = torch.Generator().manual_seed(TARGET_SEED)
    return toy.sample(result.config.dataset, n, generator=g)


def _modes_text(result) -> str:
    try:
        covered, total = result.modes_covered()
    except ValueError:  # datasets without modes (swissroll, ring, checkerboard)
        return ""
    return f", {covered}/{total} modes"


# ---------------------------------------------------------------------------------------------
# axes-level plots


def critic_landscape(ax, critic: nn.Module, *, real=None, fake=None, lim: float = 2.0,
                     resolution: int = 80, gradient_field: bool = True, title: str | None = None):
    """Draw the critic f over [−lim, lim]² into ``ax``: filled contours of f (no colour bar:
    darker is larger), the gradient field ∇f (arrows on a 15 × 15 subgrid, the longest one
    spanning one arrow spacing; the legend gives the largest ‖∇f‖ shown), and the ``real``
    (orange) and ``fake`` (green) points, each ``[n, 2]`` tensors or arrays. Axes are labelled
    x1, x2 with equal aspect; returns ``ax``.

    ``critic`` maps ``[n, 2] -> [n, 1]`` on any device (a ``TrainResult.critic``; GN / GraN
    critics work too).
    """
    lim, resolution = check_positive("lim", lim), check_int("resolution", resolution, low=2)
    grid = _grid_for(critic, lim, resolution)  # [r², 2], x2 varying slowest
    f, grad = (t.cpu().double() for t in values_and_gradients(critic, grid))
    F = f.view(resolution, resolution).numpy()
    X, Y = (grid[:, i].view(resolution, resolution).numpy() for i in (0, 1))
    finite = np.isfinite(F)
    if finite.any():
        lo, hi = float(F[finite].min()), float(F[finite].max())
        levels = np.linspace(lo, hi, 15) if hi > lo else 15
        ax.contourf(X, Y, np.where(finite, F, np.nan), levels=levels, cmap=CMAP, alpha=0.85)
        if hi > lo:
            ax.contour(X, Y, F, levels=levels, colors="k", linewidths=0.3, alpha=0.3)
    handles = []
    if gradient_field:
        stride = max(1, resolution // ARROWS)
        idx = np.arange(stride // 2, resolution, stride)
        G = grad.view(resolution, resolution, 2).numpy()[np.ix_(idx, idx)]  # [a, a, 2]
        norms = np.linalg.norm(G, axis=-1)
        longest = float(np.nanmax(norms)) if np.isfinite(norms).any() else float("nan")
        spacing = 2 * lim * stride / (resolution - 1)
        if math.isfinite(longest) and longest > 0:
            ax.quiver(X[np.ix_(idx, idx)], Y[np.ix_(idx, idx)], G[..., 0], G[..., 1],
                      angles="xy", scale_units="xy", scale=longest / (0.9 * spacing),
                      width=0.004, color="0.15", alpha=0.8)
        handles.append(Line2D([], [], color="0.15", marker=r"$\rightarrow$", markersize=10,
                              linestyle="none", label=f"∇f (max ‖∇f‖ = {longest:.3g})"))
    for name, pts, color, label in (("real", real, REAL_COLOR, "real samples"),
                                    ("fake", fake, FAKE_COLOR, "generated samples")):
        if pts is None:
            continue
        p = _numpy_points(name, pts)
        handles.append(ax.scatter(p[:, 0], p[:, 1], s=4, c=color, alpha=0.7, label=label,
                                  linewidths=0))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize="x-small", framealpha=0.8,
                  markerscale=2)
    if title is not None:
        ax.set_title(title)
    return ax


def grad_norm_histogram(ax, critic: nn.Module, x, *, label: str | None = None, bins: int = 50):
    """Histogram of ‖∇f(x)‖ over the points ``x`` ``[n, 2]``, with a dashed line at 1 (the
    target of a 1-Lipschitz critic, WGAN-GP's penalty, and GN's bound). Returns ``ax``."""
    pts = torch.as_tensor(_numpy_points("x", x))
    grad = values_and_gradients(critic, pts)[1].cpu().double()
    norms = grad.norm(dim=1).numpy()
    norms = norms[np.isfinite(norms)]
    ax.hist(norms, bins=bins, alpha=0.7, label=label or f"‖∇f‖ on {len(pts)} points")
    ax.axvline(1.0, color="k", linestyle="--", linewidth=1, label="‖∇f‖ = 1")
    ax.set_xlabel("‖∇f(x)‖")
    ax.set_ylabel("count")
    ax.legend(fontsize="small")
    return ax


def gradient_norm_map(ax, critic, *, lim: float = 2.0, resolution: int = 121,
                      title: str | None = None):
    """‖∇f‖ of a critic on the square [−lim, lim]² as a heat map in ``ax``: log colours from
    0.1 to 10, white at 1 (the bound a 1-Lipschitz critic keeps), red steeper, blue flatter.
    Returns ``(mesh, norms)``: the ``QuadMesh`` (for a colour bar) and the norms
    ``[resolution, resolution]`` (row i at x₂ = a_i, column j at x₁ = a_j)."""
    from matplotlib.colors import LogNorm

    grid = _grid_for(critic, lim, resolution)  # [r², 2]
    norms = gradient_norms(critic, grid).cpu().double().view(resolution, resolution)
    X, Y = (grid[:, i].view(resolution, resolution).numpy() for i in (0, 1))
    mesh = ax.pcolormesh(X, Y, norms.numpy(), norm=LogNorm(vmin=0.1, vmax=10), cmap="RdBu_r",
                         shading="auto")
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return mesh, norms


def weight_histogram(ax, module: nn.Module, *, label: str | None = None, c: float | None = None,
                     bins: int = 60):
    """Histogram of every weight of ``module`` (the entries of its matrices; biases are left
    out — there are few and they start at 0), with dashed lines at ±c when ``c`` is given (the
    clipping bounds, where clipped weights pile up). Returns ``ax``."""
    params = [p for p in module.parameters() if p.ndim >= 2] or list(module.parameters())
    if not params:
        raise ValueError("module has no parameters to histogram")
    w = torch.cat([p.detach().flatten().cpu().double() for p in params]).numpy()
    ax.hist(w, bins=bins, alpha=0.7, label=label or f"{len(w)} weights")
    if c is not None:
        c = check_positive("c", c)
        ax.axvline(-c, color="tab:red", linestyle="--", linewidth=1, label=f"±c = ±{c:g}")
        ax.axvline(c, color="tab:red", linestyle="--", linewidth=1)
    ax.set_xlabel("weight value")
    ax.set_ylabel("count")
    ax.legend(fontsize="small")
    return ax


_CURVE_LABELS = {
    "exact_w1": "exact W1(generated, real)",
    "dual_w1": "critic's estimate E f(real) − E f(fake)",
    "critic_loss": "critic loss",
    "generator_loss": "generator loss",
    "grad_norm_mean": "mean ‖∇f‖ on held-out points",
    "seconds": "training time (s)",
}


def training_curves(ax, results, key: str = "exact_w1", *, labels: Sequence[str] | None = None):
    """``history[key]`` against the generator iteration for each :class:`TrainResult` in
    ``results`` (one result works too); log-scale y for ``exact_w1``. Labels default to
    "name = value" of the swept hyperparameter (the method name for a single result).
    Returns ``ax``."""
    results, name = _sweep_members(results, None)
    if key not in results[0].history:
        raise ValueError(f"unknown key={key!r}: choose one of {tuple(results[0].history)}")
    if labels is None:
        labels = ([results[0].config.method] if len(results) == 1 else
                  [f"{name} = {format_value(getattr(r.config, name))}" for r in results])
    if len(labels) != len(results):
        raise ValueError(f"labels must have one entry per result ({len(results)}), "
                         f"got {len(labels)}")
    for r, lab in zip(results, labels):
        ax.plot(r.history["step"], r.history[key], label=lab)
    if key == "exact_w1":
        ax.set_yscale("log")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel(_CURVE_LABELS.get(key, key))
    ax.legend(fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------------
# figures


def _draw_result(fig: Figure, result, lim: float, resolution: int) -> Figure:
    cfg = result.config
    real = _target_points(result)
    fake = result.samples.detach().cpu()
    ax1, ax2, ax3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.15, 1, 1]})
    critic_landscape(ax1, result.critic, real=real, fake=fake, lim=lim, resolution=resolution,
                     title="critic f and samples")
    pts = torch.cat([real.double(), fake.double()])
    grad_norm_histogram(ax2, result.critic, pts, label="real and generated points")
    ax2.set_title("gradient norms")
    h = result.history
    ax3.plot(h["step"], h["exact_w1"], label="exact W1 (POT)")
    ax3.plot(h["step"], h["dual_w1"], linestyle="--", label="critic's estimate")
    ax3.set_xlabel("generator iteration")
    ax3.set_ylabel("W1")
    ax3.set_xlim(0, max(cfg.steps, 1))
    ax3.legend(fontsize="small")
    ax3.set_title("W1 to the target")
    step = h["step"][-1] if h["step"] else 0
    hp = cfg.hyperparameter
    w1 = h["exact_w1"][-1] if h["exact_w1"] else float("nan")
    fig.suptitle(f"{cfg.method}, {hp} = {format_value(getattr(cfg, hp))}, {cfg.dataset}: "
                 f"iteration {step}/{cfg.steps}, W1 = {w1:.3g}{_modes_text(result)}",
                 fontsize="medium")
    return fig


def result_figure(result, *, lim: float = 2.0, resolution: int = 60) -> Figure:
    """The playground's figure for one :class:`TrainResult`, in three panels: the critic
    landscape with real and generated samples, the histogram of ‖∇f‖ on those samples, and
    the exact W1 and the critic's dual estimate against the iteration. A
    :class:`matplotlib.figure.Figure` built without pyplot (safe from any thread)."""
    fig = Figure(figsize=(12, 3.9))
    _draw_result(fig, result, lim, resolution)
    # why: a fixed layout; constrained layout costs a third of the time of a redraw
    fig.subplots_adjust(left=0.045, right=0.985, bottom=0.13, top=0.84, wspace=0.22)
    return fig


def _member_panel(ax, r, name: str, real, lim: float, resolution: int, layout: str) -> None:
    """One sweep member's critic landscape, titled by ``layout`` with ``{value}`` ("name =
    value") and ``{w1}`` (the final exact W1 and the modes covered) filled in."""
    w1 = r.history["exact_w1"][-1] if r.history["exact_w1"] else float("nan")
    title = layout.format(value=f"{name} = {format_value(getattr(r.config, name))}",
                          w1=f"{w1:.3g}{_modes_text(r)}")
    critic_landscape(ax, r.critic, real=real, fake=r.samples.detach().cpu(), lim=lim,
                     resolution=resolution, title=title)
    ax.title.set_fontsize("small")


def sweep_grid(results, name: str | None = None, *, ncols: int | None = None,
               lim: float = 2.0) -> Figure:
    """Small multiples: one critic landscape (with real and generated samples) per member of a
    sweep, each titled "name = value" and, on a second line, its final exact W1 (and modes
    covered). ``name`` is inferred from the configs when None. Returns a ``Figure``."""
    results, name = _sweep_members(results, name)
    n = len(results)
    ncols = min(n, 4) if ncols is None else ncols
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(3.2 * ncols, 3.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).flatten()
    real = _target_points(results[0])
    for i, (ax, r) in enumerate(zip(axes, results)):
        _member_panel(ax, r, name, real, lim, resolution=50, layout="{value}\nW1 = {w1}")
        if i > 0 and ax.get_legend() is not None:
            ax.get_legend().remove()  # one legend (the first panel's) is enough
    for ax in axes[n:]:
        ax.set_axis_off()
    cfg = results[0].config
    fig.suptitle(f"{cfg.method} on {cfg.dataset}, {cfg.steps} generator iterations",
                 fontsize="medium")
    return fig


def sweep_animation(results, name: str | None = None, *, lim: float = 2.0, dpi: int = 60):
    """The sweep as an animation with a frame slider that plays in plain HTML (no kernel):
    one frame per member (its critic landscape and samples, titled "name = value"), rendered by
    ``matplotlib.animation`` to ``to_jshtml`` with inlined PNG frames (through :func:`jshtml`,
    so the page loads nothing from the network). At the default ``dpi`` a frame is about 30 kB,
    so 8 members stay well under 1 MB. Returns ``IPython.display.HTML``; the figure is never
    shown as a static image (no pyplot)."""
    from matplotlib.animation import FuncAnimation

    results, name = _sweep_members(results, name)
    dpi = check_int("dpi", dpi, low=10)
    fig = Figure(figsize=(4.6, 4.6), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    real = _target_points(results[0])

    def frame(i: int):
        ax.clear()
        _member_panel(ax, results[i], name, real, lim, resolution=60,
                      layout="{value}   (W1 = {w1})")
        return []

    anim = FuncAnimation(fig, frame, frames=len(results), interval=900, blit=False, repeat=False)
    # why: the writer saves frames at rcParams["savefig.dpi"]; pin it to ``dpi`` for this call
    with matplotlib.rc_context({"savefig.dpi": dpi, "savefig.bbox": None}):
        return jshtml(anim, default_mode="once")
