"""Helpers for notebooks that must also run outside the book build (Colab, plain Jupyter).

``glue(name, value)`` stores a value for the book's ``{glue}`` roles when myst-nb is
importable (book build, nbmake) and does nothing otherwise (Colab), so chapters never import
myst-nb directly. Values are converted to plain Python ``int``/``float``/``str`` first: a NumPy 2
scalar or a 0-d tensor makes a ``{glue:text}`` format spec warn, which fails a ``-W`` build.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch


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
