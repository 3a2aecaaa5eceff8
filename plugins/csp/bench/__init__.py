"""`make bench`: how fast, how big, how linear (issue 9).

For each scale (police.uk-format rows: 100k, 1m, 5m by default; ``csp.bench.scales``) the
bench generates a synthetic partnership with ``csp.synth`` (not timed), then runs every
stage in its own fresh interpreter (``csp.bench.measure``), in the order the platform runs
them:

- the police return stage by stage: parse, depersonalise, validate, stage (both police
  datasets read the street files: crimes -> police_crimes, ASB -> police_incidents), then the
  same return end to end through ``csp.ingest.ingest_return`` into a separate data folder;
- every other dataset's returns end to end (so the warehouse holds all datasets);
- warehouse load, SQL models, analysis and every report of every CSP (HTML and PDF), on a new
  DuckDB file and on a new PostgreSQL database
  (``csp_bench_<pid>_<scale>``, dropped at the end; skipped with the reason if the server
  does not answer);
- the fixed baselines on the same police files (``csp.bench.baselines``).

It prints one table (seconds, rows per second, peak memory, and for the police stages the
ratio to the raw loads and the naive peer's speedup), the scaling table, the targets with
their verdicts and the parse time of each DAG file; ``--markdown`` writes the same into
docs/benchmarks.md.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from csp import clock
from csp.bench import baselines, report, stages
from csp.bench.measure import StageRun, isolated
from csp.bench.scales import Scale, data_rows, generate, police_files
from csp.config import PROJECT_DIR, Settings, settings as csp_settings

BENCH_KEY = "csp-bench-only-pseudonymisation-key"  # synthetic data: the key guards nothing
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- PostgreSQL ----------------------------------------------------------------------------

def _conninfo(url: str, database: str | None = None) -> str:
    """A libpq URL (psycopg takes them) for ``url``, on ``database`` if given."""
    url = url.replace("postgresql+psycopg://", "postgresql://")
    if database:
        rest = url.split("://", 1)[1]
        location, _, query = rest.partition("?")
        location = location.split("/", 1)[0] + "/" + database
        url = "postgresql://" + location + (f"?{query}" if query else "")
    return url


class Postgres:
    """The bench's own databases on the server: created on demand, all dropped at close."""

    def __init__(self, admin_url: str | None):
        self.admin_url, self.version, self.reason, self.created = admin_url, None, None, []
        if admin_url is None:
            self.reason = "PostgreSQL disabled (--no-postgres)"
            return
        try:
            import psycopg

            with psycopg.connect(_conninfo(admin_url), autocommit=True, connect_timeout=5) as conn:
                self.version = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as error:  # any failure to connect: the PG rows say why
            self.reason = f"PostgreSQL not reachable at {admin_url}: {str(error).strip().splitlines()[0]}"

    @property
    def available(self) -> bool:
        return self.version is not None

    def create(self, name: str) -> str:
        import psycopg

        with psycopg.connect(_conninfo(self.admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return _conninfo(self.admin_url, name)

    def close(self) -> None:
        import psycopg

        for name in self.created:
            with psycopg.connect(_conninfo(self.admin_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created = []


# -- DAG parse -----------------------------------------------------------------------------

DAG_PARSE_SCRIPT = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "dags": len(bag.dags),
                  "errors": [str(v).strip().splitlines()[-1] for v in bag.import_errors.values()]}))
"""


def dag_parse_times(dags_dir: Path = PROJECT_DIR / "dags") -> list[dict]:
    """Each DAG file parsed alone by a DagBag in a fresh interpreter that has already
    imported Airflow (as the DAG processor has): the time the file itself costs."""
    results = []
    with tempfile.TemporaryDirectory(prefix="csp-bench-airflow-") as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir)}
        for path in sorted(dags_dir.glob("*.py")):
            done = subprocess.run([sys.executable, "-c", DAG_PARSE_SCRIPT, str(path)],
                                  capture_output=True, text=True, env=env)
            try:
                parsed = json.loads(done.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                parsed = {"seconds": None, "dags": 0, "errors": [tail]}
            results.append({"file": path.name, **parsed})
    return results


# -- one scale -----------------------------------------------------------------------------

class Runner:
    """Runs stage functions isolated (a fresh process each, the default) or in this process
    (tests: faster, but then peak memory is this process's high-water mark)."""

    def __init__(self, isolate: bool = True, log=print):
        self.isolate, self.log = isolate, log

    def call(self, function, *args) -> dict:
        return isolated(function, *args) if self.isolate else function(*args)

    def measure(self, scale: str, stage: str, calls: list[tuple]) -> StageRun:
        """One table row from one or more calls (e.g. one per dataset and quarter): seconds
        and rows add up, the peak is the largest."""
        run = StageRun(scale, stage)
        started = time.perf_counter()
        for function, *args in calls:
            result = self.call(function, *args)
            if result.get("skipped"):
                run.skipped = result["skipped"]
                break
            run.rows += result["rows"]
            run.seconds += result["seconds"]
            run.peak_mib = max(run.peak_mib, result["peak_mib"])
            for key, value in result.get("extra", {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    run.extra[key] = run.extra.get(key, 0) + value
                elif isinstance(value, list):
                    run.extra.setdefault(key, []).extend(value)
                else:
                    run.extra.setdefault(key, []).append(value)
        wall = time.perf_counter() - started
        shown = (f"skipped: {run.skipped}" if run.skipped
                 else f"{run.rows:,} rows in {run.seconds:.2f} s, peak {run.peak_mib:,.0f} MiB")
        self.log(f"  [{scale}] {stage}: {shown} (wall {wall:.1f} s with process start)")
        return run


def _fresh_data_dir(path: Path, landing: Path) -> None:
    """A new data folder reading the generated returns and the partnership's own inputs
    (consultation, capacity, plan, initiative areas, tasking log: the analysis and reports
    use them), both written by the generator beside ``landing``."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    for name in ("landing", "partnership"):
        source = landing.parent / name
        if source.exists():
            (path / name).symlink_to(source.resolve(), target_is_directory=True)


def prepare(scale: Scale, root: Path, base: Settings, runner: Runner) -> tuple[stages.Work, dict]:
    """Generate the scale's returns (kept and reused if the same scale is already there) and
    set up fresh data folders for the two ingest paths."""
    folder = root / scale.slug
    generated_dir = folder / "generated"
    stamp = generated_dir / "bench.json"
    info = json.loads(stamp.read_text()) if stamp.exists() else None
    if not info or info.get("target") != [scale.police_rows, scale.quarters]:
        if generated_dir.exists():
            shutil.rmtree(generated_dir)
        started = time.perf_counter()
        info = runner.call(_generate, scale, generated_dir, base.reference_dir)
        info["target"] = [scale.police_rows, scale.quarters]
        stamp.write_text(json.dumps(info))
        runner.log(f"  [{scale.label}] generated {info['police_rows']:,} police rows, {info['files']} files "
                   f"in {time.perf_counter() - started:.1f} s (not measured)")
    else:
        runner.log(f"  [{scale.label}] reusing {info['police_rows']:,} generated police rows in {generated_dir}")
    info["quarters"] = scale.quarters
    landing = generated_dir / "landing"
    for name in ("stepwise", "data"):
        _fresh_data_dir(folder / name, landing)
    shutil.rmtree(folder / "intermediate", ignore_errors=True)
    for name in ("out_duckdb", "out_postgres"):
        shutil.rmtree(folder / name, ignore_errors=True)
    work = stages.Work(
        root=folder,
        quarters=tuple(q.label for q in scale.quarter_list),
        stepwise=replace(base, data_dir=folder / "stepwise", out_dir=folder / "out_stepwise"),
        end_to_end=replace(base, data_dir=folder / "data", out_dir=folder / "out_duckdb",
                           warehouse_url=f"duckdb:///{folder / 'warehouse.duckdb'}"),
    )
    (folder / "warehouse.duckdb").unlink(missing_ok=True)
    return work, info


def _generate(scale: Scale, out_dir: Path, reference_dir: Path) -> dict:
    info = generate(scale, out_dir, reference_dir)
    info.pop("manifest")
    return info


def run_scale(scale: Scale, root: Path, base: Settings, runner: Runner,
              postgres: Postgres) -> tuple[list[StageRun], dict]:
    # "Today" is the day after the last generated quarter's deadline (as in the demo), so every
    # quarter is reportable and the analysis and reports work on the data, not on owed quarters.
    with clock.frozen(scale.quarter_list[-1].deadline + timedelta(days=1)):
        return _run_scale(scale, root, base, runner, postgres)


def _run_scale(scale: Scale, root: Path, base: Settings, runner: Runner,
               postgres: Postgres) -> tuple[list[StageRun], dict]:
    work, info = prepare(scale, root, base, runner)
    label = scale.label
    runs: list[StageRun] = []
    items = [(d, q) for q in work.quarters for d in stages.POLICE_DATASETS]
    for name, function in ((report.PARSE, stages.parse), (report.DEPERSONALISE, stages.depersonalise),
                           (report.VALIDATE, stages.validate), (report.STAGE, stages.stage)):
        runs.append(runner.measure(label, name, [(function, work, d, q) for d, q in items]))
    shutil.rmtree(work.pickles, ignore_errors=True)
    runs.append(runner.measure(label, report.INGEST, [(stages.ingest, work, d, q) for d, q in items]))
    runs.append(runner.measure(label, report.OTHERS, [(stages.ingest_others, work)]))

    duck = work.end_to_end
    runs.append(runner.measure(label, report.LOAD_DUCK, [(stages.warehouse_load, duck)]))
    runs.append(runner.measure(label, report.MODELS_DUCK, [(stages.models, duck)]))
    runs.append(runner.measure(label, report.ANALYSIS, [(stages.analysis, duck)]))
    runs.append(runner.measure(label, report.REPORTS_DUCK, [(stages.reports, duck)]))

    files = police_files(work.end_to_end.landing_dir)
    rows = info["police_rows"]
    pg_url = None
    if postgres.available:
        database = f"csp_bench_{os.getpid()}_{re.sub(r'[^a-z0-9]', '_', scale.slug)}"
        pg_url = postgres.create(database)
        pg = replace(duck, warehouse_url=pg_url, out_dir=work.root / "out_postgres")
        runs.append(runner.measure(label, report.LOAD_PG, [(stages.warehouse_load, pg)]))
        runs.append(runner.measure(label, report.MODELS_PG, [(stages.models, pg)]))
        runs.append(runner.measure(label, report.ANALYSIS_PG, [(stages.analysis, pg)]))
        runs.append(runner.measure(label, report.REPORTS_PG, [(stages.reports, pg)]))
    else:
        runs += [StageRun(label, s, skipped=postgres.reason)
                 for s in (report.LOAD_PG, report.MODELS_PG, report.ANALYSIS_PG, report.REPORTS_PG)]

    runs.append(runner.measure(label, report.RAW_DUCK, [(baselines.raw_duckdb, files, work.root / "raw.duckdb", rows)]))
    if pg_url:
        runs.append(runner.measure(label, report.RAW_PG, [(baselines.raw_postgres_copy, files, pg_url, rows)]))
        sa_url = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
        runs.append(runner.measure(label, report.NAIVE, [(baselines.naive_peer, files, sa_url, rows)]))
    else:
        runs += [StageRun(label, s, skipped=postgres.reason) for s in (report.RAW_PG, report.NAIVE)]
    return runs, info


def run(scales: list[Scale], root: Path | None = None, *, postgres_url: str | None = DEFAULT_POSTGRES,
        isolate: bool = True, dag_parse: bool = True, markdown: Path | None = None,
        command: str = "python -m csp.bench", log=print) -> dict:
    """Run the bench; returns {"runs", "scales", "generated", "dag_parse", "machine", "text"}.
    ``root`` keeps the generated returns (reused by the next run); default a temporary folder."""
    os.environ.setdefault("CSP_PSEUDONYM_KEY", BENCH_KEY)
    base = csp_settings()
    temporary = root is None
    root = Path(tempfile.mkdtemp(prefix="csp-bench-")) if temporary else Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    runner = Runner(isolate=isolate, log=log)
    postgres = Postgres(postgres_url)
    if not postgres.available:
        log(f"PostgreSQL rows skipped: {postgres.reason}")
    runs, generated = [], {}
    try:
        for scale in scales:
            log(f"scale {scale.label}: {scale.police_rows:,} police rows over {scale.quarters} quarter(s)")
            scale_runs, generated[scale.label] = run_scale(scale, root, base, runner, postgres)
            runs += scale_runs
    finally:
        postgres.close()
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    parse_times = dag_parse_times() if dag_parse else []
    sized = [(s.label, generated[s.label]["police_rows"]) for s in scales]
    machine_info = report.machine(postgres.version)
    text = report.console(runs, sized, parse_times, machine_info)
    if markdown:
        report.write_markdown(Path(markdown), report.markdown_section(
            runs, sized, parse_times, machine_info, command, generated))
    return {"runs": runs, "scales": sized, "generated": generated, "dag_parse": parse_times,
            "machine": machine_info, "text": text}


__all__ = ["Scale", "StageRun", "data_rows", "run"]
