"""The textbook WGAN toy loop, written as the WGAN-GP toy code is structured, for comparison.

Separate critic forwards on real, fake and interpolated points, an ``autograd.grad`` penalty,
a per-parameter clamping loop, a plain (non-fused, non-foreach) optimizer, PyTorch's default
layers with He-uniform weights, and ``torch.nn.utils.parametrizations.spectral_norm`` for SN
(a power step on every critic call, as in a textbook SNGAN loop). GN and GraN are written as
the papers' code does: f, ``autograd.grad`` with ``create_graph=True``, then the formula, in the
critic step (on real and fake separately) and in the generator step.

The sampler is either the original ``gan_toy.py`` one (``sampler="loop"``: NumPy, a Python loop
over the batch) or a vectorised torch one (``sampler="torch"``). The loop sampler is the toy
code's structure, but it is not part of the training step that the package speeds up, so the
benchmarks print both and take the vectorised one as the fair reference.

Timing: the loop runs ``warmup`` untimed iterations, then ``steps`` timed ones in chunks of
``chunk``; :func:`train_baseline` returns the median seconds per generator iteration over the
chunks (robust to a busy machine). Not part of the package: the benchmarks time it against
``lipbook.train`` in the same process.
"""

from __future__ import annotations

import math
import random
import statistics
import time

import numpy as np
import torch
from torch import nn

SCALE = 2.0
CENTERS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1 / math.sqrt(2), 1 / math.sqrt(2)),
           (1 / math.sqrt(2), -1 / math.sqrt(2)), (-1 / math.sqrt(2), 1 / math.sqrt(2)),
           (-1 / math.sqrt(2), -1 / math.sqrt(2))]
CENTERS_T = torch.tensor(CENTERS) * SCALE
METHODS = ("none", "clip", "gp", "lp", "sn", "gn", "gran")


def eight_gaussians(batch: int) -> np.ndarray:
    """As in gan_toy.py: a Python loop over the batch."""
    data = []
    for _ in range(batch):
        point = np.random.randn(2) * 0.02
        cx, cy = random.choice(CENTERS)
        point[0] += SCALE * cx
        point[1] += SCALE * cy
        data.append(point)
    return np.array(data, dtype="float32") / 1.414


def eight_gaussians_torch(batch: int, device: str) -> torch.Tensor:
    """The same distribution, drawn in two vectorised calls."""
    idx = torch.randint(len(CENTERS), (batch,))
    x = (CENTERS_T[idx] + 0.02 * torch.randn(batch, 2)) / 1.414
    return x.to(device)


def net(in_dim: int, out_dim: int, hidden: int, depth: int = 3) -> nn.Sequential:
    layers: list[nn.Module] = []
    dims = [in_dim] + [hidden] * depth + [out_dim]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        lin = nn.Linear(a, b)
        nn.init.kaiming_uniform_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def normalized(D: nn.Module, x: torch.Tensor, eps: float | None) -> torch.Tensor:
    """GN f/(‖∇f‖ + |f|) (eps None) or GraN f‖∇f‖/(‖∇f‖² + ε), as the papers' code writes it."""
    if not x.requires_grad:
        x = x.requires_grad_(True)
    f = D(x)
    grad = torch.autograd.grad(outputs=f, inputs=x, grad_outputs=torch.ones_like(f),
                               create_graph=True, retain_graph=True, only_inputs=True)[0]
    g = grad.norm(2, dim=1, keepdim=True)
    if eps is None:
        return f / (g + f.abs())
    return f * g / (g ** 2 + eps)


def train_baseline(method: str = "gp", hidden: int = 128, steps: int = 50, batch: int = 256,
                   critic_steps: int = 5, lam: float = 0.1, c: float = 0.01, eps: float = 1e-2,
                   lr: float = 1e-3, seed: int = 0, device: str = "cpu", sampler: str = "loop",
                   warmup: int = 10, chunk: int = 10, cpu_out: list | None = None) -> float:
    """Train ``warmup + steps`` generator iterations; return the median wall-clock seconds per
    generator iteration over chunks of ``chunk`` timed iterations. When ``cpu_out`` is a list,
    the median CPU seconds (``time.process_time``, all threads) per iteration is appended."""
    if method not in METHODS:
        raise ValueError(f"unknown method={method!r}: choose one of {METHODS}")
    if sampler not in ("loop", "torch"):
        raise ValueError(f"unknown sampler={sampler!r}: choose 'loop' or 'torch'")
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    D, G = net(2, 1, hidden).to(device), net(2, 2, hidden).to(device)
    if method == "sn":
        for m in D.modules():
            if isinstance(m, nn.Linear):
                torch.nn.utils.parametrizations.spectral_norm(m)
    opt_kw = {"foreach": False}
    if method == "clip":
        opt_D = torch.optim.RMSprop(D.parameters(), lr=lr, **opt_kw)
        opt_G = torch.optim.RMSprop(G.parameters(), lr=lr, **opt_kw)
    else:
        opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.9), **opt_kw)
        opt_G = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.9), **opt_kw)
    gn_eps = {"gn": None, "gran": eps}

    def real_batch() -> torch.Tensor:
        if sampler == "loop":
            return torch.from_numpy(eight_gaussians(batch)).to(device)
        return eight_gaussians_torch(batch, device)

    def sync() -> None:
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()

    times: list[float] = []
    cpu_times: list[float] = []
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    for it in range(warmup + steps):
        if it >= warmup and (it - warmup) % chunk == 0:
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
        for p in D.parameters():
            p.requires_grad = True
        for _ in range(critic_steps):
            real = real_batch()
            noise = torch.randn(batch, 2, device=device)
            fake = G(noise).detach()
            D.zero_grad()
            if method in gn_eps:
                d_real = normalized(D, real, gn_eps[method]).mean()
                d_fake = normalized(D, fake, gn_eps[method]).mean()
            else:
                d_real = D(real).mean()
                d_fake = D(fake).mean()
            loss = d_fake - d_real
            if method in ("gp", "lp"):
                alpha = torch.rand(batch, 1, device=device)
                inter = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
                out = D(inter)
                grads = torch.autograd.grad(outputs=out, inputs=inter,
                                            grad_outputs=torch.ones_like(out),
                                            create_graph=True, retain_graph=True,
                                            only_inputs=True)[0]
                excess = grads.norm(2, dim=1) - 1
                if method == "lp":
                    excess = torch.clamp(excess, min=0)
                loss = loss + lam * (excess ** 2).mean()
            loss.backward()
            opt_D.step()
            if method == "clip":
                for p in D.parameters():
                    p.data.clamp_(-c, c)
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        fake = G(torch.randn(batch, 2, device=device))
        g_loss = -(normalized(D, fake, gn_eps[method]) if method in gn_eps else D(fake)).mean()
        g_loss.backward()
        opt_G.step()
        if it >= warmup and (it - warmup + 1) % chunk == 0:
            sync()
            times.append((time.perf_counter() - t0) / chunk)
            cpu_times.append((time.process_time() - c0) / chunk)
    if not times:
        raise ValueError(f"steps={steps} must be at least chunk={chunk}")
    if cpu_out is not None:
        cpu_out.append(statistics.median(cpu_times))
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# timing helpers shared by the benchmarks (they time lipbook through its public API only)


def timed(run, config, **kwargs) -> tuple[float, float]:
    """``run(config, callback=..., **kwargs)`` (``lipbook.train.train`` or ``sweep``) timed
    from its callbacks: median (wall, CPU) seconds per generator iteration over the intervals
    between callbacks, the first ``eval_every`` iterations (warm-up) left out. Each interval
    includes lipbook's evaluation (exact W1 on ``eval_samples`` points): keep that small."""
    stamps: list[tuple[int, float, float]] = []

    def callback(progress) -> None:  # lipbook synchronizes CUDA after every iteration
        stamps.append((progress.step, time.perf_counter(), time.process_time()))

    run(config, callback=callback, **kwargs)
    if len(stamps) < 2:
        raise ValueError("need at least two callbacks (steps >= 2 * eval_every)")
    walls = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(stamps, stamps[1:])]
    cpus = [(b[2] - a[2]) / (b[0] - a[0]) for a, b in zip(stamps, stamps[1:])]
    return statistics.median(walls), statistics.median(cpus)


def machine() -> str:
    """One line about where and under what load a benchmark ran."""
    import os
    import platform

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    cores = os.cpu_count()
    return (f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cores} cores "
            f"({platform.processor() or platform.machine()}), load average "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)")
