"""lipbook.widgets: the playground driven headlessly — set a control, wait, check the image, the
result and the status line; bad values and divergence give messages; no pile-up of runs."""

import dataclasses
import threading
import time

import ipywidgets
import pytest

from lipbook.train import METHODS
from lipbook.widgets import SLIDERS, Playground, playground

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(hidden=16, depth=2, batch=32, steps=20, critic_steps=2, eval_every=10,
            eval_samples=64, device="cpu")
PNG = b"\x89PNG"


def workers():
    return [t for t in threading.enumerate() if t.name == "lipbook-playground" and t.is_alive()]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_builds_runs_and_shows_a_figure(method):
    pg = playground(method, **TINY)
    assert isinstance(pg, Playground) and isinstance(pg, ipywidgets.VBox)  # display(pg) works
    kind = ipywidgets.IntSlider if method == "sn" else ipywidgets.FloatLogSlider
    assert isinstance(pg.slider, kind) and pg.slider.description == SLIDERS[method][1]
    assert bytes(pg.image.value).startswith(PNG)
    assert pg.result is not None and pg.result.config.method == method
    assert pg.status.value.startswith("finished in ") and "20 iterations" in pg.status.value
    assert pg.device_label.value == "cpu" and pg.progress.value == 20
    assert (pg.no_penalty is not None) == (method in ("gp", "lp"))
    pg.close()


def test_slider_change_retrains_in_the_background_and_shows_the_value():
    pg = playground("gp", **TINY)
    image, result = pg.image.value, pg.result
    pg.slider.value = 3.0
    assert pg.wait(timeout=60)
    assert pg.image.value != image and bytes(pg.image.value).startswith(PNG)
    assert pg.result is not result and pg.result.config.lam == 3.0
    assert "λ = 3," in pg.status.value and pg.status.value.startswith("finished")
    assert not pg.running and workers() == []


def test_out_of_range_value_is_clamped_and_the_status_shows_the_value_used():
    pg = playground("clip", sync=True, **TINY)
    pg.slider.value = 50.0  # the slider's range is [1e-3, 1]: ipywidgets clamps silently
    assert pg.slider.value == 1.0 and pg.result.config.c == 1.0
    assert "c = 1," in pg.status.value
    pg.slider.value = 1e-9
    assert pg.result.config.c == pytest.approx(1e-3) and "c = 0.001," in pg.status.value


def test_a_typed_value_arrives_as_a_front_end_message_and_is_clamped_too():
    pg = playground("gp", sync=True, **TINY)
    pg.slider.set_state({"value": 5000.0})  # what the browser sends when a reader types 5000
    assert pg.slider.value == 1000.0 and pg.result.config.lam == 1000.0
    assert "λ = 1e+03," in pg.status.value and pg.status.value.startswith("finished")


def test_an_override_outside_the_slider_range_is_refused_not_clamped():
    pg = playground("gran", sync=True, eps=1e6, **TINY)  # the slider could only show ε = 10
    assert pg.status.value.startswith(
        "invalid value: eps=1e+06 is outside the playground's range for it, [0.0001, 10]")
    assert pg.result is None and pg.runner.started == 0 and pg.slider.value == pytest.approx(1e-2)
    pg.slider.value = 1.0  # the controls still train
    assert pg.status.value.startswith("finished") and pg.result.config.eps == 1.0
    pg = playground("clip", sync=True, steps=20_000, **{k: v for k, v in TINY.items()
                                                         if k != "steps"})
    assert "steps=20000 is outside the playground's range for it, [10, 5000]" in pg.status.value


def test_nan_set_in_code_shows_the_value_error_not_a_traceback():
    pg = playground("clip", sync=True, **TINY)
    pg.slider.value = float("nan")  # the one value a slider's clamping lets through
    assert pg.status.value == "invalid value: c must be a finite number > 0, got nan"
    assert pg.result is None and isinstance(pg.error, ValueError)
    pg.slider.value = 0.1
    assert pg.status.value.startswith("finished") and pg.result.config.c == 0.1
    pg.seed.value = -3
    assert pg.status.value == "invalid value: seed must be an int >= 0, got -3"
    pg.seed.value = 1
    assert pg.status.value.startswith("finished") and pg.result.config.seed == 1


def test_enormous_learning_rate_shows_training_diverged():
    pg = playground("none", sync=True, **{**TINY, "lr": 1e6, "steps": 30})
    assert pg.slider.description == "lr" and "lr=1e+06 is outside" in pg.status.value
    pg2 = playground("gp", sync=True, **{**TINY, "lr": 1e6, "steps": 30})  # lr: no control
    assert pg2.status.value.startswith("diverged: training diverged at generator iteration")
    assert "smaller learning rate" in pg2.status.value and pg2.result is None
    assert pg2.progress.bar_style == "danger"


def test_twenty_rapid_changes_leave_exactly_one_run_then_none():
    pg = playground("gp", **{**TINY, "eval_every": 5})
    pg.steps.value = 60
    assert pg.wait(timeout=120)
    finished = pg.runner.completed
    for i in range(20):
        pg.slider.value = 0.01 * (i + 1)
        assert len(workers()) <= 1
    assert pg.running and len(workers()) == 1
    assert pg.wait(timeout=120)
    assert pg.runner.peak == 1  # never two training runs at once
    assert pg.runner.completed == finished + 1  # only the last request ran to the end
    assert pg.result.config.lam == pytest.approx(0.2)
    assert "λ = 0.2," in pg.status.value
    assert not pg.running and workers() == []


def test_no_penalty_checkbox_sets_lambda_to_zero():
    pg = playground("lp", sync=True, **TINY)
    pg.no_penalty.value = True
    assert pg.result.config.lam == 0.0 and pg.slider.disabled
    assert "λ = 0 (no penalty)" in pg.status.value
    pg.no_penalty.value = False
    assert pg.result.config.lam == pytest.approx(0.1) and not pg.slider.disabled


def test_dataset_steps_and_sn_slider_controls():
    pg = playground("sn", sync=True, **TINY)
    pg.dataset.value = "swissroll"
    assert pg.result.config.dataset == "swissroll" and "modes" not in pg.status.value
    pg.steps.value = 30
    assert pg.result.config.steps == 30 and pg.progress.max == 30
    pg.slider.value = 3
    assert pg.result.config.n_power_iterations == 3 and "power iterations = 3" in pg.status.value


def test_close_stops_a_run_and_bad_arguments_raise():
    pg = playground("gp", **{**TINY, "eval_every": 5})
    pg.steps.value = 5000  # a long run in the worker
    while pg.progress.value < 5 or pg.progress.max != 5000:
        assert pg.running
        time.sleep(0.01)
    pg.close()
    assert pg.progress.value < 5000
    assert pg.wait(timeout=30) and workers() == []
    with pytest.raises(ValueError, match="method"):
        playground("wgan")
    with pytest.raises(ValueError, match="config fields"):
        playground("gp", widht=3)


def test_running_holds_from_the_moment_the_worker_takes_a_request(monkeypatch):
    """CI once failed here: `running` read the count of training runs, which a request taken
    by the worker but not yet training (setting up its labels) did not count."""
    import lipbook.widgets as widgets

    pg = playground("gp", **TINY)
    seen = []
    real = widgets.device_name

    def device_name(device):  # called by the worker after it took the request, before train
        seen.append(pg.running)
        return real(device)

    monkeypatch.setattr(widgets, "device_name", device_name)
    pg.steps.value = 30
    assert pg.wait(timeout=60) and seen == [True] and not pg.running
    assert pg.result.config.steps == 30


def test_an_invalid_override_shows_the_value_error_and_the_controls_still_train():
    pg = playground("gp", sync=True, **{**TINY, "lam": -1.0, "hidden": 0})
    status = pg.status.value  # the overrides in the order given (TINY's hidden comes first)
    assert status.startswith("invalid value: hidden must be a positive int (>= 1), got 0; "
                             "lam must be a finite number >= 0, got -1.0")
    assert status.endswith("(kept hidden = 64, lam = 0.1; change a control to train)")
    assert pg.result is None and isinstance(pg.error, ValueError) and not pg.image.value
    assert pg.progress.bar_style == "danger" and pg.runner.started == 0  # nothing trained
    pg.slider.value = 1.0  # the reader moves the slider: the valid settings train
    assert pg.status.value.startswith("finished") and pg.result.config.lam == 1.0
    assert pg.result.config.hidden == 64 and pg.result.config.steps == TINY["steps"]
    pg2 = playground("clip", sync=True, **{**TINY, "betas": None})
    assert pg2.status.value.startswith("invalid value: betas must be a pair (beta1, beta2) in "
                                       "[0, 1), got None (kept betas = (0.5, 0.9);")
    assert pg2.result is None


def test_a_cpu_run_trains_with_one_torch_thread_and_restores_the_count(monkeypatch):
    """Why one thread: see the module docstring (a worker thread beside the kernel's OpenMP
    pool ran 4x slower). The count the caller had comes back after every run."""
    import torch

    import lipbook.widgets as widgets

    seen = []
    real_train = widgets.train

    def recording_train(config, callback=None, progress=False):
        seen.append(torch.get_num_threads())
        return real_train(config, callback, progress)

    monkeypatch.setattr(widgets, "train", recording_train)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pg = playground("gp", **TINY)
        pg.slider.value = 1.0
        assert pg.wait(timeout=60)
        assert seen == [1, 1] and torch.get_num_threads() == 2
        pg.close()
    finally:
        torch.set_num_threads(before)


def test_a_config_passed_whole_is_the_playgrounds_settings():
    from lipbook.train import WGANConfig

    cfg = WGANConfig(method="clip", c=0.05, **TINY)
    pg = playground("clip", config=cfg, sync=True)
    assert pg.result.config == cfg and pg.slider.value == pytest.approx(0.05)
    pg = playground("clip", config=cfg, sync=True, steps=30)  # overrides apply on top
    assert pg.result.config == dataclasses.replace(cfg, steps=30)
    pg = playground("clip", config=dataclasses.replace(cfg, steps=20_000), sync=True)
    assert "steps=20000 is outside the playground's range for it" in pg.status.value
    assert pg.result is None and pg.runner.started == 0
    with pytest.raises(ValueError, match="config.method='clip' differs from method='gp'"):
        playground("gp", config=cfg)
    with pytest.raises(TypeError, match="config must be a WGANConfig or None, got dict"):
        playground("clip", config=dict(c=0.05))
