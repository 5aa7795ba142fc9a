"""lipbook.nets: batched members equal plain networks; the explicit input-gradient chain equals
double backpropagation; GroupSort and Björck preserve gradient norms."""

import pytest
import torch
from torch import nn

from lipbook.lipschitz import gradient_norms, upper_bound
from lipbook.nets import BatchedMLP, GroupSort, bjorck, mlp


def batched(act="relu", depth=3, K=3, hidden=16, dtype=torch.float64):
    net = BatchedMLP(K, 2, 1, hidden, depth, act).to(dtype)
    net.init_([torch.Generator().manual_seed(s) for s in range(K)])
    return net


def test_members_are_the_batched_networks_taken_apart():
    net = batched("leaky_relu")
    x = torch.randn(3, 20, 2, dtype=torch.float64)
    y = net(x)
    for k in range(3):
        assert torch.allclose(net.member(k)(x[k]), y[k], atol=1e-12)
    same = BatchedMLP(2, 2, 1, 16, 3).double()
    same.init_([torch.Generator().manual_seed(5)] * 1 + [torch.Generator().manual_seed(5)])
    assert torch.equal(same.weights[0][0], same.weights[0][1])  # equal seeds, equal members


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_forward_leaves_its_input_alone_and_its_input_gradient_matches_the_members(act):
    net = batched(act)  # σ runs in place on each layer's fresh output, never on the input
    x = torch.randn(3, 20, 2, dtype=torch.float64, requires_grad=True)
    x0 = x.detach().clone()
    net(x).sum().backward()
    assert torch.equal(x.detach(), x0)
    for k in range(3):
        xk = x0[k].clone().requires_grad_(True)
        net.member(k)(xk).sum().backward()
        assert torch.allclose(x.grad[k], xk.grad, atol=1e-12)


def test_he_uniform_init_has_variance_two_over_fan_in():
    net = mlp(2, 1, hidden=512, depth=2, generator=torch.Generator().manual_seed(0))
    w = net[2].weight  # 512 x 512
    assert abs(w.var().item() * 512 / 2 - 1) < 0.02
    assert all(m.bias.abs().max().item() == 0 for m in net if isinstance(m, nn.Linear))


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
@pytest.mark.parametrize("depth", [1, 3])
def test_input_gradient_chain_equals_double_backpropagation(act, depth):
    net = batched(act, depth)
    x = torch.randn(3, 40, 2, dtype=torch.float64).requires_grad_(True)
    (auto,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
    chain = net.input_gradient(x)
    assert torch.allclose(chain, auto, atol=1e-12)
    params = list(net.parameters())
    pen = lambda g: ((g.norm(dim=-1) - 1) ** 2).sum()  # noqa: E731 - the GP penalty
    ga = torch.autograd.grad(pen(auto), params, allow_unused=True)
    gc = torch.autograd.grad(pen(chain), params, allow_unused=True)
    for a, c in zip(ga, gc):
        a = torch.zeros(()) if a is None else a
        c = torch.zeros(()) if c is None else c
        assert torch.allclose(a.double(), c.double(), atol=1e-10)


def test_input_gradient_refuses_smooth_activations():
    with pytest.raises(ValueError, match="relu"):
        batched("maxmin").input_gradient(torch.zeros(3, 1, 2, dtype=torch.float64))


def test_groupsort_is_a_permutation_within_groups():
    x = torch.randn(7, 12)
    for g in (2, 3, 4):
        y = GroupSort(g)(x)
        assert torch.equal(y.reshape(7, -1, g), x.reshape(7, -1, g).sort(dim=-1).values)
        assert torch.allclose(y.norm(dim=1), x.norm(dim=1))
    with pytest.raises(ValueError, match="multiple"):
        GroupSort(5)(x)


def test_bjorck_gives_orthonormal_columns_or_rows_batched():
    g = torch.Generator().manual_seed(0)
    for shape in [(5, 32, 2), (5, 1, 32), (5, 32, 32)]:
        Q = bjorck(torch.randn(shape, generator=g, dtype=torch.float64), iters=40)
        m, n = shape[1:]
        gram = Q.transpose(1, 2) @ Q if m >= n else Q @ Q.transpose(1, 2)
        assert torch.allclose(gram, torch.eye(min(m, n), dtype=torch.float64).expand_as(gram), atol=1e-6)


def test_groupsort_with_orthogonal_weights_preserves_the_gradient_norm():
    net = mlp(2, 1, hidden=32, depth=3, activation="maxmin", generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.copy_(bjorck(m.weight.detach(), iters=40))
    x = torch.randn(500, 2)
    norms = gradient_norms(net, x)
    # W_L (1 x 32) has a unit row and GroupSort permutes, but W_1 (32 x 2) has orthonormal
    # columns: ‖∇f‖ = ‖W_1ᵀ P ⋯ w_L‖ ≤ 1, with equality when the back-propagated vector lies
    # in W_1's column space — the bound is what is guaranteed everywhere
    assert (norms <= 1 + 1e-5).all()
    assert upper_bound(net) == pytest.approx(1.0, abs=1e-5)
