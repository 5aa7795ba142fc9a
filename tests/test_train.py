"""lipbook.train: one code path for train and sweep, reproducibility, bad input, divergence."""

import dataclasses
import math

import pytest
import torch

from lipbook import toy
from lipbook.lipschitz import upper_bound
from lipbook.train import (
    METHODS,
    TrainingDiverged,
    TrainResult,
    WGANConfig,
    sweep,
    sweep_seeds,
    train,
    trend,
)
from lipbook.wasserstein import exact_w1

TINY = dict(hidden=16, depth=2, batch=32, steps=4, critic_steps=2, eval_every=2,
            eval_samples=64, device="cpu")


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_on_cpu_and_returns_plain_modules(method):
    r = train(WGANConfig(method=method, **TINY))
    assert r.history["step"] == [0, 2, 4]
    assert set(r.history) == {"step", "critic_loss", "generator_loss", "dual_w1", "exact_w1",
                              "grad_norm_mean", "seconds"}
    assert all(math.isfinite(v) for vals in r.history.values() for v in vals)
    x = torch.randn(5, 2)
    assert r.critic(x).shape == (5, 1) and r.generator(torch.randn(5, 2)).shape == (5, 2)
    assert r.samples.shape == (64, 2)
    # the result's critic is the critic as trained: its dual value is the history's last entry
    # (recomputed here on the same held-out sets is not possible, so check it is finite) and
    # the generator reproduces the returned samples from fresh noise of the same shape
    assert torch.isfinite(r.critic(x)).all()


def test_clip_keeps_every_critic_parameter_within_c_and_sn_bound_is_about_one():
    r = train(WGANConfig(method="clip", c=0.02, **TINY))
    assert all(p.abs().max().item() <= 0.02 + 1e-7 for p in r.critic.parameters())
    r = train(WGANConfig(method="sn", **{**TINY, "steps": 30}))
    assert 1 - 1e-4 <= upper_bound(r.critic) < 1.2  # σ/σ̂ ≥ 1 per layer, close to 1


@pytest.mark.parametrize("name, values, method", [
    ("lam", [0.0, 1.0, 10.0], "gp"),
    ("lam", [0.1, 5.0], "lp"),
    ("c", [0.01, 0.1], "clip"),
    ("eps", [1e-3, 1.0], "gran"),
    ("tau", [0.5, 2.0], "gran"),
    ("n_power_iterations", [1, 3], "sn"),
    ("seed", [0, 7], "gn"),
    ("lr", [1e-4, 1e-3], "gp"),
])
def test_sweep_equals_separate_runs_to_1e6_in_float64(name, values, method):
    cfg = WGANConfig(method=method, dtype="float64", hidden=32, depth=2, batch=64, steps=20,
                     critic_steps=2, eval_every=10, eval_samples=64, device="cpu")
    together = sweep(cfg, name, values)
    for v, r in zip(values, together):
        alone = train(dataclasses.replace(cfg, **{name: v}))
        assert getattr(r.config, name) == v
        x = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        assert torch.allclose(r.critic(x), alone.critic(x), atol=1e-6, rtol=0)
        assert torch.allclose(r.samples, alone.samples, atol=1e-6, rtol=0)
        for key in ("critic_loss", "generator_loss", "exact_w1"):
            assert r.history[key] == pytest.approx(alone.history[key], abs=1e-6)


def test_rmsprop_clip_sweep_equals_separate_runs_and_stays_in_the_box():
    cfg = WGANConfig(method="clip", optimizer="rmsprop", dtype="float64", hidden=32, depth=2,
                     batch=64, steps=10, critic_steps=2, eval_every=5, eval_samples=64,
                     device="cpu")
    x = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for c, r in zip([0.01, 0.1], sweep(cfg, "c", [0.01, 0.1])):
        alone = train(dataclasses.replace(cfg, c=c))
        assert torch.allclose(r.critic(x), alone.critic(x), atol=1e-6, rtol=0)
        assert all(p.abs().max().item() <= c for p in r.critic.parameters())


def test_same_seed_gives_identical_results_and_another_seed_does_not():
    cfg = WGANConfig(**TINY)
    a, b = train(cfg), train(cfg)
    assert torch.equal(a.samples, b.samples)
    assert a.history["critic_loss"] == b.history["critic_loss"]
    c = train(dataclasses.replace(cfg, seed=1))
    assert not torch.equal(a.samples, c.samples)


def test_callback_sees_progress_and_can_stop_training():
    seen = []

    class Stop(Exception):
        pass

    def cb(p):
        seen.append((p.step, p.steps, p.result(0).samples.shape))
        if p.step >= 2:
            raise Stop

    with pytest.raises(Stop):
        train(WGANConfig(**{**TINY, "steps": 10}), callback=cb)
    assert seen == [(2, 10, (64, 2))]


def test_critic_only_keeps_the_generator_fixed_at_noisy_target():
    r = train(WGANConfig(critic_only=True, **TINY))
    assert r.history["generator_loss"] == [0.0] * 3
    w1 = r.history["exact_w1"]
    assert w1[0] == w1[-1] > 0.3  # the fixed noisy set does not move


def test_uniform_c_init_starts_every_critic_weight_inside_c():
    r = train(WGANConfig(method="clip", c=0.05, init="uniform_c", **{**TINY, "steps": 1}))
    w = torch.cat([p.flatten() for p in r.critic.parameters()])
    assert w.abs().max().item() <= 0.05 * (1 + 1e-6)


def test_enormous_learning_rate_raises_training_diverged_with_step_and_fix():
    cfg = WGANConfig(method="none", lr=1e6, **{**TINY, "steps": 30, "eval_every": 30})
    with pytest.raises(TrainingDiverged, match=r"generator iteration \d+ .*smaller learning rate"):
        train(cfg)


@pytest.mark.parametrize("kw, match", [
    (dict(method="wgan"), "method"), (dict(dataset="moons"), "dataset"),
    (dict(c=0.0), "c must be"), (dict(c=-1.0), "c must be"), (dict(c=float("nan")), "c must be"),
    (dict(lam=-0.1), "lam must be"), (dict(lam=float("nan")), "lam must be"),
    (dict(eps=0.0), "eps must be"), (dict(eps=float("inf")), "eps must be"),
    (dict(n_power_iterations=0), "n_power_iterations"), (dict(steps=0), "steps"),
    (dict(batch=-5), "batch"), (dict(lr=0.0), "lr must be"), (dict(lr=float("nan")), "lr must be"),
    (dict(optimizer="sgd"), "optimizer"), (dict(activation="swish"), "activation"),
    (dict(betas=(0.5, 1.0)), "betas"), (dict(betas=None), "betas"), (dict(seed=-1), "seed"),
    (dict(depth=-1), "depth"),
])
def test_bad_config_raises_value_error_naming_the_argument(kw, match):
    with pytest.raises(ValueError, match=match):
        WGANConfig(**kw)


def test_bad_sweep_name_or_values_raise():
    with pytest.raises(ValueError, match="name"):
        sweep(WGANConfig(**TINY), "hidden", [16, 32])
    with pytest.raises(ValueError, match="at least one"):
        sweep(WGANConfig(**TINY), "lam", [])
    with pytest.raises(ValueError, match="lam must be"):
        sweep(WGANConfig(**TINY), "lam", [1.0, -1.0])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_gpu_run_starts_from_the_cpu_runs_numbers_and_returns_cpu_modules():
    cfg = WGANConfig(**{**TINY, "dtype": "float64", "steps": 6})
    on_cpu, on_gpu = train(cfg), train(dataclasses.replace(cfg, device="cuda"))
    # the results live on the CPU, whatever device trained
    assert all(p.device.type == "cpu" for p in on_gpu.critic.parameters())
    assert all(p.device.type == "cpu" for p in on_gpu.generator.parameters())
    assert on_gpu.samples.device.type == "cpu"
    # same draws: after the first evaluation both runs differ by rounding only
    for key in ("critic_loss", "dual_w1", "exact_w1"):
        assert on_gpu.history[key] == pytest.approx(on_cpu.history[key], abs=1e-6)
    assert torch.allclose(on_gpu.samples, on_cpu.samples, atol=1e-6, rtol=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", toy.DATASETS)
def test_toy_sample_on_the_gpu_equals_the_cpu_draw(name):
    cpu = toy.sample(name, 500, generator=torch.Generator().manual_seed(4))
    gpu = toy.sample(name, 500, generator=torch.Generator().manual_seed(4), device="cuda")
    assert gpu.device.type == "cuda" and torch.equal(gpu.cpu(), cpu)


def test_every_random_draw_of_the_trainer_comes_from_a_cpu_generator(monkeypatch):
    made = []

    class RecordingGenerator(torch.Generator):
        def __init__(self, *args, **kwargs):  # records the device each generator was asked for
            super().__init__(*args, **kwargs)
            made.append(kwargs.get("device", args[0] if args else "cpu"))

    monkeypatch.setattr(torch, "Generator", RecordingGenerator)
    for method in ("gp", "sn", "gran"):
        train(WGANConfig(method=method, **TINY))
    # the run's device is never asked for: generators are made on the CPU whatever the device
    # (on a GPU machine the cuda test above checks the numbers themselves)
    assert made and all(str(d) == "cpu" for d in made)


def test_a_float64_run_on_mps_is_refused_before_training(monkeypatch):
    monkeypatch.setattr("lipbook.device._mps_available", lambda: True)  # as on a Mac
    cfg = WGANConfig(**{**TINY, "dtype": "float64", "device": "mps"})
    with pytest.raises(ValueError, match="float64.*MPS"):
        train(cfg)


@pytest.mark.slow
def test_default_config_covers_all_modes_and_nears_the_noise_floor():
    cfg = WGANConfig(device="cpu")
    r = train(cfg)
    assert toy.mode_coverage(r.samples, "8gaussians") == (8, 8)
    # noise floor: exact W1 between two independent target samples of the same size, averaged
    # over 8 pairs (one pair alone varies by ±40 % at 512 points)
    g = torch.Generator().manual_seed(123)
    n = cfg.eval_samples
    floor = sum(exact_w1(toy.sample("8gaussians", n, generator=g),
                         toy.sample("8gaussians", n, generator=g)) for _ in range(8)) / 8
    assert r.history["exact_w1"][-1] <= 2 * floor


@pytest.mark.parametrize("curve, expected", [
    ([6.0, 5.0, 4.0, 3.0, 2.0, 1.0], (1.5 - 3.5) / 3.5),  # falling: negative
    ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.0),                # flat
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], (5.5 - 3.5) / 3.5),  # rising: positive, not "below"
    ([9.0, 1.0, 1.00, 0.97, 0.96], (0.96 - 0.97) / 0.97),  # thirds of one value each
    ([-2.0, -2.0, -1.0], (-1.0 + 2.0) / 2.0),             # divides by |before|: rising is > 0
])
def test_trend_is_the_signed_change_of_the_last_third_against_the_third_before(curve, expected):
    assert trend(curve) == pytest.approx(expected, abs=1e-12)
    result = TrainResult(config=WGANConfig(), history={"exact_w1": curve, "dual_w1": [1.0] * 6},
                         critic=None, generator=None, samples=None)
    assert trend(result) == pytest.approx(expected, abs=1e-12)
    assert trend(result, "dual_w1") == 0.0  # the key picks the series


def test_trend_rejects_bad_arguments():
    result = TrainResult(config=WGANConfig(), history={"exact_w1": [1.0] * 6}, critic=None,
                         generator=None, samples=None)
    with pytest.raises(ValueError, match="key"):
        trend(result, "w1")
    with pytest.raises(ValueError, match="at least 3"):
        trend([1.0, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        trend([1.0, float("nan"), 1.0])
    with pytest.raises(ValueError, match="third before"):
        trend([0.0, 0.0, 1.0])


def test_sweep_seeds_equals_separate_train_runs_in_float64():
    cfg = WGANConfig(method="gp", dtype="float64", hidden=32, depth=2, batch=64, steps=20,
                     critic_steps=2, eval_every=10, eval_samples=64, device="cpu", seed=5)
    values = [0.1, 10.0]
    grid = sweep_seeds(cfg, "lam", values, seeds=3)
    assert [[(r.config.lam, r.config.seed) for r in row] for row in grid] == [
        [(0.1, 5), (0.1, 6), (0.1, 7)], [(10.0, 5), (10.0, 6), (10.0, 7)]]
    x = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for row in grid:
        for r in row:
            alone = train(r.config)
            assert torch.allclose(r.critic(x), alone.critic(x), atol=1e-6, rtol=0)
            assert torch.allclose(r.samples, alone.samples, atol=1e-6, rtol=0)
            for key in ("critic_loss", "generator_loss", "exact_w1"):
                assert r.history[key] == pytest.approx(alone.history[key], abs=1e-6)
    # different seeds are different runs; equal seeds with different λ share their data
    assert not torch.equal(grid[0][0].samples, grid[0][1].samples)


def test_sweep_seeds_takes_a_list_of_seeds_and_rejects_bad_ones():
    grid = sweep_seeds(WGANConfig(**TINY), "lam", [0.01], seeds=[3, 9])
    assert [r.config.seed for r in grid[0]] == [3, 9]
    for bad in (0, [], [1, 1], True):
        with pytest.raises(ValueError, match="seeds"):
            sweep_seeds(WGANConfig(**TINY), "lam", [0.01], seeds=bad)
    with pytest.raises(ValueError, match="name"):
        sweep_seeds(WGANConfig(**TINY), "seed", [1, 2])
