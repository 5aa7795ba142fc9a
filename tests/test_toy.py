"""lipbook.toy: the datasets' scales and mode coverage."""

import math

import pytest
import torch

from lipbook import toy


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", toy.DATASETS)
def test_sample_shape_reproducible_and_within_the_toy_box(name):
    x = toy.sample(name, 4000, generator=gen())
    assert x.shape == (4000, 2) and x.dtype == torch.float32
    assert torch.equal(x, toy.sample(name, 4000, generator=gen()))
    assert x.abs().max() < 2.1  # every set fits the box of the WGAN-GP toy plots


def test_8gaussians_centres_and_spread_match_the_wgan_gp_toy_code():
    c = toy.mode_centres("8gaussians")
    assert torch.allclose(c.norm(dim=1), torch.full((8,), 2 / 1.414))
    gaps = torch.cdist(c, c) + 10 * torch.eye(8)
    assert abs(float(gaps.min()) - 1.08) < 0.01  # neighbouring centres ≈ 1.08 apart
    x = toy.sample("8gaussians", 20000, generator=gen())
    nearest = torch.cdist(x, c).argmin(dim=1)
    resid = x - c[nearest]
    assert abs(float(resid.std()) - 0.02 / 1.414) < 1e-3  # σ ≈ 0.014
    counts = torch.bincount(nearest, minlength=8).float() / len(x)
    assert torch.allclose(counts, torch.full((8,), 1 / 8), atol=0.01)


def test_mode_centres_is_a_fresh_copy_that_sample_does_not_share():
    before = toy.sample("8gaussians", 100, generator=gen())
    c = toy.mode_centres("8gaussians")
    c.zero_()  # sample keeps its own copy of the centres, built once per device
    assert torch.equal(toy.sample("8gaussians", 100, generator=gen()), before)
    assert toy.mode_centres("8gaussians").abs().sum() > 0


def test_25gaussians_grid_and_ring_radius():
    c = toy.mode_centres("25gaussians")
    assert c.shape == (25, 2) and math.isclose(float(c.max()), 4 / 2.828, rel_tol=1e-6)
    r = toy.sample("ring", 5000, generator=gen()).norm(dim=1)
    assert abs(float(r.mean()) - math.sqrt(2)) < 0.01


def test_mode_coverage_counts_covered_and_missing_modes():
    x = toy.sample("8gaussians", 4000, generator=gen())
    assert toy.mode_coverage(x, "8gaussians") == (8, 8)
    c = toy.mode_centres("8gaussians")
    keep = torch.cdist(x, c).argmin(dim=1) < 5  # drop three modes
    assert toy.mode_coverage(x[keep], "8gaussians") == (5, 8)
    assert toy.mode_coverage(torch.zeros(100, 2), "8gaussians") == (0, 8)


@pytest.mark.parametrize("call, match", [
    (lambda: toy.sample("moons", 10), "dataset"),
    (lambda: toy.sample("ring", 0), "n must be a positive int"),
    (lambda: toy.sample("ring", -3), "n must be a positive int"),
    (lambda: toy.mode_coverage(torch.zeros(5, 2), "swissroll"), "has no modes"),
    (lambda: toy.mode_coverage(torch.zeros(5, 3), "8gaussians"), r"\[n, 2\]"),
    (lambda: toy.mode_coverage(torch.zeros(5, 2), "8gaussians", radius=0), "radius"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_grid_is_the_product_of_the_axis_with_x2_slowest():
    lim, n = 1.5, 5
    axis = torch.linspace(-lim, lim, n, dtype=torch.float64)
    expected = torch.tensor([[a, b] for b in axis.tolist() for a in axis.tolist()],
                            dtype=torch.float64)
    assert torch.equal(toy.grid(lim, n), expected)
    with pytest.raises(ValueError, match="n must be"):
        toy.grid(1.0, 1)
    with pytest.raises(ValueError, match="lim"):
        toy.grid(-1.0, 5)


def test_sample_blurred_is_a_fresh_target_draw_plus_gaussian_noise():
    g = torch.Generator().manual_seed(3)
    q = toy.sample_blurred("8gaussians", 20_000, sigma=0.5, generator=g)
    g = torch.Generator().manual_seed(3)
    x_r = toy.sample("8gaussians", 20_000, generator=g)
    noise = (q - x_r) / 0.5
    assert torch.allclose(noise, torch.randn(20_000, 2, generator=g), atol=1e-5)
    # the noise is N(0, I): mean within 5 standard errors, variance within 5 %
    assert noise.mean(0).abs().max() < 5 / 20_000 ** 0.5
    assert (noise.var(0) - 1).abs().max() < 0.05
    with pytest.raises(ValueError, match="sigma"):
        toy.sample_blurred("8gaussians", 4, sigma=0.0)
