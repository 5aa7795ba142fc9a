"""lipbook.losses and WGANConfig.loss: closed forms on linear critics, the trainer's wiring of
them, the explicit engine bypassed for them, GraN's τ."""

import math

import pytest
import torch
from torch.nn import functional as F

from lipbook import losses
from lipbook import train as train_module
from lipbook.constraints import GradientNormalized
from lipbook.train import METHODS, WGANConfig, sweep, train
from lipbook.widgets import playground

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(hidden=8, depth=2, batch=16, steps=4, critic_steps=1, eval_every=2, eval_samples=32,
            device="cpu")


def points(seed, n=64):
    return torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


# Closed forms for a linear critic f(x) = w·x + b: value and gradient with respect to (w, b).
def closed_form_critic(loss, w, b, xr, xg):
    fr, fg = xr @ w + b, xg @ w + b  # [n]
    ones = torch.ones(len(xr), 1, dtype=xr.dtype)
    Xr, Xg = torch.cat([xr, ones], 1), torch.cat([xg, ones], 1)  # ∂f/∂(w, b) per row
    if loss == "wasserstein":
        return fg.mean() - fr.mean(), Xg.mean(0) - Xr.mean(0)
    if loss == "hinge":
        ar, ag = (fr < 1).double(), (fg > -1).double()  # where each hinge is active
        value = (1 - fr).clamp_min(0).mean() + (1 + fg).clamp_min(0).mean()
        return value, -(ar[:, None] * Xr).mean(0) + (ag[:, None] * Xg).mean(0)
    sig = torch.sigmoid
    value = torch.log1p(torch.exp(-fr)).mean() + torch.log1p(torch.exp(fg)).mean()
    return value, -(sig(-fr)[:, None] * Xr).mean(0) + (sig(fg)[:, None] * Xg).mean(0)


@pytest.mark.parametrize("loss", losses.LOSSES)
def test_critic_loss_and_its_gradient_equal_the_closed_form_on_a_linear_critic(loss):
    w = torch.tensor([0.7, -1.3], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    xr, xg = points(1), points(2) + 0.5
    value = losses.critic_loss(loss, (xr @ w + b)[:, None], (xg @ w + b)[:, None])
    value.backward()
    expected, grad = closed_form_critic(loss, w.detach(), b.detach(), xr, xg)
    assert value.item() == pytest.approx(expected.item(), abs=1e-12)
    assert torch.allclose(torch.cat([w.grad, b.grad[None]]), grad, atol=1e-12)


@pytest.mark.parametrize("loss, form", [
    ("wasserstein", lambda d: -d.mean()), ("hinge", lambda d: -d.mean()),
    ("ns", lambda d: torch.log1p(torch.exp(-d)).mean()),  # −log σ(D)
])
def test_generator_loss_equals_its_closed_form(loss, form):
    d = points(3)[:, :1] * 3
    assert losses.generator_loss(loss, d).item() == pytest.approx(form(d).item(), abs=1e-12)


def test_losses_keep_the_member_dimension_and_reject_an_unknown_loss():
    d = points(4).view(2, 32, 2)[..., :1]  # [K=2, B=32, 1]
    both = losses.critic_loss("hinge", d, -d, keep=1)
    assert both.shape == (2,)
    assert both[1].item() == pytest.approx(losses.critic_loss("hinge", d[1], -d[1]).item())
    with pytest.raises(ValueError, match="loss='bce'"):
        losses.critic_loss("bce", d, d)
    with pytest.raises(ValueError, match="loss"):
        WGANConfig(loss="bce")
    with pytest.raises(ValueError, match="tau must be"):
        WGANConfig(tau=0.0)


@pytest.mark.parametrize("loss", losses.LOSSES)
def test_the_trainers_critic_step_minimizes_the_chosen_loss(loss, monkeypatch):
    """A linear critic (depth 0) on fixed batches: the trainer's loss and gradient after one
    critic step equal the closed form at the initial weights."""
    cfg = WGANConfig(method="none", loss=loss, depth=0, critic_only=True, dtype="float64",
                     **{k: v for k, v in TINY.items() if k != "depth"})
    run = train_module._Run([cfg])
    xr, noise = points(5, 16), points(6, 16)
    monkeypatch.setattr(run, "_real", lambda: xr[None])  # [K=1, B, 2]
    monkeypatch.setattr(run, "_noise", lambda n, d: noise[None])
    w, b = run.D.weights[0][0, 0].detach().clone(), run.D.biases[0][0, 0, 0].detach().clone()
    value = run.critic_step()
    expected, grad = closed_form_critic(loss, w, b, xr, xr + noise)  # fake = x_r + N(0, I)
    assert value.item() == pytest.approx(expected.item(), abs=1e-12)
    mine = torch.cat([run.D.weights[0].grad[0, 0], run.D.biases[0].grad[0, 0]])
    assert torch.allclose(mine, grad, atol=1e-12)


def test_the_generator_step_uses_the_non_saturating_loss(monkeypatch):
    cfg = WGANConfig(method="none", loss="ns", dtype="float64", **TINY)
    run = train_module._Run([cfg])
    z = points(7, 16)
    monkeypatch.setattr(run, "_noise", lambda n, d: z[None])
    critic, generator = run.result(0).critic, run.result(0).generator
    with torch.no_grad():
        expected = F.softplus(-critic(generator(z))).mean()
    assert run.generator_step().item() == pytest.approx(expected.item(), abs=1e-12)


def test_hinge_and_ns_bypass_the_explicit_engine_which_wasserstein_keeps():
    for loss, explicit in [("wasserstein", True), ("hinge", False), ("ns", False)]:
        run = train_module._Run([WGANConfig(method="gp", loss=loss, **TINY)])
        assert (run.engine.name == "explicit") is explicit, loss


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("loss", ["hinge", "ns"])
def test_every_method_trains_with_the_papers_losses_alone_and_in_a_sweep(method, loss):
    cfg = WGANConfig(method=method, loss=loss, **TINY)
    alone = train(cfg)
    assert all(math.isfinite(v) for vals in alone.history.values() for v in vals)
    together = sweep(cfg, "seed", [cfg.seed, cfg.seed + 1])
    assert together[0].history["critic_loss"] == pytest.approx(alone.history["critic_loss"],
                                                               abs=1e-5)


def test_gran_tau_scales_the_normalized_critic_by_one_over_tau():
    w, b, eps, tau = torch.tensor([[3.0, -4.0]]), torch.tensor([0.5]), 0.25, 4.0  # ‖w‖ = 5
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(w)
        lin.bias.copy_(b)
    x = points(8, 10).float()
    f = x @ w.T + b  # [n, 1]
    expected = f * 5.0 / (tau * (25.0 + eps))  # f‖∇f‖ / (τ(‖∇f‖² + ε)), ∇f = w
    assert torch.allclose(GradientNormalized(lin, eps, tau)(x), expected, atol=1e-6)
    r = train(WGANConfig(method="gran", tau=tau, **TINY))
    assert r.critic.tau == tau
    with pytest.raises(ValueError, match="tau"):
        GradientNormalized(lin, tau=2.0)  # GN has no τ


def test_the_playground_trains_with_another_loss():
    pg = playground("gran", sync=True, loss="hinge", **{**TINY, "steps": 10})
    assert pg.status.value.startswith("finished") and pg.result.config.loss == "hinge"
    pg.close()
