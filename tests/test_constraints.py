"""lipbook.constraints checked against closed forms (linear critics), the SVD and PyTorch."""

import math

import pytest
import torch
from torch import nn

from lipbook import constraints as C
from lipbook.nets import mlp


def linear_critic(w, b=0.3):
    lin = nn.Linear(len(w), 1).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([w], dtype=torch.float64))
        lin.bias.fill_(b)
    return lin


def points(n=64, d=2, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# -- clipping --------------------------------------------------------------------------------

def test_clip_weights_puts_every_parameter_in_range_and_bounds_the_net():
    from lipbook.lipschitz import upper_bound
    net = mlp(2, 1, hidden=32, depth=2, generator=torch.Generator().manual_seed(0))
    c = 0.05
    C.clip_weights_(net, c)
    for p in net.parameters():  # biases too
        assert p.abs().max() <= c
    assert any(bool((p.abs() == c).any()) for p in net.parameters())
    bound = math.prod(c * math.sqrt(m.weight.shape[0] * m.weight.shape[1])
                      for m in net if isinstance(m, nn.Linear))
    assert upper_bound(net) <= bound  # ‖W‖₂ ≤ ‖W‖_F ≤ c√(mn), erratum 8
    assert upper_bound(net) > 1e-6


# -- gradient penalty ------------------------------------------------------------------------

@pytest.mark.parametrize("w", [[0.3, 0.4], [3.0, 4.0], [0.6, 0.8]])
def test_gradient_penalty_on_a_linear_critic_is_lambda_times_norm_minus_one_squared(w):
    f = linear_critic(w)
    real, fake = points(seed=1), points(seed=2)
    norm = math.hypot(*w)
    lam = 2.5
    gp = C.gradient_penalty(f, real, fake, lam)
    assert gp.shape == () and math.isclose(gp.item(), lam * (norm - 1) ** 2, rel_tol=1e-12, abs_tol=1e-15)
    lp = C.gradient_penalty(f, real, fake, lam, one_sided=True)
    expected = lam * max(0.0, norm - 1) ** 2  # 0 when ‖w‖ < 1
    assert math.isclose(lp.item(), expected, rel_tol=1e-12, abs_tol=1e-15)


def test_gradient_penalty_is_a_batch_mean_over_per_sample_interpolates():
    # f(x) = ‖x‖² has ∇f = 2x, so the penalty depends on where each x̂ lands
    class Sq(nn.Module):
        def forward(self, x):
            return x.square().sum(dim=1, keepdim=True)

    real, fake = points(8, seed=3), points(8, seed=4)
    g = torch.Generator().manual_seed(7)
    gp = C.gradient_penalty(Sq(), real, fake, 1.0, rng=g)
    t = torch.rand(8, 1, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    x_hat = t * real + (1 - t) * fake
    expected = ((2 * x_hat.norm(dim=1) - 1) ** 2).mean()
    assert torch.allclose(gp, expected)


def test_gradient_penalty_is_differentiable_wrt_critic_parameters():
    f = linear_critic([3.0, 4.0])
    C.gradient_penalty(f, points(seed=1), points(seed=2), 1.0).backward()
    # d/dw λ(‖w‖−1)² = 2λ(‖w‖−1) w/‖w‖ = 2·4·(0.6, 0.8)
    assert torch.allclose(f.weight.grad, torch.tensor([[4.8, 6.4]], dtype=torch.float64))


# -- GN and GraN ------------------------------------------------------------------------------

def grad_norm_of(fn, x):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x).sum(), x)
    return g.norm(dim=1, keepdim=True)


def test_gn_on_a_linear_critic_matches_the_closed_form():
    w = [3.0, -4.0]
    f = linear_critic(w, b=0.7)
    x = points(32)
    out = C.gradient_normalize(f, x)
    assert out.shape == (32, 1)  # not [B, B] (erratum 7)
    assert (out.abs() < 1).all()
    fx = f(x).detach()
    expected = 25.0 / (5.0 + fx.abs()) ** 2  # ‖w‖² / (‖w‖ + |f|)²
    got = grad_norm_of(lambda z: C.gradient_normalize(f, z), x)
    assert torch.allclose(got, expected, rtol=1e-10)
    assert (got <= 1).all()  # ≤ 1, not = 1 (erratum 5)


def test_gn_is_finite_and_in_range_on_a_flat_critic_and_its_gradients_are_finite():
    net = mlp(2, 1, hidden=16, depth=2, generator=torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        net[-1].weight.zero_()  # f ≡ bias everywhere, ∇f = 0
        net[-1].bias.zero_()  # and f = 0: the 0/0 case
    x = points(10)
    out = C.gradient_normalize(net, x)
    assert torch.isfinite(out).all() and (out.abs() <= 1).all()
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    with torch.no_grad():
        net[-1].bias.fill_(-0.5)  # ∇f = 0 but f ≠ 0: f̂ = f/|f| = −1 exactly
    assert torch.equal(C.gradient_normalize(net, x), torch.full((10, 1), -1.0, dtype=torch.float64))


@pytest.mark.parametrize("eps", [1e-3, 1e-1, 10.0])
def test_gran_on_a_linear_critic_matches_the_closed_form(eps):
    f = linear_critic([1.0, 2.0])
    x = points(16)
    out = C.gran_normalize(f, x, eps)
    assert out.shape == (16, 1)
    expected = torch.full((16, 1), 5.0 / (5.0 + eps), dtype=torch.float64)  # ‖w‖²/(‖w‖²+ε)
    assert torch.allclose(grad_norm_of(lambda z: C.gran_normalize(f, z, eps), x), expected)
    assert torch.allclose(out, f(x) * math.sqrt(5) / (5 + eps))


def test_normalizations_pass_gradients_back_through_the_input():
    f = linear_critic([1.0, 2.0])
    z = points(4).requires_grad_(True)
    x = 2 * z  # e.g. a generator's output
    C.gran_normalize(f, x, 0.1).sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_source_notes_snippet_broadcasts_to_b_by_b_and_ours_does_not():
    f = linear_critic([1.0, 2.0])
    x = points(5).requires_grad_(True)
    out = f(x)  # [B, 1]
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    notes = out / (g.view(5, -1).pow(2).sum(1) ** 0.5 + out.abs())  # the notes' [B] norm
    assert notes.shape == (5, 5)
    assert C.gradient_normalize(f, x).shape == (5, 1)


# -- spectral normalization ------------------------------------------------------------------

def test_power_iteration_never_exceeds_sigma_and_converges_batched_and_rectangular():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(6, 40, 17, generator=g, dtype=torch.float64)
    sigma = torch.linalg.matrix_norm(W, 2)  # the SVD's σ₁, [6]
    u = None
    for _ in range(300):
        s, u, v = C.power_iteration(W, u, 1)
        assert (s <= sigma * (1 + 1e-12)).all()  # uᵀWv ≤ σ (erratum 4)
    assert torch.allclose(s, sigma, rtol=1e-4)
    for M in (W[0], W[1].T):  # unbatched, both orientations
        s, _, _ = C.power_iteration(M, n_iter=300)
        assert abs(float(s) - float(torch.linalg.matrix_norm(M, 2))) < 1e-4 * float(s)


def test_normalized_weight_norm_is_at_least_one_and_tends_to_one():
    W = torch.randn(64, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ratios = []
    for n in (1, 2, 5, 20, 200):
        s, _, _ = C.power_iteration(W, torch.ones(64, dtype=torch.float64), n)
        ratios.append(float(torch.linalg.matrix_norm(W / s, 2)))
    assert all(r >= 1 - 1e-12 for r in ratios)
    assert ratios[-1] < 1 + 1e-6 and ratios[0] > ratios[-1]


def test_spectral_norm_matches_pytorch_parametrization_in_train_and_eval():
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(20, 40), nn.ReLU(), nn.Linear(40, 7))
    theirs = nn.Sequential(nn.Linear(20, 40), nn.ReLU(), nn.Linear(40, 7))
    theirs.load_state_dict(ours.state_dict())
    torch.manual_seed(1)
    for m in theirs:
        if isinstance(m, nn.Linear):
            nn.utils.parametrizations.spectral_norm(m)
    torch.manual_seed(1)
    assert C.spectral_norm(ours) is ours
    x = torch.randn(8, 20)
    for _ in range(4):  # every training-mode forward takes one power step in both
        assert torch.allclose(ours(x), theirs(x), atol=1e-6)
    ours.eval(), theirs.eval()
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)
    w0 = ours[0].weight.detach().clone()
    assert torch.equal(ours[0].weight, w0)  # frozen in eval mode
    assert float(torch.linalg.matrix_norm(w0, 2)) >= 1 - 1e-6


def test_spectral_norm_divides_by_sigma_not_sigma_squared():
    lin = nn.Linear(30, 30)
    with torch.no_grad():
        lin.weight.mul_(10)
    sigma = torch.linalg.matrix_norm(lin.weight.detach(), 2).item()
    C.spectral_norm(lin)
    for _ in range(50):
        lin(torch.zeros(1, 30))
    assert abs(torch.linalg.matrix_norm(lin.weight.detach(), 2).item() - 1) < 1e-3
    W = lin.parametrizations.weight.original.detach()
    # the source notes' W/σ² would shrink the layer to norm 1/σ instead (erratum 3)
    assert abs(float(torch.linalg.matrix_norm(W / sigma**2, 2)) * sigma - 1) < 1e-5


@pytest.mark.parametrize("call, match", [
    (lambda: C.clip_weights_(nn.Linear(2, 1), 0), "c must be"),
    (lambda: C.clip_weights_(nn.Linear(2, 1), -1.0), "c must be"),
    (lambda: C.clip_weights_(nn.Linear(2, 1), float("nan")), "c must be"),
    (lambda: C.gradient_penalty(nn.Linear(2, 1), torch.zeros(3, 2), torch.zeros(3, 2), -1), "lam"),
    (lambda: C.gradient_penalty(nn.Linear(2, 1), torch.zeros(3, 2), torch.zeros(4, 2), 1), "same shape"),
    (lambda: C.gran_normalize(nn.Linear(2, 1), torch.zeros(3, 2), 0), "eps must be"),
    (lambda: C.gran_normalize(nn.Linear(2, 1), torch.zeros(3, 2), float("nan")), "eps must be"),
    (lambda: C.power_iteration(torch.zeros(3, 2), n_iter=0), "n_iter"),
    (lambda: C.power_iteration(torch.zeros(3), n_iter=1), r"\[m, n\]"),
    (lambda: C.spectral_norm(nn.Linear(2, 1), 0), "n_power_iterations"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
