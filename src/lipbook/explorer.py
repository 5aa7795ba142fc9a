"""The kernel-free explorer of a slider chapter: a precomputed sweep that the reader scrubs
through by dataset, by value and by training time, drawn in the browser from compact data.

For each dataset, :func:`explore` runs ONE batched :func:`lipbook.train.sweep` over the
chapter's values (the live playground's code path) and, in the trainer's callback, takes
``snapshots`` snapshots of every member at evaluation steps spread over the run (the last one
at the final step; step 0 has no callback, but the W1 curves, read from the histories, start at
step 0). A dataset is not a column of the batched trainer (each member would need its own
target sampler), so two datasets are two sweeps, and twice the time and bytes. A snapshot
(:func:`lipbook.explorer_page.snapshot`) holds the critic on a grid, the generated points and
the readouts: iteration, exact W1, modes covered (``lipbook.toy.mode_coverage``; "—" for a
dataset without modes), the critic's estimate E f(real) − E f(fake) and the mean ‖∇f‖ at
the held-out points (the history's ``exact_w1``, ``dual_w1``, ``grad_norm_mean``).

:class:`Explorer` holds the runs; :meth:`Explorer.frame` gives the readout the page shows for a
(value, time, dataset), and :meth:`Explorer.to_html` the page itself
(:mod:`lipbook.explorer_page`: the encoding and the script).

A member whose training diverges (:class:`~lipbook.results.TrainingDiverged` stops the whole
batch) keeps the snapshots taken so far; the other members of that dataset's sweep are retrained
without it (members that share a seed share every random draw, so their runs are unchanged),
and the page says "diverged at iteration s" in the readout and over the drawing.
"""

from __future__ import annotations

import dataclasses
import math
import uuid

import numpy as np

from . import explorer_page, toy
from .book import format_value
from .checks import ArgumentTypeError, check_bool, check_choice, check_int, check_positive
from .config import METHOD_TABLE, METHODS, SWEEPABLE, WGANConfig, check_sweep
from .results import TrainingDiverged, TrainResult
from .train import sweep

__all__ = ["explore", "Explorer", "DatasetRuns", "explorer_values", "RESOLUTION_RANGE"]

RESOLUTION_RANGE = (8, 128)  # grid points per side


def explorer_values(method: str, n: int = 9) -> list:
    """``n`` values over the range of ``method``'s live slider
    (``METHOD_TABLE[method].control``): log-spaced (rounded to 3 significant digits) for a log
    slider; for an integer slider, ``n`` evenly spread distinct integers, or all of them when
    the range holds fewer. The chapters use ``n >= 9``.

    >>> explorer_values("clip", 4), explorer_values("sn", 4)
    ([0.001, 0.01, 0.1, 1.0], [1, 4, 7, 10])
    """
    check_choice("method", method, METHODS)
    n = check_int("n", n, low=2)
    control = METHOD_TABLE[method].control
    lo, hi = control.bounds
    if control.kind == "log":
        return [float(f"{10 ** e:.3g}") for e in np.linspace(lo, hi, n)]
    return sorted({int(round(v)) for v in np.linspace(lo, hi, min(n, hi - lo + 1))})


def _check_args(config, name, values, datasets, snapshots, lim, resolution, progress) -> tuple:
    if not isinstance(config, WGANConfig):
        raise ArgumentTypeError(f"config must be a WGANConfig, got {type(config).__name__}")
    field = config.spec.control.field
    if name != field:
        raise ValueError(f"name must be {field!r}, the field method={config.method!r}'s "
                         f"slider sweeps, got {name!r}")
    values = check_sweep(config, name, values, SWEEPABLE)
    for v in values:  # why: refuse a bad value before any training
        dataclasses.replace(config, **{name: v})
    if datasets is None:
        datasets = (config.dataset,)
    if isinstance(datasets, str) or not isinstance(datasets, (list, tuple)) or not datasets:
        raise ArgumentTypeError(f"datasets must be a non-empty list or tuple of names from "
                                f"{toy.DATASETS}, got {datasets!r}")
    for d in datasets:
        check_choice("datasets", d, toy.DATASETS)
    if len(set(datasets)) < len(datasets):
        raise ValueError(f"datasets must not repeat a name, got {datasets!r}")
    evals = sorted({*range(config.eval_every, config.steps + 1, config.eval_every), config.steps})
    snapshots = check_int("snapshots", snapshots, low=2)
    if snapshots > len(evals):
        raise ValueError(f"snapshots must be in [2, {len(evals)}] (the evaluations of "
                         f"steps={config.steps} with eval_every={config.eval_every}), "
                         f"got {snapshots}")
    lim = check_positive("lim", lim)
    resolution = check_int("resolution", resolution, low=RESOLUTION_RANGE[0])
    if resolution > RESOLUTION_RANGE[1]:
        raise ValueError(f"resolution must be an int in [{RESOLUTION_RANGE[0]}, "
                         f"{RESOLUTION_RANGE[1]}], got {resolution}")
    check_bool("progress", progress)
    chosen = [evals[int(i)] for i in np.round(np.linspace(0, len(evals) - 1, snapshots))]
    return values, tuple(datasets), chosen, lim, resolution


@dataclasses.dataclass(frozen=True)
class DatasetRuns:
    """One dataset's sweep in an explorer: ``results`` (one :class:`TrainResult` per value; a
    diverged value's is its state at its last snapshot, or None if it diverged before the
    first), ``diverged`` ({value index: iteration}) and ``frames`` ([value][snapshot]: the
    snapshot's dict, None past a divergence)."""

    dataset: str
    results: list
    diverged: dict
    frames: list


def _sweep_snapshots(config, name, values, chosen, grid, lim, progress) -> DatasetRuns:
    """One batched sweep of ``config`` over ``values`` with snapshots at the ``chosen`` steps;
    a diverging member is dropped and the others retrained (module docstring)."""
    wanted = set(chosen)
    frames = [dict() for _ in values]  # value index -> {step: frame}
    latest: list[TrainResult | None] = [None] * len(values)
    diverged: dict[int, int] = {}
    alive = list(range(len(values)))
    results: list[TrainResult | None] = [None] * len(values)
    while alive:
        for i in alive:  # a retrain takes every surviving member's frames anew
            frames[i].clear()

        def callback(p, alive=alive):
            if p.step in wanted:  # why: a member's result costs ms; take it only here
                for k, i in enumerate(alive):
                    latest[i] = r = p.result(k)
                    frames[i][p.step] = explorer_page.snapshot(r, grid, lim)

        try:
            out = sweep(config, name, [values[i] for i in alive], callback=callback,
                        progress=progress)
        except TrainingDiverged as err:
            if err.member is None:
                raise
            diverged[alive[err.member]] = err.step
            alive = [i for j, i in enumerate(alive) if j != err.member]
            continue
        for i, r in zip(alive, out):
            results[i] = r
        break
    for i in diverged:
        results[i] = latest[i]
    table = [[frames[i].get(s) for s in chosen] for i in range(len(values))]
    return DatasetRuns(config.dataset, results, diverged, table)


def explore(config: WGANConfig, name: str, values, snapshots: int = 13, progress: bool = True,
            lim: float = 2.0, resolution: int = 48, datasets=None) -> Explorer:
    """Train ``config`` for every value of ``name`` in one batched sweep per dataset and return
    the :class:`Explorer` of the runs: ``snapshots`` frames per value at evaluation steps spread
    evenly over the run (the last at ``config.steps``), each a ``resolution²`` grid of the
    critic over [−lim, lim]² with the generated points and the readouts.

    ``name`` must be the field of ``config.method``'s slider (``c``, ``lam``,
    ``n_power_iterations``, ``eps``; ``lr`` for methods without one); ``datasets`` a list of
    distinct names of :data:`lipbook.toy.DATASETS` (default: ``config.dataset`` alone; the page
    opens on the first); ``snapshots`` is in [2, number of evaluations], ``resolution`` in
    :data:`RESOLUTION_RANGE`. A diverging value is retrained without (see the module
    docstring); ``progress=True`` shows each sweep's bar.
    """
    values, datasets, chosen, lim, resolution = _check_args(
        config, name, values, datasets, snapshots, lim, resolution, progress)
    grid = toy.grid(lim, resolution)  # row-major, rows along x2, as plots draws it
    runs = [_sweep_snapshots(dataclasses.replace(config, dataset=d), name, values, chosen, grid,
                             lim, progress) for d in datasets]
    return Explorer(config, name, values, chosen, runs, lim, resolution)


class Explorer:
    """The result of :func:`explore`: ``values``, ``steps`` (the snapshots' iterations),
    ``datasets`` (their names) and ``runs`` (one :class:`DatasetRuns` each); ``results`` and
    ``diverged`` are the first dataset's, the one the page opens on. :meth:`frame` gives the
    readouts the page shows, :meth:`to_html` the page (also what ``display(explorer)`` shows)."""

    def __init__(self, config, name, values, steps, runs, lim, resolution):
        self.config, self.name, self.values, self.steps = config, name, list(values), list(steps)
        self.runs, self.datasets = list(runs), [r.dataset for r in runs]
        self.lim, self.resolution = lim, resolution
        symbol = config.spec.control.symbol
        self.labels = [f"{symbol} = {v:.3g}" if isinstance(v, float) else f"{symbol} = {v}"
                       for v in values]
        self.id = f"lipbook-explorer-{uuid.uuid4().hex[:12]}"
        self._html = None

    @property
    def results(self) -> list:
        return self.runs[0].results

    @property
    def diverged(self) -> dict:
        return self.runs[0].diverged

    def _index(self, argname: str, i: int, n: int) -> int:
        i = check_int(argname, i, low=-n)
        if i >= n:
            raise ValueError(f"{argname} must be an int in [{-n}, {n - 1}], got {i}")
        return i % n

    def frame(self, i: int, t: int, d: int = 0) -> dict:
        """The readouts at value ``i``, snapshot ``t`` and dataset ``d``: ``dataset``,
        ``value``, ``label``, ``iteration``, ``exact_w1``, ``modes`` ((covered, total) or
        None), ``dual_w1``, ``grad_norm_mean``, ``outside`` (generated points outside the
        view), ``diverged`` (iteration or None) and ``readout``, the page's text. Past a
        divergence the numbers are None."""
        i = self._index("i", i, len(self.values))
        t = self._index("t", t, len(self.steps))
        run = self.runs[self._index("d", d, len(self.runs))]
        fr, dv, label = run.frames[i][t], run.diverged.get(i), self.labels[i]
        out = {"dataset": run.dataset, "value": self.values[i], "label": label,
               "iteration": self.steps[t], "diverged": dv, "exact_w1": None, "modes": None,
               "dual_w1": None, "grad_norm_mean": None, "outside": 0}
        head = f"{run.dataset} · {label} · iteration {self.steps[t]}"
        if fr is None:
            out["readout"] = f"{head} · diverged at iteration {dv}"
            return out
        out.update(exact_w1=fr["w1"], dual_w1=fr["dual"], grad_norm_mean=fr["grad"],
                   modes=tuple(fr["modes"]) if fr["modes"] else None, outside=fr["out"])
        modes = f"{fr['modes'][0]}/{fr['modes'][1]}" if fr["modes"] else "—"
        text = (f"{head} · W1 = {format_value(fr['w1'])} · modes {modes} · "
                f"E f(real) − E f(fake) = {format_value(fr['dual'])} · "
                f"mean ‖∇f‖ = {format_value(fr['grad'])}")
        if fr["out"]:
            text += f" · {fr['out']} generated point{'s' * (fr['out'] > 1)} outside the view"
        if dv is not None:
            text += f" · diverges at iteration {dv}"
        out["readout"] = text
        return out

    def summary(self, symbol: str | None = None, d: int = 0) -> dict:
        """What the runs on dataset ``d`` did across the range, for a chapter's prose (one
        seed: said, never asserted): ``n`` values; ``dataset``; ``best`` (formatted) and
        ``best-w1``, the value with the smallest final exact W1 and that W1; ``most-modes`` of
        ``modes-total`` and the values reaching them (``most-modes-at``), "—" for a dataset
        without modes; ``diverged``, a sentence naming each diverged value (``symbol``,
        default the slider's) and iteration."""
        symbol = self.config.spec.control.symbol if symbol is None else symbol
        run = self.runs[self._index("d", d, len(self.runs))]
        runs = {v: r for i, (v, r) in enumerate(zip(self.values, run.results))
                if i not in run.diverged}
        w1 = {v: r.history["exact_w1"][-1] for v, r in runs.items()}
        best = min(w1, key=w1.get) if w1 else None
        try:
            modes = {v: r.modes_covered() for v, r in runs.items()}
        except ValueError:  # datasets without modes
            modes = {}
        most = max((m for m, _ in modes.values()), default=None)
        gone = [f"{symbol} = {format_value(self.values[i])} at iteration {s}"
                for i, s in sorted(run.diverged.items())]
        return {"n": len(self.values), "dataset": run.dataset, "best": format_value(best),
                "best-w1": w1[best] if w1 else math.nan,
                "most-modes": "—" if most is None else most,
                "modes-total": next(iter(modes.values()))[1] if modes else "—",
                "most-modes-at": ", ".join(format_value(v) for v, (m, _) in modes.items()
                                           if m == most) or "—",
                "diverged": f"Diverged: {'; '.join(gone)}." if gone else "No run diverged."}

    def data(self) -> dict:
        """What the page embeds (JSON-ready; :func:`lipbook.explorer_page.page_data`)."""
        return explorer_page.page_data(self)

    def to_html(self) -> str:
        """The explorer as one self-contained HTML fragment (no network, no kernel)."""
        if self._html is None:
            self._html = explorer_page.page_html(self)
        return self._html

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return (f"Explorer({self.config.method}, {self.name}: {len(self.values)} values × "
                f"{len(self.steps)} snapshots on {', '.join(self.datasets)})")
