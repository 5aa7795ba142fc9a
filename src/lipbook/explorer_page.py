"""The explorer's page: snapshots encoded compactly, and one self-contained HTML fragment that
draws them in the browser (:class:`lipbook.explorer.Explorer` calls these).

A snapshot (:func:`snapshot`) holds:

- the critic f on a ``resolution × resolution`` grid over [−lim, lim]² (row = x2, column = x1,
  both from −lim to lim), quantized to uint8 between that frame's min and max, which are kept
  as floats so the page shows real values (decoding is exact to half a step, (max − min)/510);
- the generated held-out points (``TrainResult.samples``), quantized to uint16 over
  [−lim, lim]; points outside the square are clamped onto its edge, and the frame counts them
  (the readout says how many lie outside the view);
- the readouts: ``step``, ``w1`` (exact W1), ``modes`` ([covered, total], or None for a
  dataset without modes), ``dual`` (E f(real) − E f(fake)) and ``grad`` (mean ‖∇f‖), the last
  entries of the member's history.

The page (:func:`page_html`) embeds :func:`page_data` as JSON (arrays as base64): the values'
labels, the snapshots' steps, and per dataset its name, its target points (once), every value's
exact-W1 curve, its divergences and its frames. The script ``explorer.js`` (package data,
inlined once per explorer, guarded against a second definition) draws them on two canvases: the
landscape (colour map, contours by marching squares, real points orange, generated points
green) and the exact-W1 curves of all values on the chosen dataset. Readout numbers are the
JSON floats formatted like Python's ``format(x, ".3g")``, so ``Explorer.frame`` gives the very
text the page shows.

Why a small canvas renderer and not a drawing library: a heat map, contours, two point clouds
and a line chart take about 340 lines of plain canvas code that loads nothing; a vendored
plotting library (Plotly, Vega, Bokeh) adds 1–3 MB to every page that holds an explorer, more
than the whole 1.5 MB budget, and a redraw through it is slower than the 50 ms target needs.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.resources
import json
import math

import numpy as np
import torch

from . import toy
from .config import METHOD_TABLE
from .lipschitz import values_and_gradients
from .plots import TARGET_POINTS, TARGET_SEED
from .results import TrainResult

__all__ = ["snapshot", "page_data", "page_html"]

GRID_LEVELS = 255  # uint8 codes of f between a frame's min and max
POINT_LEVELS = 65535  # uint16 codes of a coordinate over [−lim, lim]


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


def snapshot(r: TrainResult, grid: torch.Tensor, lim: float) -> dict:
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


@functools.cache
def _asset(name: str) -> str:
    """A file of the package's data (``explorer.js``, ``explorer.css``), as text."""
    return importlib.resources.files("lipbook").joinpath(name).read_text("utf-8")


def _dataset_data(ex, run) -> dict:
    g = torch.Generator().manual_seed(TARGET_SEED)  # the real points plots draws
    real, _ = _quantize_points(toy.sample(run.dataset, TARGET_POINTS, generator=g), ex.lim)
    curves = [{"step": r.history["step"], "w1": [_num(w) for w in r.history["exact_w1"]]}
              if r else {"step": [], "w1": []} for r in run.results]
    return {"name": run.dataset, "real": real, "curves": curves,
            "diverged": [run.diverged.get(i) for i in range(len(ex.values))],
            "frames": [[{k: v for k, v in f.items() if k != "step"} if f else None
                        for f in row] for row in run.frames]}


def page_data(ex) -> dict:
    """What the page of explorer ``ex`` embeds, JSON-ready (the layout: module docstring)."""
    return {"param": ex.name, "labels": ex.labels, "values": ex.values, "steps": ex.steps,
            "total": ex.config.steps, "lim": ex.lim, "res": ex.resolution,
            "method": ex.config.method, "datasets": [_dataset_data(ex, r) for r in ex.runs]}


def _caption(ex) -> str:
    cfg, names = ex.config, ex.datasets
    names = " and ".join(names) if len(names) < 3 else ", ".join(names)
    return (f"{METHOD_TABLE[cfg.method].paper} on {names}: {len(ex.values)} runs per dataset "
            f"trained at once ({ex.labels[0]} … {ex.labels[-1]}), each shown at "
            f"{len(ex.steps)} moments of its {cfg.steps} generator iterations. Left: the "
            f"critic f over [−{ex.lim:g}, {ex.lim:g}]² (darker = larger, with contour lines), "
            f"real points in orange, generated points in green. Right: the exact W1 between "
            f"generated and real points during every run on the chosen dataset, the chosen "
            f"value's curve highlighted.")


def page_html(ex) -> str:
    """Explorer ``ex`` as one self-contained HTML fragment (no network, no kernel): a root
    ``div.lipbook-explorer`` (``data-param`` = the swept field) with a dataset menu
    (``select name="dataset"``), two range inputs (``value``, ``step``), a play button, two
    canvases, the readout (``.lipbook-readout``), the JSON and the script."""
    V, T, e = len(ex.values), len(ex.steps), html.escape
    v0, t0 = V // 2, 0  # a middle value, from the start of its run (press play)
    payload = json.dumps(page_data(ex), separators=(",", ":"), allow_nan=False)
    payload = payload.replace("</", "<\\/")
    options = "".join(f'<option value="{k}">{e(d)}</option>' for k, d in enumerate(ex.datasets))
    return (
        f'<style>{_asset("explorer.css")}</style>'
        f'<div class="lipbook-explorer" id="{ex.id}" data-param="{e(ex.name)}" role="group" '
        f'aria-label="explorer of {e(ex.name)} for {e(ex.config.method)}">'
        f'<p class="lbx-caption">{e(_caption(ex))}</p><div class="lbx-controls">'
        f'<label>dataset <select name="dataset" aria-label="which dataset">{options}</select>'
        f'</label><label>value <input type="range" name="value" min="0" max="{V - 1}" '
        f'step="1" value="{v0}" aria-label="which value of {e(ex.name)}">'
        f'<output class="lbx-value">{e(ex.labels[v0])}</output></label>'
        f'<label>time <input type="range" name="step" min="0" max="{T - 1}" step="1" '
        f'value="{t0}" aria-label="which moment of training">'
        f'<output class="lbx-step">iteration {ex.steps[t0]} of {ex.config.steps}</output>'
        f'</label><button type="button" class="lbx-play" aria-pressed="false" '
        f'aria-label="play or pause the training time">▶ play</button></div>'
        f'<div class="lbx-plots"><canvas class="lbx-landscape" width="380" height="380" '
        f'role="img" aria-label="critic landscape with real and generated points">'
        f'</canvas><canvas class="lbx-curves" width="440" height="380" role="img" '
        f'aria-label="exact W1 against the iteration for every value"></canvas></div>'
        f'<div class="lipbook-readout" aria-live="polite">'
        f'{e(ex.frame(v0, t0)["readout"])}</div>'
        f'<script type="application/json" class="lipbook-explorer-data">{payload}</script>'
        f'</div><script>{_asset("explorer.js")}</script>')
