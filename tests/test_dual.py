"""lipbook.dual: constrained critics fitted to the Kantorovich–Rubinstein dual, checked against
SVD (the constraints) and exact optimal transport (the value they reach)."""

import pytest
import torch

from lipbook import toy
from lipbook.dual import ConstrainedCritics, fit_dual
from lipbook.lipschitz import upper_bound
from lipbook.wasserstein import dual_w1, exact_w1


def test_bjorck_critics_have_orthonormal_weights_and_members_match_the_batch():
    c = ConstrainedCritics("groupsort", "bjorck", d=2, seeds=[0, 1, 2], hidden=16, depth=3)
    for W in c.weights():  # [K, out, in]; an orthogonal start, so Björck lands on it
        s = torch.linalg.svdvals(W.detach().double())
        assert torch.allclose(s, torch.ones_like(s), atol=1e-4)
    x = torch.randn(9, 2, generator=torch.Generator().manual_seed(1))
    out = c(x)  # [K, B]
    for k in range(3):
        assert torch.allclose(c.member(k)(x).squeeze(1), out[k], atol=1e-5)
        assert upper_bound(c.member(k)) <= 1 + 1e-4


def test_sn_critics_keep_sigma_hat_below_sigma_and_step_only_in_training():
    c = ConstrainedCritics("relu", "sn", d=2, seeds=[0, 1], hidden=16, depth=2)
    for W, (u, v) in zip(c.net.weights, c.uv):
        sigma_hat = (u.unsqueeze(1) @ W @ v.unsqueeze(2)).flatten()
        sigma = torch.linalg.matrix_norm(W.detach().double(), 2)
        assert bool((sigma_hat.double() <= sigma * (1 + 1e-5)).all())  # uᵀWv ≤ ‖W‖₂
    before = [u.clone() for u, _ in c.uv]
    c.eval()
    c(torch.zeros(3, 2))
    assert all(torch.equal(a, u) for a, (u, _) in zip(before, c.uv))
    with pytest.raises(ValueError, match="constraint"):
        ConstrainedCritics("relu", "clip", d=2, seeds=[0], hidden=8, depth=2)


def test_fit_dual_approaches_the_exact_w1_of_two_point_clouds_from_below():
    g = torch.Generator().manual_seed(0)
    p = toy.sample("8gaussians", 64, generator=g)
    q = p + torch.tensor([1.0, 0.0])  # a shift by 1: W1 = 1 exactly, and POT agrees
    w1 = exact_w1(p, q)
    assert w1 == pytest.approx(1.0, abs=1e-6)
    fam = ConstrainedCritics("groupsort", "bjorck", d=2, seeds=[0, 1], hidden=16, depth=2)
    (fam,) = fit_dual([fam], lambda: p, lambda: q, steps=150, lr=1e-2)
    for k in range(2):
        value = dual_w1(fam.member(k), p, q)
        assert value <= w1 * (1 + 1e-3)  # 1-Lipschitz: never above W1 (KR duality)
        assert value > 0.9 * w1  # f(x) = x₁ is in the family: it gets close
