"""Settings shared by every test: the repository root, skipping `cuda` tests without a GPU, the
one-thread fixture, and the executed book build that the `book` and `browser` tests share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root (where _config.yml, _toc.yml and pyproject.toml live)."""
    return ROOT


def pytest_collection_modifyitems(config, items):
    cuda_items = [item for item in items if item.get_closest_marker("cuda")]
    if not cuda_items:
        return
    import torch  # only when there are `cuda` tests: importing torch takes a second or two

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in cuda_items:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks gain nothing from a second thread, and on a busy 2-core machine torch's
    thread pool makes each tiny op wait for a descheduled thread (10-20x slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the book once per session, executing every notebook, into a fresh folder:
    ``(returncode, log, html folder)``. The `book` tests read its files; the `browser` tests
    serve its html folder. A few minutes on 2 cores. ``LIPBOOK_BUILT_HTML=_build/html`` reuses
    a finished build (``make book``'s) instead, e.g. to rerun the browser tests alone."""
    if os.environ.get("LIPBOOK_BUILT_HTML"):
        html = Path(os.environ["LIPBOOK_BUILT_HTML"]).resolve()
        found = (html / "index.html").exists()
        return (0 if found else 1), f"LIPBOOK_BUILT_HTML={html} (index.html found: {found})", html
    out = tmp_path_factory.mktemp("book")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # Agg removes figures
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", "-W", "-n",
           "--keep-going", "--path-output", str(out), "."]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr, out / "_build" / "html"
