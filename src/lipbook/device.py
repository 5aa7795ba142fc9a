"""Where tensors live, and seeding.

``get_device()`` picks CUDA when available, else Apple MPS, else the CPU. The environment
variable ``LIPBOOK_DEVICE`` (``cpu``, ``cuda``, ``cuda:N`` or ``mps``) overrides the choice; it is
read on every call, so a notebook can change it between cells without re-importing.
"""

from __future__ import annotations

import os
import random
import re

import numpy as np
import torch

ENV_VAR = "LIPBOOK_DEVICE"


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
    available = available_devices()
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", wanted) or wanted not in available:
        raise ValueError(
            f"{ENV_VAR}={wanted!r} is not a usable device: allowed values are cpu, cuda, "
            f"cuda:N and mps; available here: {', '.join(available)}"
        )
    return torch.device(wanted)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's global generators; return a fresh ``torch.Generator``.

    The package itself never reads the global generators during training (every random draw
    goes through an explicit generator); this helper is for notebooks and tests.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
