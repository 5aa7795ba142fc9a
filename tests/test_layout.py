"""The package's layout stays readable in one sitting (issue 16): no module of ``src/lipbook``
over 350 lines, no class over 150, and the names DESIGN.md's Contracts promise still import from
where they say."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lipbook"
MODULE_LINES, CLASS_LINES = 350, 150
MODULES = sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_module_and_its_classes_fit_on_a_few_screens(path):
    text = path.read_text("utf-8")
    assert len(text.splitlines()) <= MODULE_LINES, f"{path.name} has {len(text.splitlines())} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            size = node.end_lineno - node.lineno + 1
            assert size <= CLASS_LINES, f"{path.name}: class {node.name} has {size} lines"


def test_the_contracts_names_import_from_lipbook_train():
    from lipbook import train

    for name in ("WGANConfig", "train", "sweep", "TrainResult", "TrainingDiverged"):
        assert hasattr(train, name), name
