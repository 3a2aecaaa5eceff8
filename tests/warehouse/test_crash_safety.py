"""Crash safety: a process killed with SIGKILL at the worst moment loses and duplicates
nothing once the work is re-run.

- The warehouse load (``csp.warehouse.load.load_returns``) is killed inside its transactions,
  on DuckDB and on PostgreSQL: during the ledger mirror, during the first partition's insert,
  and during the second partition's insert after the first was committed. Before the re-run
  the warehouse is consistent (no half partition); after it, every staging and reference
  table equals that of an uninterrupted load.
- The staging write (``csp.ingest.ingest_return``) is killed after the parquet file is
  written but before it is renamed into place, and between the parquet file and the ledger
  entry that commits the version. Before the re-run nothing of it is visible in the ledger (so
  nothing is loadable); after it, the staged files and ledger equal an uninterrupted run's.
- A database that is down when the load starts fails with a transient error (Airflow retries
  the task with exponential back-off: checked on the real warehouse DAG) and the retry
  succeeds once it is back: a TCP proxy to PostgreSQL that refuses, then forwards.
- Two authority ingests at the same moment, in two processes, into one staging folder: both
  complete, equal to one-at-a-time runs.

Each crash point is one child process that kills itself at that point (a hook installed in the
child only); the count of crash points tested and survived is printed at the end.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from csp.quarters import Quarter

pytestmark = pytest.mark.slow
Q = Quarter(2024, 1)
POLICE = ("police_crimes", "police_incidents")
COUNCIL = ("council_asb", "racial_incidents", "school_exclusions")
DATASETS_STAGED = POLICE + COUNCIL
SURVIVED: list[str] = []
# Audit columns that say when / which run did the work: they differ between any two runs.
VOLATILE = {"loaded_by_run", "run_id", "try_number", "dag_id", "task_id"}


@pytest.fixture(scope="module", autouse=True)
def report_crash_points(request):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nCrash points tested and survived: {len(SURVIVED)}")
        for point in SURVIVED:
            print(f"  {point}")


# --- a partnership's quarter, staged once -----------------------------------------------------


def environment(data_dir: Path, warehouse_url: str | None = None) -> dict[str, str]:
    env = {**os.environ, "CSP_DATA_DIR": str(data_dir), "CSP_OUT_DIR": str(data_dir / "out")}
    env.pop("CSP_WAREHOUSE_URL", None)
    if warehouse_url:
        env["CSP_WAREHOUSE_URL"] = warehouse_url
    return env


def copy_landing(source: Path, data_dir: Path) -> Path:
    """The same return files (times included: received_at comes from them)."""
    shutil.copytree(source / "landing", data_dir / "landing", copy_function=shutil.copy2)
    return data_dir


def ingest_in_process(data_dir: Path, datasets) -> None:
    from csp.config import settings
    from csp.ingest import ingest_return

    saved = {k: os.environ.get(k) for k in ("CSP_DATA_DIR", "CSP_OUT_DIR", "CSP_WAREHOUSE_URL")}
    os.environ.update({k: v for k, v in environment(data_dir).items() if k in saved})
    os.environ.pop("CSP_WAREHOUSE_URL", None)
    try:
        for dataset in datasets:
            assert ingest_return(settings(), dataset, Q).status == "accepted", dataset
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="module")
def partnership(tmp_path_factory) -> Path:
    """Synthetic returns of one quarter (landing only)."""
    from csp.synth import generate

    root = tmp_path_factory.mktemp("partnership")
    generate(root, seed=5, first_quarter=Q, quarters=1, scale=0.1)
    return root


@pytest.fixture(scope="module")
def staged(partnership, tmp_path_factory) -> Path:
    """The reference: every dataset staged one at a time, uninterrupted."""
    data_dir = copy_landing(partnership, tmp_path_factory.mktemp("reference"))
    ingest_in_process(data_dir, DATASETS_STAGED)
    return data_dir


def run_child(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=300)


def assert_killed(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-2000:])


# --- warehouse load ---------------------------------------------------------------------------

LOAD_CHILD = """
    import os, signal
    import csp.warehouse.load as load
    from csp.config import settings
    from csp.registry import DATASETS
    from csp.warehouse.engine import make_engine

    point, calls = os.environ["CSP_TEST_KILL_AT"], []
    insert = load.bulk_insert

    def bulk_insert_then_die(conn, table, data):
        insert(conn, table, data)  # the rows are in, the transaction not committed
        if table == load.LEDGER_TABLE:
            calls.append("ledger")
        elif table.split(".")[-1] in DATASETS:
            calls.append(f"partition {sum(c.startswith('partition') for c in calls) + 1}")
        if calls and calls[-1] == point:
            os.kill(os.getpid(), signal.SIGKILL)

    load.bulk_insert = bulk_insert_then_die
    load.load_returns(make_engine(settings().warehouse_url), settings())
    raise SystemExit("the kill point was never reached: " + point)
"""
LOAD_POINTS = ("ledger", "partition 1", "partition 2")


def load(data_dir: Path, url: str) -> None:
    from csp.warehouse.engine import make_engine
    from csp.warehouse.load import load_returns

    saved = os.environ.get("CSP_DATA_DIR")
    os.environ["CSP_DATA_DIR"] = str(data_dir)
    try:
        from csp.config import settings

        engine = make_engine(url)
        load_returns(engine, settings())
        engine.dispose()
    finally:
        os.environ.pop("CSP_DATA_DIR") if saved is None else os.environ.__setitem__("CSP_DATA_DIR", saved)


def snapshot(url: str, schemas=("staging", "reference")) -> dict[str, pd.DataFrame]:
    """Every table of the schemas, sorted, as strings; run-audit columns left out."""
    from csp.warehouse.engine import make_engine

    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        names = conn.execute(sa.text(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN "
            f"({', '.join(repr(s) for s in schemas)})")).all()
        for schema, table in names:
            frame = pd.read_sql(sa.text(f"SELECT * FROM {schema}.{table}"), conn)
            frame = frame.drop(columns=[c for c in frame if c in VOLATILE or c.endswith("_at") or c.endswith("_host")])
            frame = frame.astype(str)
            out[f"{schema}.{table}"] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    engine.dispose()
    return out


def assert_same(got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected)
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)


def assert_consistent(url: str, committed: int) -> None:
    """After a crash: exactly the ``committed`` partitions are loaded (each partition is one
    transaction), and every partition in a staging table is one loaded_returns names: no
    half partition."""
    from csp.warehouse.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        tables = {t for (t,) in conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'"))}
        if "loaded_returns" not in tables:
            engine.dispose()
            assert committed == 0
            return  # killed before the first commit: nothing at all
        loaded = dict(conn.execute(sa.text("SELECT return_id, dataset FROM staging.loaded_returns")).all())
        assert len(loaded) == committed, loaded
        for dataset in DATASETS_STAGED:
            if dataset not in tables:
                continue
            present = dict(conn.execute(sa.text(
                f"SELECT return_id, COUNT(*) FROM staging.{dataset} GROUP BY return_id")).all())
            assert set(present) <= set(loaded), (dataset, present, loaded)
    engine.dispose()


def drop_warehouse(url: str) -> None:
    from csp.warehouse.engine import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        for schema in ("reference", "staging", "core", "marts", "analysis"):
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()


def crash_and_reload(staged: Path, url: str, expected: dict, label: str) -> None:
    for point in LOAD_POINTS:
        drop_warehouse(url)
        result = run_child(LOAD_CHILD, {**environment(staged, url), "CSP_TEST_KILL_AT": point})
        assert_killed(result)
        assert_consistent(url, committed=int(point.split()[-1]) - 1 if point.startswith("partition") else 0)
        load(staged, url)
        assert_same(snapshot(url), expected)
        SURVIVED.append(f"{label} load killed during {point} insert")


def test_warehouse_load_killed_mid_transaction_duckdb(staged, tmp_path):
    reference = f"duckdb:///{tmp_path / 'uninterrupted.duckdb'}"
    load(staged, reference)
    expected = snapshot(reference)
    assert all(len(expected[f"staging.{d}"]) > 0 for d in DATASETS_STAGED)
    crash_and_reload(staged, f"duckdb:///{tmp_path / 'crashed.duckdb'}", expected, "DuckDB")


def test_warehouse_load_killed_mid_transaction_postgres(staged, postgres_url):
    load(staged, postgres_url)
    expected = snapshot(postgres_url)
    assert all(len(expected[f"staging.{d}"]) > 0 for d in DATASETS_STAGED)
    crash_and_reload(staged, postgres_url, expected, "PostgreSQL")


# --- staging write ----------------------------------------------------------------------------

STAGE_CHILD = """
    import os, signal, types
    import csp.staging as staging
    from csp.config import settings
    from csp.ingest import ingest_return
    from csp.quarters import Quarter

    point = os.environ["CSP_TEST_KILL_AT"]
    real_pq = staging.pq

    def write_table_then_die(table, path, **kwargs):
        real_pq.write_table(table, path, **kwargs)  # the temporary file is complete, not renamed
        os.kill(os.getpid(), signal.SIGKILL)

    def die_before_ledger_entry(entry, path):
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "parquet":
        staging.pq = types.SimpleNamespace(write_table=write_table_then_die)
    else:
        staging._write_entry = die_before_ledger_entry
    ingest_return(settings(), os.environ["CSP_TEST_DATASET"], Quarter.parse("2024Q1"))
    raise SystemExit("the kill point was never reached: " + point)
"""
LEDGER_KEYS = ("authority", "dataset", "quarter", "version", "status", "due_date", "file_sha256", "files",
               "rows_in", "rows_loaded", "rows_quarantined", "rows_rejected", "rows_staged",
               "rows_out_of_scope", "rows_redacted", "notes", "failures", "validation_report")


def staged_state(data_dir: Path, dataset: str) -> dict:
    """A dataset's staged quarter: file names, parquet rows, ledger content (not its times)."""
    folder = data_dir / "staging" / dataset / Q.label
    files = sorted(p.name for p in folder.iterdir())
    entries = [{k: v for k, v in json.loads(p.read_text()).items() if k in LEDGER_KEYS}
               for p in sorted(folder.glob("v*.json")) if p.stem[1:].isdigit()]
    rows = {p.name: pq.read_table(p).to_pandas() for p in folder.glob("v*.parquet")}
    quarantine = {p.name: p.read_text() for p in folder.glob("*.quarantine.csv")}
    return {"files": files, "entries": entries, "rows": rows, "quarantine": quarantine}


def assert_same_staging(got: dict, expected: dict) -> None:
    assert got["files"] == expected["files"]
    assert got["entries"] == expected["entries"]
    assert got["quarantine"] == expected["quarantine"]
    assert got["rows"].keys() == expected["rows"].keys()
    for name in expected["rows"]:
        pd.testing.assert_frame_equal(got["rows"][name], expected["rows"][name])


@pytest.mark.parametrize("point", ["parquet", "ledger"])
def test_staging_write_killed_between_parquet_and_ledger(partnership, staged, tmp_path, point):
    from csp.staging import Staging

    dataset = "council_asb"
    data_dir = copy_landing(partnership, tmp_path)
    result = run_child(STAGE_CHILD, {**environment(data_dir), "CSP_TEST_KILL_AT": point, "CSP_TEST_DATASET": dataset})
    assert_killed(result)
    # Killed before the ledger entry: no version exists, so nothing can be loaded from it.
    assert Staging(data_dir / "staging").versions(dataset, Q) == []
    assert Staging(data_dir / "staging").ledger().empty
    ingest_in_process(data_dir, [dataset])
    assert_same_staging(staged_state(data_dir, dataset), staged_state(staged, dataset))
    where = "inside the parquet write" if point == "parquet" else "between parquet and ledger entry"
    SURVIVED.append(f"staging write killed {where}")


# --- a database that is down, then back ---------------------------------------------------------


class Proxy:
    """A TCP proxy to PostgreSQL on a fixed port: closed (connections refused) until
    ``open()``; then every connection is forwarded to 127.0.0.1:5432."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server: socket.socket | None = None

    def open(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        if self.server:
            self.server.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # accept() fails once close() has closed the server
            while True:
                client, _ = self.server.accept()
                upstream = socket.create_connection(("127.0.0.1", 5432))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the other side closed: the connection is over
            while data := source.recv(65536):
                target.sendall(data)
        target.close()


def test_the_load_task_retries_with_backoff():
    """The real warehouse DAG's load task, as a deployment builds it (no CSP_TASK_RETRIES)."""
    code = """
        from csp.dag_factory import warehouse_dag
        task = warehouse_dag().get_task("load_returns")
        print(task.retries, task.retry_exponential_backoff, task.retry_delay.total_seconds(),
              task.max_retry_delay.total_seconds())
    """
    env = {k: v for k, v in os.environ.items() if k != "CSP_TASK_RETRIES"}
    result = run_child(code, env)
    assert result.returncode == 0, result.stderr[-2000:]
    retries, backoff, delay, ceiling = result.stdout.split()[-4:]
    assert int(retries) >= 3 and backoff not in ("False", "0") and float(delay) > 0 and float(ceiling) >= float(delay)


def test_a_database_down_at_the_start_is_retried_and_loads_when_back(staged, postgres_url):
    from csp.warehouse.engine import make_engine

    load(staged, postgres_url)
    expected = snapshot(postgres_url)
    drop_warehouse(postgres_url)
    proxy = Proxy()
    through_proxy = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    try:
        with pytest.raises(sa.exc.OperationalError, match="refused|connect"):
            load(staged, through_proxy)  # first try: the database is down
        # A transient failure: the task raises, Airflow retries it (not a fail-fast rejection).
        with make_engine(postgres_url).connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM information_schema.schemata "
                                        "WHERE schema_name = 'staging'")).scalar() == 0
        proxy.open()
        load(staged, through_proxy)  # the retry: it is back
    finally:
        proxy.close()
    assert_same(snapshot(postgres_url), expected)
    SURVIVED.append("PostgreSQL down when the load starts, retried once it is back")


# --- two authorities at the same moment ---------------------------------------------------------

INGEST_CHILD = """
    import os
    from csp.config import settings
    from csp.ingest import ingest_return
    from csp.quarters import Quarter

    for dataset in os.environ["CSP_TEST_DATASETS"].split(","):
        entry = ingest_return(settings(), dataset, Quarter.parse("2024Q1"))
        print(dataset, entry.status, entry.version)
"""


def test_two_authority_ingests_at_once_do_not_interfere(partnership, staged, tmp_path):
    data_dir = copy_landing(partnership, tmp_path)
    children = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(INGEST_CHILD)],
                                 env={**environment(data_dir), "CSP_TEST_DATASETS": ",".join(group)},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for group in (POLICE, COUNCIL)]
    outputs = [child.communicate(timeout=300) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err[-2000:]
    printed = sorted(line for out, _ in outputs for line in out.splitlines())
    assert printed == sorted(f"{d} accepted 1" for d in DATASETS_STAGED)
    for dataset in DATASETS_STAGED:
        assert_same_staging(staged_state(data_dir, dataset), staged_state(staged, dataset))
    SURVIVED.append("two authority ingests at the same moment into one staging folder")
