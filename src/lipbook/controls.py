"""The playground's controls: one slider per method (from :data:`lipbook.config.METHOD_TABLE`),
the dataset, the training budget and the seed, and the settings a playground trains with.

``settings(method, config, overrides)`` validates what :func:`lipbook.widgets.playground` was
given: an override that :class:`~lipbook.config.WGANConfig` rejects, or that a control could not
show (a slider clamps silently), keeps its default and is reported, never trained silently.
``make_controls(method, base)`` builds the ipywidgets, set to ``base``.
"""

from __future__ import annotations

import dataclasses

import ipywidgets as W
import torch

from . import toy
from .checks import ArgumentTypeError
from .config import METHOD_TABLE, METHODS, WGANConfig
from .device import get_device

__all__ = ["PLAYGROUND_DEFAULTS", "SLIDERS", "STEPS_RANGE", "settings", "make_controls",
           "device_name"]

PLAYGROUND_DEFAULTS = dict(hidden=64, batch=256, steps=500, lr=2e-3, eval_every=10,
                           eval_samples=256)
STEPS_RANGE = (10, 5000, 10)  # the steps slider: min, max, step

# the control each method gets (lipbook.config.METHOD_TABLE): (config field, symbol shown,
# log10 range or int range, kind)
SLIDERS = {name: (m.control.field, m.control.symbol, m.control.bounds, m.control.kind)
           for name, m in METHOD_TABLE.items()}


def device_name(device) -> str:
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


def settings(method: str, config: WGANConfig | None, overrides: dict):
    """The playground's config and the overrides it rejected (see :func:`playground`); raises
    only for a call that names no playground (unknown method or keyword, a wrong config)."""
    if method not in METHODS:
        raise ValueError(f"unknown method={method!r}: choose one of {METHODS}")
    if config is not None and not isinstance(config, WGANConfig):
        raise ArgumentTypeError(f"config must be a WGANConfig or None, got "
                                f"{type(config).__name__}")
    if config is not None and config.method != method:
        raise ValueError(f"config.method={config.method!r} differs from method={method!r}")
    fields = tuple(f.name for f in dataclasses.fields(WGANConfig))
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ValueError(f"playground: unknown keyword(s) {unknown}; config fields are {fields}")
    default = config if config is not None else WGANConfig(
        **{**PLAYGROUND_DEFAULTS, "method": method})
    base, rejected = _valid_config(default, overrides)
    return _within_controls(default, base, overrides, rejected)


def make_controls(method: str, base: WGANConfig) -> tuple:
    """The playground's widgets, set to ``base``: slider, no-penalty checkbox (gp, lp; else
    None), dataset, steps, seed, progress bar, device label, status line, image."""
    field, symbol, bounds, kind = SLIDERS[method]
    wide = {"description_width": "initial"}
    value = getattr(base, field)
    if kind == "log":
        slider = W.FloatLogSlider(
            value=value if value > 0 else 10 ** bounds[0], base=10, min=bounds[0],
            max=bounds[1], step=0.1, description=symbol, continuous_update=False,
            readout_format=".3g", style=wide, layout=W.Layout(width="360px"))
    else:
        slider = W.IntSlider(value=value, min=bounds[0], max=bounds[1], step=1,
                             description=symbol, continuous_update=False, style=wide,
                             layout=W.Layout(width="360px"))
    no_penalty = None
    if METHOD_TABLE[method].penalty:
        no_penalty = W.Checkbox(value=base.lam == 0, description="λ = 0 (no penalty)",
                                indent=False, layout=W.Layout(width="160px"))
        slider.disabled = base.lam == 0
    dataset = W.Dropdown(options=list(toy.DATASETS), value=base.dataset, description="dataset",
                         style=wide, layout=W.Layout(width="220px"))
    lo, hi, step = STEPS_RANGE
    steps = W.IntSlider(value=base.steps, min=lo, max=hi, step=step,
                        description="generator iterations", continuous_update=False,
                        style=wide, layout=W.Layout(width="420px"))
    seed = W.IntText(value=base.seed, description="seed", style=wide,
                     layout=W.Layout(width="140px"))
    progress = W.IntProgress(value=0, min=0, max=max(base.steps, 1), description="training",
                             style=wide, layout=W.Layout(width="360px"))
    device_label = W.Label(value=device_name(base.device), description="device", style=wide)
    status = W.HTML(value="")
    image = W.Image(format="png", layout=W.Layout(max_width="100%"))
    return slider, no_penalty, dataset, steps, seed, progress, device_label, status, image


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
