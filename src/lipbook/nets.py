"""MLP critics and generators, plain or batched over K settings, and gradient-norm-preserving parts.

A multilayer perceptron with ``depth`` hidden layers of width ``hidden``,

    f(x) = W_{L} σ(W_{L-1} ⋯ σ(W_1 x + b_1) ⋯ + b_{L-1}) + b_L,      L = depth + 1,

as used by the WGAN-GP toy code (Gulrajani et al., 2017): ReLU, He-uniform weights
(U[−√(6/fan_in), √(6/fan_in)]), zero biases. That initialisation, not PyTorch's default
(U[−1/√fan_in, 1/√fan_in]), is what makes the toy WGAN reach all modes in seconds.

:class:`BatchedMLP` holds K independent networks in ``[K, out, in]`` weight tensors and runs
them with one batched matmul (``torch.baddbmm``) on inputs ``[K, B, in]``. The trainer uses it
for every run, so ``train`` is ``sweep`` with K = 1 and the two cannot drift apart.
:meth:`BatchedMLP.member` takes member k out as a plain ``nn.Sequential`` of ``nn.Linear``.

Gradient-norm-preserving parts for tight Lipschitz networks (Anil et al., 2019, "Sorting out
Lipschitz function approximation"): :class:`GroupSort` (sorts each group of ``group_size``
units; MaxMin is group size 2) and :func:`bjorck` (Björck & Bowie, 1971), which maps a weight to
the nearest (semi-)orthogonal matrix.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .checks import check_choice, check_generator, check_int, check_positive_int

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "maxmin", "groupsort")
GROUPSORT_SIZE = 4  # group size of activation="groupsort"; "maxmin" is group size 2
LEAKY_SLOPE = 0.2  # negative slope of activation="leaky_relu", as in most GAN critics


class GroupSort(nn.Module):
    """Sort the units in consecutive groups of ``group_size`` (Anil et al., 2019, Sec. 4).

    A permutation of its input on each group, so it is 1-Lipschitz and preserves the gradient
    norm: ‖J‖₂ = 1 everywhere it is differentiable. ``group_size=2`` is MaxMin.
    """

    def __init__(self, group_size: int = 2):
        super().__init__()
        self.group_size = check_positive_int("group_size", group_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *lead, width = x.shape
        if width % self.group_size:
            raise ValueError(f"GroupSort: width {width} is not a multiple of group_size={self.group_size}")
        grouped = x.reshape(*lead, width // self.group_size, self.group_size)  # [..., H/g, g]
        return grouped.sort(dim=-1).values.reshape(x.shape)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


def activation_module(name: str) -> nn.Module:
    """The ``nn.Module`` for an activation name in :data:`ACTIVATIONS`."""
    check_choice("activation", name, ACTIVATIONS)
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    if name == "tanh":
        return nn.Tanh()
    return GroupSort(2 if name == "maxmin" else GROUPSORT_SIZE)


def layer_dims(in_dim: int, out_dim: int, hidden: int, depth: int) -> list[tuple[int, int]]:
    """``(fan_in, fan_out)`` of each of the ``depth + 1`` Linear layers.

    >>> layer_dims(2, 1, hidden=64, depth=2)
    [(2, 64), (64, 64), (64, 1)]
    """
    check_positive_int("in_dim", in_dim)
    check_positive_int("out_dim", out_dim)
    check_positive_int("hidden", hidden)
    depth = check_int("depth (number of hidden layers)", depth, low=0)
    dims = [int(in_dim)] + [int(hidden)] * depth + [int(out_dim)]
    return list(zip(dims[:-1], dims[1:]))


def he_bound(fan_in: int) -> float:
    """Half-width of He-uniform init: U[−a, a] with a = √(6 / fan_in), so Var = 2 / fan_in."""
    return math.sqrt(6.0 / fan_in)


def mlp(in_dim: int, out_dim: int, hidden: int = 128, depth: int = 3,
        activation: str = "relu", *, generator: torch.Generator | None = None) -> nn.Sequential:
    """A plain MLP: ``depth`` hidden layers of width ``hidden``, so ``depth + 1`` Linear layers.

    Weights are He-uniform and biases zero (see the module docstring); ``generator`` makes the
    initialisation reproducible.
    """
    check_choice("activation", activation, ACTIVATIONS)
    check_generator("generator", generator)
    layers: list[nn.Module] = []
    dims = layer_dims(in_dim, out_dim, hidden, depth)
    for i, (fan_in, fan_out) in enumerate(dims):
        lin = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            a = he_bound(fan_in)
            lin.weight.copy_(torch.rand(fan_out, fan_in, generator=generator) * 2 * a - a)
            lin.bias.zero_()
        layers.append(lin)
        if i < len(dims) - 1:
            layers.append(activation_module(activation))
    return nn.Sequential(*layers)


BJORCK_ITERS = 20  # Björck steps per forward where the book orthonormalizes (Anil et al. use 15-20)


def bjorck(W: torch.Tensor, iters: int = BJORCK_ITERS) -> torch.Tensor:
    """The closest (semi-)orthogonal matrix to ``W`` (``[m, n]`` or batched ``[K, m, n]``).

    Björck & Bowie (1971), first order: W ← W (1.5 I − 0.5 WᵀW), repeated ``iters`` times,
    after scaling W by √(‖W‖₁‖W‖∞) ≥ ‖W‖₂ so every singular value starts in (0, 1], where the
    iteration converges. Differentiable, so gradients flow to the raw W (as in Anil et al.).
    For m ≥ n the result has orthonormal columns (‖Wx‖ = ‖x‖), for m < n orthonormal rows.
    """
    scale = (W.abs().sum(-2).amax(-1) * W.abs().sum(-1).amax(-1)).sqrt()  # ‖W‖₁‖W‖∞, [K] or []
    W = W / scale.clamp_min(1e-12)[..., None, None]
    m, n = W.shape[-2:]
    for _ in range(iters):
        if n <= m:
            W = 1.5 * W - 0.5 * W @ (W.transpose(-1, -2) @ W)  # [m, n] @ [n, n]
        else:
            W = 1.5 * W - 0.5 * (W @ W.transpose(-1, -2)) @ W  # [m, m] @ [m, n]
    return W


class BatchedMLP(nn.Module):
    """K independent MLPs run as one: weights ``[K, out, in]``, biases ``[K, 1, out]``.

    ``forward(x)`` takes ``x`` of shape ``[K, B, in_dim]`` and returns ``[K, B, out_dim]``;
    member k sees only ``x[k]`` and its own parameters, so the gradient of a sum of per-member
    losses is each member's own gradient.
    """

    def __init__(self, K: int, in_dim: int, out_dim: int, hidden: int = 128, depth: int = 3,
                 activation: str = "relu", device=None):
        super().__init__()
        self.K = check_positive_int("K", K)
        self.activation_name = check_choice("activation", activation, ACTIVATIONS)
        self.act = activation_module(activation)
        if isinstance(self.act, (nn.ReLU, nn.LeakyReLU)):
            # why: σ acts on baddbmm's fresh output, which no backward needs, so running it in
            # place saves a [K, B, width] allocation per layer (never touches the input x)
            self.act.inplace = True
        dims = layer_dims(in_dim, out_dim, hidden, depth)
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.zeros(K, o, i, device=device)) for i, o in dims])
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.zeros(K, 1, o, device=device)) for _, o in dims])

    @torch.no_grad()
    def init_(self, generators: list[torch.Generator], bound: torch.Tensor | None = None) -> None:
        """Draw member k's weights from ``generators[k]``: He-uniform, or U[−bound_k, bound_k]
        when ``bound`` (``[K]``) is given; biases zero. Each member draws in the same order as
        a K = 1 network would, so equal seeds give equal members.
        """
        if len(generators) != self.K:
            raise ValueError(f"generators must have K={self.K} entries, got {len(generators)}")
        for W, b in zip(self.weights, self.biases):
            _, fan_out, fan_in = W.shape
            for k, g in enumerate(generators):
                a = he_bound(fan_in) if bound is None else float(bound[k])
                # drawn where g lives (the CPU), then copied: the same numbers on every device
                W[k] = torch.rand(fan_out, fan_in, generator=g, device=g.device) * 2 * a - a
            b.zero_()

    def forward(self, x: torch.Tensor, weights: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``x [K, B, in] -> [K, B, out]``; ``weights`` replaces the raw weights (e.g. W/σ̂)."""
        weights = list(self.weights) if weights is None else weights
        last = len(weights) - 1
        for i, (W, b) in enumerate(zip(weights, self.biases)):
            x = torch.baddbmm(b, x, W.transpose(1, 2))  # [K, B, out] = b + x Wᵀ
            if i < last:
                x = self.act(x)
        return x

    @property
    def piecewise_linear(self) -> bool:
        """True for ReLU and LeakyReLU, whose derivative is a constant per linear region."""
        return self.activation_name in ("relu", "leaky_relu")

    def input_gradient(self, x: torch.Tensor, weights: list[torch.Tensor] | None = None) -> torch.Tensor:
        """∇ₓf(x) ``[K, B, in]`` of a scalar-output ReLU/LeakyReLU net, differentiable w.r.t.
        the weights: ∇ₓf = W₁ᵀ D₁ W₂ᵀ D₂ ⋯ D_{L−1} W_Lᵀ, with D_l = diag(σ'(z_l)) read off a
        forward pass without autograd.

        Why not ``autograd.grad(..., create_graph=True)``: inside a linear region σ'' = 0, yet
        double backpropagation still pushes (zero) gradients back through the forward pass —
        two matmuls per layer that this chain skips (≈ 15 % of a WGAN-GP critic step).
        Equal to autograd's result to rounding (tested); only for piecewise-linear σ.
        """
        if not self.piecewise_linear:
            raise ValueError("input_gradient needs activation relu or leaky_relu")
        weights = list(self.weights) if weights is None else weights
        if weights[-1].shape[1] != 1:
            raise ValueError("input_gradient needs a scalar-output network")
        if len(weights) == 1:  # depth 0, a linear critic: ∇ₓf = W₁ everywhere, [K, B, in]
            return weights[0].expand(x.shape[0], x.shape[1], weights[0].shape[2])
        slope = LEAKY_SLOPE if self.activation_name == "leaky_relu" else 0.0
        biases = list(self.biases)  # why: slicing a ParameterList builds a new module
        masks = []
        with torch.no_grad():  # D_l: σ'(z_l) per unit, [K, B, width]
            h = x
            for W, b in zip(weights[:-1], biases[:-1]):
                z = torch.baddbmm(b, h, W.transpose(1, 2))  # z_l [K, B, width]
                # 1[z_l > 0] as 1.0 / 0.0 is sign(max(z_l, 0)): two fast float ops, where the
                # bool z_l > 0 and its cast to float take ≈ 4x as long on CPU
                if slope:
                    D = torch.relu(z).sign_() * (1 - slope) + slope  # 1 or the negative slope
                    h = z * D  # σ(z_l) = σ'(z_l) z_l
                else:
                    h = z.relu_()  # σ(z_l), in place: z_l is not needed again
                    D = h.sign()
                masks.append(D)
        g = masks[-1] * weights[-1]  # [K, B, H] = D_{L−1} W_Lᵀ (W_L is [K, 1, H])
        for W, D in zip(reversed(weights[1:-1]), reversed(masks[:-1])):
            g = torch.bmm(g, W) * D  # [K, B, H]: (g W_l) ⊙ σ'(z_{l−1})
        return torch.bmm(g, weights[0])  # [K, B, in]

    @torch.no_grad()
    def member(self, k: int, weights: list[torch.Tensor] | None = None) -> nn.Sequential:
        """Member ``k`` as a plain ``nn.Sequential`` (``[B, in] -> [B, out]``), detached copies."""
        weights = list(self.weights) if weights is None else weights
        layers: list[nn.Module] = []
        for i, (W, b) in enumerate(zip(weights, self.biases)):
            lin = nn.Linear(W.shape[2], W.shape[1], device=W.device, dtype=W.dtype)
            lin.weight.copy_(W[k])
            lin.bias.copy_(b[k, 0])
            layers.append(lin)
            if i < len(weights) - 1:
                layers.append(activation_module(self.activation_name))
        return nn.Sequential(*layers)
