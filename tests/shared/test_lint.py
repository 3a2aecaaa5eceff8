"""The code base is lint-clean under the rules in pyproject.toml ([tool.ruff]): a finding fails the
suite with ruff's own message (file, line, rule). `ruff check --fix` repairs the mechanical ones;
`ruff format` is deliberately not used (the code keeps its hand layout)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
LINTED = ("plugins", "dags", "tests", "scripts")


def ruff(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = ruff("check", "--no-cache", "--output-format", "concise", *LINTED)
    assert result.returncode == 0, f"ruff check found:\n{result.stdout}{result.stderr}"


def test_the_configured_rules_are_the_ones_that_run(tmp_path):
    """The project's configuration is the one in force and selects the agreed rule families: a file
    with one finding of each (E, F, B, SIM, UP, AIR) gives exactly those."""
    bad = tmp_path / "plugins" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(
        "import os\n"                                                # F401
        "from typing import List\n"                                  # UP035
        "x: List[int] = []\n"                                        # UP006
        "def f(a=[]):\n"                                             # B006
        "    if a == None:\n"                                        # E711
        "        pass\n"
        "    return True if a else False\n"                          # SIM210
        "y = '" + "z" * 130 + "'\n"                                  # E501 (line-length 120)
        "from airflow import DAG\n"
        "with DAG(dag_id='x'):\n"                                   # AIR002 (no schedule), AIR311
        "    pass\n"
    )
    result = ruff("check", "--no-cache", "--config", str(PROJECT_DIR / "pyproject.toml"),
                  "--output-format", "concise", str(bad))
    found = {line.split(": ")[1].split(" ")[0] for line in result.stdout.splitlines() if ".py:" in line}
    assert result.returncode == 1
    assert {"F401", "UP035", "B006", "E711", "SIM210", "E501", "AIR002"} <= found, result.stdout
