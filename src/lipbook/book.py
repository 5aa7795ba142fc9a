"""Helpers for notebooks that must also run outside the book build (Colab, plain Jupyter).

``glue(name, value)`` stores a value for the book's ``{glue}`` roles when myst-nb is
importable (book build, nbmake) and does nothing otherwise (Colab), so chapters never import
myst-nb directly. Values are converted to plain Python ``int``/``float``/``str`` first: a NumPy 2
scalar or a 0-d tensor makes a ``{glue:text}`` format spec warn, which fails a ``-W`` build.

``format_value(value)`` is how a number reads in labels, status lines and tables (floats to
three significant digits); ``median`` and ``median_range`` summarize a setting over its seeds
("median (min – max)"). ``html_table(header, rows, caption)`` is a plain HTML table that looks
the same in Jupyter, Colab and the built book (no pandas styling, no extra dependency).
``jshtml(anim)`` is a matplotlib animation as HTML that plays without a kernel and loads nothing
from the network.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np
import torch

# The animation player's buttons: matplotlib's template draws them with Font Awesome 4 icons
# from a CDN; :func:`jshtml` swaps each icon for a character every font has, so the page loads
# nothing from the network (offline, and no request to a third party).
PLAYER_GLYPHS = {
    "fa-minus": "\u2212", "fa-fast-backward": "\u21e4", "fa-step-backward": "\u2039",
    "fa-play fa-flip-horizontal": "\u25c0", "fa-pause": "\u275a\u275a", "fa-play": "\u25b6",
    "fa-step-forward": "\u203a", "fa-fast-forward": "\u21e5", "fa-plus": "+",
}


def format_value(value, digits: int = 3) -> str:
    """A number as labels and tables show it: floats to ``digits`` significant digits ("—" for
    NaN, "∞" for infinity, ``None`` as "—"), anything else as ``str``.

    >>> format_value(0.00123456), format_value(5), format_value("hinge")
    ('0.00123', '5', 'hinge')
    >>> format_value(float("nan")), format_value(float("-inf")), format_value(2 / 3, 2)
    ('—', '−∞', '0.67')
    """
    if value is None:
        return "—"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.{digits}g}"
    return str(value)


def median(values) -> float:
    """The median of an iterable of numbers, as a float (the book's summary over seeds: it
    ignores one wild seed, where a mean would not).

    >>> median([3, 1, 2]), median([1, 2, 3, 10])
    (2.0, 2.5)
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("median of no values")
    return float(np.median(values))


def median_range(values, digits: int = 3) -> str:
    """"median (min – max)" of the finite values, each by :func:`format_value`: how a table
    reports one setting over its seeds. One finite value: that value; none: "diverged".

    >>> median_range([0.5, 0.25, 1.0]), median_range([2.0]), median_range([float("nan")])
    ('0.5 (0.25 – 1)', '2', 'diverged')
    """
    finite = [float(v) for v in values if math.isfinite(float(v))]
    if not finite:
        return "diverged"
    if len(finite) == 1:
        return format_value(finite[0], digits)
    return (f"{format_value(median(finite), digits)} "
            f"({format_value(min(finite), digits)} – {format_value(max(finite), digits)})")


def _plain(value):
    """A 0-d tensor or NumPy scalar as a Python number; anything else unchanged."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"glue takes a scalar tensor, got shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def glue(name: str, value, display: bool = False):
    """Glue ``value`` under ``name`` for ``{glue:text}`` in the book; a no-op without myst-nb.

    Returns the plain value, so a cell can write ``w1 = glue("w1", exact_w1(x, y))``.
    """
    value = _plain(value)
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:
        return value
    _myst_glue(name, value, display=display)
    return value


def html_table(header, rows, caption: str = ""):
    """An ``IPython.display.HTML`` table: one header row, then one row per sequence of cells.

    Cells, header and caption are HTML (``<br>`` breaks a line inside a cell), so text that may
    hold ``<`` or ``&`` must be escaped first (``html.escape``). Raises ``ValueError`` when a
    row's length differs from the header's.
    """
    from IPython.display import HTML

    header = list(header)
    rows = [list(r) for r in rows]
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"rows[{i}] has {len(row)} cells, the header {len(header)}")
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return HTML(f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>")


def jshtml(anim, default_mode: str = "once"):
    """``anim.to_jshtml(default_mode=...)`` as ``IPython.display.HTML``, self-contained: the
    player's Font Awesome stylesheet link (a CDN) is removed and its icons become the
    characters of :data:`PLAYER_GLYPHS`; the buttons keep their titles. Raises ``ValueError``
    if matplotlib's template no longer has the expected icons (the page would show empty
    buttons)."""
    from IPython.display import HTML

    html = anim.to_jshtml(default_mode=default_mode)
    html, links = re.subn(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">', "", html)
    icons = re.findall(r'<i class="fa ([^"]+)"></i>', html)
    unknown = sorted(set(icons) - set(PLAYER_GLYPHS))
    if links != 1 or not icons or unknown:
        raise ValueError("matplotlib's jshtml template changed: expected one Font Awesome "
                         f"stylesheet link and the icons {sorted(PLAYER_GLYPHS)}, found "
                         f"{links} link(s) and {sorted(set(icons))}")
    return HTML(re.sub(r'<i class="fa ([^"]+)"></i>',
                       lambda m: f'<span aria-hidden="true">{PLAYER_GLYPHS[m[1]]}</span>', html))
