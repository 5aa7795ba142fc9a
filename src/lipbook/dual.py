"""Fitting the Kantorovich–Rubinstein dual with constrained critics, K at once.

    W1(P, Q) = sup_{Lip(f) ≤ 1}  E_{x~P} f(x) − E_{x~Q} f(x)                  (KR duality)

Gradient ascent on E_P f − E_Q f over a family of critics that are 1-Lipschitz by construction
approaches W1 from below; how far below it stops measures what the family can express (Anil,
Lucas & Grosse, 2019, "Sorting out Lipschitz function approximation", §§ 4–6: with ReLU and
per-layer norms the critic loses gradient norm, with GroupSort and orthonormal weights it need
not). :class:`ConstrainedCritics` holds K such critics, one per seed, as one batched network:

- ``"bjorck"``: every layer's weight is the Björck-orthonormalized raw weight
  (:func:`lipbook.nets.bjorck`, ``iters`` steps per forward, from an orthogonal raw start);
- ``"sn"``: W / σ̂ with σ̂ = uᵀWv from one power step per training forward (Miyato et al.,
  2018), the vectors kept in ``self.uv`` (explicit state, as in
  ``torch.nn.utils.parametrizations.spectral_norm``, which also warms them up at creation).

:func:`fit_dual` maximizes the dual for every member of several such families at once;
:func:`lipbook.wasserstein.dual_w1` is E_P f − E_Q f of one fitted critic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from . import nets
from .checks import check_choice, check_positive, check_positive_int
from .constraints import SN_WARMUP, power_iteration

__all__ = ["ConstrainedCritics", "fit_dual"]

CONSTRAINTS = ("bjorck", "sn")


class ConstrainedCritics(nn.Module):
    """K critics ``[B, d] -> [B]`` of one activation and one constraint, member k drawn from
    ``seeds[k]``: ``forward(x)`` takes ``x`` ``[B, d]`` and returns ``[K, B]`` (every member
    on the same points). ``member(k)`` is member k as a plain ``nn.Sequential``
    ``[B, d] -> [B, 1]`` with its constrained weights baked in.

    >>> c = ConstrainedCritics("groupsort", "bjorck", d=2, seeds=[0, 1], hidden=8, depth=2)
    >>> c(torch.zeros(5, 2)).shape
    torch.Size([2, 5])
    """

    def __init__(self, activation: str, constraint: str, d: int, seeds: Sequence[int],
                 hidden: int, depth: int, iters: int = nets.BJORCK_ITERS):
        super().__init__()
        self.constraint = check_choice("constraint", constraint, CONSTRAINTS)
        self.iters = check_positive_int("iters", iters)
        self.K = len(seeds)
        if self.K == 0:
            raise ValueError("seeds must name at least one seed")
        self.net = nets.BatchedMLP(self.K, d, 1, hidden, depth, activation)
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.net.init_(gens)  # member k drawn from seed k
        with torch.no_grad():
            if constraint == "bjorck":  # why: an orthogonal raw start, so Björck converges
                for W in self.net.weights:
                    for W_k, g in zip(W, gens):
                        nn.init.orthogonal_(W_k, generator=g)
            else:  # SN's persistent vectors (u, v) per layer, [K, out] and [K, in]
                self.uv = []
                for W in self.net.weights:
                    u = torch.stack([torch.randn(W.shape[1], generator=g) for g in gens])
                    self.uv.append(power_iteration(W, u, SN_WARMUP)[1:])

    def weights(self) -> list[torch.Tensor]:
        """The weights each layer uses now, ``[K, out, in]``; in training mode, SN first takes
        one power step per layer (updating ``self.uv``)."""
        Ws = list(self.net.weights)
        if self.constraint == "bjorck":
            return [nets.bjorck(W, self.iters) for W in Ws]
        if self.training:  # one power step per forward
            self.uv = [power_iteration(W.detach(), u, 1)[1:] for W, (u, _) in zip(Ws, self.uv)]
        # σ̂ = uᵀWv, differentiated through W only (u, v carry no gradient)
        return [W / (u.unsqueeze(1) @ W @ v.unsqueeze(2)) for W, (u, v) in zip(Ws, self.uv)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.expand(self.K, -1, -1), self.weights()).squeeze(-1)  # [K, B]

    @torch.no_grad()
    def member(self, k: int) -> nn.Sequential:
        """Member ``k`` as a plain ``nn.Sequential`` ``[B, d] -> [B, 1]`` (no power step)."""
        was_training = self.training
        self.eval()
        plain = self.net.member(k, self.weights())
        self.train(was_training)
        return plain


def fit_dual(families: Sequence[ConstrainedCritics], sample_p: Callable[[], torch.Tensor],
             sample_q: Callable[[], torch.Tensor], steps: int,
             lr: float = 1e-2) -> list[ConstrainedCritics]:
    """Maximize E_P f − E_Q f (KR duality) for every member of every family at once: ``steps``
    Adam steps at ``lr``, decayed linearly to 0, each on fresh batches ``sample_p()`` and
    ``sample_q()`` (``[B, d]`` each). The members share the batches; their losses are summed,
    so each member follows its own gradient. Returns the families in eval mode."""
    steps = check_positive_int("steps", steps)
    lr = check_positive("lr", lr)
    params = [p for c in families for p in c.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / steps)
    for c in families:
        c.train()
    for _ in range(steps):
        p, q = sample_p(), sample_q()
        loss = 0.0
        for c in families:
            out = c(torch.cat([p, q]))  # [K, B_p + B_q]
            # minimize E_Q f − E_P f, summed over the members
            loss = loss + (out[:, len(p):].mean(1) - out[:, :len(p)].mean(1)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
    return [c.eval() for c in families]
