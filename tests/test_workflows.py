"""The GitHub Actions workflows are valid (offline: check-jsonschema's built-in schema) and do
what the README says: publish on pushes to main, `make test` on pull requests, CPU-only torch;
CI (.ci/run) installs the system packages the README lists and runs `make test`, then
`make test-seeds` (the notebooks under other book seeds and CPU kernels), then `make test-fresh`,
which runs the README's two commands."""

import pathlib
import re
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


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_gives_two_commands_and_ci_installs_its_system_packages():
    section = readme_section("Two commands")
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make book", "make test"]  # what `make test-fresh` runs, in order
    listed = set(re.findall(r"apt-get install ([a-z0-9 .+-]+)`", section)[0].split())
    run = (ROOT / ".ci" / "run").read_text()
    apt = set(re.search(r"APT_PACKAGES=\((.*?)\)", run, re.S).group(1).split())
    assert listed == apt == {"chromium", "chromium-driver"}
    steps = [line.strip() for line in run.splitlines() if line.startswith("make ")]
    assert steps == ["make test", "make test-seeds", "make test-fresh"]
