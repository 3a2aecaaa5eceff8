"""The operator's command line: ``csp demo``, ``csp synth`` and ``csp history``.

Exit codes: 0 success, 1 a pipeline run failed or a return was rejected, 2 usage error.
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


def cmd_history(args: argparse.Namespace) -> int:
    from csp.history import load_history

    try:
        entries = load_history(settings(), [path.resolve() for path in args.files])
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
    results = DagRunner().run_cycle(quarters)
    failed = [r for r in results if r.state != "success"]

    reports = sorted((current.out_dir / "strategic").rglob("*.html"))
    print(f"\nWarehouse: {current.warehouse_url}")
    print(f"Reports ({len(reports)}) in {current.out_dir}:")
    for path in reports:
        print(f"  {path}")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    if failed:
        print(f"FAILED runs: {failed}", file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="csp", description=__doc__.splitlines()[0])
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

    history = commands.add_parser(
        "history", help="load files spanning several quarters: split into quarterly returns, then ingest each"
    )
    history.add_argument("files", nargs="+", type=Path, help="files of one source format")
    history.set_defaults(func=cmd_history)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
