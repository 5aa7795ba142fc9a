"""Where tensors live, and seeding.

Devices:
``get_device()`` picks CUDA when available, else Apple MPS, else the CPU. The environment
variable ``LIPBOOK_DEVICE`` (``cpu``, ``cuda``, ``cuda:N`` or ``mps``) overrides the choice; it is
read on every call, so a notebook can change it between cells without re-importing.

Seeds: ``book_seed(i)`` is the i-th seed of a chapter, derived from the book-level seed
``LIPBOOK_SEED`` (default 0) as ``1000 · LIPBOOK_SEED + i``. With the default the chapters use
the seeds 0, 1, 2, … they were written with; ``LIPBOOK_SEED=3`` moves every chapter to seeds
3000, 3001, … at once, which is how ``make test-seeds`` checks that no claim of the book rests
on one lucky seed. Random draws of the package are always made on the CPU (Mersenne Twister)
and then moved to the device, because ``torch.Generator(device="cuda")`` is a different stream
(Philox): the same seed then gives the same numbers on every device.
"""

from __future__ import annotations

import numbers
import os
import random
import re

import numpy as np
import torch

from .checks import ArgumentTypeError

ENV_VAR = "LIPBOOK_DEVICE"
SEED_VAR = "LIPBOOK_SEED"
SEED_STRIDE = 1000  # why: a chapter uses far fewer seeds, so books under two LIPBOOK_SEEDs share none
MAX_SEED = 2**32 - 1  # NumPy's legacy seeding takes at most 32 bits


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """The device strings usable on this machine, e.g. ``["cpu", "cuda", "cuda:0"]``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def get_device() -> torch.device:
    """CUDA when available, else MPS, else CPU; ``$LIPBOOK_DEVICE`` overrides.

    Raises ``ValueError`` when ``LIPBOOK_DEVICE`` names a device that is unknown or not
    available here; the message lists the ones that are.
    """
    wanted = os.environ.get(ENV_VAR, "").strip()
    if not wanted:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    return check_device(ENV_VAR, wanted)


def check_device(name: str, value) -> torch.device:
    """``value`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a ``torch.device``) as a
    device usable here, or ``ValueError`` naming ``name``, the allowed values and the devices
    available on this machine."""
    if isinstance(value, torch.device):
        value = str(value)
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be a device name or a torch.device, got "
                                f"{type(value).__name__}")
    available = available_devices()
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", value) or value not in available:
        raise ValueError(
            f"{name}={value!r} is not a usable device: allowed values are cpu, cuda, "
            f"cuda:N and mps; available here: {', '.join(available)}"
        )
    return torch.device(value)


def draw_device(generator: torch.Generator | None) -> torch.device:
    """Where a random draw from ``generator`` is made: the generator's own device, the CPU when
    there is none (torch's global CPU generator). The package draws there and moves the result,
    so a CPU generator gives the same numbers whatever device the tensors end on."""
    return generator.device if generator is not None else torch.device("cpu")


def book_seed(i: int = 0) -> int:
    """The ``i``-th seed of a chapter: ``1000 · $LIPBOOK_SEED + i`` (``LIPBOOK_SEED`` defaults to 0).

    Every seed a chapter uses comes from here, so that one environment variable re-seeds the
    whole book. Raises ``ValueError`` when ``i`` is not an int in [0, 1000) or ``LIPBOOK_SEED``
    is not a non-negative integer.
    """
    if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < SEED_STRIDE:
        raise ValueError(f"i must be an int in [0, {SEED_STRIDE}), got {i!r}")
    raw = os.environ.get(SEED_VAR, "").strip() or "0"
    if not raw.isdigit() or int(raw) > MAX_SEED // SEED_STRIDE - 1:
        raise ValueError(f"{SEED_VAR}={raw!r} must be an integer in [0, {MAX_SEED // SEED_STRIDE - 1}]")
    return SEED_STRIDE * int(raw) + int(i)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's global generators; return a fresh ``torch.Generator``.

    The package itself never reads the global generators during training (every random draw
    goes through an explicit generator); this helper is for notebooks and tests.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an int in [0, 2**32 - 1], got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
