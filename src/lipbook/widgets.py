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
waiting (see :meth:`lipbook.runner.LatestRequestRunner.run_now` for why). This works the same on ipywidgets 7.7 (Colab)
and 8.

On the CPU a run trains with one torch thread (``torch.set_num_threads(1)`` for the run, the
previous count restored after it; torch's count is process-wide, so a cell run meanwhile also
gets one). Why: a second thread's parallel regions compete with the kernel's OpenMP pool for
the cores (README, "The trainer's defaults": 4x slower with two threads).

The status line always shows the value actually used: sliders clamp typed or assigned values
to their range silently, so it reads the slider back. A value the trainer rejects (NaN set in
code, a negative seed, ``playground("gp", lam=-1)``) shows the ``ValueError`` text, and the
controls stay usable (a rejected keyword keeps its default until a control changes); a run
whose losses become non-finite shows "diverged: " and
:class:`lipbook.train.TrainingDiverged`'s message. Never a traceback.

The controls, their ranges and the training settings (:data:`PLAYGROUND_DEFAULTS`) are in
:mod:`lipbook.controls`; how the settings were tuned is in the README.
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
from .config import WGANConfig
from .controls import PLAYGROUND_DEFAULTS, SLIDERS, device_name, make_controls, settings
from .device import get_device
from .plots import result_figure
from .runner import LatestRequestRunner
from .train import TrainingDiverged, train

__all__ = ["playground", "Playground", "PLAYGROUND_DEFAULTS", "SLIDERS"]

PNG_DPI = 72
MIN_REDRAW_INTERVAL = 0.5  # seconds between redraws, at least,
REDRAW_COST_FACTOR = 4  # and at least 4x the last draw's cost: drawing takes <= 1/5 of the time


class _Cancelled(Exception):
    """Raised in the training callback when a newer request is waiting."""


class Playground(W.VBox):
    """The live playground (build it with :func:`playground`).

    Attributes: ``slider`` (the method's control), ``no_penalty`` (the "λ = 0" checkbox, gp and
    lp only, else None), ``dataset``, ``steps``, ``seed``, ``progress`` (``IntProgress``),
    ``device_label`` (``Label``, e.g. "cpu" or "cuda:0"), ``status`` (``HTML``; its ``value``
    is the status text), ``image`` (``Image``, PNG), ``result`` (the last finished
    :class:`~lipbook.train.TrainResult`, None before one finishes or after a failed run),
    ``snapshot`` (the result last drawn, possibly mid-run), ``error`` (the exception of the
    last failed run, else None), ``config`` (the config of the last run requested) and
    ``base`` (the config it was built with: the controls' start, and what an explorer sweeps).
    """

    def __init__(self, method: str, *, config: WGANConfig | None = None, sync: bool = False,
                 **config_overrides):
        base, rejected = settings(method, config, config_overrides)
        self.base = base
        self._pg_sync = bool(sync)
        self._pg_field = SLIDERS[method][0]
        (self.slider, self.no_penalty, self.dataset, self.steps, self.seed, self.progress,
         self.device_label, self.status, self.image) = make_controls(method, base)
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

        inputs = [self.slider, self.dataset, self.steps, self.seed]
        if self.no_penalty is not None:
            inputs.append(self.no_penalty)
        for w in inputs:
            w.observe(self._pg_on_change, names="value")
        if rejected:  # why not raise: the reader fixes the value with the controls shown
            kept = ", ".join(f"{name} = {format_value(getattr(base, name))}" for name, _ in rejected)
            self._pg_fail("invalid value: " + "; ".join(str(e) for _, e in rejected)
                          + f" (kept {kept}; change a control to train)", rejected[0][1])
            return
        # The first run is synchronous: without a front end (book build, nbmake) the page
        # then shows a finished figure.
        self.runner.run_now((self._pg_request(), False))

    # -- requests -------------------------------------------------------------------------------

    def _pg_request(self):
        """The config the controls describe now, or the ValueError it raises."""
        lam_zero = self.no_penalty is not None and self.no_penalty.value
        if self.no_penalty is not None:
            self.slider.disabled = bool(lam_zero)
        value = 0.0 if lam_zero else self.slider.value
        try:
            return dataclasses.replace(self.base, **{
                self._pg_field: value, "dataset": self.dataset.value,
                "steps": self.steps.value, "seed": self.seed.value})
        except ValueError as e:
            return e

    def _pg_on_change(self, change) -> None:
        # a request is (job, live): live redraws the figure while training, else only at the end
        if self._pg_sync:
            self.runner.run_now((self._pg_request(), False))
        else:
            self.runner.submit((self._pg_request(), True))

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
        png = _png(result)
        self.snapshot = result  # why: before the image, so its observers see the matching result
        self.image.value = png
        return time.perf_counter() - t0

    def _pg_execute(self, request, cancelled) -> None:
        """Run one request ``(job, live)`` in the runner's worker thread: train, redraw,
        report; stop when ``cancelled()`` (a newer request, or close())."""
        job, live = request
        if isinstance(job, Exception):
            self._pg_fail(f"invalid value: {job}", job)
            return
        config = self.config = job
        used = _used(config)
        self.device_label.value = device_name(config.device)
        self.progress.max = config.steps
        self.progress.value = 0
        self.progress.bar_style = "info"
        self._pg_set_status(f"training: {used}, {config.dataset}, {config.steps} iterations, "
                            f"seed {config.seed} …")
        start = time.perf_counter()
        try:
            with _one_cpu_thread(config.device):
                result = train(config, _live_callback(self, cancelled, live, used, start))
            self._pg_draw(result)
        except _Cancelled:
            return  # the newer request's run sets the status
        except Exception as e:  # noqa: BLE001 - the playground shows a message, not a traceback
            self._pg_fail(_failure(e, used), e)
            return
        self.error, self.result = None, result
        self.progress.value = config.steps
        self.progress.bar_style = "success"
        self._pg_set_status(f"finished in {time.perf_counter() - start:.1f} s: {used}, "
                            f"{config.dataset}, {config.steps} iterations, seed {config.seed}"
                            f"{_summary(result)}")


def _live_callback(pg: Playground, cancelled, live: bool, used: str, start: float):
    """The trainer's callback for a playground run: stop when ``cancelled()``, else move the
    progress bar, write the status line and (``live``) redraw, at most every
    MIN_REDRAW_INTERVAL s and every REDRAW_COST_FACTOR times the last drawing's cost."""
    next_draw = 0.0

    def callback(progress) -> None:
        nonlocal next_draw
        if cancelled():
            raise _Cancelled
        pg.progress.value = progress.step
        if progress.step == progress.steps:
            return  # the final figure and status follow in Playground._pg_execute
        now = time.perf_counter()
        snap = progress.result(0)  # cheap (copies two small MLPs); the status every time
        if live and now >= next_draw:
            cost = pg._pg_draw(snap)
            next_draw = time.perf_counter() + max(MIN_REDRAW_INTERVAL, REDRAW_COST_FACTOR * cost)
        pg._pg_set_status(f"training: {used}, iteration {progress.step}/{progress.steps}"
                          f"{_summary(snap)}, {now - start:.1f} s")

    return callback


def _used(config: WGANConfig) -> str:
    """The slider's value as the status line shows it, e.g. "λ = 0.1"."""
    field, symbol = SLIDERS[config.method][:2]
    value = getattr(config, field)
    if config.spec.penalty and value == 0:
        return "λ = 0 (no penalty)"
    return f"{symbol} = {format_value(value)}"


def _png(result) -> bytes:
    """``result``'s figure (:func:`lipbook.plots.result_figure`) as PNG bytes."""
    buf = io.BytesIO()
    result_figure(result).savefig(buf, format="png", dpi=PNG_DPI)
    return buf.getvalue()


def _failure(e: Exception, used: str) -> str:
    """The status line for a run that raised ``e`` (``used``: the hyperparameter's value)."""
    if isinstance(e, TrainingDiverged):
        return f"diverged: {e} ({used})"
    if isinstance(e, ValueError):  # e.g. LIPBOOK_DEVICE changed to a device not here
        return f"invalid value: {e}"
    return f"error: {type(e).__name__}: {e} ({used})"


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

