"""Explicit backpropagation through K batched ReLU critics: the WGAN critic loss with its
gradient penalty, and the generator's input gradient, in one pass and without autograd.

Take a ReLU (or LeakyReLU) MLP with layers z_l = W_l h_{l−1} + b_l, h_l = σ(z_l) for l < L,
and f = z_L, and write D_l = diag(σ'(z_l)), which is constant inside each linear region
(σ'' = 0 there). Give each row (sample) of a batch a seed s. Then the backward recursion

    δ_L = s,    δ_{L−1} = D_{L−1} W_Lᵀ s,    δ_{l−1} = D_{l−1} W_lᵀ δ_l                   (1)

gives the gradient of Σ_rows s·f(x) with respect to every weight and bias,

    ∂/∂W_l = Σ_rows δ_l h_{l−1}ᵀ,    ∂/∂b_l = Σ_rows δ_l,                                 (2)

and, with s = 1, the input gradient ∇ₓf = W_1ᵀ δ_1. The critic loss of WGAN-GP (Gulrajani
et al., 2017, Algorithm 1) on B real points x, B generated points x̃ and B interpolates x̂,

    L = (1/B) Σ f(x̃) − (1/B) Σ f(x) + (1/B) Σ p(‖∇f(x̂)‖),   p(n) = λ(n − 1)²             (3)

(one-sided, WGAN-LP: p(n) = λ max(0, n − 1)², Petzka et al., 2018), is therefore one forward
pass and one pass of (1) over 3B rows with seeds −1/B, +1/B and 1. The penalty depends on the
weights only through (1) at x̂. With Γ = ∂/∂∇f of (1/B) p(‖∇f‖) = (1/B) p'(n) ∇f / n per
row, reverse mode through (1) gives

    u_0 = Γ,    u_l = D_l W_l u_{l−1},    ∂P/∂W_l = Σ_rows δ_l u_{l−1}ᵀ   (l = 1 … L)      (4)

so (2) and (4) are one formula, ∂L/∂W_l = Σ_rows δ_l ĥ_{l−1}ᵀ, with ĥ = h on the real and
generated rows and ĥ = u on the interpolate rows. The interpolates' activations are needed
only for their masks D_l, so u_l overwrites them, and one matmul per layer over all 3B rows
sums both terms.

Why, when autograd gives the same numbers: double backpropagation pushes (zero) σ'' terms
back through the forward pass and builds a graph per step, and on a 2-core CPU a K-member
sweep is bound by memory traffic as much as by matmuls. Here every buffer ``[K, rows, width]``
is allocated once and reused (``out=``), the masks are read off h (``threshold_backward``, one
pass, no mask tensor), and no tensor is kept for a backward pass. Measured on a 2-core CPU
(README, Performance): a WGAN-GP generator iteration at width 128 went from 60 to 47 ms for
K = 8 members and from 14.4 to 11.2 ms for one. The results equal autograd's to rounding
(tests/test_backprop.py, float64). Only for piecewise-linear σ.
"""

from __future__ import annotations

import torch

# σ'(z)·g read off h = σ(z), in one pass, written in place: h > 0 exactly where z > 0.
# Why ATen's out= overloads, not public ops: the fastest public version (sign h, then a
# multiply) made the training step 4-12 % slower (README, Performance), where(h > 0, g, 0) and
# boolean masks 4-12x slower per call; tests/test_backprop.py fails if these overloads change.
_relu_mask = torch.ops.aten.threshold_backward.grad_input
_leaky_mask = torch.ops.aten.leaky_relu_backward.grad_input


class MLPBackprop:
    """Reusable buffers and the passes (1)-(4) for K MLPs of one architecture.

    ``dims`` are the ``(fan_in, fan_out)`` of the Linear layers; ``slope`` is the LeakyReLU
    negative slope (0 for ReLU). Weights are ``[K, out, in]``, biases ``[K, 1, out]``, as in
    :class:`lipbook.nets.BatchedMLP`; inputs ``[K, N, in]``. Buffers are made on first use for
    each row count N (the trainer uses two: the critic's batch and the generator's), and
    what a call returns lives in buffers that the next call with the same N overwrites.
    """

    def __init__(self, dims: list[tuple[int, int]], K: int, slope: float = 0.0,
                 device=None, dtype=torch.float32):
        self.dims, self.K, self.slope = list(dims), K, float(slope)
        self.device, self.dtype = device, dtype
        self._rows: dict[int, dict] = {}
        self.dW = [self._new(K, o, i) for i, o in dims]  # ∂L/∂W_l, [K, out, in]
        self.db = [self._new(K, 1, o) for _, o in dims]  # ∂L/∂b_l, [K, 1, out]

    def _new(self, *shape: int) -> torch.Tensor:
        return torch.empty(*shape, device=self.device, dtype=self.dtype)

    def _buffers(self, n: int) -> dict:
        if n not in self._rows:
            K, hidden = self.K, [o for _, o in self.dims[:-1]]
            self._rows[n] = {
                "x": self._new(K, n, self.dims[0][0]),  # the input; later ĥ_0 (Γ rows)
                "h": [self._new(K, n, w) for w in hidden],  # h_l, later ĥ_l
                "delta": [self._new(K, n, w) for w in hidden],  # δ_l
                "out": self._new(K, n, self.dims[-1][1]),  # f, [K, n, out]
                "seed": self._new(K, n, 1),  # s per row (critic)
            }
        return self._rows[n]

    def _mask(self, g: torch.Tensor, h: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """out ← D g with D = diag(σ'(z)) read off h = σ(z); ``out`` may be g or h."""
        if self.slope:
            return _leaky_mask(g, h, self.slope, True, grad_input=out)
        return _relu_mask(g, h, 0.0, grad_input=out)

    def _forward(self, buf: dict, weights, biases) -> torch.Tensor:
        h = buf["x"]
        for W, b, out in zip(weights[:-1], biases[:-1], buf["h"]):
            # why not baddbmm: it first copies the broadcast bias into out, then reads it
            # back in the matmul; a matmul and one in-place add are ≈ 20 % faster
            h = torch.bmm(h, W.transpose(1, 2), out=out).add_(b)  # z_l [K, N, width]
            if self.slope:
                torch.nn.functional.leaky_relu_(h, self.slope)
            else:
                h.relu_()
        return torch.baddbmm(biases[-1], h, weights[-1].transpose(1, 2), out=buf["out"])

    def _deltas(self, buf: dict, weights, grad_out: torch.Tensor) -> list[torch.Tensor]:
        """Recursion (1) from δ_L = ``grad_out`` [K, N, out]: δ_1 … δ_{L−1}, [K, N, width]."""
        delta, h = buf["delta"], buf["h"]
        if grad_out.shape[-1] == 1:  # why: an outer product is faster as a broadcast
            torch.mul(grad_out, weights[-1], out=delta[-1])  # [K, N, 1] x [K, 1, H]
        else:
            torch.bmm(grad_out, weights[-1], out=delta[-1])
        self._mask(delta[-1], h[-1], out=delta[-1])
        for i in range(len(delta) - 1, 0, -1):  # delta[i] holds δ_{i+1}
            torch.bmm(delta[i], weights[i], out=delta[i - 1])  # W_{i+1}ᵀ δ_{i+1}, as rows
            self._mask(delta[i - 1], h[i - 1], out=delta[i - 1])
        return delta

    def _weight_grads(self, i: int, delta: torch.Tensor, h_hat: torch.Tensor, m: int) -> None:
        """(2) for layer l = i + 1: ∂L/∂W_l = Σ_rows δ_l ĥ_{l−1}ᵀ over every row, ∂L/∂b_l =
        Σ δ_l over the first m rows."""
        torch.bmm(delta.transpose(1, 2), h_hat, out=self.dW[i])  # [K, out, in]
        torch.sum(delta[:, :m], dim=1, keepdim=True, out=self.db[i])  # [K, 1, out]

    @torch.no_grad()
    def forward(self, x: torch.Tensor, weights, biases) -> torch.Tensor:
        """The MLP's output ``[K, N, out]`` on ``x`` ``[K, N, in]``, keeping h_l for
        :meth:`backward`."""
        buf = self._buffers(x.shape[1])
        buf["x"].copy_(x)
        return self._forward(buf, weights, biases)

    @torch.no_grad()
    def backward(self, grad_out: torch.Tensor, weights):
        """(1) and (2) after :meth:`forward` on the same rows: ``(dW, db)`` of the loss whose
        gradient with respect to the output is ``grad_out`` ``[K, N, out]``."""
        n = grad_out.shape[1]
        buf = self._buffers(n)
        delta = self._deltas(buf, weights, grad_out)
        self._weight_grads(0, delta[0], buf["x"], n)
        for i in range(1, len(weights) - 1):
            self._weight_grads(i, delta[i], buf["h"][i - 1], n)
        self._weight_grads(len(weights) - 1, grad_out, buf["h"][-1], n)
        return self.dW, self.db

    @torch.no_grad()
    def input_gradient(self, weights, biases, x: torch.Tensor, scale: float):
        """``(f(x) [K, N, 1], scale·∇ₓf(x) [K, N, in])`` for a scalar-output MLP, by (1) with
        s = ``scale``: the generator step's loss −(1/B) Σ f(g(z)) has ∂/∂g(z) = −(1/B) ∇f."""
        f = self.forward(x, weights, biases)
        buf = self._buffers(x.shape[1])
        buf["seed"].fill_(scale)
        delta = self._deltas(buf, weights, buf["seed"])
        return f, torch.bmm(delta[0], weights[0])  # W_1ᵀ δ_1 as rows, [K, N, in]

    @torch.no_grad()
    def critic_grads(self, weights, biases, real, fake, x_hat=None, lam=None,
                     one_sided: bool = False):
        """Loss (3) and its gradients (2) + (4) for every member of a scalar-output MLP.

        ``real``, ``fake`` (and ``x_hat`` with the penalty): ``[K, B, in]``; ``lam``: a number
        or a ``[K, 1, 1]`` tensor; without ``x_hat`` the loss is the plain WGAN critic loss.
        Returns ``(loss [K], grad_norm [K, B, 1] or None, dW, db)``; ``dW[l]`` and ``db[l]``
        have the shapes of ``weights[l]`` and ``biases[l]``.
        """
        K, B, _ = real.shape
        M = 2 * B  # real and generated rows; the interpolates after them
        buf = self._buffers(M + (B if x_hat is not None else 0))
        x, seed, h = buf["x"], buf["seed"], buf["h"]
        x[:, :B], x[:, B:M] = real, fake
        seed[:, :B], seed[:, B:M] = -1.0 / B, 1.0 / B
        if x_hat is not None:
            x[:, M:] = x_hat
            seed[:, M:] = 1.0
        if x_hat is not None and "Wu" not in buf:  # W_l u_{l−1} before its mask, [K, B, width]
            buf["Wu"] = [self._new(K, B, w) for _, w in self.dims[:-1]]
        f = self._forward(buf, weights, biases)
        loss = f[:, B:M].mean(dim=(1, 2)) - f[:, :B].mean(dim=(1, 2))  # [K]
        delta = self._deltas(buf, weights, seed)
        norm = None
        if x_hat is not None:
            grad = torch.bmm(delta[0][:, M:], weights[0])  # ∇f(x̂) = W_1ᵀ δ_1, [K, B, in]
            norm = grad.norm(dim=-1, keepdim=True)  # [K, B, 1]
            excess = norm - 1
            if one_sided:
                excess = excess.clamp_min(0)
            loss = loss + (lam * excess.square()).mean(dim=(1, 2))
            # u_0 = Γ = (1/B) p'(n) ∇f / n; where n = 0, ∇f = 0 and Γ = 0 (as autograd's)
            x[:, M:] = grad.mul_((2.0 / B) * lam * excess / norm.clamp_min(1e-30))
            u = x[:, M:]
        self._weight_grads(0, delta[0], x, M)
        for i in range(1, len(weights)):  # layer l = i + 1
            if x_hat is not None:  # (4): u_i = D_i W_i u_{i−1}, into the interpolate rows of h_i
                Wu = torch.bmm(u, weights[i - 1].transpose(1, 2), out=buf["Wu"][i - 1])
                u = self._mask(Wu, h[i - 1][:, M:], out=h[i - 1][:, M:])
            self._weight_grads(i, delta[i] if i < len(weights) - 1 else seed, h[i - 1], M)
        return loss, norm, self.dW, self.db
