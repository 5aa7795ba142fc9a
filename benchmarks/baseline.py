"""The textbook WGAN toy loop, written as the WGAN-GP toy code is structured, for comparison.

Separate critic forwards on real, fake and interpolated points, an ``autograd.grad`` penalty,
a per-parameter clamping loop, a plain (non-fused, non-foreach) optimizer, a NumPy sampler that
builds each batch point by point as the original ``gan_toy.py`` does, and PyTorch's default
layers with He-uniform weights. Not part of the package: the benchmarks time it against
``lipbook.train`` in the same process.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
from torch import nn

SCALE = 2.0
CENTERS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1 / math.sqrt(2), 1 / math.sqrt(2)),
           (1 / math.sqrt(2), -1 / math.sqrt(2)), (-1 / math.sqrt(2), 1 / math.sqrt(2)),
           (-1 / math.sqrt(2), -1 / math.sqrt(2))]


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


def train_baseline(method: str = "gp", hidden: int = 128, steps: int = 50, batch: int = 256,
                   critic_steps: int = 5, lam: float = 0.1, c: float = 0.01,
                   lr: float = 1e-3, seed: int = 0, device: str = "cpu") -> float:
    """Train ``steps`` generator iterations; return seconds per generator iteration."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    D, G = net(2, 1, hidden).to(device), net(2, 2, hidden).to(device)
    opt_kw = {"foreach": False}
    if method == "clip":
        opt_D = torch.optim.RMSprop(D.parameters(), lr=lr, **opt_kw)
        opt_G = torch.optim.RMSprop(G.parameters(), lr=lr, **opt_kw)
    else:
        opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.9), **opt_kw)
        opt_G = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.9), **opt_kw)
    start = time.perf_counter()
    for _ in range(steps):
        for p in D.parameters():
            p.requires_grad = True
        for _ in range(critic_steps):
            real = torch.from_numpy(eight_gaussians(batch)).to(device)
            noise = torch.randn(batch, 2, device=device)
            fake = G(noise).detach()
            D.zero_grad()
            d_real = D(real).mean()
            d_fake = D(fake).mean()
            loss = d_fake - d_real
            if method == "gp":
                alpha = torch.rand(batch, 1, device=device)
                inter = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
                out = D(inter)
                grads = torch.autograd.grad(outputs=out, inputs=inter,
                                            grad_outputs=torch.ones_like(out),
                                            create_graph=True, retain_graph=True,
                                            only_inputs=True)[0]
                loss = loss + lam * ((grads.norm(2, dim=1) - 1) ** 2).mean()
            loss.backward()
            opt_D.step()
            if method == "clip":
                for p in D.parameters():
                    p.data.clamp_(-c, c)
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        g_loss = -D(G(torch.randn(batch, 2, device=device))).mean()
        g_loss.backward()
        opt_G.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps
