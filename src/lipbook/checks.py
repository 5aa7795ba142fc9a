"""Argument checks shared by the package: each error names the argument and the allowed range."""

from __future__ import annotations

import math
import numbers


def check_real(name: str, value, *, low: float, low_inclusive: bool) -> float:
    """``value`` as a float, or ``ValueError`` naming ``name`` when NaN or below ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    op = ">=" if low_inclusive else ">"
    if math.isnan(value) or math.isinf(value) or (value < low if low_inclusive else value <= low):
        raise ValueError(f"{name} must be a finite number {op} {low:g}, got {value!r}")
    return value


def check_positive(name: str, value) -> float:
    return check_real(name, value, low=0.0, low_inclusive=False)


def check_nonnegative(name: str, value) -> float:
    return check_real(name, value, low=0.0, low_inclusive=True)


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive int (>= 1), got {value!r}")
    return int(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name}={value!r}: choose one of {tuple(choices)}")
    return value
