"""The kernel-free explorer of a slider chapter: a precomputed sweep that the reader scrubs
through by value and by training time, drawn in the browser from compact data.

:func:`explore` runs ONE batched :func:`lipbook.train.sweep` over the chapter's values (the
live playground's code path) and, in the trainer's callback, takes ``snapshots`` snapshots of
every member at evaluation steps spread over the run (the last one at the final step; step 0
has no callback, but the W1 curves, read from the histories, start at step 0). A snapshot holds:

- the critic f on a ``resolution × resolution`` grid over [−lim, lim]² (row = x2, column = x1,
  both from −lim to lim), quantized to uint8 between that frame's min and max, which are kept
  as floats so the page shows real values (decoding is exact to half a step, (max − min)/510);
- the generated held-out points (``TrainResult.samples``), quantized to uint16 over
  [−lim, lim]; points outside the square are clamped onto its edge, and the frame counts them
  (the readout says how many lie outside the view);
- the readouts: iteration, exact W1, modes covered (``lipbook.toy.mode_coverage``; "—" for a
  dataset without modes), the critic's estimate E f(real) − E f(fake) and the mean ‖∇f‖ at
  the held-out points (the history's ``exact_w1``, ``dual_w1``, ``grad_norm_mean``).

The page embeds these as JSON (arrays as base64) with the target points once, and the script
``explorer.js`` (package data, inlined once per explorer, guarded against a second definition)
draws them on two canvases: the landscape (colour map, contours by marching squares, real
points orange, generated points green) and the exact-W1 curves of all values. Readout numbers
are the JSON floats formatted like Python's ``format(x, ".3g")``, so :meth:`Explorer.frame`
gives the very text the page shows.

A member whose training diverges (:class:`~lipbook.results.TrainingDiverged` stops the whole
batch) keeps the snapshots taken so far; the other members are retrained without it (members
that share a seed share every random draw, so their runs are unchanged), and the page says
"diverged at iteration s" in the readout and over the drawing.

Why a small canvas renderer and not a drawing library: a heat map, contours, two point clouds
and a line chart take about 300 lines of plain canvas code that loads nothing; a vendored
plotting library (Plotly, Vega, Bokeh) adds 1–3 MB to every page that holds an explorer, more
than the whole 1.5 MB budget, and a redraw through it is slower than the 50 ms target needs.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import html
import importlib.resources
import json
import math
import uuid

import numpy as np
import torch

from . import toy
from .book import format_value
from .checks import ArgumentTypeError, check_bool, check_choice, check_int, check_positive
from .config import METHOD_TABLE, METHODS, SWEEPABLE, WGANConfig, check_sweep
from .lipschitz import values_and_gradients
from .plots import TARGET_POINTS, TARGET_SEED
from .results import TrainingDiverged, TrainResult
from .train import sweep

__all__ = ["explore", "Explorer", "explorer_values", "RESOLUTION_RANGE"]

RESOLUTION_RANGE = (8, 128)  # grid points per side
GRID_LEVELS = 255  # uint8 codes of f between a frame's min and max
POINT_LEVELS = 65535  # uint16 codes of a coordinate over [−lim, lim]


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


def _num(x) -> float | None:
    """A float for the JSON, None when not finite (the page shows "—")."""
    return float(x) if x is not None and math.isfinite(x) else None


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _quantize_points(x: torch.Tensor, lim: float) -> tuple[str, int]:
    """Points ``[n, 2]`` as base64 little-endian uint16 (x1, x2 interleaved) over [−lim, lim],
    and how many lay outside the square (clamped onto its edge)."""
    u = (x.detach().cpu().double().numpy() + lim) / (2 * lim)
    outside = int(((u < 0) | (u > 1)).any(axis=1).sum())
    q = np.round(np.clip(u, 0, 1) * POINT_LEVELS).astype("<u2")
    return _b64(q), outside


def _quantize_grid(F: np.ndarray) -> tuple[str, float, float]:
    """A grid of f as base64 uint8 codes between its min and max, and that min and max."""
    finite = np.isfinite(F)
    lo, hi = (float(F[finite].min()), float(F[finite].max())) if finite.any() else (0.0, 0.0)
    q = np.zeros(F.shape, np.uint8)
    if hi > lo:
        q = np.round((np.where(finite, F, lo) - lo) / (hi - lo) * GRID_LEVELS).astype(np.uint8)
    return _b64(q), lo, hi


def _snapshot(r: TrainResult, grid: torch.Tensor, lim: float) -> dict:
    """One member's frame at the step its history ends with."""
    f, _ = values_and_gradients(r.critic, grid)  # why: GN/GraN critics need autograd
    code, lo, hi = _quantize_grid(f.cpu().double().numpy())
    pts, outside = _quantize_points(r.samples, lim)
    try:
        modes = list(r.modes_covered())
    except ValueError:  # datasets without modes
        modes = None
    h = r.history
    return {"f": code, "lo": lo, "hi": hi, "pts": pts, "out": outside, "modes": modes,
            "step": h["step"][-1], "w1": _num(h["exact_w1"][-1]),
            "dual": _num(h["dual_w1"][-1]), "grad": _num(h["grad_norm_mean"][-1])}


def _check_args(config, name, values, snapshots, lim, resolution, progress) -> tuple:
    if not isinstance(config, WGANConfig):
        raise ArgumentTypeError(f"config must be a WGANConfig, got {type(config).__name__}")
    field = config.spec.control.field
    if name != field:
        raise ValueError(f"name must be {field!r}, the field method={config.method!r}'s "
                         f"slider sweeps, got {name!r}")
    values = check_sweep(config, name, values, SWEEPABLE)
    for v in values:  # why: refuse a bad value before any training
        dataclasses.replace(config, **{name: v})
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
    return values, chosen, lim, resolution


def explore(config: WGANConfig, name: str, values, snapshots: int = 13, progress: bool = True,
            lim: float = 2.0, resolution: int = 48) -> Explorer:
    """Train ``config`` for every value of ``name`` in one batched sweep and return the
    :class:`Explorer` of the run: ``snapshots`` frames per value at evaluation steps spread
    evenly over the run (the last at ``config.steps``), each a ``resolution²`` grid of the
    critic over [−lim, lim]² with the generated points and the readouts.

    ``name`` must be the field of ``config.method``'s slider (``c``, ``lam``,
    ``n_power_iterations``, ``eps``; ``lr`` for methods without one); ``snapshots`` is in
    [2, number of evaluations], ``resolution`` in :data:`RESOLUTION_RANGE`. A diverging value
    is retrained without (see the module docstring); ``progress=True`` shows the sweep's bar.
    """
    values, chosen, lim, resolution = _check_args(config, name, values, snapshots, lim,
                                                  resolution, progress)
    grid = toy.grid(lim, resolution)  # row-major, rows along x2, as plots draws it
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
                    frames[i][p.step] = _snapshot(r, grid, lim)

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
    return Explorer(config, name, values, chosen, table, results, diverged, lim, resolution)


@functools.cache
def _asset(name: str) -> str:
    """A file of the package's data (``explorer.js``, ``explorer.css``), as text."""
    return importlib.resources.files("lipbook").joinpath(name).read_text("utf-8")



class Explorer:
    """The result of :func:`explore`: ``results`` (one :class:`TrainResult` per value, in
    order; a diverged value's is its state at its last snapshot, or None if it diverged
    before the first), ``values``, ``steps`` (the snapshots' iterations), ``diverged``
    ({value index: iteration}), :meth:`frame` (the readouts the page shows) and
    :meth:`to_html` (also what ``display(explorer)`` shows)."""

    def __init__(self, config, name, values, steps, frames, results, diverged, lim, resolution):
        self.config, self.name, self.values, self.steps = config, name, list(values), list(steps)
        self.results, self.diverged = results, dict(diverged)
        self.lim, self.resolution = lim, resolution
        self._frames = frames
        symbol = config.spec.control.symbol
        self.labels = [f"{symbol} = {v:.3g}" if isinstance(v, float) else f"{symbol} = {v}"
                       for v in values]
        self.id = f"lipbook-explorer-{uuid.uuid4().hex[:12]}"
        self._html = None

    def _index(self, argname: str, i: int, n: int) -> int:
        i = check_int(argname, i, low=-n)
        if i >= n:
            raise ValueError(f"{argname} must be an int in [{-n}, {n - 1}], got {i}")
        return i % n

    def frame(self, i: int, t: int) -> dict:
        """The readouts at value ``i`` and snapshot ``t``: ``value``, ``label``, ``iteration``,
        ``exact_w1``, ``modes`` ((covered, total) or None), ``dual_w1``, ``grad_norm_mean``,
        ``outside`` (generated points outside the view), ``diverged`` (iteration or None) and
        ``readout``, the page's text. Past a divergence the numbers are None."""
        i = self._index("i", i, len(self.values))
        t = self._index("t", t, len(self.steps))
        fr, dv, label = self._frames[i][t], self.diverged.get(i), self.labels[i]
        out = {"value": self.values[i], "label": label, "iteration": self.steps[t],
               "diverged": dv, "exact_w1": None, "modes": None, "dual_w1": None,
               "grad_norm_mean": None, "outside": 0}
        head = f"{label} · iteration {self.steps[t]}"
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
            text += f" · {fr['out']} generated points outside the view"
        if dv is not None:
            text += f" · diverges at iteration {dv}"
        out["readout"] = text
        return out

    def summary(self, symbol: str | None = None) -> dict:
        """What the runs did across the range, for a chapter's prose (one seed: said, never
        asserted): ``n`` values; ``best`` (formatted) and ``best-w1``, the value with the
        smallest final exact W1 and that W1; ``most-modes`` of ``modes-total`` and the values
        reaching them (``most-modes-at``), "—" for a dataset without modes; ``diverged``, a
        sentence naming each diverged value (``symbol``, default the slider's) and iteration."""
        symbol = self.config.spec.control.symbol if symbol is None else symbol
        runs = {v: r for i, (v, r) in enumerate(zip(self.values, self.results))
                if i not in self.diverged}
        w1 = {v: r.history["exact_w1"][-1] for v, r in runs.items()}
        best = min(w1, key=w1.get) if w1 else None
        try:
            modes = {v: r.modes_covered() for v, r in runs.items()}
        except ValueError:  # datasets without modes
            modes = {}
        most = max((m for m, _ in modes.values()), default=None)
        gone = [f"{symbol} = {format_value(self.values[i])} at iteration {s}"
                for i, s in sorted(self.diverged.items())]
        return {"n": len(self.values), "best": format_value(best),
                "best-w1": w1[best] if w1 else math.nan,
                "most-modes": "—" if most is None else most,
                "modes-total": next(iter(modes.values()))[1] if modes else "—",
                "most-modes-at": ", ".join(format_value(v) for v, (m, _) in modes.items()
                                           if m == most) or "—",
                "diverged": f"Diverged: {'; '.join(gone)}." if gone else "No run diverged."}

    def data(self) -> dict:
        """What the page embeds (JSON-ready): see the module docstring for the layout."""
        cfg = self.config
        g = torch.Generator().manual_seed(TARGET_SEED)  # the real points plots draws
        real, _ = _quantize_points(toy.sample(cfg.dataset, TARGET_POINTS, generator=g), self.lim)
        curves = [{"step": r.history["step"], "w1": [_num(w) for w in r.history["exact_w1"]]}
                  if r else {"step": [], "w1": []} for r in self.results]
        return {"param": self.name, "labels": self.labels, "values": self.values,
                "steps": self.steps, "total": cfg.steps, "lim": self.lim,
                "res": self.resolution, "real": real, "curves": curves,
                "diverged": [self.diverged.get(i) for i in range(len(self.values))],
                "frames": [[{k: v for k, v in f.items() if k != "step"} if f else None
                            for f in row] for row in self._frames],
                "method": cfg.method, "dataset": cfg.dataset}

    def to_html(self) -> str:
        """The explorer as one self-contained HTML fragment (no network, no kernel)."""
        if self._html is not None:
            return self._html
        cfg, V, T = self.config, len(self.values), len(self.steps)
        v0, t0 = V // 2, 0  # a middle value, from the start of its run (press play)
        payload = json.dumps(self.data(), separators=(",", ":"), allow_nan=False)
        payload = payload.replace("</", "<\\/")
        first, last = self.labels[0], self.labels[-1]
        caption = (f"{METHOD_TABLE[cfg.method].paper} on {cfg.dataset}: {V} runs trained at "
                   f"once ({first} … {last}), each shown at {T} moments of its {cfg.steps} "
                   f"generator iterations. Left: the critic f over [−{self.lim:g}, "
                   f"{self.lim:g}]² (darker = larger, with contour lines), real points in "
                   f"orange, generated points in green. Right: the exact W1 between generated "
                   f"and real points during every run, the chosen value's curve highlighted.")
        e = html.escape
        self._html = (
            f'<style>{_asset("explorer.css")}</style>'
            f'<div class="lipbook-explorer" id="{self.id}" data-param="{e(self.name)}" '
            f'role="group" aria-label="explorer of {e(self.name)} for {e(cfg.method)}">'
            f'<p class="lbx-caption">{e(caption)}</p><div class="lbx-controls">'
            f'<label>value <input type="range" name="value" min="0" max="{V - 1}" step="1" '
            f'value="{v0}" aria-label="which value of {e(self.name)}">'
            f'<output class="lbx-value">{e(self.labels[v0])}</output></label>'
            f'<label>time <input type="range" name="step" min="0" max="{T - 1}" step="1" '
            f'value="{t0}" aria-label="which moment of training">'
            f'<output class="lbx-step">iteration {self.steps[t0]} of {cfg.steps}</output></label>'
            f'<button type="button" class="lbx-play" aria-pressed="false" '
            f'aria-label="play or pause the training time">▶ play</button></div>'
            f'<div class="lbx-plots"><canvas class="lbx-landscape" width="380" height="380" '
            f'role="img" aria-label="critic landscape with real and generated points">'
            f'</canvas><canvas class="lbx-curves" width="440" height="380" role="img" '
            f'aria-label="exact W1 against the iteration for every value"></canvas></div>'
            f'<div class="lipbook-readout" aria-live="polite">'
            f'{e(self.frame(v0, t0)["readout"])}</div>'
            f'<script type="application/json" class="lipbook-explorer-data">{payload}</script>'
            f'</div><script>{_asset("explorer.js")}</script>')
        return self._html

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return (f"Explorer({self.config.method}, {self.name}: {len(self.values)} values × "
                f"{len(self.steps)} snapshots, diverged={self.diverged})")
