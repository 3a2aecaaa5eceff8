"""Airflow housekeeping DAG: applies the retention policy (config/retention.toml) daily.
All logic lives in plugins/csp/housekeeping.py."""
from airflow.sdk import DAG, CronTriggerTimetable, Param, task

from csp.dag_factory import DEFAULT_ARGS, START, TIMEZONE
from csp.timeouts import execution_timeout

with DAG(
    dag_id="housekeeping",
    description="Apply the retention policy to landing files and quarantine reports",
    schedule=CronTriggerTimetable("30 3 * * *", timezone=TIMEZONE),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"dry_run": Param(False, type="boolean",
                             description="Log and count what would be deleted, delete nothing")},
    tags=["csp", "housekeeping", "retention"],
    doc_md="""
### Housekeeping: the retention policy

Runs daily at 03:30 (Europe/London) and applies `config/retention.toml`
(`CSP_RETENTION_FILE` to move it):

- **Landing files** (`landing/<authority>/<YYYY>Q<n>/`) are deleted `landing.days_after_staged`
  days (default 90) after they were staged, and only when the returns ledger shows them staged
  (accepted, or accepted then superseded) from exactly the bytes on disk. Rejected, refused or
  not-yet-ingested files are kept and listed in the log as "no staged version matches them":
  act on those (resubmit or remove by hand) rather than waiting for this DAG.
- **Quarantine reports** (`staging/<dataset>/<quarter>/v<k>.quarantine.csv`) are deleted
  `quarantine.days` (default 365) days after they were written. Ledger counts are kept.
- **Airflow logs** are Airflow's own (the deployment's log rotation or remote log lifecycle).

Every deletion is logged with its path and reason; the task returns the counts. To see what
a run would delete, trigger it with `{"dry_run": true}`. A failure leaves the rest for the
next day: nothing is deleted that the ledger does not account for.
""",
) as housekeeping:

    @task(execution_timeout=execution_timeout("apply_retention"),
          doc_md="""Apply the retention policy once; returns the counts deleted and kept.

If it fails: read the error in the task log (a file it could not delete, or a ledger it could
not read), fix it and clear the task. Nothing the ledger does not account for is ever deleted,
so a re-run is safe.""")
    def apply_retention(**context) -> dict:
        from csp.config import settings
        from csp.housekeeping import apply_retention as apply

        return apply(settings(), dry_run=bool(context["params"]["dry_run"])).counts()

    apply_retention()
