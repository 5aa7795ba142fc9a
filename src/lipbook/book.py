"""Helpers for notebooks that must also run outside the book build (Colab, plain Jupyter).

``glue(name, value)`` stores a value for the book's ``{glue}`` roles when myst-nb is
importable (book build, nbmake) and does nothing otherwise (Colab), so chapters never import
myst-nb directly. Values are converted to plain Python ``int``/``float``/``str`` first: a NumPy 2
scalar or a 0-d tensor makes a ``{glue:text}`` format spec warn, which fails a ``-W`` build.

``format_value(value)`` is how a setting reads in labels and status lines (floats to three
significant digits). ``html_table(header, rows, caption)`` is a plain HTML table that looks the same in Jupyter,
Colab and the built book (no pandas styling, no extra dependency).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch


def format_value(value) -> str:
    """A setting as labels show it: floats to 3 significant digits, anything else as ``str``.

    >>> format_value(0.00123456), format_value(5), format_value("hinge")
    ('0.00123', '5', 'hinge')
    """
    return f"{value:.3g}" if isinstance(value, float) else str(value)


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
