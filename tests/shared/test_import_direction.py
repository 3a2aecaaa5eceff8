"""Imports run downstream (DESIGN.md, "Direction and truth"): the import-linter layers contract
in pyproject.toml holds, indirect chains included, and every module of the csp package belongs
to a layer (a new module must be placed, so it cannot slip past the contract)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import import_graph  # noqa: E402


def test_the_layers_contract_is_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_every_module_is_in_a_layer_and_nothing_imports_up_the_flow():
    text, problems = import_graph.report()
    assert problems == 0, text


def test_the_contract_catches_an_upward_import(tmp_path):
    """The contract is live: the same layers over a copy of the package with one module of the
    ingest layer importing the reports fail."""
    import shutil

    copy = tmp_path / "plugins"
    shutil.copytree(PROJECT_DIR / "plugins" / "csp", copy / "csp", ignore=shutil.ignore_patterns("__pycache__"))
    quality = copy / "csp" / "quality.py"
    quality.write_text(quality.read_text() + "\nfrom csp.reports import catalogue  # noqa\n")
    shutil.copy(PROJECT_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy)})
    assert result.returncode == 1, result.stdout
    assert "csp.quality -> csp.reports.catalogue" in result.stdout
