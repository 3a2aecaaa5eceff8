"""The results: the console table, the targets, the scaling table, the machine description,
and the markdown section written into docs/benchmarks.md (between markers, so the prose
around it, such as before/after notes, is kept)."""
from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from csp.bench.measure import StageRun

# Stage names (the table's "stage" column).
PARSE, DEPERSONALISE, VALIDATE, STAGE = "police: parse", "police: depersonalise", "police: validate", "police: stage"
INGEST = "police: ingest end to end"
OTHERS = "other datasets: ingest"
LOAD_DUCK, MODELS_DUCK, REPORTS_DUCK = "warehouse load (DuckDB)", "models (DuckDB)", "reports (DuckDB)"
ANALYSIS, ANALYSIS_PG = "analysis (DuckDB)", "analysis (PostgreSQL)"
LOAD_PG, MODELS_PG, REPORTS_PG = "warehouse load (PostgreSQL)", "models (PostgreSQL)", "reports (PostgreSQL)"
RAW_DUCK, RAW_PG, NAIVE = "baseline: raw DuckDB", "baseline: raw PG COPY", "baseline: naive peer"
POLICE_STAGES = (PARSE, DEPERSONALISE, VALIDATE, STAGE, INGEST)
STAGES = (*POLICE_STAGES, OTHERS, LOAD_DUCK, MODELS_DUCK, ANALYSIS, REPORTS_DUCK,
          LOAD_PG, MODELS_PG, ANALYSIS_PG, REPORTS_PG, RAW_DUCK, RAW_PG, NAIVE)
HEADER = ("scale", "stage", "rows", "seconds", "rows/s", "peak MiB",
          "x raw DuckDB", "x raw PG COPY", "naive / ours")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
GIB = 1024


@dataclass(frozen=True)
class Ratios:
    raw_duckdb: float | None  # stage seconds / raw DuckDB seconds (same files)
    raw_pg: float | None
    naive_speedup: float | None  # naive peer seconds / stage seconds


def _seconds(runs: list[StageRun], scale: str, stage: str) -> float | None:
    for run in runs:
        if run.scale == scale and run.stage == stage and not run.skipped and run.seconds > 0:
            return run.seconds
    return None


def ratios(runs: list[StageRun], run: StageRun) -> Ratios:
    """Only the police stages read the same files as the baselines, so only they get ratios."""
    if run.skipped or run.stage not in POLICE_STAGES or run.seconds <= 0:
        return Ratios(None, None, None)
    duck, pg, naive = (_seconds(runs, run.scale, s) for s in (RAW_DUCK, RAW_PG, NAIVE))
    return Ratios(run.seconds / duck if duck else None, run.seconds / pg if pg else None,
                  naive / run.seconds if naive else None)


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def rows_of(runs: list[StageRun]) -> list[tuple[str, ...]]:
    table = []
    for run in runs:
        if run.skipped:
            table.append((run.scale, run.stage, "-", "skipped", "-", "-", "-", "-", "-"))
            continue
        r = ratios(runs, run)
        rate = run.rows_per_second
        table.append((
            run.scale, run.stage, f"{run.rows:,}", _number(run.seconds), _number(rate, 0),
            _number(run.peak_mib, 0), _number(r.raw_duckdb), _number(r.raw_pg), _number(r.naive_speedup),
        ))
    return table


def skipped_notes(runs: list[StageRun]) -> list[str]:
    reasons: dict[str, list[str]] = {}
    for run in runs:
        if run.skipped:
            reasons.setdefault(run.skipped, []).append(f"{run.scale} {run.stage}")
    return [f"skipped ({', '.join(where)}): {reason}" for reason, where in reasons.items()]


def plain_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    left = {0, 1}

    def line(cells):
        return "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    align = ["---" if i < 2 else "---:" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(str(c).replace("|", "\\|") for c in line) + " |" for line in lines)


# -- scaling and targets -------------------------------------------------------------------

def scaling_rows(runs: list[StageRun], scales: list[str]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Seconds per million rows of each stage at each scale: flat across a row = linear."""
    header = ("stage", *(f"s / M rows @ {s}" for s in scales))
    rows = []
    for stage in STAGES:
        cells = []
        for scale in scales:
            run = next((r for r in runs if r.scale == scale and r.stage == stage), None)
            ok = run and not run.skipped and run.rows
            cells.append(_number(run.seconds / run.rows * 1e6, 2) if ok else "-")
        if any(c != "-" for c in cells):
            rows.append((stage, *cells))
    return header, rows


def _run(runs, scale, stage) -> StageRun | None:
    return next((r for r in runs if r.scale == scale and r.stage == stage and not r.skipped), None)


def _pick_scale(scales: list[tuple[str, int]], rows: int) -> tuple[str, int] | None:
    """The scale with police rows nearest ``rows`` (within a factor of 2), else None."""
    near = [s for s in scales if rows / 2 <= s[1] <= rows * 2]
    return min(near, key=lambda s: abs(s[1] - rows)) if near else None


def targets(runs: list[StageRun], scales: list[tuple[str, int]], dag_parse: list[dict]) -> list[tuple[str, ...]]:
    """(target, scale, measured, verdict) for each target of issue 9."""
    out = []

    def verdict(ok: bool | None) -> str:
        return "-" if ok is None else ("met" if ok else "MISSED")

    one = _pick_scale(scales, 1_000_000)
    five = _pick_scale(scales, 5_000_000)
    if one:
        ingest = _run(runs, one[0], INGEST)
        r = ratios(runs, ingest) if ingest else Ratios(None, None, None)
        out.append(("1M-row police return ingest <= 4x raw DuckDB load", one[0],
                    f"{_number(r.raw_duckdb)}x", verdict(None if r.raw_duckdb is None else r.raw_duckdb <= 4)))
        out.append(("... and >= 5x faster than the naive peer", one[0],
                    f"{_number(r.naive_speedup)}x", verdict(None if r.naive_speedup is None else r.naive_speedup >= 5)))
    else:
        out.append(("1M-row police return ingest vs raw DuckDB / naive peer", "-", "not run (scale 1m)", "-"))
    largest = max(scales, key=lambda s: s[1]) if scales else None
    where = five or largest
    label = where[0] if where else "-"
    suffix = "" if five else " (5m not run: largest scale shown)"

    def total(*stages) -> float | None:
        found = [_run(runs, label, s) for s in stages]
        return sum(r.seconds for r in found) if found and all(found) else None

    for name, stages, limit in (
        ("warehouse rebuild, DuckDB (load + models) < 60 s", (LOAD_DUCK, MODELS_DUCK), 60),
        ("warehouse rebuild, PostgreSQL (load + models) < 120 s", (LOAD_PG, MODELS_PG), 120),
    ):
        seconds = total(*stages)
        out.append((name + suffix, label, f"{_number(seconds)} s" if seconds is not None else "not run",
                    verdict(None if seconds is None or not five else seconds < limit)))
    analysis = _run(runs, label, ANALYSIS)
    report = _run(runs, label, REPORTS_DUCK)
    if report:
        seconds = report.seconds + (analysis.seconds if analysis else 0)
        note = "" if analysis else " (analysis not built: reports only)"
        out.append(("analysis + every report for every CSP < 60 s" + suffix + note, label,
                    f"{_number(seconds)} s", verdict(None if not five else seconds < 60)))
    ours = [r for r in runs if r.scale == label and not r.skipped and not r.stage.startswith("baseline")]
    if ours:
        worst = max(ours, key=lambda r: r.peak_mib)
        out.append(("peak memory < 4 GiB at 5M rows" + suffix, label,
                    f"{worst.peak_mib / GIB:.2f} GiB ({worst.stage})",
                    verdict(None if not five else worst.peak_mib < 4 * GIB)))
    out += linearity(runs, scales)
    if dag_parse:
        slowest = max(dag_parse, key=lambda d: d.get("seconds") or 0)
        ok = all(d.get("seconds") is not None and not d.get("errors") and d["seconds"] < 1 for d in dag_parse)
        out.append(("every DAG file parses in < 1 s", "-",
                    f"{_number(slowest.get('seconds'), 3)} s ({slowest['file']})", verdict(ok)))
    return out


PER_RETURN_STAGES = (*POLICE_STAGES, OTHERS)  # one task per return, each with a fixed cost
WAREHOUSE_STAGES = (LOAD_DUCK, MODELS_DUCK, LOAD_PG, MODELS_PG)  # the whole history at once
LINEAR_LIMIT = 1.25  # s/row may grow by a quarter before the stage counts as not linear


def _worst_growth(runs: list[StageRun], small: str, big: str, stages) -> tuple[float, str]:
    """The largest growth of seconds per row from ``small`` to ``big`` among ``stages``."""
    worst, worst_stage = 0.0, "-"
    for stage in stages:
        a, b = _run(runs, small, stage), _run(runs, big, stage)
        if a and b and a.rows and b.rows and a.seconds > 0:
            growth = (b.seconds / b.rows) / (a.seconds / a.rows)
            if growth > worst:
                worst, worst_stage = growth, stage
    return worst, worst_stage


def linearity(runs: list[StageRun], scales: list[tuple[str, int]]) -> list[tuple[str, ...]]:
    """Time linear in rows, compared between scales of the same shape. A per-return stage runs
    once per dataset and quarter with a fixed cost each (a process, Great Expectations' set-up),
    so its seconds per row are compared between one-quarter scales (one return growing); the
    warehouse stages take the whole history at once, so between the two largest scales. The
    per-return stages across shapes (one 1M-row return against twenty quarters' smaller
    returns) are shown without a verdict: the difference is the fixed cost per return."""
    from csp.bench.scales import parse_scale

    out = []
    ordered = sorted(scales, key=lambda s: s[1])
    one_quarter = [s for s in ordered if parse_scale(s[0]).quarters == 1]
    checks = []
    if len(one_quarter) >= 2:
        checks.append(("per-return stages", one_quarter[-2][0], one_quarter[-1][0], PER_RETURN_STAGES, True))
    if len(ordered) >= 2:
        small, big = ordered[-2][0], ordered[-1][0]
        checks.append(("warehouse stages", small, big, WAREHOUSE_STAGES, True))
        if parse_scale(big).quarters != parse_scale(small).quarters:
            checks.append(("per-return stages, returns of unlike size", small, big, PER_RETURN_STAGES, False))
    for name, small, big, stages, judged in checks:
        growth, stage = _worst_growth(runs, small, big, stages)
        if stage == "-":
            continue
        ok = growth <= LINEAR_LIMIT
        out.append((f"time linear in rows: {name} (s/row at {big} vs {small}, worst; <= {LINEAR_LIMIT})",
                    f"{small}->{big}", f"{growth:.2f}x ({stage})",
                    ("met" if ok else "MISSED") if judged else "-"))
    return out


# -- machine -------------------------------------------------------------------------------

def machine(pg_version: str | None) -> dict[str, str]:
    cpu = "unknown"
    try:
        text = Path("/proc/cpuinfo").read_text()
        if found := re.search(r"^model name\s*:\s*(.+)$", text, re.M):
            cpu = found.group(1).strip()
    except OSError:
        pass
    memory = "unknown"
    try:
        if found := re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M):
            memory = f"{int(found.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    os_name = platform.platform()
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        os_name = f"{release.get('PRETTY_NAME', '').strip(chr(34))} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    import duckdb
    import pandas

    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": memory,
        "OS": os_name,
        "Python": platform.python_version(),
        "DuckDB": duckdb.__version__,
        "pandas": pandas.__version__,
        "PostgreSQL server": pg_version or "not reachable",
    }


# -- output --------------------------------------------------------------------------------

def console(runs, scales, dag_parse, machine_info) -> str:
    parts = ["", plain_table(HEADER, rows_of(runs)), *skipped_notes(runs), ""]
    if dag_parse:
        parts += ["DAG parse (DagBag of one file, Airflow already imported):",
                  plain_table(("file", "seconds", "DAGs", "errors"), _dag_rows(dag_parse)), ""]
    header, rows = scaling_rows(runs, [s for s, _ in scales])
    parts += ["Scaling (seconds per million rows; flat = linear):", plain_table(header, rows), ""]
    parts += ["Targets:", plain_table(("target", "scale", "measured", "verdict"), targets(runs, scales, dag_parse)), ""]
    parts += ["Machine: " + "; ".join(f"{k} {v}" for k, v in machine_info.items())]
    return "\n".join(parts)


def _dag_rows(dag_parse: list[dict]) -> list[tuple[str, ...]]:
    return [(d["file"], _number(d.get("seconds"), 3), str(d.get("dags", "-")), "; ".join(d.get("errors") or []) or "-")
            for d in dag_parse]


def markdown_section(runs, scales, dag_parse, machine_info, command: str, generated: dict[str, dict]) -> str:
    header, scaling = scaling_rows(runs, [s for s, _ in scales])
    lines = [
        BEGIN,
        "<!-- written by `python -m csp.bench --markdown`; edit outside the markers -->",
        "",
        f"Command: `{command}`",
        "",
        "### Machine",
        "",
        *(f"- {k}: {v}" for k, v in machine_info.items()),
        "",
        "### Inputs",
        "",
        markdown_table(("scale", "quarters", "police rows", "landing files", "landing MiB", "police MiB"), [
            (s, str(g.get("quarters", "-")), f"{g['police_rows']:,}", str(g["files"]),
             f"{g['bytes'] / 2**20:,.0f}", f"{g['police_bytes'] / 2**20:,.0f}")
            for s, g in generated.items()
        ]),
        "",
        "### Stages",
        "",
        markdown_table(HEADER, rows_of(runs)),
        "",
        *(f"- {note}" for note in skipped_notes(runs)),
        "",
        "### Targets",
        "",
        markdown_table(("target", "scale", "measured", "verdict"), targets(runs, scales, dag_parse)),
        "",
        "### Scaling (seconds per million rows; a flat row is linear)",
        "",
        markdown_table(header, scaling),
        "",
    ]
    if dag_parse:
        lines += ["### DAG parse (DagBag of one file, Airflow already imported)", "",
                  markdown_table(("file", "seconds", "DAGs", "errors"), _dag_rows(dag_parse)), ""]
    lines.append(END)
    return "\n".join(lines)


TEMPLATE = """# Benchmarks

`make bench` (`python -m csp.bench`, scales with `BENCH_SCALES=100k,1m,5m`) generates synthetic
returns, runs every stage in its own fresh process and compares the police ingest with fixed,
untuned baselines on the same files. See `plugins/csp/bench/__init__.py` for the method.

## Latest run

{section}
"""


def write_markdown(path: Path, section: str) -> None:
    """Replace the section between the markers (or create the file around it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and BEGIN in (text := path.read_text()) and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        path.write_text(before + section + after)
    elif path.exists():
        path.write_text(text.rstrip() + "\n\n## Latest run\n\n" + section + "\n")
    else:
        path.write_text(TEMPLATE.format(section=section))
