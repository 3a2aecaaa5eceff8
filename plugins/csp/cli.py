"""The operator's command line: csp init, history, run, status, resubmit, report, synth and demo.

Exit codes: 0 success, 1 a pipeline run failed or a return was rejected, 2 usage error (each command
details its own in --help).
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

from csp.config import PROJECT_DIR, Settings, settings
from csp.quarters import Quarter
from csp.registry import AUTHORITIES, THEMES

DEFAULT_SEED = 2026


def ensure_demo_key(current: Settings) -> None:
    """The demo's pseudonymisation key: a local file, created once. Production sets the key
    through an Airflow connection or the environment instead."""
    if os.environ.get("CSP_PSEUDONYM_KEY") or os.environ.get("CSP_PSEUDONYM_KEY_FILE"):
        return
    key_file = current.data_dir / "pseudonym.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
        print(f"Created a local pseudonymisation key for the demo: {key_file}")
    os.environ["CSP_PSEUDONYM_KEY_FILE"] = str(key_file)


def cmd_synth(args: argparse.Namespace) -> int:
    from csp.synth import generate

    manifest = generate(
        args.out,
        seed=args.seed,
        first_quarter=Quarter.parse(args.first_quarter),
        quarters=args.quarters,
        signals=not args.no_signals,
        police_format=args.police_format,
    )
    print(f"Wrote {len(manifest['quarters'])} quarters of returns to {args.out / 'landing'}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from csp import area_setup

    current = settings()
    if args.list:
        for code, name in area_setup.force_areas(current.reference_dir).items():
            print(f"{code}  {name}")
        return 0
    if not args.police_force_area:
        print("csp init: --police-force-area is required (`csp init --list` lists the codes)", file=sys.stderr)
        return 2
    try:
        choice = area_setup.choose(current.reference_dir, args.police_force_area,
                                   args.partnerships, args.county)
    except area_setup.AreaRefused as refused:
        print(f"csp init: {refused}", file=sys.stderr)
        return 2
    try:
        replaced = area_setup.write_area_file(current.area_file, area_setup.area_file_text(choice), force=args.force)
    except FileExistsError:
        print(f"csp init: {current.area_file} already describes another area; add --force to replace "
              f"it, or set CSP_AREA_FILE to write a new file", file=sys.stderr)
        return 2
    print(f"Police force area {choice.police_force_area} ({choice.force_name}): "
          f"{len(choice.partnerships)} partnership{'s' if len(choice.partnerships) != 1 else ''}")
    for p in choice.partnerships:
        tier = f"county {p.county_code} {p.county_name}" if p.county_code else "unitary"
        print(f"  {p.code}  {p.name:<32} districts {', '.join(p.districts)}  ({tier})")
    if choice.county:
        print(f"County strategy group: {choice.county[0]} ({choice.county[1]})")
    else:
        print("County strategy group: none (no single two-tier county among the partnerships)")
    print(f"{'Replaced' if replaced else 'Wrote'} {current.area_file}: declare datasets an authority does "
          f"not hold under [not_held].")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from csp.history import load_history

    try:
        # Absolute, not resolved: a link given (or met) is refused, never read as its target.
        entries = load_history(settings(), [Path(os.path.abspath(path)) for path in args.files])
    except ValueError as refused:  # includes SourceError: the message names file and rule
        print(f"csp history: {refused}", file=sys.stderr)
        return 1
    for entry in entries:
        print(f"{entry.quarter}  {entry.dataset:<26} v{entry.version}  {entry.status:<9} "
              f"in {entry.rows_in:>7,}  loaded {entry.rows_loaded:>7,}  quarantined {entry.rows_quarantined:>6,}")
    return 0 if all(e.status == "accepted" for e in entries) else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from csp.synth import generate

    current = settings()
    started = time.monotonic()
    for stale in (current.landing_dir, current.staging_dir, current.out_dir):
        shutil.rmtree(stale, ignore_errors=True)
    if current.warehouse_url.startswith("duckdb:///"):  # the demo's embedded warehouse only
        Path(current.warehouse_url.removeprefix("duckdb:///")).unlink(missing_ok=True)
    ensure_demo_key(current)

    print(f"Generating the synthetic partnership (seed {args.seed}) in {current.data_dir} ...")
    manifest = generate(current.data_dir, seed=args.seed, quarters=args.quarters)
    quarters = [Quarter.parse(q) for q in manifest["quarters"]]
    # The synthetic partnership's "today": the day after its last quarter's deadline, so every
    # return has had its chance and none of the real calendar's later quarters is owed yet.
    os.environ.setdefault("CSP_TODAY", (quarters[-1].deadline + timedelta(days=1)).isoformat())
    print(f"As of {os.environ['CSP_TODAY']} (CSP_TODAY).")

    from csp.runner import DagRunner, configure_airflow

    configure_airflow(Path(os.environ.get("AIRFLOW_HOME", PROJECT_DIR / ".airflow")))
    print(f"Running the DAGs for {quarters[0]}..{quarters[-1]} in-process (dag.test):")
    results = run_with_progress(DagRunner(), quarters)
    failed = [r for r in results if r.state != "success"]

    reports = sorted(path for path in current.out_dir.glob("*/*/*.html"))
    print(f"\nWarehouse: {current.warehouse_url}")
    print(f"Reports ({len(reports)} HTML, each with its PDF) in {current.out_dir}:")
    for kind in sorted({path.parent.parent.name for path in reports}):
        mine = [path for path in reports if path.parent.parent.name == kind]
        print(f"  {kind:<15} {len(mine)} in {mine[0].parent}")
    print(f"Open {current.out_dir / 'index.html'} for the list of every report.")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    if failed:
        print(f"FAILED runs: {failed}", file=sys.stderr)
        return 1
    return 0


def run_with_progress(runner, quarters: list[Quarter]):
    """The demo's cycle (every authority DAG per quarter, then the warehouse) under a progress
    bar; each run's line is printed above it. The bar is off when output is not a terminal."""
    from tqdm import tqdm

    with tqdm(total=len(quarters) * len(AUTHORITIES) + 1, unit="run", disable=None) as bar:
        def progress(line: str) -> None:
            bar.update()
            bar.write(line)

        return runner.run_cycle(quarters, progress=progress)


def use_local_airflow() -> None:
    """Outside a deployment (no AIRFLOW_HOME), read the demo's Airflow home, as `csp demo` does."""
    os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_DIR / ".airflow"))


STATUS_EXIT = 1  # some return needs action
STATUS_UNREADABLE = 3


def cmd_status(args: argparse.Namespace) -> int:
    from csp import status

    current = settings()
    try:
        report = status.compliance(current.warehouse_url)
    except status.WarehouseUnavailable as unavailable:
        print(f"csp status: {unavailable}", file=sys.stderr)
        return STATUS_UNREADABLE
    if args.last:
        report = report.last(args.last)
    action = report.needs_action
    if args.format == "csv":
        from csp import csv_safety

        csv_safety.neutralise(report.matrix).to_csv(sys.stdout, index=False)
        return STATUS_EXIT if len(action) else 0

    quarters = sorted(report.matrix["quarter"].unique())
    print(f"Compliance matrix as of {report.as_of}: {len(report.matrix)} returns owed over "
          f"{len(quarters)} quarters ({quarters[0] if quarters else '-'}..{quarters[-1] if quarters else '-'})")
    if len(report.matrix):
        print(report.grid_text())
    print("\n" + ", ".join(f"{state} {count}" for state, count in report.counts().items()))
    if len(action):
        print(f"\nNeeds action ({len(action)}):")
        for row in action.itertuples():
            print(f"  {row.quarter}  {row.authority:<16} {row.dataset:<26} {row.state:<13} due {row.due_date}")
    else:
        print("Every return due is in.")

    if not args.no_runs:
        print_latest_runs(status)
    return STATUS_EXIT if len(action) else 0


def print_latest_runs(status) -> None:
    use_local_airflow()
    try:
        runs = status.latest_runs()
    except ConnectionError as unreachable:
        print(f"\nLatest runs: not shown ({unreachable}).")
        return
    print(f"\nLatest runs (Airflow metadata database {status.metadata_database()}):")
    for run in runs:
        if run.run_id is None:
            print(f"  {run.dag_id:<24} no runs yet")
            continue
        finished = f"finished {run.end_date:%Y-%m-%d %H:%M} UTC" if run.end_date else "not finished"
        print(f"  {run.dag_id:<24} {run.state:<8} {run.quarter or '':<7} {run.run_id}  {finished}")


def cmd_resubmit(args: argparse.Namespace) -> int:
    from csp import resubmit

    try:
        dataset, quarter = resubmit.check_request(args.authority, args.dataset, args.quarter, args.files)
    except ValueError as refused:  # ResubmissionRefused, or a malformed quarter label
        print(f"csp resubmit: {refused}", file=sys.stderr)
        return 2
    try:
        placement = resubmit.place_files(settings(), dataset, quarter, args.files)
    except ValueError as refused:  # a file refused while copied (limits, links): nothing placed
        print(f"csp resubmit: {refused}", file=sys.stderr)
        return 2
    for path in placement.set_aside:
        print(f"set aside  {path}")
    for path in placement.placed:
        print(f"placed     {path}")
    if placement.also_read_by:
        print(f"These files also feed {', '.join(placement.also_read_by)}: the run re-stages them too.")
    if args.no_trigger:
        print(f"Not triggered: ingest_{dataset.authority} stages the corrected return at its next run for {quarter}.")
        return 0
    use_local_airflow()
    from airflow.exceptions import AirflowException
    from sqlalchemy.exc import SQLAlchemyError

    note = f"csp resubmit: corrected {dataset.id} return for {quarter}"
    try:
        run_id = resubmit.trigger_authority_dag(dataset.authority, quarter, note)
    except (AirflowException, SQLAlchemyError, ValueError) as failed:
        # DAG not parsed yet, metadata database unreachable, manual runs not allowed: the
        # files are placed either way, so say so.
        print(f"csp resubmit: the files are in {placement.folder}, but ingest_{dataset.authority} "
              f"could not be triggered: {failed}. Trigger it from the Airflow UI, or run this "
              f"command again when Airflow is reachable (unchanged files are not staged twice).",
              file=sys.stderr)
        return 1
    print(f"Triggered ingest_{dataset.authority} for {quarter}: run {run_id}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from csp.reports import render_report

    try:
        written = render_report(settings(), kind=args.kind, partnership=args.partnership,
                                theme=args.theme, area=args.area)
    except (ValueError, LookupError) as refused:
        print(f"csp report: {refused}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    from csp.depersonalise import pseudonym_key
    from csp.key_rotation import KeyRotationError, current_fingerprint, key_fingerprint, rotate_key

    # Keys come from files, never the command line: argv is visible to every user of the host.
    old_key, new_key = (path.read_bytes().strip() for path in (args.old_key_file, args.new_key_file))
    current = settings()
    try:
        # Before the first rotation no generation is recorded, so the key ingest is configured
        # with is the only evidence of which key the stored pseudonyms were made with.
        if (current_fingerprint(current.staging_dir) is None
                and key_fingerprint(pseudonym_key()) != key_fingerprint(old_key)):
            raise KeyRotationError("the old key is not the key ingest is configured with "
                                   "(CSP_PSEUDONYM_KEY / CSP_PSEUDONYM_KEY_FILE / connection csp_pseudonym_key)")
        summary = rotate_key(current, old_key, new_key)
    except KeyRotationError as refused:
        print(f"csp rotate-key: {refused}", file=sys.stderr)
        return 1
    print(f"Pseudonymisation key generation {summary.generation} ({summary.new_fingerprint}): "
          f"{summary.files_rekeyed} staging files re-keyed ({summary.files_already_rekeyed} already done), "
          f"{summary.warehouse_pseudonyms} warehouse pseudonyms in {len(summary.warehouse_columns)} columns.")
    print("Now install the new key where ingest reads it and destroy the old one (docs/operations.md).")
    return 0


INIT_EPILOG = """Writes CSP_AREA_FILE (default config/area.toml) from the ONS lookups in the
reference data, and prints the partnerships, their districts and the county it found.

exit codes:
  0  area file written
  2  usage error: an unknown code, a partnership outside the force area, a county that is not
     the county of a partnership served, or an area file for another area (without --force)"""

STATUS_EPILOG = """exit codes:
  0  every return that is due is in (on time or late) or not held
  1  some return needs action: past its deadline and not received, or rejected
  2  usage error
  3  the compliance matrix cannot be read (no warehouse yet, or it is unreachable)

The matrix is read from marts.compliance_matrix (as of the warehouse's last build); the
latest runs from Airflow's metadata database through Airflow's ORM (airflow.models.DagRun),
when it is reachable. Exit codes consider the quarters shown."""

RESUBMIT_EPILOG = """The files replace the dataset's current files in landing/<authority>/<quarter>/
(those are kept in its superseded/<time>/ folder); the authority's DAG is then triggered for
that quarter through Airflow's Python API and stages them as a new version, which supersedes
the old one in the warehouse.

exit codes:
  0  files placed (and the run triggered, unless --no-trigger)
  1  files placed, but the DAG could not be triggered (the message says why)
  2  usage error: unknown authority or dataset, malformed or unfinished quarter, a file that
     is missing or not named as that dataset's files are, or a file refused (a link, FIFO or
     device, sparse, NUL bytes in a CSV, over its format's size limit: config/limits.toml),
     in which case nothing in the landing folder changes"""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="csp", description=__doc__.splitlines()[0],
                                   epilog="Every command has --help. " + __doc__.splitlines()[2])
    commands = root.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate a synthetic partnership and run the whole cycle")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED)
    demo.add_argument("--quarters", type=int, default=12)
    demo.set_defaults(func=cmd_demo)

    synth = commands.add_parser("synth", help="write a synthetic partnership's quarterly returns")
    synth.add_argument("--out", type=Path, default=settings().data_dir)
    synth.add_argument("--seed", type=int, default=DEFAULT_SEED)
    synth.add_argument("--first-quarter", default="2023Q1")
    synth.add_argument("--quarters", type=int, default=12)
    synth.add_argument("--no-signals", action="store_true", help="no planted signals (false-alarm tests)")
    synth.add_argument("--police-format", choices=["force_extract", "police_uk"], default="force_extract")
    synth.set_defaults(func=cmd_synth)

    init = commands.add_parser(
        "init", help="write the area file for a police force area from its ONS codes",
        epilog=INIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("--police-force-area", metavar="CODE", help="ONS PFA19 code, e.g. E23000003 (Lancashire)")
    init.add_argument("--partnerships", metavar="CODE", nargs="+",
                      help="CSP codes to serve (default: every partnership of the force area)")
    init.add_argument("--county", metavar="CODE", help="the county strategy group's code (two-tier areas)")
    init.add_argument("--force", action="store_true", help="replace an area file that describes another area")
    init.add_argument("--list", action="store_true", help="list the police force areas and their codes")
    init.set_defaults(func=cmd_init)

    history = commands.add_parser(
        "history", help="load files spanning several quarters: split into quarterly returns, then ingest each"
    )
    history.add_argument("files", nargs="+", type=Path, help="files of one source format")
    history.set_defaults(func=cmd_history)

    status = commands.add_parser(
        "status", help="the compliance matrix (authority x dataset x quarter) and the latest DAG runs",
        epilog=STATUS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("--last", type=int, metavar="N", help="only the last N quarters")
    status.add_argument("--format", choices=["table", "csv"], default="table",
                        help="csv: one line per return, for scripts (no runs)")
    status.add_argument("--no-runs", action="store_true", help="skip Airflow's metadata database")
    status.set_defaults(func=cmd_status)

    resubmit = commands.add_parser(
        "resubmit", help="place a corrected return in its landing folder and trigger its DAG",
        epilog=RESUBMIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    resubmit.add_argument("authority", metavar="AUTHORITY", help=f"one of: {', '.join(AUTHORITIES)}")
    resubmit.add_argument("dataset", metavar="DATASET", help="a dataset of that authority (csp.registry)")
    resubmit.add_argument("quarter", metavar="QUARTER", help="e.g. 2024Q1")
    resubmit.add_argument("files", metavar="FILE", nargs="+", type=Path, help="the corrected return's files")
    resubmit.add_argument("--no-trigger", action="store_true", help="only place the files")
    resubmit.set_defaults(func=cmd_resubmit)

    report = commands.add_parser("report", help="render a chosen report now, from the warehouse")
    report.add_argument("--kind", required=True,
                        choices=["strategic", "tactical", "problem_profile", "public_summary", "county"])
    report.add_argument("--partnership", metavar="CODE",
                        help="CSP code (county code for --kind county); default: every one served")
    report.add_argument("--theme", choices=sorted(THEMES), help="the problem profile's theme")
    report.add_argument("--area", metavar="CODE", help="the problem profile's area (a CSP or ward code)")
    report.set_defaults(func=cmd_report)

    rotate = commands.add_parser(
        "rotate-key", help="re-key every stored pseudonym (staging and warehouse) to a new key",
        epilog="Pause every DAG first. Exit codes: 0 rotated (or finished after an interruption), "
               "1 refused (wrong old key, same key, already rotated), 2 usage error.")
    rotate.add_argument("--old-key-file", type=Path, required=True, help="file holding the current key")
    rotate.add_argument("--new-key-file", type=Path, required=True, help="file holding the new key")
    rotate.set_defaults(func=cmd_rotate_key)
    return root


def main(argv: list[str] | None = None) -> int:
    root = parser()
    args = root.parse_args(argv)
    if args.command == "report" and args.kind == "problem_profile" and not (args.theme and args.area):
        root.error("--kind problem_profile needs --theme and --area")
    if args.command == "status" and args.last is not None and args.last < 1:
        root.error("--last must be at least 1")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
