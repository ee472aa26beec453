"""The layer contract of DESIGN.md §3 (pyproject.toml, run by `make test`) catches an import against it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("clinic", "patients", "scheduling", "cycles", "notifications")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_its_layers(tree):
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("patients/selectors.py", "from cycles import rules"),  # patients sits below cycles
        ("scheduling/services/booking.py", "from notifications.services import outbox"),
        ("cycles/planner.py", "from clinic.web import views"),
        # Inside a function, to dodge a circular import, is still an import against the layers.
        ("scheduling/selectors.py", "def _hidden():\n    from cycles.models import Course"),
    ],
)
def test_an_import_against_the_layers_fails_the_run(tree, module, line):
    with (tree / module).open("a") as source:
        source.write(f"\n\n{line}\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


def test_a_pure_rule_module_that_imports_django_fails_the_run(tree):
    with (tree / "cycles/rules.py").open("a") as source:
        source.write("\n\nfrom django.db import models\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "import no Django" in result.stdout
