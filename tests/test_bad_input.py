"""Bad input to every public entry point: one row per case, each asserting the error's type and
that its message names the argument (the policy in lipbook.checks). A case that must not raise
(the documented behaviour) says what it returns instead."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import lipbook
from lipbook import constraints, lipschitz, nets, toy, wasserstein
from lipbook.book import glue, html_table
from lipbook.checks import ArgumentTypeError
from lipbook.train import WGANConfig, sweep, sweep_seeds, train, trend
from lipbook.widgets import playground

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(hidden=8, depth=2, batch=16, steps=2, critic_steps=1, eval_every=1, eval_samples=32,
            device="cpu")
NAN = float("nan")


def pts(n=8, d=2, fill=None):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(0))
    if fill is not None:
        x[0, 0] = fill
    return x


def critic():
    return nets.mlp(2, 1, hidden=8, depth=2, generator=torch.Generator().manual_seed(0))


class NaNCritic(nn.Module):
    def forward(self, x):
        return x.sum(dim=1, keepdim=True) * NAN


# (id, call, error type, text the message must contain)
RAISES = [
    # lipbook.toy
    ("sample-name", lambda: toy.sample("moons", 4), ValueError, "name='moons'"),
    ("sample-name-type", lambda: toy.sample(3, 4), ValueError, "name=3"),
    ("sample-n-0", lambda: toy.sample("ring", 0), ValueError, "n must be a positive int"),
    ("sample-n-neg", lambda: toy.sample("ring", -2), ValueError, "n must be a positive int"),
    ("sample-n-float", lambda: toy.sample("ring", 2.5), ArgumentTypeError, "n must"),
    ("sample-n-bool", lambda: toy.sample("ring", True), ArgumentTypeError, "n must"),
    ("sample-generator", lambda: toy.sample("ring", 4, generator=3), ArgumentTypeError,
     "generator must be a torch.Generator"),
    ("sample-device", lambda: toy.sample("ring", 4, device="gpu"), ValueError, "device='gpu'"),
    ("coverage-nan", lambda: toy.mode_coverage(pts(fill=NAN), "8gaussians"), ValueError,
     "samples contains NaN"),
    ("coverage-inf", lambda: toy.mode_coverage(pts(fill=math.inf), "8gaussians"), ValueError,
     "samples contains NaN or infinite"),
    ("coverage-empty", lambda: toy.mode_coverage(torch.zeros(0, 2), "8gaussians"), ValueError,
     "samples must not be empty"),
    ("coverage-list", lambda: toy.mode_coverage([[0.0, 0.0]], "8gaussians"), ArgumentTypeError,
     "samples must be a torch.Tensor"),
    ("coverage-3d", lambda: toy.mode_coverage(pts(d=3), "8gaussians"), ValueError,
     "samples must be a [n, 2] tensor"),
    ("coverage-1d", lambda: toy.mode_coverage(torch.zeros(4), "8gaussians"), ValueError,
     "samples must be a [n, d] tensor"),
    ("coverage-no-modes", lambda: toy.mode_coverage(pts(), "swissroll"), ValueError,
     "name='swissroll' has no modes"),
    ("coverage-radius-0", lambda: toy.mode_coverage(pts(), "8gaussians", radius=0), ValueError,
     "radius must be"),
    ("coverage-radius-nan", lambda: toy.mode_coverage(pts(), "8gaussians", radius=NAN),
     ValueError, "radius must be"),
    ("coverage-share-0", lambda: toy.mode_coverage(pts(), "8gaussians", min_share=0),
     ValueError, "min_share must be"),
    ("coverage-share-big", lambda: toy.mode_coverage(pts(), "8gaussians", min_share=1.5),
     ValueError, "min_share must be in (0, 1]"),
    ("centres-ring", lambda: toy.mode_centres("ring"), ValueError, "name='ring' has no modes"),
    # lipbook.nets
    ("mlp-in-dim", lambda: nets.mlp(0, 1), ValueError, "in_dim must be a positive int"),
    ("mlp-out-dim", lambda: nets.mlp(2, -1), ValueError, "out_dim must be a positive int"),
    ("mlp-hidden-float", lambda: nets.mlp(2, 1, hidden=2.5), ArgumentTypeError, "hidden must"),
    ("mlp-depth-neg", lambda: nets.mlp(2, 1, depth=-1), ValueError, "depth"),
    ("mlp-depth-float", lambda: nets.mlp(2, 1, depth=1.0), ArgumentTypeError, "depth"),
    ("mlp-activation", lambda: nets.mlp(2, 1, activation="swish"), ValueError,
     "activation='swish'"),
    ("mlp-generator", lambda: nets.mlp(2, 1, generator=0), ArgumentTypeError, "generator must"),
    ("groupsort-0", lambda: nets.GroupSort(0), ValueError, "group_size must be a positive int"),
    # lipbook.constraints
    ("clip-c-0", lambda: constraints.clip_weights_(critic(), 0), ValueError, "c must be"),
    ("clip-c-nan", lambda: constraints.clip_weights_(critic(), NAN), ValueError, "c must be"),
    ("clip-c-str", lambda: constraints.clip_weights_(critic(), "0.1"), ArgumentTypeError,
     "c must be a real number"),
    ("clip-module", lambda: constraints.clip_weights_("net", 0.1), ArgumentTypeError,
     "module must be an nn.Module"),
    ("gp-lam-neg", lambda: constraints.gradient_penalty(critic(), pts(), pts(), -1.0),
     ValueError, "lam must be"),
    ("gp-lam-nan", lambda: constraints.gradient_penalty(critic(), pts(), pts(), NAN),
     ValueError, "lam must be"),
    ("gp-real-nan", lambda: constraints.gradient_penalty(critic(), pts(fill=NAN), pts(), 1.0),
     ValueError, "real contains NaN"),
    ("gp-fake-inf", lambda: constraints.gradient_penalty(critic(), pts(), pts(fill=math.inf),
                                                         1.0), ValueError, "fake contains NaN"),
    ("gp-fake-empty", lambda: constraints.gradient_penalty(critic(), pts(), torch.zeros(0, 2),
                                                           1.0), ValueError, "fake must not be empty"),
    ("gp-shapes", lambda: constraints.gradient_penalty(critic(), pts(8), pts(6), 1.0),
     ValueError, "real and fake must have the same shape"),
    ("gp-real-list", lambda: constraints.gradient_penalty(critic(), [[0.0, 0.0]], pts(1), 1.0),
     ArgumentTypeError, "real must be a torch.Tensor"),
    ("gp-1d", lambda: constraints.gradient_penalty(critic(), torch.zeros(2), torch.zeros(2), 1.0),
     ValueError, "real and fake must be [B, ...]"),
    ("gp-one-sided", lambda: constraints.gradient_penalty(critic(), pts(), pts(), 1.0,
                                                          one_sided="yes"), ArgumentTypeError,
     "one_sided must be True or False"),
    ("gp-rng", lambda: constraints.gradient_penalty(critic(), pts(), pts(), 1.0, rng=5),
     ArgumentTypeError, "rng must be a torch.Generator"),
    ("gp-critic", lambda: constraints.gradient_penalty("f", pts(), pts(), 1.0),
     ArgumentTypeError, "critic must be"),
    ("interpolates-nan", lambda: constraints.interpolates(pts(fill=NAN), pts()), ValueError,
     "real contains NaN"),
    ("power-1d", lambda: constraints.power_iteration(torch.ones(3)), ValueError,
     "W must be [m, n] or [K, m, n]"),
    ("power-nan", lambda: constraints.power_iteration(pts(fill=NAN)), ValueError,
     "W contains NaN"),
    ("power-empty", lambda: constraints.power_iteration(torch.zeros(0, 3)), ValueError,
     "W must not be empty"),
    ("power-list", lambda: constraints.power_iteration([[1.0]]), ArgumentTypeError,
     "W must be a torch.Tensor"),
    ("power-n-iter", lambda: constraints.power_iteration(pts(), n_iter=0), ValueError,
     "n_iter must be a positive int"),
    ("power-u-shape", lambda: constraints.power_iteration(pts(8, 2), u=torch.ones(3)),
     ValueError, "u must have shape (8,)"),
    ("power-u-nan", lambda: constraints.power_iteration(pts(8, 2), u=torch.full((8,), NAN)),
     ValueError, "u contains NaN"),
    ("power-generator", lambda: constraints.power_iteration(pts(), generator="g"),
     ArgumentTypeError, "generator must be"),
    ("sn-power", lambda: constraints.spectral_norm(critic(), 0), ValueError,
     "n_power_iterations must be a positive int"),
    ("sn-module", lambda: constraints.spectral_norm("net"), ArgumentTypeError,
     "module must be an nn.Module"),
    ("gn-x-nan", lambda: constraints.gradient_normalize(critic(), pts(fill=NAN)), ValueError,
     "x contains NaN"),
    ("gn-x-empty", lambda: constraints.gradient_normalize(critic(), torch.zeros(0, 2)),
     ValueError, "x must not be empty"),
    ("gn-x-list", lambda: constraints.gradient_normalize(critic(), [[0.0, 0.0]]),
     ArgumentTypeError, "x must be a torch.Tensor"),
    ("gn-critic", lambda: constraints.gradient_normalize(None, pts()), ArgumentTypeError,
     "critic must be"),
    ("gran-eps-0", lambda: constraints.gran_normalize(critic(), pts(), 0.0), ValueError,
     "eps must be"),
    ("gran-eps-neg", lambda: constraints.gran_normalize(critic(), pts(), -1e-2), ValueError,
     "eps must be"),
    ("gran-eps-inf", lambda: constraints.gran_normalize(critic(), pts(), math.inf), ValueError,
     "eps must be a finite number"),
    ("gran-x-nan", lambda: constraints.gran_normalize(critic(), pts(fill=NAN), 0.1), ValueError,
     "x contains NaN"),
    ("wrapped-base", lambda: constraints.GradientNormalized("f"), ArgumentTypeError,
     "base must be an nn.Module"),
    ("wrapped-eps", lambda: constraints.GradientNormalized(critic(), eps=0.0), ValueError,
     "eps must be"),
    # lipbook.lipschitz
    ("upper-model", lambda: lipschitz.upper_bound("net"), ArgumentTypeError,
     "model must be an nn.Module"),
    ("upper-softmax", lambda: lipschitz.upper_bound(nn.Sequential(nn.Linear(2, 2), nn.Softmax(1))),
     ValueError, "cannot bound a Softmax layer"),
    ("lower-steps-float", lambda: lipschitz.lower_bound(critic(), pts(), steps=2.7),
     ArgumentTypeError, "steps must be an int >= 0"),
    ("lower-steps-neg", lambda: lipschitz.lower_bound(critic(), pts(), steps=-1), ValueError,
     "steps must be an int >= 0"),
    ("lower-x-nan", lambda: lipschitz.lower_bound(critic(), pts(fill=NAN)), ValueError,
     "x contains NaN"),
    ("lower-x-empty", lambda: lipschitz.lower_bound(critic(), torch.zeros(0, 2)), ValueError,
     "x must not be empty"),
    ("lower-x-1d", lambda: lipschitz.lower_bound(critic(), torch.zeros(4)), ValueError,
     "x must be a [n, d] tensor"),
    ("lower-generator", lambda: lipschitz.lower_bound(critic(), pts(), generator=1),
     ArgumentTypeError, "generator must be"),
    ("lower-nan-model", lambda: lipschitz.lower_bound(NaNCritic(), pts(), steps=1), ValueError,
     "gradient norm is NaN"),
    ("norms-x-nan", lambda: lipschitz.gradient_norms(critic(), pts(fill=NAN)), ValueError,
     "x contains NaN"),
    ("slope-d", lambda: lipschitz.pairwise_slope(torch.sin, pts(d=2), pts(d=3)), ValueError,
     "same d"),
    ("slope-x-nan", lambda: lipschitz.pairwise_slope(torch.sin, pts(fill=NAN), pts()),
     ValueError, "x contains NaN"),
    ("slope-y-empty", lambda: lipschitz.pairwise_slope(torch.sin, pts(), torch.zeros(0, 2)),
     ValueError, "y must not be empty"),
    ("slope-same-points", lambda: lipschitz.pairwise_slope(torch.sin, pts(1), pts(1)),
     ValueError, "no pair of distinct points"),
    ("slope-nan-model", lambda: lipschitz.pairwise_slope(NaNCritic(), pts(), pts(4)),
     ValueError, "output is NaN"),
    ("slope-model", lambda: lipschitz.pairwise_slope(3, pts(), pts()), ArgumentTypeError,
     "model must be"),
    # lipbook.wasserstein
    ("w1-empty", lambda: wasserstein.exact_w1(torch.zeros(0, 2), pts()), ValueError,
     "x must be a non-empty"),
    ("w1-nan", lambda: wasserstein.exact_w1(pts(), pts(fill=NAN)), ValueError,
     "y contains NaN"),
    ("w1-d", lambda: wasserstein.exact_w1(pts(d=2), pts(d=3)), ValueError, "equal d"),
    ("dual-nan", lambda: wasserstein.dual_w1(critic(), pts(fill=NAN), pts()), ValueError,
     "x contains NaN"),
    ("dual-empty", lambda: wasserstein.dual_w1(critic(), pts(), torch.zeros(0, 2)), ValueError,
     "y must not be empty"),
    ("dual-list", lambda: wasserstein.dual_w1(critic(), [[0.0, 0.0]], pts()), ArgumentTypeError,
     "x must be a torch.Tensor"),
    ("dual-d", lambda: wasserstein.dual_w1(critic(), pts(d=2), pts(d=3)), ValueError,
     "equal d"),
    ("dual-nan-critic", lambda: wasserstein.dual_w1(NaNCritic(), pts(), pts()), ValueError,
     "dual estimate is nan"),
    # lipbook.device
    ("seed-everything-big", lambda: lipbook.seed_everything(2**40), ValueError,
     "seed must be an int in [0, 2**32 - 1]"),
    ("seed-everything-neg", lambda: lipbook.seed_everything(-1), ValueError, "seed must be"),
    ("seed-everything-float", lambda: lipbook.seed_everything(1.5), ValueError, "seed must be"),
    ("book-seed-i", lambda: lipbook.book_seed(-1), ValueError, "i must be an int in [0, 1000)"),
    # lipbook.train: WGANConfig
    ("config-method", lambda: WGANConfig(method="wgan"), ValueError, "method='wgan'"),
    ("config-engine", lambda: WGANConfig(engine="fast"), ValueError,
     "unknown engine='fast': choose one of"),
    ("config-engine-gn", lambda: WGANConfig(method="gn", engine="explicit"), ValueError,
     "engine='explicit' cannot train this config: method='gn'"),
    ("config-engine-hinge", lambda: WGANConfig(loss="hinge", engine="explicit"), ValueError,
     "loss='hinge'"),
    ("config-orthogonal", lambda: WGANConfig(orthogonal="no"), ArgumentTypeError,
     "orthogonal must be True or False"),
    ("config-critic-only", lambda: WGANConfig(critic_only="yes"), ArgumentTypeError,
     "critic_only must be True or False"),
    ("config-device-gpu", lambda: WGANConfig(device="gpu"), ValueError,
     "device='gpu' is not a usable device"),
    ("config-device-int", lambda: WGANConfig(device=3), ArgumentTypeError, "device must be"),
    ("config-seed-neg", lambda: WGANConfig(seed=-1), ValueError, "seed must be an int >= 0"),
    ("config-seed-float", lambda: WGANConfig(seed=1.5), ArgumentTypeError, "seed must be"),
    ("config-c-underflow", lambda: WGANConfig(c=1e-46), ValueError,
     "c=1e-46 is not representable in float32"),
    ("config-eps-overflow", lambda: WGANConfig(eps=1e39), ValueError,
     "eps=1e+39 is not representable in float32"),
    ("config-lam-overflow", lambda: WGANConfig(lam=1e39), ValueError, "lam=1e+39 is not"),
    ("config-lr-inf", lambda: WGANConfig(lr=math.inf), ValueError, "lr must be a finite"),
    ("config-betas-one", lambda: WGANConfig(betas=(0.5,)), ValueError, "betas must be a pair"),
    ("config-betas-1", lambda: WGANConfig(betas=(0.5, 1.0)), ValueError, "betas[1] must be"),
    ("config-betas-str", lambda: WGANConfig(betas=("a", 0.9)), ArgumentTypeError, "betas[0]"),
    ("config-steps", lambda: WGANConfig(steps=0), ValueError, "steps must be a positive int"),
    ("config-batch-float", lambda: WGANConfig(batch=2.0), ArgumentTypeError, "batch must"),
    ("config-hidden-bool", lambda: WGANConfig(hidden=True), ArgumentTypeError, "hidden must"),
    ("config-eval-every", lambda: WGANConfig(eval_every=0), ValueError, "eval_every must"),
    ("config-depth-float", lambda: WGANConfig(depth=1.0), ArgumentTypeError, "depth must"),
    ("config-dtype", lambda: WGANConfig(dtype="float16"), ValueError, "dtype='float16'"),
    ("config-init", lambda: WGANConfig(init="xavier"), ValueError, "init='xavier'"),
    ("config-schedule", lambda: WGANConfig(lr_schedule="cosine"), ValueError, "lr_schedule"),
    ("config-optimizer", lambda: WGANConfig(optimizer="sgd"), ValueError, "optimizer='sgd'"),
    ("config-activation", lambda: WGANConfig(activation="swish"), ValueError, "activation"),
    # lipbook.train: train, sweep, sweep_seeds, trend
    ("train-config", lambda: train({"method": "gp"}), ArgumentTypeError,
     "config must be a WGANConfig"),
    ("train-callback", lambda: train(WGANConfig(**TINY), callback="print"), ArgumentTypeError,
     "callback must be callable"),
    ("sweep-config", lambda: sweep(None, "lam", [1.0]), ArgumentTypeError, "config must be"),
    ("sweep-name", lambda: sweep(WGANConfig(**TINY), "hidden", [8, 16]), ValueError,
     "name='hidden'"),
    ("sweep-empty", lambda: sweep(WGANConfig(**TINY), "lam", []), ValueError,
     "values must hold at least one value"),
    ("sweep-not-iterable", lambda: sweep(WGANConfig(**TINY), "lam", 3.0), ArgumentTypeError,
     "values must be a sequence"),
    ("sweep-string", lambda: sweep(WGANConfig(**TINY), "lam", "0.1"), ArgumentTypeError,
     "values must be a sequence"),
    ("sweep-lam-clip", lambda: sweep(WGANConfig(method="clip", **TINY), "lam", [0.1, 1.0]),
     ValueError, "name='lam' changes nothing for method='clip'"),
    ("sweep-eps-gp", lambda: sweep(WGANConfig(**TINY), "eps", [0.1, 1.0]), ValueError,
     "name='eps' changes nothing for method='gp'"),
    ("sweep-power-gn", lambda: sweep(WGANConfig(method="gn", **TINY), "n_power_iterations",
                                     [1, 2]), ValueError, "changes nothing for method='gn'"),
    ("sweep-tau-gn", lambda: sweep(WGANConfig(method="gn", **TINY), "tau", [0.5, 2.0]),
     ValueError, "name='tau' changes nothing for method='gn': tau is used by gran"),
    ("sweep-c-sn", lambda: sweep(WGANConfig(method="sn", **TINY), "c", [0.1, 1.0]), ValueError,
     "name='c' changes nothing"),
    ("sweep-bad-value", lambda: sweep(WGANConfig(**TINY), "lam", [1.0, -1.0]), ValueError,
     "lam must be"),
    ("sweep-seed-neg", lambda: sweep(WGANConfig(**TINY), "seed", [1, -1]), ValueError,
     "seed must be"),
    ("grid-seeds-0", lambda: sweep_seeds(WGANConfig(**TINY), "lam", [1.0], seeds=0), ValueError,
     "seeds must be a positive int"),
    ("grid-seeds-repeat", lambda: sweep_seeds(WGANConfig(**TINY), "lam", [1.0], seeds=[1, 1]),
     ValueError, "seeds must be a count >= 1 or a list of distinct seeds"),
    ("grid-name-seed", lambda: sweep_seeds(WGANConfig(**TINY), "seed", [1, 2]), ValueError,
     "name='seed'"),
    ("grid-ignored", lambda: sweep_seeds(WGANConfig(method="none", **TINY), "lam", [1.0]),
     ValueError, "changes nothing for method='none'"),
    ("trend-short", lambda: trend([1.0, 0.5]), ValueError, "at least 3 values"),
    ("trend-nan", lambda: trend([1.0, NAN, 0.5]), ValueError, "NaN"),
    # lipbook.book
    ("glue-vector", lambda: glue("v", torch.ones(2)), ValueError, "scalar tensor"),
    ("table-row", lambda: html_table(["a", "b"], [[1]]), ValueError, "rows[0] has 1 cells"),
    # lipbook.widgets: only a call that names no playground raises
    ("playground-method", lambda: playground("wgan"), ValueError, "method='wgan'"),
    ("playground-keyword", lambda: playground("gp", widht=3), ValueError, "unknown keyword"),
]


@pytest.mark.parametrize("call, error, text", [r[1:] for r in RAISES], ids=[r[0] for r in RAISES])
def test_bad_input_raises_an_error_naming_the_argument(call, error, text):
    with pytest.raises(error) as caught:
        call()
    assert text in str(caught.value)
    assert isinstance(caught.value, ValueError)  # one `except ValueError` catches every case


def test_every_row_has_a_distinct_id_and_there_are_enough_of_them():
    ids = [r[0] for r in RAISES]
    assert len(set(ids)) == len(ids) and len(ids) + len(DOCUMENTED) >= 100


@pytest.mark.parametrize("env, text", [
    ({"LIPBOOK_DEVICE": "gpu"}, "LIPBOOK_DEVICE='gpu' is not a usable device"),
    ({"LIPBOOK_DEVICE": "cuda:99"}, "LIPBOOK_DEVICE='cuda:99'"),
    ({"LIPBOOK_SEED": "x"}, "LIPBOOK_SEED='x' must be an integer"),
    ({"LIPBOOK_SEED": "-3"}, "LIPBOOK_SEED='-3' must be an integer"),
])
def test_bad_environment_variables_name_themselves(monkeypatch, env, text):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    call = lipbook.get_device if "LIPBOOK_DEVICE" in env else lipbook.book_seed
    with pytest.raises(ValueError) as caught:
        call()
    assert text in str(caught.value)


# Valid input with a documented outcome other than an error: (id, call, check of the result)
DOCUMENTED = [
    ("numpy-int-seed", lambda: WGANConfig(seed=np.int64(3)).seed,
     lambda s: s == 3 and type(s) is int),
    ("numpy-int-n", lambda: toy.sample("ring", np.int64(3)).shape, lambda s: s == (3, 2)),
    ("numpy-int-sweep-seed", lambda: [r.config.seed for r in
                                      sweep(WGANConfig(**TINY), "seed", [np.int64(1)])],
     lambda s: s == [1] and type(s[0]) is int),
    *[(f"depth-0-{m}-trains", lambda m=m: train(WGANConfig(method=m, **{**TINY, "depth": 0})),
       lambda r: math.isfinite(r.history["exact_w1"][-1])
       and len(getattr(r.critic, "base", r.critic)) == 1)  # one Linear layer
      for m in ("none", "clip", "gp", "lp", "sn", "gn", "gran")],
    ("nested-gn-bound-is-inf", lambda: lipschitz.upper_bound(
        nn.Sequential(constraints.GradientNormalized(critic()))), lambda b: b == math.inf),
    ("config-device-is-normalised", lambda: WGANConfig(device=torch.device("cpu")).device,
     lambda d: d == "cpu"),
]


@pytest.mark.parametrize("call, check", [r[1:] for r in DOCUMENTED], ids=[r[0] for r in DOCUMENTED])
def test_valid_but_unusual_input_gives_the_documented_result(call, check):
    assert check(call())


def test_a_clip_value_that_makes_the_critic_constant_warns_once_per_call():
    cfg = WGANConfig(method="clip", c=1e-5, **TINY)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        train(cfg)
    assert [str(w.message).split(" makes")[0] for w in seen] == ["c=1e-05"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(WGANConfig(method="clip", c=1e-3, **TINY))  # the slider's smallest c: no warning


@pytest.mark.skipif(torch.cuda.is_available(), reason="cuda is usable on this machine")
def test_a_config_naming_an_absent_gpu_fails_at_creation_not_inside_torch():
    with pytest.raises(ValueError, match="device='cuda' is not a usable device.*available here"):
        WGANConfig(device="cuda")


# The playground: nothing raises; the status line says what happened; the worker survives.
PG = dict(hidden=8, depth=2, batch=16, steps=10, critic_steps=1, eval_every=5, eval_samples=32,
          device="cpu")


@pytest.mark.parametrize("method, overrides, text", [
    ("gp", {"device": "gpu"}, "invalid value: device='gpu' is not a usable device"),
    ("clip", {"c": 5.0}, "c=5 is outside the playground's range for it, [0.001, 1]"),
    ("gran", {"eps": 1e-9}, "eps=1e-09 is outside the playground's range"),
    ("sn", {"n_power_iterations": 50}, "n_power_iterations=50 is outside"),
    ("gp", {"hidden": 0}, "hidden must be a positive int"),
    ("gp", {"orthogonal": "no"}, "orthogonal must be True or False"),
    ("gp", {"depth": -1}, "depth must be an int >= 0"),
])
def test_a_bad_playground_setting_is_shown_not_raised(method, overrides, text):
    pg = playground(method, sync=True, **{**PG, **overrides})
    assert text in pg.status.value and pg.result is None and pg.runner.started == 0
    pg.close()


def test_an_unusable_lipbook_device_after_building_shows_in_the_status_and_the_worker_lives(
        monkeypatch):
    pg = playground("gp", sync=True, **{k: v for k, v in PG.items() if k != "device"})
    assert pg.status.value.startswith("finished")
    monkeypatch.setenv("LIPBOOK_DEVICE", "gpu")  # as running.md shows, set from a notebook
    pg.slider.value = 1.0  # must return: a dead worker would hang a synchronous change
    assert "invalid value: LIPBOOK_DEVICE='gpu'" in pg.status.value and pg.result is None
    assert pg.device_label.value == "unusable"
    monkeypatch.delenv("LIPBOOK_DEVICE")
    pg.slider.value = 2.0  # the next change trains again
    assert pg.status.value.startswith("finished") and pg.result.config.lam == 2.0
    pg.close()
    assert pg.status.value.startswith("closed")


def test_an_error_in_the_final_drawing_is_shown_and_the_next_change_still_trains(monkeypatch):
    pg = playground("gp", sync=True, **PG)

    def broken(result):
        raise RuntimeError("no figure today")

    monkeypatch.setattr("lipbook.widgets.result_figure", broken)
    pg.slider.value = 1.0
    assert pg.status.value.startswith("error: RuntimeError: no figure today")
    monkeypatch.undo()
    pg.slider.value = 2.0
    assert pg.status.value.startswith("finished") and pg.result.config.lam == 2.0
    pg.close()
