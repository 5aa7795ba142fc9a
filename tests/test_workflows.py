"""The GitHub Actions workflows are valid (offline: check-jsonschema's built-in schema) and do
what the README says: publish on pushes to main, `make test` on pull requests, CPU-only torch."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_workflows_validate_against_the_github_schema():
    exe = shutil.which("check-jsonschema", path=str(pathlib.Path(sys.executable).parent))
    if exe is None:
        pytest.fail("check-jsonschema is not installed: it is pinned in requirements.txt")
    assert len(WORKFLOWS) == 2
    proc = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_publish_runs_on_main_with_cpu_torch_and_deploys_the_html():
    text = (ROOT / ".github/workflows/publish.yml").read_text()
    assert "branches: [main]" in text and "make book" in text
    assert "download.pytorch.org/whl/cpu" in text and "path: _build/html" in text
    assert "actions/deploy-pages" in text


def test_pull_requests_run_make_test():
    text = (ROOT / ".github/workflows/test.yml").read_text()
    assert "pull_request" in text and "make test" in text
    assert "download.pytorch.org/whl/cpu" in text
