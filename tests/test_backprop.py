"""lipbook.backprop: the explicit passes against autograd on plain PyTorch modules (float64).

The reference for each member k is the textbook computation on ``BatchedMLP.member(k)`` (an
``nn.Sequential`` of ``nn.Linear``): the critic loss mean f(x̃) − mean f(x), the penalty by
``autograd.grad(..., create_graph=True)`` at the interpolates, and ``backward()``.
"""

import dataclasses

import pytest
import torch

import lipbook.train as train_module
from lipbook.backprop import MLPBackprop
from lipbook.nets import LEAKY_SLOPE, BatchedMLP
from lipbook.train import WGANConfig, train

K, B = 3, 40


def random_mlp(activation="relu", in_dim=2, out_dim=1, hidden=16, depth=3, seed=0):
    """A float64 BatchedMLP with random weights and non-zero biases (so masks vary by row)."""
    g = torch.Generator().manual_seed(seed)
    net = BatchedMLP(K, in_dim, out_dim, hidden, depth, activation).double()
    net.init_([torch.Generator().manual_seed(seed + k) for k in range(K)])
    with torch.no_grad():
        for b in net.biases:
            b.copy_(0.3 * torch.randn(b.shape, generator=g, dtype=torch.float64))
    return net


def backprop_for(net):
    dims = [(W.shape[2], W.shape[1]) for W in net.weights]
    slope = LEAKY_SLOPE if net.activation_name == "leaky_relu" else 0.0
    return MLPBackprop(dims, K, slope, dtype=torch.float64)


def params(net):
    return [W.detach() for W in net.weights], [b.detach() for b in net.biases]


def points(seed, n=B, d=2):
    return torch.randn(K, n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def reference_critic_grads(net, real, fake, x_hat, lam, one_sided):
    """Per member: the textbook WGAN(-GP/-LP) critic loss, its value and parameter gradients
    ``[(loss, [dW_1, ..], [db_1, ..]), ...]``."""
    out = []
    for k in range(K):
        critic = net.member(k)
        loss = critic(fake[k]).mean() - critic(real[k]).mean()
        if x_hat is not None:
            xh = x_hat[k].clone().requires_grad_(True)
            (g,) = torch.autograd.grad(critic(xh).sum(), xh, create_graph=True)
            excess = g.norm(dim=1) - 1
            if one_sided:
                excess = excess.clamp_min(0)
            loss = loss + float(lam[k]) * excess.square().mean()
        loss.backward()
        linears = [m for m in critic if isinstance(m, torch.nn.Linear)]
        out.append((loss.item(), [m.weight.grad for m in linears], [m.bias.grad for m in linears]))
    return out


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("penalty", [None, "two-sided", "one-sided"])
def test_critic_grads_equal_autograd_on_the_textbook_loss(activation, penalty):
    net = random_mlp(activation)
    real, fake = points(1), points(2)
    t = torch.rand(K, B, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x_hat = t * real + (1 - t) * fake if penalty else None
    lam = torch.tensor([0.1, 1.0, 10.0], dtype=torch.float64).view(K, 1, 1)
    one_sided = penalty == "one-sided"
    loss, norm, dW, db = backprop_for(net).critic_grads(*params(net), real, fake, x_hat, lam,
                                                         one_sided)
    ref = reference_critic_grads(net, real, fake, x_hat, lam, one_sided)
    for k, (ref_loss, ref_dW, ref_db) in enumerate(ref):
        assert loss[k].item() == pytest.approx(ref_loss, abs=1e-12)
        for mine, theirs in zip(dW, ref_dW):
            assert torch.allclose(mine[k], theirs, atol=1e-12, rtol=1e-10)
        for mine, theirs in zip(db, ref_db):
            assert torch.allclose(mine[k, 0], theirs, atol=1e-12, rtol=1e-10)
    if penalty:
        # the penalty is not trivially 0 or saturated: the gradient norms straddle 1
        assert norm.min() < 1 < norm.max()
        if one_sided:
            assert (norm < 1).any()  # ... so the one-sided hinge is off for some rows
    else:
        assert norm is None


def test_a_zero_input_gradient_gives_a_finite_zero_penalty_gradient_as_autograd():
    """Where every unit of a layer is off, ∇f(x̂) = 0 and ‖∇f‖ has no derivative: autograd's
    norm takes 0 there, and so does the explicit pass (no 0/0)."""
    net = random_mlp()
    with torch.no_grad():
        net.biases[0][1:] = -1e3  # members 1 and 2: the first layer is off everywhere
    real, fake = points(1), points(2)
    x_hat = 0.5 * (real + fake)
    lam = torch.full((K, 1, 1), 10.0, dtype=torch.float64)
    loss, norm, dW, _ = backprop_for(net).critic_grads(*params(net), real, fake, x_hat, lam)
    assert (norm[1:] == 0).all() and (norm[0] > 0).all()
    assert all(torch.isfinite(g).all() for g in dW)
    ref = reference_critic_grads(net, real, fake, x_hat, lam, False)
    for k in range(K):
        assert loss[k].item() == pytest.approx(ref[k][0], abs=1e-12)
        for mine, theirs in zip(dW, ref[k][1]):
            assert torch.allclose(mine[k], theirs, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_input_grad_equals_autograd(activation):
    net = random_mlp(activation)
    x = points(4).requires_grad_(True)
    f, grad = backprop_for(net).input_gradient(*params(net), x.detach(), scale=-0.5)
    (ref,) = torch.autograd.grad(-0.5 * net(x).sum(), x)
    assert torch.allclose(f, net(x).detach(), atol=1e-12)
    assert torch.allclose(grad, ref, atol=1e-12, rtol=1e-10)


def test_backward_of_a_vector_output_mlp_equals_autograd():
    """The generator's pass: any output width, a given ∂L/∂output."""
    net = random_mlp(out_dim=2, depth=2)
    bp = backprop_for(net)
    z, grad_out = points(5), points(6)
    out = bp.forward(z, *params(net))
    dW, db = bp.backward(grad_out, params(net)[0])
    (net(z) * grad_out).sum().backward()
    assert torch.allclose(out, net(z).detach(), atol=1e-12)
    for mine, p in zip((*dW, *db), (*net.weights, *net.biases)):
        assert torch.allclose(mine, p.grad, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("method, extra", [
    ("gp", {}), ("lp", {}), ("clip", {"c": 0.05, "optimizer": "rmsprop"}), ("sn", {}),
    ("none", {"activation": "leaky_relu"}), ("gp", {"orthogonal": True}),
])
def test_trainer_explicit_path_equals_its_autograd_path(method, extra):
    """The whole training loop, 20 generator iterations in float64: the explicit passes
    (used for ReLU critics) and the autograd path give the same run to rounding."""
    cfg = WGANConfig(method=method, lam=1.0, dtype="float64", hidden=32, depth=2, batch=64,
                     steps=20, critic_steps=2, eval_every=10, eval_samples=64, device="cpu",
                     **extra)
    explicit = train(dataclasses.replace(cfg, engine="explicit"))
    autograd = train(dataclasses.replace(cfg, engine="autograd"))
    auto = train(cfg)  # "auto" takes the explicit engine here: the same run, bit for bit
    assert auto.history["exact_w1"] == explicit.history["exact_w1"]
    x = points(7, 50)[0]
    with torch.no_grad():
        assert torch.allclose(explicit.critic(x), autograd.critic(x), atol=1e-9, rtol=0)
    assert torch.allclose(explicit.samples, autograd.samples, atol=1e-9, rtol=0)
    for key in ("critic_loss", "generator_loss", "exact_w1"):
        assert explicit.history[key] == pytest.approx(autograd.history[key], abs=1e-9)
    assert explicit.history["exact_w1"][-1] != explicit.history["exact_w1"][0]  # it trained


def test_trainer_uses_the_explicit_path_exactly_for_relu_critics_without_gn():
    run = train_module._Run
    base = WGANConfig(hidden=8, device="cpu")
    for cfg, explicit in [(base, True), (dataclasses.replace(base, method="sn"), True),
                          (dataclasses.replace(base, activation="leaky_relu"), True),
                          (dataclasses.replace(base, method="gn"), False),
                          (dataclasses.replace(base, method="gran"), False),
                          (dataclasses.replace(base, activation="maxmin"), False),
                          (dataclasses.replace(base, depth=0), False)]:
        assert run([cfg]).engine.name == ("explicit" if explicit else "autograd"), cfg
        assert cfg.explicit is explicit
        if not explicit:  # asked for by name, it is refused with the reason
            with pytest.raises(ValueError, match="engine='explicit' cannot train this config"):
                dataclasses.replace(cfg, engine="explicit")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_critic_grads_on_the_gpu_equal_the_cpu_ones():
    net = random_mlp()
    real, fake, x_hat = points(1), points(2), points(3)
    lam = torch.tensor([0.1, 1.0, 10.0], dtype=torch.float64).view(K, 1, 1)
    cpu = backprop_for(net).critic_grads(*params(net), real, fake, x_hat, lam)
    dims = [(W.shape[2], W.shape[1]) for W in net.weights]
    gpu_bp = MLPBackprop(dims, K, dtype=torch.float64, device="cuda")
    on = lambda ts: [t.cuda() for t in ts]  # noqa: E731
    gpu = gpu_bp.critic_grads(on(params(net)[0]), on(params(net)[1]), real.cuda(), fake.cuda(),
                              x_hat.cuda(), lam.cuda())
    assert torch.allclose(gpu[0].cpu(), cpu[0], atol=1e-10)
    for a, b in zip((*gpu[2], *gpu[3]), (*cpu[2], *cpu[3])):
        assert torch.allclose(a.cpu(), b, atol=1e-10)
