"""The playground: move a slider, watch the toy WGAN retrain.

``playground(method)`` returns a :class:`Playground`, an ``ipywidgets.VBox`` holding

- the method's slider: ``c`` (clip), ``λ`` (gp, lp; with a "λ = 0 (no penalty)" checkbox,
  since a log slider cannot reach 0), ``ε`` (gran) — log scale — the power-iteration count
  (sn), and the learning rate (gn and none, which have no hyperparameter of their own);
- a dataset menu, the training budget (generator iterations) and the seed;
- a progress bar, the device in use, a status line, and the figure of
  :func:`lipbook.plots.result_figure` (critic landscape with samples, gradient-norm
  histogram, exact and estimated W1), redrawn while the run goes.

How it stays responsive (DESIGN.md, "The playground"). Training runs in one worker thread;
its callback runs every ``eval_every`` (10) generator iterations, checks whether a newer
request is waiting, updates the progress bar and the status line (iteration, modes covered,
W1), and redraws the figure with matplotlib's object-oriented ``Figure`` (never pyplot, which
is not thread-safe) into PNG bytes for an ``ipywidgets.Image`` — at once at the first callback,
then at most every 0.5 s and every 4× the last drawing's cost, so drawing takes at most a fifth
of the run. A change of
any control cancels the run in progress at its next callback (an exception raised in the
callback stops :func:`lipbook.train.train`) and the worker then takes the newest request only:
twenty changes in a second leave exactly one run going, the last one, and none once it ends.
The first run is synchronous, so a page built without a front end (Jupyter Book, nbmake)
shows a finished figure; ``sync=True`` makes every change run to the end before the
assignment returns (for tests). Synchronous runs train in the worker thread too, the caller
waiting (see ``Playground._pg_run_now`` for why). This works the same on ipywidgets 7.7 (Colab)
and 8.

On the CPU a run trains with one torch thread (``torch.set_num_threads(1)`` for the run, the
previous count restored after it; torch's count is process-wide, so a cell run meanwhile also
gets one). Why: once the kernel's main thread has used torch's OpenMP pool, a second thread's
parallel regions compete with that pool's spinning threads for the two cores, and a
playground run in the worker took 4x as long as in the main thread (measured: 150 iterations
4.0 s with two threads, 1.1 s with one, 1.2 s in the main thread with two).

The status line always shows the value actually used: sliders clamp typed or assigned values
to their range silently, so it reads the slider back. A value the trainer rejects (NaN set in
code, a negative seed, ``playground("gp", lam=-1)``) shows the ``ValueError`` text, and the
controls stay usable (a rejected keyword keeps its default until a control changes); a run
whose losses become non-finite shows "diverged: " and
:class:`lipbook.train.TrainingDiverged`'s message. Never a traceback.

Playground training settings (:data:`PLAYGROUND_DEFAULTS`; any may be overridden by keyword,
e.g. ``playground("gp", hidden=128, steps=1000)``): width 64, batch 256, 5 critic steps, Adam
2e-3 decayed linearly to 0 over 500 generator iterations (the trainer's default schedule),
evaluation every 10 iterations on 256 held-out points. Tuned with WGAN-GP on ``8gaussians``,
seeds 0-2, λ = 0.1 and 1: every run ends with 8/8 modes covered (first reached after 225-475
iterations), in about 7 s of one CPU core. Measured alternatives: 400 iterations ended at 8/8
in 4 of 6 runs; lr 1e-3 over 400 in 1 of 6 and over 600 in 4 of 6; a constant lr reaches 8/8
as early but flickers (7-8/8); width 128 is as good in iterations at twice the cost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import time

import ipywidgets as W
import torch

from . import toy
from .book import format_value
from .checks import ArgumentTypeError
from .config import METHOD_TABLE, METHODS, WGANConfig
from .device import get_device
from .plots import result_figure
from .runner import LatestRequestRunner
from .train import TrainingDiverged, train

PLAYGROUND_DEFAULTS = dict(hidden=64, batch=256, steps=500, lr=2e-3, eval_every=10,
                           eval_samples=256)
PNG_DPI = 72
MIN_REDRAW_INTERVAL = 0.5  # seconds between redraws, at least,
REDRAW_COST_FACTOR = 4  # and at least 4x the last draw's cost: drawing takes <= 1/5 of the time
STEPS_RANGE = (10, 5000, 10)  # the steps slider: min, max, step

# the control each method gets (lipbook.config.METHOD_TABLE): (config field, symbol shown,
# log10 range or int range, kind)
SLIDERS = {name: (m.control.field, m.control.symbol, m.control.bounds, m.control.kind)
           for name, m in METHOD_TABLE.items()}

__all__ = ["playground", "Playground", "PLAYGROUND_DEFAULTS", "SLIDERS"]


class _Cancelled(Exception):
    """Raised in the training callback when a newer request is waiting."""


def _device_name(device) -> str:
    """The device a run would use, e.g. "cuda:0"; "unusable" when it cannot be had (an invalid
    ``LIPBOOK_DEVICE``: the run then reports the ValueError in the status line)."""
    try:
        dev = torch.device(device) if device is not None else get_device()
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
    except (ValueError, RuntimeError):
        return "unusable"
    return str(dev)


def _slider_range(field: str, bounds, kind: str) -> tuple[float, float]:
    """The values a slider can show: [10^lo, 10^hi] for a log slider, [lo, hi] otherwise."""
    return (10 ** bounds[0], 10 ** bounds[1]) if kind == "log" else bounds


class Playground(W.VBox):
    """The live playground (build it with :func:`playground`).

    Attributes: ``slider`` (the method's control), ``no_penalty`` (the "λ = 0" checkbox, gp and
    lp only, else None), ``dataset``, ``steps``, ``seed``, ``progress`` (``IntProgress``),
    ``device_label`` (``Label``, e.g. "cpu" or "cuda:0"), ``status`` (``HTML``; its ``value``
    is the status text), ``image`` (``Image``, PNG), ``result`` (the last finished
    :class:`~lipbook.train.TrainResult`, None before one finishes or after a failed run),
    ``snapshot`` (the result last drawn, possibly mid-run), ``error`` (the exception of the
    last failed run, else None) and ``config`` (the config of the last run requested).
    """

    def __init__(self, method: str, *, config: WGANConfig | None = None, sync: bool = False,
                 **config_overrides):
        if method not in METHODS:
            raise ValueError(f"unknown method={method!r}: choose one of {METHODS}")
        if config is not None and not isinstance(config, WGANConfig):
            raise ArgumentTypeError(f"config must be a WGANConfig or None, got "
                                    f"{type(config).__name__}")
        if config is not None and config.method != method:
            raise ValueError(f"config.method={config.method!r} differs from method={method!r}")
        fields = tuple(f.name for f in dataclasses.fields(WGANConfig))
        unknown = sorted(set(config_overrides) - set(fields))
        if unknown:
            raise ValueError(f"playground: unknown keyword(s) {unknown}; config fields are "
                             f"{fields}")
        default = config if config is not None else WGANConfig(
            **{**PLAYGROUND_DEFAULTS, "method": method})
        base, rejected = _valid_config(default, config_overrides)
        base, rejected = _within_controls(default, base, config_overrides, rejected)
        self._pg_base = base
        self._pg_sync = bool(sync)
        field, symbol, bounds, kind = SLIDERS[method]
        self._pg_field, self._pg_symbol = field, symbol
        wide = {"description_width": "initial"}
        value = getattr(base, field)
        if kind == "log":
            self.slider = W.FloatLogSlider(
                value=value if value > 0 else 10 ** bounds[0], base=10, min=bounds[0],
                max=bounds[1], step=0.1, description=symbol, continuous_update=False,
                readout_format=".3g", style=wide, layout=W.Layout(width="360px"))
        else:
            self.slider = W.IntSlider(value=value, min=bounds[0], max=bounds[1], step=1,
                                      description=symbol, continuous_update=False, style=wide,
                                      layout=W.Layout(width="360px"))
        self.no_penalty = None
        if METHOD_TABLE[method].penalty:
            self.no_penalty = W.Checkbox(value=base.lam == 0, description="λ = 0 (no penalty)",
                                         indent=False, layout=W.Layout(width="160px"))
            self.slider.disabled = base.lam == 0
        self.dataset = W.Dropdown(options=list(toy.DATASETS), value=base.dataset,
                                  description="dataset", style=wide,
                                  layout=W.Layout(width="220px"))
        lo, hi, step = STEPS_RANGE
        self.steps = W.IntSlider(value=base.steps, min=lo, max=hi, step=step,
                                 description="generator iterations", continuous_update=False,
                                 style=wide, layout=W.Layout(width="420px"))
        self.seed = W.IntText(value=base.seed, description="seed", style=wide,
                              layout=W.Layout(width="140px"))
        self.progress = W.IntProgress(value=0, min=0, max=max(base.steps, 1),
                                      description="training", style=wide,
                                      layout=W.Layout(width="360px"))
        self.device_label = W.Label(value=_device_name(base.device), description="device",
                                    style=wide)
        self.status = W.HTML(value="")
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.result = None
        self.snapshot = None
        self.error = None
        self.config = None

        first = [self.slider] + ([self.no_penalty] if self.no_penalty is not None else [])
        rows = [W.HBox(first + [self.dataset]),
                W.HBox([self.steps, self.seed]),
                W.HBox([self.progress, self.device_label]),
                self.status, self.image]
        super().__init__(children=rows)

        # why a runner: the latest request wins (see the module docstring)
        self.runner = LatestRequestRunner(
            self._pg_execute, lambda request, e: self._pg_fail(f"error: {type(e).__name__}: {e}", e),
            name="lipbook-playground")

        controls = [self.slider, self.dataset, self.steps, self.seed]
        if self.no_penalty is not None:
            controls.append(self.no_penalty)
        for w in controls:
            w.observe(self._pg_on_change, names="value")
        if rejected:  # why not raise: the reader fixes the value with the controls shown
            self.error = rejected[0][1]
            self.progress.bar_style = "danger"
            kept = ", ".join(f"{name} = {format_value(getattr(base, name))}" for name, _ in rejected)
            self._pg_set_status("invalid value: " + "; ".join(str(e) for _, e in rejected)
                                + f" (kept {kept}; change a control to train)")
            return
        # The first run is synchronous: without a front end (book build, nbmake) the page
        # then shows a finished figure.
        self._pg_run_now(self._pg_request())

    # -- requests -------------------------------------------------------------------------------

    def _pg_request(self):
        """The config the controls describe now, or the ValueError it raises."""
        lam_zero = self.no_penalty is not None and self.no_penalty.value
        if self.no_penalty is not None:
            self.slider.disabled = bool(lam_zero)
        value = 0.0 if lam_zero else self.slider.value
        try:
            return dataclasses.replace(self._pg_base, **{
                self._pg_field: value, "dataset": self.dataset.value,
                "steps": self.steps.value, "seed": self.seed.value})
        except ValueError as e:
            return e

    def _pg_on_change(self, change) -> None:
        job = self._pg_request()
        if self._pg_sync:
            self._pg_run_now(job)
        else:
            self._pg_submit(job)

    def _pg_submit(self, job, live: bool = True) -> None:
        """Queue ``job`` as the newest request; the run in progress stops at its next callback.
        ``live``: redraw the figure while training (else only at the end)."""
        self.runner.submit((job, live))

    def _pg_run_now(self, job) -> None:
        """Run ``job`` to the end before returning (any run in progress stops first)."""
        self.runner.run_now((job, False))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no run is in progress or waiting; False when ``timeout`` passed first."""
        return self.runner.wait(timeout)

    @property
    def running(self) -> bool:
        """Whether a training run is in progress or about to start."""
        return self.runner.running

    def close(self) -> None:
        """Stop any run and close the widgets."""
        if not hasattr(self, "runner"):  # why: __init__ raised before the runner existed
            super().close()
            return
        self.runner.close(timeout=30)
        self.progress.bar_style = ""
        self._pg_set_status("closed: no run in progress (build a new playground to train)")
        for w in (self.slider, self.no_penalty, self.dataset, self.steps, self.seed,
                  self.progress, self.device_label, self.status, self.image):
            if w is not None:
                w.close()
        super().close()

    # -- one run --------------------------------------------------------------------------------

    def _pg_used(self, config: WGANConfig) -> str:
        value = getattr(config, self._pg_field)
        if self.no_penalty is not None and value == 0:
            return "λ = 0 (no penalty)"
        return f"{self._pg_symbol} = {format_value(value)}"

    def _pg_set_status(self, text: str) -> None:
        # why: the value is the text itself; only the two characters HTML cannot show escaped
        self.status.value = text.replace("&", "&amp;").replace("<", "&lt;")

    def _pg_fail(self, text: str, error: Exception) -> None:
        """Show a failed request: the message in the status line, a red progress bar."""
        self.error, self.result = error, None
        self.progress.bar_style = "danger"
        self._pg_set_status(text)

    def _pg_draw(self, result) -> float:
        """Render ``result``'s figure into the image; return the seconds it took."""
        t0 = time.perf_counter()
        fig = result_figure(result)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=PNG_DPI)
        self.snapshot = result  # why: before the image, so its observers see the matching result
        self.image.value = buf.getvalue()
        return time.perf_counter() - t0

    def _pg_execute(self, request, cancelled) -> None:
        """Run one request ``(job, live)`` in the runner's worker thread: train, redraw,
        report; stop when ``cancelled()`` (a newer request, or close())."""
        job, live = request
        if isinstance(job, Exception):
            self._pg_fail(f"invalid value: {job}", job)
            return
        config = self.config = job
        used = self._pg_used(config)
        self.device_label.value = _device_name(config.device)
        self.progress.max = config.steps
        self.progress.value = 0
        self.progress.bar_style = "info"
        self._pg_set_status(f"training: {used}, {config.dataset}, {config.steps} iterations, "
                            f"seed {config.seed} …")
        start = time.perf_counter()
        state = {"next_draw": 0.0}

        def callback(progress) -> None:
            if cancelled():
                raise _Cancelled
            self.progress.value = progress.step
            if progress.step == progress.steps:
                return  # the final figure and status follow below
            now = time.perf_counter()
            snap = progress.result(0)  # cheap (copies two small MLPs); the status every time
            if live and now >= state["next_draw"]:
                cost = self._pg_draw(snap)
                state["next_draw"] = (time.perf_counter()
                                      + max(MIN_REDRAW_INTERVAL, REDRAW_COST_FACTOR * cost))
            self._pg_set_status(f"training: {used}, iteration {progress.step}/"
                                f"{progress.steps}{_summary(snap)}, {now - start:.1f} s")

        try:
            with _one_cpu_thread(config.device):
                result = train(config, callback)
            self._pg_draw(result)
        except _Cancelled:
            return  # the newer request's run sets the status
        except TrainingDiverged as e:
            self._pg_fail(f"diverged: {e} ({used})", e)
            return
        except ValueError as e:  # e.g. LIPBOOK_DEVICE changed to a device not here
            self._pg_fail(f"invalid value: {e}", e)
            return
        except Exception as e:  # noqa: BLE001 - the playground shows a message, not a traceback
            self._pg_fail(f"error: {type(e).__name__}: {e} ({used})", e)
            return
        self.error, self.result = None, result
        self.progress.value = config.steps
        self.progress.bar_style = "success"
        self._pg_set_status(f"finished in {time.perf_counter() - start:.1f} s: {used}, "
                            f"{config.dataset}, {config.steps} iterations, seed {config.seed}"
                            f"{_summary(result)}")


@contextlib.contextmanager
def _one_cpu_thread(device):
    """One torch thread while a CPU run trains in the worker thread (see the module
    docstring); the previous count afterwards. Nothing changes for a GPU run. An unusable
    device raises ValueError here, inside the run's error handling."""
    if torch.device(device if device is not None else get_device()).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _valid_config(default: WGANConfig, overrides: dict) -> tuple[WGANConfig, list]:
    """``default`` with every override that WGANConfig accepts, and ``[(field, ValueError),
    ...]`` for those it rejects (those keep their default)."""
    base, rejected = default, []
    for name, value in overrides.items():
        try:
            base = dataclasses.replace(base, **{name: value})
        except ValueError as e:
            rejected.append((name, e))
    return base, rejected


def _within_controls(default: WGANConfig, base: WGANConfig, overrides: dict, rejected: list):
    """Overrides a control could not show (a slider clamps silently: ``playground("clip", c=5)``
    would train c = 1) are rejected too, keeping the default, so the playground never trains
    a value other than the one asked for without saying so. So is a ``config`` whose value is
    outside a control's range."""
    field, _, bounds, kind = SLIDERS[default.method]
    ranges = {field: _slider_range(field, bounds, kind), "steps": STEPS_RANGE[:2]}
    fallback = WGANConfig(**{**PLAYGROUND_DEFAULTS, "method": default.method})
    for name, (lo, hi) in ranges.items():
        value = getattr(base, name)
        if not (lo * (1 - 1e-9) <= value <= hi * (1 + 1e-9)) and not (
                name == "lam" and value == 0):  # λ = 0 is the "no penalty" checkbox
            rejected.append((name, ValueError(
                f"{name}={value:g} is outside the playground's range for it, [{lo:g}, {hi:g}]")))
            keep = getattr(default, name)
            in_range = lo * (1 - 1e-9) <= keep <= hi * (1 + 1e-9)
            base = dataclasses.replace(base, **{name: keep if in_range else getattr(fallback, name)})
    return base, rejected


def _summary(result) -> str:
    """", 8/8 modes, W1 = 0.031" for a result (modes only for datasets that have them)."""
    w1 = result.history["exact_w1"][-1] if result.history["exact_w1"] else math.nan
    try:
        covered, total = toy.mode_coverage(result.samples.detach().cpu().float(),
                                           result.config.dataset)
        modes = f", {covered}/{total} modes"
    except ValueError:
        modes = ""
    return f"{modes}, W1 = {w1:.3g}"


def playground(method: str, *, config: WGANConfig | None = None, sync: bool = False,
               **config_overrides) -> Playground:
    """The live playground for ``method`` (one of ``none, clip, gp, lp, sn, gn, gran``).

    ``config`` (its ``method`` must be ``method``) replaces the playground's settings
    (:data:`PLAYGROUND_DEFAULTS`, then the config's defaults), so a chapter passes the config
    of its own experiments: ``playground("clip", config=FULL)``. ``config_overrides`` are
    :class:`~lipbook.train.WGANConfig` fields that replace either, e.g.
    ``playground("clip", c=0.05, steps=800)``; the slider starts at the method's value. The
    first run is synchronous (the call returns with a finished figure); later changes train in
    a worker thread, or synchronously when ``sync=True``. ``display(pg)`` or a cell ending in
    ``pg`` shows it. An override that WGANConfig rejects (``lam=-1``, ``device="gpu"``), or that
    a control could not show (``c=5``, beyond the slider's [0.001, 1]), keeps its default, and
    the status line shows the ``ValueError`` text instead of a first run; the controls stay
    usable. Nothing a control does, and no setting, raises: a failed run (an unusable device, a
    diverged run, any error) shows its message in the status line and the next change trains
    again. Raises ``ValueError`` only for an unknown method or an unknown keyword (a call that
    names no playground). After ``close()`` the status line says "closed".
    """
    return Playground(method, config=config, sync=sync, **config_overrides)

