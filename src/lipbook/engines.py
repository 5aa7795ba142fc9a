"""The two ways the trainer takes its gradients, behind the same three methods.

Each generator iteration of WGAN-GP (Gulrajani et al., 2017, Algorithm 1) needs

- ``fake(z)``: generated points x_g = g(z) for the critic step (no gradient to g);
- ``critic_grads(real, fake)``: L_D = E f(x_g) − E f(x_r) + penalty, with the gradients of the
  critic's parameters left in their ``.grad`` (or the hinge / non-saturating L_D of
  :mod:`lipbook.losses`);
- ``generator_grads(z)``: L_G = −E f(g(z)) (or the chosen loss's L_G), with the generator's
  gradients left in ``.grad``.

:class:`AutogradEngine` is the textbook loop: autograd, with double backpropagation for the
penalty. :class:`ExplicitEngine` gives the same losses and gradients (to rounding, tested) by
the explicit forward and backward recursions of :mod:`lipbook.backprop`, for ReLU and LeakyReLU
critics with the WGAN loss; it allocates its buffers once. ``WGANConfig.engine`` picks one
("auto": the explicit engine wherever it supports the config, see ``WGANConfig.explicit``).
Both draw the same random numbers in the same order, so the two runs agree to rounding.
"""

from __future__ import annotations

import torch

from .backprop import MLPBackprop
from .constraints import penalty_term
from .losses import critic_loss, generator_loss
from .nets import LEAKY_SLOPE, BatchedMLP

__all__ = ["AutogradEngine", "ExplicitEngine", "engine_for"]


class AutogradEngine:
    """L_D, L_G and their gradients by autograd. ``trainer`` is the :class:`lipbook.train`
    run whose critic, generator, penalty weights and random draws it uses."""

    name = "autograd"

    def __init__(self, trainer):
        self.t = trainer

    def fake(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.t.G(z)  # [K, B, 2]

    def critic_grads(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        t, cfg, B = self.t, self.t.cfg, self.t.cfg.batch
        x = torch.cat([real, fake], dim=1)  # [K, 2B, 2]: one forward for both
        if cfg.spec.normalizer:
            x.requires_grad_(True)  # f̂ needs ∇ₓf
        weights = t.critic_weights()
        out = t.critic_out(x, weights)  # [K, 2B, 1]
        loss = critic_loss(cfg.loss, out[:, :B], out[:, B:], keep=1)  # L_D, [K]
        if cfg.spec.penalty:
            x_hat = t.interpolates(real, fake).requires_grad_(True)
            f_hat = None if t.D.piecewise_linear else t.D(x_hat, weights)
            norm = t.input_gradient_norm(x_hat, f_hat, weights)  # ‖∇f(x̂)‖, [K, B, 1]
            one_sided = cfg.spec.penalty == "one_sided"
            loss = loss + penalty_term(norm, t.members.lam, one_sided).mean(dim=(1, 2))
        t.opt_D.zero_grad(set_to_none=True)
        loss.sum().backward()  # members are independent: each gets its own gradient
        return loss.detach()

    def generator_grads(self, z: torch.Tensor) -> torch.Tensor:
        t = self.t
        fake = t.G(z)  # [K, B, 2]
        loss = generator_loss(t.cfg.loss, t.critic_out(fake, t.critic_weights()), keep=1)  # [K]
        t.opt_G.zero_grad(set_to_none=True)
        loss.sum().backward()
        return loss.detach()


class ExplicitEngine:
    """The same losses and gradients by :class:`lipbook.backprop.MLPBackprop` (ReLU and
    LeakyReLU critics, WGAN loss): one forward and one backward recursion over the 3B rows
    [x_r; x_g; x̂] for the critic with its penalty, and the input gradient ∇f(g(z)) for the
    generator. SN's W/σ̂ and Björck's orthonormalization are still differentiated by autograd."""

    name = "explicit"

    def __init__(self, trainer):
        self.t = trainer
        K, dev, dt = trainer.K, trainer.device, trainer.dtype
        slope = LEAKY_SLOPE if trainer.cfg.activation == "leaky_relu" else 0.0
        self.critic = MLPBackprop(_dims(trainer.D), K, slope, dev, dt)
        self.generator = MLPBackprop(_dims(trainer.G), K, 0.0, dev, dt)  # the generator: ReLU

    def fake(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator.forward(z, *_params(self.t.G))  # into reused buffers

    def critic_grads(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        t, cfg = self.t, self.t.cfg
        x_hat = t.interpolates(real, fake) if cfg.spec.penalty else None
        weights = t.critic_weights()  # W/σ̂ (with its graph) for SN, Björck for orthogonal
        loss, _, dW, db = self.critic.critic_grads(
            [W.detach() for W in weights], _params(t.D)[1], real, fake, x_hat,
            t.members.lam, one_sided=cfg.spec.penalty == "one_sided")
        if weights[0] is t.D.weights[0]:  # raw weights: dW is their gradient
            _set_grads(t.D, dW, db)
        else:  # why: dW is w.r.t. W/σ̂ (or Björck's W); autograd takes it back to the raw W
            _set_grads(t.D, [None] * len(dW), db)
            torch.autograd.backward(weights, dW)
        return loss

    def generator_grads(self, z: torch.Tensor) -> torch.Tensor:
        t = self.t
        weights = t.critic_weights()
        G_params = _params(t.G)
        fake = self.generator.forward(z, *G_params)  # [K, B, 2]
        # L_G = −(1/B) Σ f(g(z)): ∂L_G/∂g(z) = −(1/B) ∇f(g(z))
        f, d_fake = self.critic.input_gradient(weights, _params(t.D)[1], fake, -1.0 / t.cfg.batch)
        _set_grads(t.G, *self.generator.backward(d_fake, G_params[0]))
        return -f.mean(dim=(1, 2))  # [K]


def engine_for(trainer):
    """The engine ``trainer.cfg`` asks for (``WGANConfig.explicit`` resolves "auto")."""
    return ExplicitEngine(trainer) if trainer.cfg.explicit else AutogradEngine(trainer)


def _dims(net: BatchedMLP) -> list[tuple[int, int]]:
    return [(W.shape[2], W.shape[1]) for W in net.weights]  # (fan_in, fan_out) per layer


def _params(net: BatchedMLP) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """A network's weights and biases, detached (for lipbook.backprop)."""
    return [W.detach() for W in net.weights], [b.detach() for b in net.biases]


def _set_grads(net: BatchedMLP, dW: list, db: list) -> None:
    for p, g in zip((*net.weights, *net.biases), (*dW, *db)):
        p.grad = g
