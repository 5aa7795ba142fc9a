"""lipbook.lipschitz against closed forms and a dense grid; lipbook.wasserstein against brute
force optimal transport."""

import itertools
import math

import pytest
import torch
from torch import nn

from lipbook import lipschitz as L
from lipbook.constraints import GradientNormalized
from lipbook.nets import mlp
from lipbook.wasserstein import dual_w1, exact_w1


def gen(seed):
    return torch.Generator().manual_seed(seed)


def grid(lo=-3.0, hi=3.0, n=600):
    t = torch.linspace(lo, hi, n)
    return torch.stack(torch.meshgrid(t, t, indexing="ij"), dim=-1).reshape(-1, 2)


def test_bounds_on_a_single_linear_layer_both_equal_the_norm_of_w():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0]]))
    assert math.isclose(L.upper_bound(lin), 5.0, rel_tol=1e-6)
    assert math.isclose(L.lower_bound(lin, torch.randn(8, 2, generator=gen(0))), 5.0, rel_tol=1e-6)


def test_upper_bound_is_the_product_of_singular_values_and_activation_constants():
    net = nn.Sequential(nn.Linear(3, 5), nn.Sigmoid(), nn.Linear(5, 4), nn.LeakyReLU(0.2),
                        nn.Linear(4, 1))
    expected = 0.25 * math.prod(float(torch.linalg.svdvals(m.weight.detach())[0])
                                for m in net if isinstance(m, nn.Linear))
    assert math.isclose(L.upper_bound(net), expected, rel_tol=1e-6)
    assert L.upper_bound(GradientNormalized(net)) == math.inf
    with pytest.raises(ValueError, match="Conv2d"):
        L.upper_bound(nn.Sequential(nn.Conv2d(1, 1, 3)))


def test_upper_bound_of_a_spectrally_normalized_net_reads_the_normalized_weights():
    from lipbook.constraints import spectral_norm
    net = spectral_norm(mlp(2, 1, hidden=32, depth=2, generator=gen(0)))
    net(torch.randn(4, 2))  # one training-mode power step per layer
    u0 = net[0].parametrizations.weight[0]._u.clone()
    with torch.no_grad():
        net.eval()
        expected = math.prod(float(torch.linalg.matrix_norm(m.weight.double(), 2))
                             for m in net if isinstance(m, nn.Linear))
        net.train()
    bound = L.upper_bound(net)
    assert bound == pytest.approx(expected) and bound >= 1 - 1e-6  # σ/σ̂ ≥ 1 per layer
    assert torch.equal(net[0].parametrizations.weight[0]._u, u0)  # no power step taken
    assert net.training


@pytest.mark.parametrize("depth, seed", [(1, 0), (3, 1), (5, 2)])
def test_lower_bound_from_random_points_reaches_the_grid_maximum(depth, seed):
    net = mlp(2, 1, hidden=32, depth=depth, generator=gen(seed))
    start = torch.rand(256, 2, generator=gen(seed + 10)) * 6 - 3  # random points, not the grid
    lb = L.lower_bound(net, start, generator=gen(seed + 20))
    grid_max = float(L.gradient_norms(net, grid()).max())
    assert lb >= 0.95 * grid_max
    assert lb <= L.upper_bound(net) * (1 + 1e-6)


def test_pairwise_slope_is_a_lower_bound_and_exact_for_abs_and_linear_maps():
    x = torch.linspace(-1, 1, 101).unsqueeze(1)
    assert math.isclose(L.pairwise_slope(torch.abs, x, x), 1.0, rel_tol=1e-6)
    assert math.isclose(L.pairwise_slope(lambda t: 3 * t, x, x), 3.0, rel_tol=1e-6)
    net = mlp(2, 1, hidden=16, depth=2, generator=gen(3))
    p = torch.randn(200, 2, generator=gen(4))
    assert L.pairwise_slope(net, p, p) <= L.upper_bound(net)
    with pytest.raises(ValueError, match="same d"):
        L.pairwise_slope(net, p, torch.zeros(3, 3))


def test_activation_gradient_norms_of_a_linear_chain():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(2))
        net[1].weight.copy_(torch.tensor([[3.0, 4.0]]))
    # ∂f/∂h₁ = (3, 4) (norm 5), ∂f/∂h₂ = 1
    assert L.activation_gradient_norms(net, torch.randn(5, 2)) == pytest.approx([5.0, 1.0])


def test_exact_w1_of_point_masses_is_the_distance_not_its_square():
    assert math.isclose(exact_w1(torch.zeros(1, 2), torch.tensor([[3.0, 4.0]])), 5.0)
    assert math.isclose(exact_w1(torch.zeros(3, 2), torch.full((5, 2), 2.0)), math.sqrt(8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_w1_equals_brute_force_assignment(seed):
    x = torch.randn(6, 2, generator=gen(seed), dtype=torch.float64)
    y = torch.randn(6, 2, generator=gen(seed + 100), dtype=torch.float64) + 1
    d = torch.cdist(x, y)
    brute = min(sum(float(d[i, j]) for i, j in enumerate(p)) / 6
                for p in itertools.permutations(range(6)))
    assert math.isclose(exact_w1(x, y), brute, rel_tol=1e-9)


def test_dual_of_a_one_lipschitz_critic_never_exceeds_exact_w1():
    g = gen(5)
    x, y = torch.randn(200, 2, generator=g), torch.randn(300, 2, generator=g) + 2
    w1 = exact_w1(x, y)
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-1.0, -1.0]]) / math.sqrt(2))
    dual = dual_w1(lin, x, y)
    assert 0 < dual <= w1 + 1e-6
    assert dual > 0.9 * w1  # the shift direction is nearly the optimal dual here


@pytest.mark.parametrize("x, y, match", [
    (torch.zeros(3), torch.zeros(3, 2), "2-D"),
    (torch.zeros(3, 2), torch.zeros(3, 3), "equal d"),
    (torch.zeros(0, 2), torch.zeros(3, 2), "non-empty"),
    (torch.full((3, 2), float("nan")), torch.zeros(3, 2), "NaN"),
])
def test_exact_w1_rejects_bad_point_clouds(x, y, match):
    with pytest.raises(ValueError, match=match):
        exact_w1(x, y)


def test_values_and_gradients_of_a_linear_and_a_quadratic_critic():
    # closed forms: f(x) = w.x + b has gradient w everywhere; f(x) = ||x||^2 has gradient 2x
    lin = torch.nn.Linear(3, 1).double()
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():  # why: it must work under no_grad (GN / GraN critics need autograd)
        v, g = L.values_and_gradients(lin, x)
    assert torch.allclose(v, (x @ lin.weight.T + lin.bias).squeeze(1), atol=1e-12)
    assert torch.allclose(g, lin.weight.detach().expand(7, 3), atol=1e-12)
    v, g = L.values_and_gradients(lambda t: (t ** 2).sum(1), x)
    assert torch.allclose(v, (x ** 2).sum(1)) and torch.allclose(g, 2 * x)
    assert torch.allclose(L.gradient_norms(lin, x), lin.weight.norm().expand(7))


def test_values_and_gradients_moves_points_to_the_module_and_rejects_other_shapes():
    lin = torch.nn.Linear(2, 1).double()
    v, g = L.values_and_gradients(lin, torch.ones(4, 2))  # float32 points, float64 module
    assert v.dtype == g.dtype == torch.float64 and v.shape == (4,) and g.shape == (4, 2)
    with pytest.raises(ValueError, match=r"one scalar per row of x"):
        L.values_and_gradients(torch.nn.Linear(2, 3), torch.ones(4, 2))
    with pytest.raises(TypeError, match="f must be"):
        L.values_and_gradients("critic", torch.ones(4, 2))
