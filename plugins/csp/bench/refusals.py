"""What the worst refused files cost: the time and peak memory of refusing each, every one in a
fresh interpreter (``csp.bench.measure``) through the platform's real paths.

- an ``.xlsx`` zip bomb in a landing folder, the shape of the one that ran the ingest past
  150 s and 593 MB before the limits (2.6 MB holding 435 MB of sheet XML), through
  ``csp.ingest.ingest_return``;
- a 2 GiB sparse file in a landing folder (``ingest_return``), given to ``csp resubmit`` (which
  used to copy it in fully allocated) and to ``csp history`` (which used to read it whole,
  2.24 GB of memory, before refusing its NUL bytes);
- a dense CSV larger than its format's limit (``ingest_return``: refused from its size alone);
- a large CSV with a NUL byte at its very end given to ``csp resubmit`` (read in chunks to the
  end, the worst case for that check).

``python -m csp.bench.refusals [--markdown docs/benchmarks.md]`` (``make bench`` runs it too);
the peak includes the interpreter and the modules the command imports, measured when the
refusal returns. Imports are done before the clock starts, as in the other stages.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from csp.bench.measure import Clock, isolated, peak_mib

BEGIN, END = "<!-- refusals:begin -->", "<!-- refusals:end -->"
MIB = 1 << 20
QUARTER = "2024Q1"
ROW = b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'


@dataclass(frozen=True)
class Case:
    name: str
    size_mib: int  # of the refused file (uncompressed, for the bomb)


def _settings(root: Path):
    from csp.config import settings

    os.environ["CSP_DATA_DIR"] = str(root / "data")
    os.environ["CSP_OUT_DIR"] = str(root / "out")
    os.environ.setdefault("CSP_PSEUDONYM_KEY", "csp-bench-only-pseudonymisation-key")
    os.environ.setdefault("CSP_TODAY", "2024-06-01")
    return settings()


def _landing(settings, authority: str) -> Path:
    folder = settings.landing_dir / authority / QUARTER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _zip_bomb(path: Path, xml_mib: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b"<worksheet><sheetData>")
            block = ROW * (MIB // len(ROW))
            for _ in range(xml_mib):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as fh:
        fh.write(b"incident_ref,incident_date,incident_time,nsir_qualifier,asb_category,lsoa_code\n")
        fh.truncate(size)


def _dense(path: Path, mib: int, nul_at_end: bool = False) -> None:
    header = b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name," \
             b"Crime type,Last outcome category,Context\n"
    line = b",2024-01,Leicestershire Police,Leicestershire Police,-1.13,52.63,On or near X,E01013636," \
           b"Leicester 001A,Burglary,Under investigation,\n"
    block = line * (MIB // len(line))
    with path.open("wb") as fh:
        fh.write(header)
        for _ in range(mib):
            fh.write(block)
        if nul_at_end:
            fh.write(b"\x00\n")


def refuse(case: str, size_mib: int, root: str) -> dict:
    """Build one refused file under ``root`` (not timed), then refuse it (timed)."""
    from csp import history, ingest, resubmit
    from csp.bench.stages import _preload_ingest
    from csp.quarters import Quarter
    from csp.safe_paths import RefusedFile

    _preload_ingest()  # what an ingest task has imported before it runs (as the other stages)

    settings = _settings(Path(root))
    quarter = Quarter.parse(QUARTER)
    if case == "xlsx zip bomb (ingest)":
        path = _landing(settings, "fire") / f"fire_other_incidents_{QUARTER}.xlsx"
        _zip_bomb(path, size_mib)
        attempt = lambda: ingest.ingest_return(settings, "fire_incidents", quarter)  # noqa: E731
    elif case == "sparse file (ingest)":
        path = _landing(settings, "local_authority") / f"council_asb_{QUARTER}.csv"
        _sparse(path, size_mib * MIB)
        attempt = lambda: ingest.ingest_return(settings, "council_asb", quarter)  # noqa: E731
    elif case == "sparse file (csp resubmit)":
        path = Path(root) / f"council_asb_{QUARTER}.csv"
        _sparse(path, size_mib * MIB)
        attempt = lambda: resubmit.check_request("local_authority", "council_asb", QUARTER, [path])  # noqa: E731
    elif case == "sparse file (csp history)":
        path = Path(root) / "council_asb_history.csv"
        _sparse(path, size_mib * MIB)
        attempt = lambda: history.load_history(settings, [path])  # noqa: E731
    elif case == "CSV over its size limit (ingest)":
        path = _landing(settings, "police") / "2024-01-leicestershire-street.csv"
        _dense(path, size_mib)
        attempt = lambda: ingest.ingest_return(settings, "police_crimes", quarter)  # noqa: E731
    elif case == "CSV with a NUL byte at its end (csp resubmit)":
        _landing(settings, "police")
        path = Path(root) / "2024-01-leicestershire-street.csv"
        _dense(path, size_mib, nul_at_end=True)
        dataset = resubmit.check_request("police", "police_crimes", QUARTER, [path])[0]
        attempt = lambda: resubmit.place_files(settings, dataset, quarter, [path])  # noqa: E731
    else:
        raise ValueError(case)
    before = peak_mib()  # the interpreter and its modules, before the refused file is touched
    with Clock() as clock:
        try:
            attempt()
            refused = None
        except (RefusedFile, ValueError) as error:
            refused = str(error)
    rule = refused.rsplit("[", 1)[-1].rstrip("]") if refused and "[" in refused else refused
    return {"case": case, "size_mib": size_mib, "seconds": clock.seconds, "peak_mib": clock.peak_mib,
            "added_mib": clock.peak_mib - before, "refused": refused, "rule": rule}


CASES = [
    Case("xlsx zip bomb (ingest)", 435),
    Case("sparse file (ingest)", 2048),
    Case("sparse file (csp resubmit)", 2048),
    Case("sparse file (csp history)", 2048),
    Case("CSV over its size limit (ingest)", 600),
    Case("CSV with a NUL byte at its end (csp resubmit)", 300),
]


def measure(cases: list[Case] = CASES, isolate: bool = True) -> list[dict]:
    results = []
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="csp-bench-refusal-") as root:
            call = isolated if isolate else (lambda f, *a: f(*a))
            results.append(call(refuse, case.name, case.size_mib, root))
    return results


def markdown(results: list[dict], command: str) -> str:
    from csp.bench.report import machine

    info = machine(None)
    lines = [BEGIN, "<!-- written by `python -m csp.bench.refusals --markdown`; edit outside the markers -->", "",
             f"Command: `{command}` (machine: {info['CPU']}, {info['cores']} cores, {info['RAM']}, "
             f"{info['OS']}, Python {info['Python']})", "",
             "| refused file | size | rule | seconds | peak MiB | of which the refusal |",
             "| --- | ---: | --- | ---: | ---: | ---: |"]
    for r in results:
        size = f"{r['size_mib']:,} MiB" + (" of XML" if "zip bomb" in r["case"] else "")
        lines.append(f"| {r['case']} | {size} | `{r['rule']}` | {r['seconds']:.3f} | {r['peak_mib']:,.0f} "
                     f"| {r['added_mib']:,.0f} |")
    return "\n".join([*lines, END])


def write_markdown(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Refused files\n\n" + section + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csp.bench.refusals", description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, help="write the table into this file (between its markers)")
    args = parser.parse_args(argv)
    results = measure()
    for r in results:
        print(f"{r['case']:<48} {r['size_mib']:>6,} MiB  {r['seconds']:8.3f} s  peak {r['peak_mib']:7,.0f} MiB "
              f"(+{r['added_mib']:,.0f})  {r['refused']}")
    if any(r["refused"] is None for r in results):
        print("NOT REFUSED: " + ", ".join(r["case"] for r in results if r["refused"] is None), file=sys.stderr)
        return 1
    if args.markdown:
        write_markdown(args.markdown, markdown(results, "python -m csp.bench.refusals --markdown docs/benchmarks.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
