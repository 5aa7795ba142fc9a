"""The Colab path: a chapter opened alone in an environment that stands in for Colab's runtime
installs lipbook through its own install cell, upgrades none of Colab's packages, runs to the
end, and its playground responds to a slider change under ipywidgets 7.7.1.

The stand-in has only what Colab ships that matters here (its 2026 pip freeze: torch, numpy 2.1,
matplotlib 3.10, ipywidgets 7.7.1) plus a kernel: Python 3.11 stands in for Colab's 3.13 and the
CPU build of torch 2.13 for Colab's torch 2.11. `LIPBOOK_INSTALL_FROM` points the install cell
at this checkout (on Colab it installs the tagged release from GitHub instead). Takes about 3
minutes: it creates a virtual environment and runs a whole chapter.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
COLAB = {"torch": "2.13.0", "numpy": "2.1.3", "matplotlib": "3.10.0", "ipywidgets": "7.7.1"}
pytestmark = pytest.mark.colab


def installed(py: pathlib.Path) -> dict[str, str]:
    out = subprocess.run([str(py), "-m", "pip", "list", "--format=json"], check=True,
                         capture_output=True, text=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory) -> pathlib.Path:
    base = shutil.which("python3.11") or sys._base_executable
    venv = tmp_path_factory.mktemp("colab") / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    pins = [f"{name}=={version}" for name, version in COLAB.items()]
    subprocess.run([str(py), "-m", "pip", "install", "-q", *pins, "ipykernel", "nbclient"],
                   check=True, timeout=1200)
    return py


def slider_chapter() -> pathlib.Path:
    """The first chapter whose code uses the playground."""
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any("playground(" in c.source for c in nb.cells if c.cell_type == "code"):
            return path
    pytest.fail("no chapter uses lipbook.widgets.playground")


RUNNER = textwrap.dedent("""
    import sys, nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(sys.argv[1], as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3").execute()
    nbformat.write(nb, sys.argv[2])
""")

# Appended to the chapter: move a slider in code, as a reader would, and check the response.
SLIDER_CHECK = textwrap.dedent("""
    import ipywidgets, lipbook.widgets
    assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__
    pg = lipbook.widgets.playground("clip", steps=40, hidden=32)
    pg.wait(timeout=300)
    first = (pg.result, pg.image.value)
    pg.slider.value = 0.05
    pg.wait(timeout=300)
    assert pg.result is not first[0] and pg.result.config.c == 0.05
    assert pg.image.value != first[1]
    assert "0.05" in pg.status.value, pg.status.value
""")


def test_a_slider_chapter_runs_alone_in_a_colab_like_environment(colab_python, tmp_path):
    before = installed(colab_python)
    assert "lipbook" not in before
    chapter = slider_chapter()
    nb = nbformat.read(chapter, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(SLIDER_CHECK))
    src, out = tmp_path / chapter.name, tmp_path / "executed.ipynb"
    nbformat.write(nb, src)  # a lone copy, as Colab opens it: no sibling files
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["LIPBOOK_INSTALL_FROM"] = str(ROOT)
    proc = subprocess.run([str(colab_python), "-c", RUNNER, str(src), str(out)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    after = installed(colab_python)
    assert "lipbook" in after  # installed by the chapter's own install cell
    for name, version in COLAB.items():
        assert before[name].split("+")[0] == version  # 2.13.0+cpu is the CPU build of 2.13.0
        assert after[name] == before[name], f"{name} changed: {before[name]} -> {after[name]}"
    assert after["ipykernel"] == before["ipykernel"]
