"""Count the SQL SELECTs written in Python outside the places SQL may live (DESIGN.md: SQL lives
in sql/ and the query modules): every string literal in plugins/ and dags/ that holds the word
SELECT, except in the modules listed in ALLOWED.

    .venv/bin/python scripts/count_selects.py          # per file, then the total
    .venv/bin/python scripts/count_selects.py --total  # the total only

Only string literals count (found with tokenize), so a comment or docstring that names SELECT
in prose counts only if it is a string; each SELECT keyword counts once (a UNION of two counts two).
"""
from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
SEARCHED = ("plugins", "dags")
ALLOWED = (
    "plugins/csp/reports/queries.py",  # the reports' one reader (marts and analysis tables)
    "plugins/csp/analysis/inputs.py",  # the analysis' one reader (marts and reference tables)
    "plugins/csp/warehouse/load.py",  # the warehouse loader (staging ledger and partitions)
)
SELECT = re.compile(r"\bSELECT\b", re.IGNORECASE)


def selects_in(path: Path) -> int:
    count = 0
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for token in tokens:
        if token.type == tokenize.STRING or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            count += len(SELECT.findall(token.string))
    return count


def counts(project_dir: Path = PROJECT_DIR) -> dict[str, int]:
    found = {}
    for folder in SEARCHED:
        for path in sorted((project_dir / folder).rglob("*.py")):
            name = path.relative_to(project_dir).as_posix()
            if name not in ALLOWED and (n := selects_in(path)):
                found[name] = n
    return found


if __name__ == "__main__":
    found = counts()
    if "--total" not in sys.argv:
        for name, n in sorted(found.items(), key=lambda item: (-item[1], item[0])):
            print(f"{n:4d}  {name}")
    print(f"{sum(found.values())} SELECTs in Python outside sql/ and {', '.join(ALLOWED)}")
