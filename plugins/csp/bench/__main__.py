"""python -m csp.bench [--scales 100k,1m,5m] [--keep DIR] [--markdown docs/benchmarks.md]"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from csp.bench import DEFAULT_POSTGRES, run
from csp.bench.scales import parse_scales


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csp.bench", description=(
        "Benchmark every stage at several scales against raw-load baselines and a naive peer "
        "(issue 9). Scales are police.uk-format rows, optionally /<n>q quarters (5m/20q)."))
    parser.add_argument("--scales", default="100k,1m,5m", help="comma-separated, e.g. 100k,1m,5m or 5m/20q")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work folder to keep (generated returns are reused by the next run)")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write the results section of FILE")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL",
                        help="admin URL of the PostgreSQL server (default %(default)s)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    parser.add_argument("--no-dag-parse", action="store_true", help="skip timing the DAG files")
    parser.add_argument("--in-process", action="store_true",
                        help="run stages in this process (faster; peak memory then accumulates)")
    args = parser.parse_args(argv)
    try:
        scales = parse_scales(args.scales)
    except ValueError as error:
        parser.error(str(error))
    command = "python -m csp.bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    result = run(scales, args.keep, postgres_url=None if args.no_postgres else args.postgres,
                 isolate=not args.in_process, dag_parse=not args.no_dag_parse,
                 markdown=args.markdown, command=command.strip(), log=lambda m: print(m, flush=True))
    print(result["text"])
    if args.markdown:
        print(f"\nwritten: {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
