"""Checks of the committed chapter notebooks that need no kernel (nbmake executes them).

Every notebook in book/ is committed without outputs or widget state, runs on the `python3`
kernel, starts with a MyST label and a title, and has the install cell below as its first code
cell, character for character. The cell installs `lipbook` only on Colab (pinned to the tag of
this release) or from $LIPBOOK_INSTALL_FROM, then imports it, picks a device and seeds.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
import tomllib
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))

# The canonical install cell, with the repository URL and the version filled in from
# _config.yml and pyproject.toml (README's "Contributing" section shows it filled in).
INSTALL_CELL = """\
# Set-up. On Colab, install the book's package `lipbook` at this book's
# release, upgrading nothing Colab already has. LIPBOOK_INSTALL_FROM (a path
# or a pip URL) installs from there instead.
import importlib
import os
import subprocess
import sys

install_from = os.environ.get("LIPBOOK_INSTALL_FROM") or (
    "git+<REPOSITORY>@v<VERSION>"
    if "google.colab" in sys.modules else "")
if install_from:
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, install_from], check=True)
    importlib.invalidate_caches()

import lipbook

device = lipbook.get_device()
SEED = lipbook.book_seed()  # LIPBOOK_SEED (default 0); every seed below derives from it
lipbook.seed_everything(SEED)
print(f"lipbook {lipbook.__version__}, device: {device}, book seed: {SEED}")"""

# What a chapter may import besides the standard library: lipbook and its runtime
# dependencies (pyproject.toml), by import name, plus IPython (ipywidgets depends on it).
IMPORT_NAMES = {"pot": "ot"}
EXTRA_IMPORTS = {"lipbook", "IPython"}


def version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def install_cell() -> str:
    return INSTALL_CELL.replace("<REPOSITORY>", repository_url()).replace("<VERSION>", version())


def allowed_imports() -> set[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    names = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].strip().lower() for d in deps}
    return {IMPORT_NAMES.get(n, n) for n in names} | EXTRA_IMPORTS | set(sys.stdlib_module_names)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_chapters():
    assert NOTEBOOKS, "book/ holds no notebooks"


notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])


@notebook
def test_valid_notebook(path):
    nbformat.validate(read(path))


@notebook
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(read(path).cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"cells {dirty} carry outputs or an execution count: strip them " \
                      "(jupyter nbconvert --clear-output --inplace, or 'Clear all outputs')"


@notebook
def test_no_widget_state(path):
    nb = read(path)
    assert "widgets" not in nb.metadata, "notebook metadata holds saved widget state"
    assert not [i for i, c in enumerate(nb.cells) if "widgets" in c.metadata]


@notebook
def test_kernelspec_is_python3(path):
    assert read(path).metadata.get("kernelspec", {}).get("name") == "python3"


@notebook
def test_starts_with_label_and_title(path):
    first = read(path).cells[0]
    assert first.cell_type == "markdown"
    assert re.match(r"\(ch:[a-z0-9-]+\)=\n# \S", first.source), \
        "a chapter starts with a markdown cell: '(ch:some-label)=' then '# Title'"


@notebook
def test_first_code_cell_is_the_install_cell(path):
    first = code_cells(read(path))[0].source
    assert first == install_cell(), \
        "the first code cell must be the install cell, verbatim (see tests/test_notebooks.py)"


@notebook
def test_imports_only_lipbook_and_its_dependencies(path):
    allowed = allowed_imports()
    found = set()
    for cell in code_cells(read(path)):
        # IPython magics and shell escapes are not Python
        source = "\n".join(line for line in cell.source.splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split(".")[0])
    assert found <= allowed, f"imports outside lipbook and its runtime dependencies: " \
                             f"{sorted(found - allowed)} (they would be missing on Colab)"


@notebook
def test_no_interactive_matplotlib_backend(path):
    for cell in code_cells(read(path)):
        assert not re.search(r"%matplotlib\s+(widget|notebook|ipympl)", cell.source), \
            "use the inline backend (ipympl is unreliable on Colab and absent in the build)"
        assert "MPLBACKEND" not in cell.source


# --- the install cell itself ----------------------------------------------------------------


def test_install_cell_names_the_configured_repository_and_version():
    m = re.search(r'"git\+(https://github\.com/[^@"]+)@v([^"]+)"', install_cell())
    assert m, "the install cell must install git+<repository>@v<version>"
    assert m.group(1) == repository_url() == "https://github.com/lipschitz-lectures/lipschitz-lectures"
    assert m.group(2) == version()
    assert not re.search(r"(^|\s|\")(-U|--upgrade)\b", install_cell()), "never upgrade on Colab"


def test_pyproject_repository_matches_config():
    with open(ROOT / "pyproject.toml", "rb") as f:
        urls = tomllib.load(f)["project"].get("urls", {})
    assert urls.get("Repository", repository_url()).rstrip("/") == repository_url()


def test_readme_shows_the_install_cell():
    assert install_cell() in (ROOT / "README.md").read_text(), \
        "README's contributing section must show the install cell exactly as chapters use it"


def run_install_cell(monkeypatch, *, colab: bool, install_from: str | None) -> list[list[str]]:
    """Execute the install cell here with pip stubbed out; return the pip commands it ran."""
    calls = []

    def fake_run(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if install_from is None:
        monkeypatch.delenv("LIPBOOK_INSTALL_FROM", raising=False)
    else:
        monkeypatch.setenv("LIPBOOK_INSTALL_FROM", install_from)
    namespace: dict = {}
    exec(compile(install_cell(), "<install cell>", "exec"), namespace)
    assert isinstance(namespace["device"], torch.device)
    return calls


def pip(target: str) -> list[str]:
    return [sys.executable, "-m", "pip", "install", "--quiet", target]


def test_install_cell_installs_nothing_locally(monkeypatch):
    assert run_install_cell(monkeypatch, colab=False, install_from=None) == []


def test_install_cell_installs_the_pinned_release_on_colab(monkeypatch):
    calls = run_install_cell(monkeypatch, colab=True, install_from=None)
    assert calls == [pip(f"git+{repository_url()}@v{version()}")]


@pytest.mark.parametrize("colab", [False, True])
def test_install_cell_installs_from_the_environment_variable(monkeypatch, colab):
    calls = run_install_cell(monkeypatch, colab=colab, install_from="/tmp/lipbook-checkout")
    assert calls == [pip("/tmp/lipbook-checkout")]


def test_install_cell_seeds(monkeypatch):
    run_install_cell(monkeypatch, colab=False, install_from=None)
    after_cell = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after_cell, torch.rand(3))
