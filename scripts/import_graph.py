"""The import graph of the csp package between the layers of the import-linter contract in
pyproject.toml: how many direct imports run from each layer to each other one, then every
import that runs up the flow (file:line) and every module no layer claims.

    .venv/bin/python scripts/import_graph.py      # exit status 1 if anything runs upward

The layers are read from pyproject.toml ([tool.importlinter], contract "direction"), so this
report and the contract test (tests/shared/test_import_direction.py) judge the same thing;
lint-imports also follows indirect chains.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import grimp

PROJECT_DIR = Path(__file__).resolve().parents[1]


def layers(pyproject: Path = PROJECT_DIR / "pyproject.toml") -> list[list[str]]:
    """Top layer first; each layer the modules it is made of."""
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["id"] == "direction")
    return [[m.strip() for m in re.split(r"[:|]", layer)] for layer in contract["layers"]]


NAMES = ("operations", "reports", "analysis", "warehouse", "ingest", "shared")


def layer_names(stack: list[list[str]]) -> list[str]:
    assert len(stack) == len(NAMES), "pyproject.toml's layers and NAMES differ: name the new layer here"
    return list(NAMES)


def layer_of(module: str, stack: list[list[str]]) -> int | None:
    for index, modules in enumerate(stack):
        if any(module == m or module.startswith(m + ".") for m in modules):
            return index
    return None


def report() -> tuple[str, int]:
    stack = layers()
    names = layer_names(stack)
    graph = grimp.build_graph("csp", include_external_packages=False)
    counts: dict[tuple[int, int], int] = {}
    upward, unclaimed = [], sorted(m for m in graph.modules if m != "csp" and layer_of(m, stack) is None)
    for importer in sorted(graph.modules):
        source = layer_of(importer, stack)
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            target = layer_of(imported, stack)
            if source is None or target is None or source == target:
                continue
            counts[source, target] = counts.get((source, target), 0) + 1
            if target < source:
                lines = ", ".join(str(d["line_number"]) for d in graph.get_import_details(
                    importer=importer, imported=imported))
                upward.append(f"  {importer}:{lines} -> {imported}  ({names[source]} imports {names[target]})")
    width = max(len(n) for n in names)
    out = ["Layers, top first (a layer may import only those below it):"]
    out += [f"  {i}. {n:{width}}  {', '.join(stack[i])}" for i, n in enumerate(names)]
    out.append("Direct imports between layers (importer -> imported: count):")
    for (source, target), n in sorted(counts.items()):
        arrow = "UP  " if target < source else "down"
        out.append(f"  {arrow} {names[source]:{width}} -> {names[target]:{width}} {n:4d}")
    out.append(f"Imports up the flow: {len(upward)}")
    out += upward
    out.append(f"Modules in no layer: {len(unclaimed)}")
    out += [f"  {m}" for m in unclaimed]
    return "\n".join(out), len(upward) + len(unclaimed)


if __name__ == "__main__":
    text, problems = report()
    print(text)
    sys.exit(1 if problems else 0)
