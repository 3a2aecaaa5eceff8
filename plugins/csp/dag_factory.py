"""Builds the Airflow DAGs from the registry: one ingest DAG per responsible authority and the
warehouse DAG. DAG files in dags/ only call these functions.

Imported at parse time: only airflow.sdk, the registry and stdlib at module level; every task
imports what it needs (pandas, duckdb...) when it runs.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import (
    DAG,
    Asset,
    AssetAny,
    AssetOrTimeSchedule,
    AsyncCallback,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeadlineAlert,
    DeadlineReference,
    Metadata,
    Param,
    PokeReturnValue,
    TaskGroup,
    task,
)

from csp.legislation import PRESCRIBED_INFORMATION
from csp.notify import AlertNotifier
from csp.registry import AUTHORITIES, DATASETS, THEMES, Dataset, datasets_of
from csp.timeouts import execution_timeout

TIMEZONE = "Europe/London"
# Runs for quarter Q start when Q ends; its data interval is the quarter itself.
QUARTERLY = "0 0 1 1,4,7,10 *"
# Every quarter boundary is the statutory deadline of the quarter before last.
DEADLINES = "0 6 1 1,4,7,10 *"
START = pendulum.datetime(2020, 1, 1, tz=TIMEZONE)
OWNER = "community-safety-data"
POKE_INTERVAL = timedelta(hours=6)
# The wait ends at the statutory deadline (poll_return records "not received" and fails), at
# most ~92 days after a run starts; the sensor timeout only guards against a run that outlives
# that by far (Airflow's default of 7 days would cut every late-but-legal return short).
WAIT_TIMEOUT = timedelta(days=200)

# DAG deadline alerts (Airflow Deadline Alerts, run by the triggerer). A scheduled authority run
# is dated at its quarter's start (the data interval start), and the quarter's statutory
# deadline ends at most 184 days later (Q3: 1 July to the end of 31 December), so its cycle is
# overdue CYCLE_GRACE_DAYS after the deadline (up to three days more for the shorter quarters).
# By then the wait has failed any missing return, so a run still unfinished (or failed and not
# yet cleared) means the quarter's figures are stuck.
QUARTER_START_TO_DEADLINE = timedelta(days=184)
CYCLE_GRACE = timedelta(days=int(os.environ.get("CSP_CYCLE_GRACE_DAYS", "7")))
# The warehouse's scheduled run is dated at the statutory deadline (06:00 the day after it):
# the quarter's marts and reports are overdue REPORTS_GRACE later. Asset-triggered runs have
# no logical date and get no deadline (Airflow logs that it skipped it).
REPORTS_GRACE = timedelta(days=int(os.environ.get("CSP_REPORTS_GRACE_DAYS", "2")))


# Attached only when CSP_DEADLINE_ALERTS=on (the deployment sets it): Airflow 3.3.2's dag.test()
# cannot finish a successful run of a DAG with a deadline (its in-memory DAG holds the alert
# definitions where DagRun.update_state expects their database ids), and the in-process runner
# (csp.runner: demo, tests, history) runs the DAGs with dag.test().
DEADLINE_ALERTS_ENV = "CSP_DEADLINE_ALERTS"


def deadline_alerts_enabled() -> bool:
    return os.environ.get(DEADLINE_ALERTS_ENV, "off").strip().lower() in ("on", "true", "1")


def deadline_alert(name: str, interval: timedelta, message: str) -> DeadlineAlert | None:
    if not deadline_alerts_enabled():
        return None
    return DeadlineAlert(
        name=name,
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=interval,
        # The notifier class itself: the triggerer builds it with these kwargs and the run's
        # context and awaits it (csp.notify: logs, then CSP_NOTIFIER's channel).
        callback=AsyncCallback(AlertNotifier, kwargs={"message": message}),
    )


ON_FAILURE = """
**If it fails** the alert (log, and email per `CSP_NOTIFIER`) names the DAG, task, run and error.
"""

# The Celery queue of the warehouse DAG's tasks, served by one worker only
# (docker-compose.yaml: airflow-warehouse-worker): the one writer to the warehouse is a matter
# of configuration, not of luck. Every other task goes to Airflow's default queue.
WAREHOUSE_QUEUE = "warehouse"

DEFAULT_ARGS = {
    "owner": OWNER,
    # Retries are for transient faults (a database restarting, a worker lost). In-process runs
    # (demo, tests) set CSP_TASK_RETRIES=0 so a defect fails at once instead of waiting out the
    # back-off; the Celery test shortens the first delay (CSP_TASK_RETRY_DELAY_SECONDS).
    "retries": int(os.environ.get("CSP_TASK_RETRIES", "3")),
    "retry_delay": timedelta(seconds=int(os.environ.get("CSP_TASK_RETRY_DELAY_SECONDS", "120"))),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "on_failure_callback": AlertNotifier(),
}


def dataset_asset(dataset: Dataset) -> Asset:
    return Asset(name=dataset.id, uri=dataset.asset_uri, group="csp-returns")


def _quarter(context):
    from csp.quarters import Quarter

    start = context["data_interval_start"].in_timezone(TIMEZONE)
    return Quarter.of(start.date())


def _dataset_tasks(dataset: Dataset) -> None:
    """is_held -> wait_for_return -> ingest_return for a mandated dataset (is_supplied ->
    ingest_return for an extra source), each dataset independent of the others."""
    asset = dataset_asset(dataset)

    @task.short_circuit(task_id="is_held", execution_timeout=execution_timeout("is_held"), doc_md=f"""
Is **{dataset.title}** held by the {AUTHORITIES[dataset.authority].name.lower()}?
A dataset the partnership configuration (`config/area.toml`, `[not_held]`) declares not held
is recorded as such in the returns ledger and the rest of this group is skipped (skipped is
expected then, not an error).
{ON_FAILURE}It reads `config/area.toml` and writes `staging/{dataset.id}/<quarter>/status.json`:
a failure is a configuration or disk problem (the log names it). Fix it and clear the task.""")
    def is_held(**context) -> bool:
        from csp import ingest
        from csp.config import settings
        from csp.provenance import task_provenance

        current = settings()
        if ingest.not_held_reason(current, dataset) is None:
            return True
        ingest.record_not_held(current, dataset.id, _quarter(context), provenance=task_provenance(context))
        return False

    @task.sensor(
        task_id="wait_for_return",
        mode="reschedule",
        poke_interval=POKE_INTERVAL,
        timeout=WAIT_TIMEOUT,
        execution_timeout=execution_timeout("wait_for_return"),  # each poke
        doc_md=f"""
Waits (without holding a worker slot) for the quarter's **{dataset.title}** file(s) in
`landing/{dataset.authority}/<YYYY>Q<n>/` (patterns: see docs/data-contracts/). Past the
statutory deadline (end of the following quarter) the return is recorded as not received
and the task fails, which alerts: the alert names the authority, dataset, quarter, deadline
and days late. A quarter already staged whose landing files retention has since deleted
counts as landed (the ledger is checked).

**If it fails** with "not received": chase the partner. When the file comes, place it with
`csp resubmit <authority> <dataset> <quarter> <file>` (or copy it into the landing folder and clear
this task): the late return is then ingested and alerted as late. Any other failure (disk,
permissions) is retried; after the retries, fix it and clear the task. Running for weeks is
normal: the return is not due until the end of the following quarter. A landing folder that
is a symbolic link is never followed: it is recorded as refused and the task fails at once.""",
    )
    def wait_for_return(**context) -> PokeReturnValue:
        from airflow.sdk.exceptions import AirflowFailException

        from csp import clock, ingest
        from csp.config import settings
        from csp.provenance import task_provenance

        from csp.safe_paths import RefusedFile

        try:
            names = ingest.poll_return(settings(), dataset.id, _quarter(context), clock.today(),
                                       provenance=task_provenance(context))
        except ingest.ReturnNotReceived as missing:
            raise AirflowFailException(str(missing)) from missing
        except RefusedFile as refused:  # a landing folder that is a link: never followed
            ingest.record_refused(settings(), dataset.id, _quarter(context), str(refused),
                                  provenance=task_provenance(context))
            raise AirflowFailException(str(refused)) from refused
        return PokeReturnValue(is_done=names is not None, xcom_value=names)

    @task(task_id="ingest_return", outlets=[asset], execution_timeout=execution_timeout("ingest_return"),
          doc_md=f"""
Parses the **{dataset.title}** return, depersonalises it, validates it with
`expectations/{dataset.id}.json` and stages it as the next version
(`staging/{dataset.id}/<quarter>/v<k>.parquet`, with quarantine and validation report beside it).
The ledger entry records which run, task, try, host, OS user and code version staged it. The
Asset event carries the return's figures (authority, dataset, quarter, version, status, rows
in / loaded / quarantined, received_at, days_late). A return received after its statutory
deadline is staged as usual and alerted as late (a warning, not a failure). Re-running with
the same files changes nothing.

**If it fails**, the error says which of these it is:
- *rejected* (validation failed, or most rows quarantined): no retry. Open the validation
  report named in the error and the quarantine report (`v<k>.quarantine.csv`, beside it),
  send the findings to the partner, then place the corrected file with `csp resubmit`;
- *refused* (unreadable file, wrong format, a file covering several quarters, a link, FIFO,
  device or sparse file in the landing folder, or a file beyond its format's limits in
  `config/limits.toml`): no retry, recorded in the ledger with the rule; a multi-quarter file
  is loaded with `csp history <file>`, otherwise remove the entry and place a corrected file;
- *pseudonymisation key* not the current generation: the deployment runs with a retired key
  (see docs/operations.md, key rotation); fix `CSP_PSEUDONYM_KEY` and clear the task;
- anything else (disk, memory) is retried; after the retries, fix it and clear the task.""")
    def ingest_return(**context):
        from airflow.sdk.exceptions import AirflowFailException

        from csp import ingest
        from csp.config import settings
        from csp.key_generations import KeyRotationError
        from csp.notify import alert_late_return
        from csp.provenance import task_provenance

        try:
            received = ingest.receive_return(settings(), dataset.id, _quarter(context),
                                             provenance=task_provenance(context))
        except (KeyRotationError, ingest.ReturnRefused, ingest.ReturnRejected) as error:
            raise AirflowFailException(str(error)) from error  # not transient: no retry, alert
        if received.late:
            alert_late_return(received.late, context)
        yield Metadata(asset, extra=received.entry.asset_extra())
        return received.entry.asset_extra()

    @task.short_circuit(task_id="is_supplied", execution_timeout=execution_timeout("is_supplied"), doc_md=f"""
**{dataset.title}** is an extra source, not mandated by {PRESCRIBED_INFORMATION.short}: it is ingested when the
quarter's folder holds it and otherwise skipped, never waited for and never late (skipped is
expected when nothing was sent).
{ON_FAILURE}It only lists the landing folder: a failure is a disk or permission problem. Fix
it and clear the task.""")
    def is_supplied(**context) -> bool:
        from csp import ingest
        from csp.config import settings
        from csp.safe_paths import RefusedFile

        try:
            return bool(ingest.return_files(settings(), dataset, _quarter(context)))
        except RefusedFile:
            return True  # a folder that is a link: ingest_return refuses it and records why

    if dataset.mandated:
        is_held() >> wait_for_return() >> ingest_return()
    else:
        is_supplied() >> ingest_return()


def authority_dag(authority_id: str) -> DAG:
    authority = AUTHORITIES[authority_id]
    datasets = datasets_of(authority_id)
    listing = "\n".join(
        f"- {d.number}. {d.title} (`{d.id}`)" if d.mandated else f"- extra source: {d.title} (`{d.id}`)"
        for d in datasets
    )
    with DAG(
        dag_id=f"ingest_{authority_id}",
        description=f"Quarterly statutory returns from {authority.name.lower()}",
        schedule=CronDataIntervalTimetable(QUARTERLY, timezone=TIMEZONE),
        start_date=START,
        catchup=False,
        max_active_runs=4,
        default_args=DEFAULT_ARGS,
        tags=["csp", "ingest", authority_id],
        deadline=deadline_alert(
            "quarter cycle overdue", QUARTER_START_TO_DEADLINE + CYCLE_GRACE,
            f"ingest_{authority_id}: the quarter's cycle is not complete "
            f"{CYCLE_GRACE.days} days after the statutory deadline"),
        doc_md=f"""
### Ingest: {authority.name}

{authority.description} Each run covers one calendar quarter (its data interval) and handles
every dataset of this authority on its own, so a missing file never holds back another:

{listing}

Per dataset: `is_held` -> `wait_for_return` -> `ingest_return`. Outputs: versioned staging
files and one Asset per dataset (`csp://staging/<dataset>`), which wakes the warehouse DAG.
Returns are due by the end of the following quarter ({PRESCRIBED_INFORMATION.short}).

**Monitoring.** A failed task alerts (log; email to the `[alerts]` list of
`config/analysts.toml` when the SMTP connection exists; `CSP_NOTIFIER` chooses). A return
received after its deadline is alerted as late; one still missing at the deadline fails its
`wait_for_return` and alerts. With `CSP_DEADLINE_ALERTS=on` a deadline alert fires when a
quarter's run has not completed successfully {CYCLE_GRACE.days} days after the statutory
deadline (`CSP_CYCLE_GRACE_DAYS`).

**What to do.** Read the failed task's doc and log. Data problems (rejected, refused, not
received) are fixed by the partner's corrected file, placed with `csp resubmit <authority> <dataset>
<quarter> <file>`, which triggers a new run for that quarter; infrastructure problems are
fixed, then the failed task is cleared (the rest of the run is unaffected: each dataset is
independent). `csp status` shows every return's state.
""",
    ) as dag:
        for dataset in datasets:
            with TaskGroup(group_id=dataset.id, tooltip=dataset.title):
                _dataset_tasks(dataset)
    return dag


def warehouse_dag() -> DAG:
    assets = [dataset_asset(d) for d in DATASETS.values()]
    with DAG(
        dag_id="warehouse",
        description="Load accepted returns, build the models and render the reports",
        schedule=AssetOrTimeSchedule(
            timetable=CronTriggerTimetable(DEADLINES, timezone=TIMEZONE),
            assets=AssetAny(*assets),
        ),
        start_date=START,
        catchup=False,
        max_active_runs=1,  # DuckDB allows one writing process: this DAG is the only writer
        default_args={**DEFAULT_ARGS, "queue": WAREHOUSE_QUEUE},
        tags=["csp", "warehouse", "reports"],
        deadline=deadline_alert(
            "quarter reports overdue", REPORTS_GRACE,
            f"warehouse: the deadline run's marts and reports are not complete "
            f"{REPORTS_GRACE.days} days after the statutory deadline"),
        params={
            # A problem profile is rendered only when asked for: trigger the DAG with both set.
            "problem_profile_theme": Param(None, type=["null", "string"], enum=[None, *THEMES],
                                           description="theme of a problem profile to render"),
            "problem_profile_area": Param(None, type=["null", "string"],
                                          description="CSP or ward code of the problem profile's area"),
        },
        doc_md="""
### Warehouse and reports

Woken by any dataset Asset (a return was staged) and at each statutory deadline. What to
load is decided from the returns ledger, not from the events: every (dataset, quarter)
whose newest accepted version is not yet in the warehouse is loaded, replacing exactly that
partition. Then the SQL models in `sql/` are rebuilt (staging -> core -> marts), the analysis
is run over the marts (`analysis.*`) and the reports are rendered to the output folder.
""" + f"""
**Monitoring.** A failed task alerts (log, email per `CSP_NOTIFIER`). With
`CSP_DEADLINE_ALERTS=on` the run at each statutory deadline carries a deadline alert: its
marts and reports must be complete {REPORTS_GRACE.days} days later (`CSP_REPORTS_GRACE_DAYS`).

**What to do.** Every task is safe to re-run: clear the failed task (and those after it). A
database that is down is retried with back-off. `staging.loaded_returns` records which run,
host and code version loaded each partition; `marts.return_quality` shows it per return.
""",
    ) as dag:

        @task(execution_timeout=execution_timeout("load_returns"), doc_md="""
Load every pending (dataset, quarter) partition from staging (the newest accepted version not
yet in the warehouse), one transaction each, recording in `staging.loaded_returns` when, by
which run, on which host and with which code version.

**If it fails**: a database that is down is retried with back-off; after the retries, check
the warehouse connection (`CSP_WAREHOUSE_URL`) and clear the task. A failure naming a
partition (an unreadable parquet file) leaves the partitions loaded before it in place: fix or
re-stage that return and clear the task; nothing is loaded twice.""")
        def load_returns(**context) -> list[str]:
            from csp.config import settings
            from csp.provenance import task_provenance
            from csp.warehouse.engine import make_engine
            from csp.warehouse.load import load_returns as load

            current = settings()
            return load(make_engine(current.warehouse_url), current,
                        provenance=task_provenance(context)).loaded

        @task(execution_timeout=execution_timeout("build_models"), doc_md="""
Rebuild the SQL models in `sql/` (staging -> core -> marts) in dependency order, in one
transaction (on PostgreSQL the roles and row-level policies are applied in it too).

**If it fails** the error names the model: an SQL error after a change to `sql/` is fixed in
the model and the task cleared; nothing is half-built (the transaction rolls back).""")
        def build_models() -> list[str]:
            from csp.config import settings
            from csp.warehouse import models
            from csp.warehouse.engine import make_engine

            with make_engine(settings().warehouse_url).begin() as conn:
                return models.build(conn)

        @task(execution_timeout=execution_timeout("render_reports"), doc_md="""
Render, for the four quarters ending with the latest quarter that is complete (every held
dataset in) or past its deadline (then marked provisional, naming what is missing): the
strategic assessment, public summary and tactical assessment of every CSP served, the county
roll-up of each two-tier county, and a problem profile when the run's parameters name a theme
and area. Each report gets a PDF and a manifest; the index page lists them all; analysts are
emailed what was written when SMTP is configured (`config/analysts.toml`). A report whose
inputs (return versions, readiness, rendering code) have not changed is left alone; a
resubmission renders it again.

**If it fails** the error names the report: a template or data problem is fixed and the task
cleared (reports already written are left alone). To render one report on demand, use
`csp report`; a problem profile is rendered by triggering this DAG with both parameters.""")
        def render_reports(period: dict | None, **context) -> dict:
            from csp.config import settings
            from csp.reports import render_all
            from csp.warehouse.period import Period

            params = context["params"]
            wanted = (params.get("problem_profile_theme"), params.get("problem_profile_area"))
            summary = render_all(settings(), problem_profiles=(wanted,) if all(wanted) else (),
                                 period=Period.from_xcom(period) if period else None)
            return {"written": [str(p) for p in summary.written],
                    "unchanged": len(summary.unchanged), "waiting": summary.waiting}

        @task(execution_timeout=execution_timeout("run_analysis"), doc_md="""
Analyse the reportable year over the marts (csp.analysis.run): change tests with FDR control,
control-chart exceedances, seasonality, Gi* hotspots, harm, and the configured initiative's
displacement. Results replace the `analysis.*` tables the reports read.

**If it fails** the error names the analysis: too little data for a quarter is reported, not
raised, so a failure is a defect or a database problem. The reports keep the previous
analysis until this succeeds: fix and clear the task.""")
        def run_analysis(period: dict | None) -> dict:
            from csp.analysis.run import run_all
            from csp.config import settings
            from csp.warehouse.period import Period

            return run_all(settings(), period=Period.from_xcom(period) if period else None).rows

        @task(execution_timeout=execution_timeout("reportable_period"), doc_md="""
Decide the reportable period once for this run (csp.warehouse.period): the four quarters ending
with the latest quarter that is complete or past its deadline, with what is missing. The
analysis and the reports both receive this decision, so they always cover the same year;
nothing (None) while no quarter is reportable.

**If it fails** the marts are missing or the database is down: clear `build_models` and this
task.""")
        def reportable_period() -> dict | None:
            from csp.config import settings
            from csp.warehouse.engine import make_engine
            from csp.warehouse.period import reportable_period as decide

            engine = make_engine(settings().warehouse_url)
            with engine.connect() as conn:
                period = decide(conn)
            engine.dispose()
            return period.to_xcom() if period else None

        period = reportable_period()
        analysis = run_analysis(period)
        load_returns() >> build_models() >> period
        analysis >> render_reports(period)
    return dag
