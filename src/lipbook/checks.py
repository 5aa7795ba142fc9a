"""Argument checks shared by the package, and the policy they implement.

The policy, for every public function and class of ``lipbook``:

1. **Validate at the boundary.** Types, finiteness, emptiness, shapes and devices are checked
   where a value enters the package, before any work or side effect, so a bad call changes
   nothing (no generator seeded, no weight touched).
2. **Name the argument and the allowed range.** A bad value raises ``ValueError`` whose message
   names the argument, what is allowed (a range or the choices) and what was given. A value of
   the wrong type raises :class:`ArgumentTypeError`, which is both a ``TypeError`` and a
   ``ValueError``, so ``except ValueError`` catches every bad argument.
3. **No silent NaN.** A function never returns NaN, or a number computed from NaN: NaN or
   infinite inputs are refused. A training run whose losses or weights become non-finite
   raises :class:`lipbook.train.TrainingDiverged`, saying at which iteration and what to try.
4. **Valid but meaningless** values are refused where the run cannot mean anything (a
   hyperparameter that rounds to 0 or to infinity in the run's dtype), and warned about once
   per call where the run is merely degenerate (a clipping box so small that the critic's
   output cannot vary beyond rounding: :func:`lipbook.train.train` warns).
5. **The playground never raises** from a control change or from a bad setting: its status
   line shows the error, its worker thread survives, and its controls stay usable. It raises
   only for a call that names no playground at all (an unknown method or keyword).

Integers may be Python or NumPy integers (never ``bool``); reals may be any real number type.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. Both a ``TypeError`` and a ``ValueError``: the package
    promises a ``ValueError`` for every bad argument, and a wrong type is a ``TypeError``."""


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_real(name: str, value, *, low: float, low_inclusive: bool) -> float:
    """``value`` as a float, or an error naming ``name`` when not a finite real above ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    op = ">=" if low_inclusive else ">"
    if math.isnan(value) or math.isinf(value) or (value < low if low_inclusive else value <= low):
        raise ValueError(f"{name} must be a finite number {op} {low:g}, got {value!r}")
    return value


def check_positive(name: str, value) -> float:
    return check_real(name, value, low=0.0, low_inclusive=False)


def check_nonnegative(name: str, value) -> float:
    return check_real(name, value, low=0.0, low_inclusive=True)


def check_int(name: str, value, *, low: int) -> int:
    """``value`` as an int (Python or NumPy integer, not bool) ``>= low``."""
    if not _is_int(value):
        raise ArgumentTypeError(f"{name} must be an int >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def check_positive_int(name: str, value) -> int:
    if not _is_int(value) or value <= 0:
        cls = ValueError if _is_int(value) else ArgumentTypeError
        raise cls(f"{name} must be a positive int (>= 1), got {value!r}")
    return int(value)


def check_bool(name: str, value) -> bool:
    """``value`` when it is a bool (or NumPy bool); a string such as ``"no"`` is refused, not
    read as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value, choices) -> str:
    try:
        known = value in choices
    except TypeError:  # an unhashable value in a set of choices
        known = False
    if not known:
        raise ValueError(f"unknown {name}={value!r}: choose one of {tuple(choices)}")
    return value


def check_module(name: str, value, *, callable_ok: bool = False):
    """``value`` when it is an ``nn.Module`` (or any callable, with ``callable_ok``)."""
    if isinstance(value, torch.nn.Module) or (callable_ok and callable(value)):
        return value
    kind = "an nn.Module or a callable" if callable_ok else "an nn.Module"
    raise ArgumentTypeError(f"{name} must be {kind}, got {type(value).__name__}")


def check_generator(name: str, value) -> torch.Generator | None:
    if value is not None and not isinstance(value, torch.Generator):
        raise ArgumentTypeError(f"{name} must be a torch.Generator or None, got "
                                f"{type(value).__name__}")
    return value


def check_points(name: str, value, *, ndim: int | None = 2, dim: int | None = None) -> torch.Tensor:
    """``value`` when it is a non-empty tensor of finite numbers, with ``ndim`` dimensions
    (``[n, d]`` by default, any when None) and ``dim`` columns when given."""
    if not isinstance(value, torch.Tensor):
        raise ArgumentTypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        shape = "[n, d]" if ndim == 2 else f"{ndim}-dimensional"
        raise ValueError(f"{name} must be a {shape} tensor, got shape {tuple(value.shape)}")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(value.shape)}")
    if dim is not None and value.shape[-1] != dim:
        raise ValueError(f"{name} must be a [n, {dim}] tensor, got shape {tuple(value.shape)}")
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def check_same_device(**tensors: torch.Tensor) -> None:
    """All tensors on one device, or an error naming each one's device."""
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        where = ", ".join(f"{name} on {d}" for name, d in devices.items())
        raise ValueError(f"tensors must be on one device, got {where}")
