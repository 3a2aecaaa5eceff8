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
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    Metadata,
    PokeReturnValue,
    TaskGroup,
    Param,
    task,
)

from csp.notify import AlertNotifier
from csp.registry import AUTHORITIES, DATASETS, THEMES, Dataset, datasets_of

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

DEFAULT_ARGS = {
    "owner": OWNER,
    # Retries are for transient faults (a database restarting). In-process runs (demo, tests)
    # set CSP_TASK_RETRIES=0 so a defect fails at once instead of waiting out the back-off.
    "retries": int(os.environ.get("CSP_TASK_RETRIES", "3")),
    "retry_delay": timedelta(minutes=2),
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

    @task.short_circuit(task_id="is_held", doc_md=f"""
Is **{dataset.title}** held by the {AUTHORITIES[dataset.authority].name.lower()}?
A dataset the partnership configuration (`config/area.toml`, `[not_held]`) declares not held
is recorded as such in the returns ledger and the rest of this group is skipped.""")
    def is_held(**context) -> bool:
        from csp import ingest
        from csp.config import settings

        current = settings()
        if ingest.not_held_reason(current, dataset) is None:
            return True
        ingest.record_not_held(current, dataset.id, _quarter(context))
        return False

    @task.sensor(
        task_id="wait_for_return",
        mode="reschedule",
        poke_interval=POKE_INTERVAL,
        timeout=WAIT_TIMEOUT,
        doc_md=f"""
Waits (without holding a worker slot) for the quarter's **{dataset.title}** file(s) in
`landing/{dataset.authority}/<YYYY>Q<n>/` (patterns: see docs/data-contracts/). Past the
statutory deadline (end of the following quarter) the return is recorded as not received
and the task fails, which alerts.""",
    )
    def wait_for_return(**context) -> PokeReturnValue:
        from airflow.sdk.exceptions import AirflowFailException

        from csp import clock, ingest
        from csp.config import settings

        try:
            names = ingest.poll_return(settings(), dataset.id, _quarter(context), clock.today())
        except ingest.ReturnNotReceived as missing:
            raise AirflowFailException(str(missing)) from missing
        return PokeReturnValue(is_done=names is not None, xcom_value=names)

    @task(task_id="ingest_return", outlets=[asset], doc_md=f"""
Parses the **{dataset.title}** return, depersonalises it, validates it with
`expectations/{dataset.id}.json` and stages it as the next version
(`staging/{dataset.id}/<quarter>/v<k>.parquet`, with quarantine and validation report beside it).
A rejected return fails this task at once (no retry) and alerts. The Asset event carries the return's
figures (quarter, version, rows in / loaded / quarantined). Re-running with the same files
changes nothing.""")
    def ingest_return(**context):
        from airflow.sdk.exceptions import AirflowFailException

        from csp import ingest
        from csp.config import settings
        from csp.sources import SourceError
        from csp.staging import REJECTED

        try:
            entry = ingest.ingest_return(settings(), dataset.id, _quarter(context))
        except (ingest.MultiQuarterFile, SourceError) as error:
            # Not transient: record the refusal in the ledger, fail without retry, alert.
            ingest.record_refused(settings(), dataset.id, _quarter(context), str(error))
            raise AirflowFailException(str(error)) from error
        if entry.status == REJECTED:
            # A data-quality rejection is not transient: fail now, no retry, and alert.
            raise AirflowFailException(
                f"{entry.return_id} rejected: {'; '.join(entry.failures)} "
                f"(see {entry.validation_report} beside the staged version)"
            )
        yield Metadata(asset, extra=entry.asset_extra())
        return entry.asset_extra()

    @task.short_circuit(task_id="is_supplied", doc_md=f"""
**{dataset.title}** is an extra source, not mandated by SI 2007/1831: it is ingested when the
quarter's folder holds it and otherwise skipped, never waited for and never late.""")
    def is_supplied(**context) -> bool:
        from csp import ingest
        from csp.config import settings

        return bool(ingest.return_files(settings(), dataset, _quarter(context)))

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
        doc_md=f"""
### Ingest: {authority.name}

{authority.description} Each run covers one calendar quarter (its data interval) and handles
every dataset of this authority on its own, so a missing file never holds back another:

{listing}

Per dataset: `is_held` -> `wait_for_return` -> `ingest_return`. Outputs: versioned staging
files and one Asset per dataset (`csp://staging/<dataset>`), which wakes the warehouse DAG.
Returns are due by the end of the following quarter (SI 2007/1831).
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
        default_args=DEFAULT_ARGS,
        tags=["csp", "warehouse", "reports"],
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
""",
    ) as dag:

        @task(doc_md="Load every pending (dataset, quarter) partition from staging, one transaction each.")
        def load_returns() -> list[str]:
            from csp.config import settings
            from csp.warehouse.engine import make_engine
            from csp.warehouse.load import load_returns as load

            current = settings()
            return load(make_engine(current.warehouse_url), current).loaded

        @task(doc_md="Rebuild the SQL models in `sql/` (staging -> core -> marts) in dependency order.")
        def build_models() -> list[str]:
            from csp.config import settings
            from csp.warehouse import models
            from csp.warehouse.engine import make_engine

            with make_engine(settings().warehouse_url).begin() as conn:
                return models.build(conn)

        @task(doc_md="""
Render, for the four quarters ending with the latest quarter that is complete (every held
dataset in) or past its deadline (then marked provisional, naming what is missing): the
strategic assessment, public summary and tactical assessment of every CSP served, the county
roll-up of each two-tier county, and a problem profile when the run's parameters name a theme
and area. Each report gets a PDF and a manifest; the index page lists them all; analysts are
emailed what was written when SMTP is configured (`config/analysts.toml`). A report whose
inputs (return versions, readiness, rendering code) have not changed is left alone; a
resubmission renders it again. A failure here names the report; fix and clear the task.""")
        def render_reports(**context) -> dict:
            from csp.config import settings
            from csp.reports import render_all

            params = context["params"]
            wanted = (params.get("problem_profile_theme"), params.get("problem_profile_area"))
            summary = render_all(settings(), problem_profiles=(wanted,) if all(wanted) else ())
            return {"written": [str(p) for p in summary.written],
                    "unchanged": len(summary.unchanged), "waiting": summary.waiting}

        @task(doc_md="""
Analyse the reportable year over the marts (csp.analysis.run): change tests with FDR control,
control-chart exceedances, seasonality, Gi* hotspots, harm, and the configured initiative's
displacement. Results replace the `analysis.*` tables the reports read.""")
        def run_analysis() -> dict:
            from csp.analysis.run import run_all
            from csp.config import settings

            return run_all(settings()).rows

        load_returns() >> build_models() >> run_analysis() >> render_reports()
    return dag
