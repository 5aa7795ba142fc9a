"""2D target distributions for the toy WGAN, and mode coverage.

The scales follow the WGAN-GP toy code (Gulrajani et al., 2017, ``gan_toy.py``):

- ``8gaussians``: centres (±1, 0), (0, ±1), (±1/√2, ±1/√2) times 2, plus N(0, 0.02²) noise,
  all divided by 1.414 — centres on a circle of radius ≈ 1.414, ≈ 1.08 apart, σ ≈ 0.014.
- ``25gaussians``: a 5×5 grid at −4 … 4 in steps of 2, plus N(0, 0.05²), divided by 2.828.
- ``swissroll``: scikit-learn's ``make_swiss_roll(noise=0.25)`` columns 0 and 2, divided by 7.5,
  reimplemented: t = 1.5π(1 + 2u), (x, z) = (t cos t, t sin t) + N(0, 0.25²).

Two sets are this package's own (not in that code), documented here:

- ``ring``: the circle of radius √2 with N(0, 0.02²) radial noise (a continuous version of
  8gaussians, so mode dropping shows up as gaps rather than missing blobs).
- ``checkerboard``: uniform on the 8 dark squares of a 4×4 board on [−2, 2]², unit squares,
  scaled by 1/1.414 so the set fits the same box as 8gaussians.

Every sampler draws all randomness from the ``generator`` passed in, in one vectorised call per
source of randomness, so a run is reproducible and the sampler costs microseconds.
"""

from __future__ import annotations

import functools
import math

import torch

from .checks import check_generator, check_points, check_positive, check_positive_int, check_real
from .device import check_device, draw_device

DATASETS = ("8gaussians", "25gaussians", "swissroll", "ring", "checkerboard")


def _centres_8() -> torch.Tensor:
    s = 1.0 / math.sqrt(2.0)
    c = torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1], [s, s], [s, -s], [-s, s], [-s, -s]])
    return c * 2.0 / 1.414  # [8, 2]


def _centres_25() -> torch.Tensor:
    g = torch.arange(-4.0, 5.0, 2.0)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    return torch.stack([xx.flatten(), yy.flatten()], dim=1) / 2.828  # [25, 2]


# Mode centres and the per-coordinate noise σ, in the scaled coordinates.
MODES = {
    "8gaussians": (_centres_8, 0.02 / 1.414),
    "25gaussians": (_centres_25, 0.05 / 2.828),
}


def mode_centres(name: str) -> torch.Tensor:
    """The mode centres ``[M, 2]`` of a Gaussian-mixture dataset (8gaussians, 25gaussians)."""
    if not isinstance(name, str) or name not in MODES:
        raise ValueError(
            f"name={name!r} has no modes: mode_centres and mode_coverage take one of "
            f"{tuple(MODES)}"
        )
    return MODES[name][0]()


@functools.cache
def _centres_on(name: str, device: torch.device) -> torch.Tensor:
    """:func:`mode_centres` on ``device``, built once: ``sample`` runs every critic step.
    Read-only (``sample`` only indexes it); ``mode_centres`` still returns a fresh tensor."""
    return MODES[name][0]().to(device)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"unknown dataset name={name!r}: choose one of {DATASETS}")


def sample(name: str, n: int, *, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Draw ``n`` points ``[n, 2]`` (float32) from the toy distribution ``name``.

    ``generator`` makes the draw reproducible; without it torch's global CPU generator is
    used. The points are drawn where the generator lives (the CPU for a default
    ``torch.Generator()``) and then moved to ``device`` (default: the generator's device), so
    one CPU generator gives the same points on every device.
    """
    _check_name(name)
    n = check_positive_int("n", n)
    dev = draw_device(check_generator("generator", generator))
    out = check_device("device", device) if device is not None else dev
    return _sample(name, n, generator, dev).to(out)


def sample_blurred(name: str, n: int, sigma: float = 1.0, *,
                   generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """``n`` points ``[n, 2]`` of the blurred target Q = P ∗ N(0, σ²I): a fresh draw x_r of
    :func:`sample` plus independent N(0, σ²I) noise, both from ``generator`` in that order
    (the critic-only experiments of WGAN-GP, Gulrajani et al. 2017, Fig. 1, use σ = 1).

    >>> g = torch.Generator().manual_seed(0)
    >>> q = sample_blurred("8gaussians", 4, generator=g)
    >>> g = torch.Generator().manual_seed(0)
    >>> x_r = sample("8gaussians", 4, generator=g)
    >>> torch.equal(q, x_r + torch.randn(4, 2, generator=g))
    True
    """
    sigma = check_positive("sigma", sigma)
    x_r = sample(name, n, generator=generator)
    noise = torch.randn(x_r.shape, generator=generator, device=x_r.device)  # [n, 2]
    out = x_r + sigma * noise
    return out.to(check_device("device", device)) if device is not None else out


def grid(lim: float, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The n × n grid of the square [−lim, lim]² as points ``[n², 2]``, row-major with x₂
    varying slowest, so ``values.view(n, n)[i, j]`` is the value at (x₁, x₂) = (a_j, a_i)
    for the axis a = linspace(−lim, lim, n): the layout ``imshow``/``pcolormesh`` expect.

    >>> grid(1.0, 2).tolist()
    [[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]]
    """
    lim = check_positive("lim", lim)
    n = check_positive_int("n", n)
    if n < 2:
        raise ValueError(f"n must be an int >= 2, got {n}")
    axis = torch.linspace(-lim, lim, n, dtype=dtype)
    x2, x1 = torch.meshgrid(axis, axis, indexing="ij")  # [n, n] each
    return torch.stack([x1.flatten(), x2.flatten()], dim=1)  # [n², 2]


def _sample(name: str, n: int, generator: torch.Generator | None, dev: torch.device) -> torch.Tensor:
    """:func:`sample` on the generator's device ``dev``."""
    kw = {"generator": generator, "device": dev}
    if name in MODES:
        sigma = MODES[name][1]
        centres = _centres_on(name, dev)  # [M, 2]
        idx = torch.randint(len(centres), (n,), **kw)  # [n]
        return centres[idx] + sigma * torch.randn(n, 2, **kw)
    if name == "swissroll":
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, **kw))  # [n]
        xz = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)  # [n, 2]
        return (xz + 0.25 * torch.randn(n, 2, **kw)) / 7.5
    if name == "ring":
        angle = 2 * math.pi * torch.rand(n, **kw)
        radius = math.sqrt(2.0) + 0.02 * torch.randn(n, **kw)
        return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    # checkerboard: pick one of the 8 dark unit squares of the 4x4 board on [-2, 2]^2
    cells = torch.tensor([(i, j) for i in range(4) for j in range(4) if (i + j) % 2 == 0],
                         dtype=torch.float32, device=dev)  # [8, 2]
    idx = torch.randint(len(cells), (n,), **kw)
    return (cells[idx] - 2 + torch.rand(n, 2, **kw)) / 1.414


def mode_coverage(samples: torch.Tensor, name: str, radius: float = 0.1,
                  min_share: float = 0.01) -> tuple[int, int]:
    """``(covered, total)``: how many modes of ``name`` hold ≥ ``min_share`` of ``samples``
    within ``radius`` of their centre.

    Only for ``8gaussians`` and ``25gaussians``. The 8gaussians centres are ≈ 1.08 apart with
    σ ≈ 0.014, so ``radius=0.1`` (≈ 7σ) is strict but fair: a blurry generator that spreads
    mass between the modes does not count as covering them.

    >>> mode_coverage(mode_centres("8gaussians"), "8gaussians")  # one point on each centre
    (8, 8)
    """
    centres = mode_centres(name)
    check_points("samples", samples, dim=2)
    centres = centres.to(samples.device, samples.dtype if samples.is_floating_point() else None)
    radius = check_positive("radius", radius)
    min_share = check_real("min_share", min_share, low=0.0, low_inclusive=False)
    if min_share > 1:
        raise ValueError(f"min_share must be in (0, 1], got {min_share}")
    near = torch.cdist(samples, centres) < radius  # [n, M]
    share = near.float().mean(dim=0)  # [M]
    return int((share >= min_share).sum()), len(centres)
