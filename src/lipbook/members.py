"""What exists only because K settings train at once: per-member columns, random streams,
learning rates and power-iteration counts.

:func:`lipbook.train.sweep` trains K configs that differ in one field (c, λ, ε, τ, the
power-iteration count, the seed or the learning rate) as one batched network with a leading
dimension K (:class:`lipbook.nets.BatchedMLP`). This module holds what that batching needs, so
that the trainer reads as if K = 1:

- each per-member hyperparameter as a column ``[K, 1, 1]`` that broadcasts against ``[K, B, d]``;
- one CPU random stream per distinct seed (members that share a seed share every draw, which
  is what makes a sweep equal K separate runs), drawn once and laid out ``[K, ...]``;
- per-member learning rates: the optimizer runs at the first member's lr and each member's
  update is rescaled by lr_k / lr_0 (Adam's and RMSprop's updates are linear in lr);
- per-member spectral-norm power steps (Miyato et al., 2018, Algorithm 1), the count of
  member k being its ``n_power_iterations``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .config import WGANConfig
from .constraints import power_steps

__all__ = ["Members", "BatchedPowerIteration"]


class Members:
    """The K members' settings as tensors, and their random streams.

    ``configs[0]`` is the base: the members differ from it in the swept fields only. Every
    draw is made on the CPU and then moved to ``device``: a CUDA generator is another stream
    (Philox), so this is what makes a GPU run start from the CPU run's numbers.
    """

    def __init__(self, configs: Sequence[WGANConfig], device: torch.device, dtype: torch.dtype):
        self.configs = list(configs)
        self.K = K = len(configs)
        self.device, self.dtype = device, dtype
        base = configs[0]
        self.c, self.lam, self.eps = self.column("c"), self.column("lam"), self.column("eps")
        self.neg_c = -self.c  # the clipping box [−c, c], built once
        # why a float when every τ is 1: f̂/1.0 is f̂, without one more tensor op per forward
        self.tau = self.column("tau") if any(c.tau != 1.0 for c in configs) else 1.0
        self.lr_scale = self.column("lr") / base.lr  # lr_k / lr_0, [K, 1, 1]
        self.same_lr = all(c.lr == base.lr for c in configs)  # why: step() then needs no tensor op
        self.n_power = [c.n_power_iterations for c in configs]
        seeds = [c.seed for c in configs]
        mk = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
        self.gens = [mk(s) for s in seeds]  # one per member: each initialises its own weights
        self.eval_gens = [mk(s + 1_000_003) for s in seeds]  # why: evaluation never moves training
        # one stream per distinct seed; member k reads stream stream_of[k]
        distinct = list(dict.fromkeys(seeds))
        self.stream_of = torch.tensor([distinct.index(s) for s in seeds], device=device)  # [K]
        self.first = [seeds.index(s) for s in distinct]  # a member holding each stream
        self.shared = len(distinct) == 1
        self.one_each = len(distinct) == K  # why: then stack, no gather

    def column(self, name: str) -> torch.Tensor:
        """The members' values of config field ``name`` as ``[K, 1, 1]``."""
        return torch.tensor([float(getattr(c, name)) for c in self.configs],
                            device=self.device, dtype=self.dtype).view(self.K, 1, 1)

    def draw(self, fn: Callable[[torch.Generator], torch.Tensor], gens=None) -> torch.Tensor:
        """One draw per distinct seed, made on the CPU by ``fn(generator)``, moved to the
        device and laid out per member, ``[K, ...]`` (a single draw expanded when all members
        share a seed). ``gens``: the streams to draw from (default: the training ones)."""
        gens = self.gens if gens is None else gens
        if self.shared:
            x = fn(gens[0]).to(self.device)
            return x.unsqueeze(0).expand(self.K, *x.shape)
        x = torch.stack([fn(gens[k]) for k in self.first]).to(self.device)  # [S, ...]
        return x if self.one_each else x[self.stream_of]

    def step(self, opt: torch.optim.Optimizer, net: nn.Module) -> None:
        """``opt.step()``, each member's update scaled by lr_k / lr_0."""
        if self.same_lr:
            opt.step()
            return
        before = [p.detach().clone() for p in net.parameters()]
        opt.step()
        with torch.no_grad():
            for p, b in zip(net.parameters(), before):
                p.copy_(b + (p - b) * self.lr_scale.view(-1, *([1] * (p.ndim - 1))))


class BatchedPowerIteration:
    """Persistent power-iteration vectors u_l ``[K, m]``, v_l ``[K, n]`` for each weight
    W_l ``[K, m, n]`` of a batched critic, and σ̂_l = u_lᵀ W_l v_l.

    Each training-mode call takes ``counts[k]`` steps for member k, in the order of
    ``torch.nn.utils.parametrizations.spectral_norm`` (u ← Wv/‖Wv‖, v ← Wᵀu/‖Wᵀu‖); σ̂ is taken
    with the current vectors, as there."""

    def __init__(self, weights: Sequence[torch.Tensor], members: Members, warmup: int):
        dev, dt, K = members.device, members.dtype, members.K
        self.K, self.device = K, dev
        self.v = [members.draw(lambda g, n=W.shape[2]: torch.randn(n, generator=g))
                  .to(dt).clone() for W in weights]
        self.u = [torch.zeros(K, W.shape[1], device=dev, dtype=dt) for W in weights]
        self.steps(weights, [warmup] * K)  # why: σ̂ starts close to σ, as torch's does

    def steps(self, weights: Sequence[torch.Tensor], counts: list[int]) -> None:
        """Up to max(counts) batched power steps; member k keeps the vectors of its
        counts[k]-th."""
        for j in range(max(counts)):
            every = j < min(counts)  # why: then no member is masked and torch.where is skipped
            live = None if every else torch.tensor(
                [j < n for n in counts], device=self.device).view(self.K, 1)  # [K, 1]
            for i, W in enumerate(weights):
                # one power step on Wᵀ with v persistent: u ← Wv/‖Wv‖, then v ← Wᵀu/‖Wᵀu‖
                v, u = power_steps(W.detach().transpose(1, 2), self.v[i])
                if every:
                    self.v[i], self.u[i] = v, u
                else:
                    self.v[i] = torch.where(live, v, self.v[i])
                    self.u[i] = torch.where(live, u, self.u[i])

    def normalized(self, weights: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """W_l / σ̂_l with σ̂_l = u_lᵀ W_l v_l ``[K, 1, 1]``, differentiable w.r.t. W_l."""
        return [W / (u.unsqueeze(1) @ W @ v.unsqueeze(-1)) for W, u, v in zip(weights, self.u, self.v)]
