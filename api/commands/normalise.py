"""``vaxlink normalise INPUT... --out DIR``: read provincial exports, normalise, write rejects.

Writes ``DIR/doses.parquet`` (the normalised dose frame) and ``DIR/rejects.csv`` (UTF-8 with
BOM so that Excel opens it; every unusable row with file, row, source, field and reason), then
prints a summary and the next command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from matcher.columns import FIELD, FILE, ID_STATUS, ROW, VACCINE, VACCINE_KNOWN
from matcher.errors import InputFormatError
from matcher.ingest import DEFAULT_PATTERNS, EXCLUDED_PREFIX, read_exports
from matcher.normalise import normalise_doses, safe_text
from matcher.profiles import load_profile

DOSES_FILE = "doses.parquet"
REJECTS_FILE = "rejects.csv"
ISSUES_FILE = "field_issues.csv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``vaxlink normalise``."""
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help="export files (.csv, .xlsx) or folders; a folder contributes its "
        f"{' and '.join(DEFAULT_PATTERNS)} files except {EXCLUDED_PREFIX}*",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="TOML mapping profile (docs/profiles/)"
    )
    parser.add_argument(
        "--pattern",
        action="append",
        metavar="GLOB",
        help="file pattern for folder inputs, e.g. '4*.csv' (repeatable; replaces the default)",
    )
    parser.add_argument(
        "--today",
        type=pd.Timestamp,
        metavar="YYYY-MM-DD",
        help="dates after this day are rejected as future dates (default: today)",
    )


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines)


def _counts(series: pd.Series) -> str:
    counts = series.astype(object).fillna("NA").value_counts()
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "none"


def run(args: argparse.Namespace) -> int:
    """Read, normalise and write; print the summary. Returns 0, or 1 when no row was accepted."""
    profile = load_profile(args.profile) if args.profile else None
    today = (args.today or pd.Timestamp.today()).normalize()
    read = read_exports(args.inputs, profile=profile, progress=True, patterns=args.pattern)
    result = normalise_doses(read.frame, today=today)
    doses = result.doses
    rejects = pd.concat([df for df in (read.rejects, result.rejects) if len(df)] or [read.rejects])
    rejects = rejects.sort_values([FILE, ROW], kind="stable").reset_index(drop=True)

    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        doses.to_parquet(out / DOSES_FILE, index=False)
        rejects.to_csv(out / REJECTS_FILE, index=False, encoding="utf-8-sig")
        result.issues.to_csv(out / ISSUES_FILE, index=False, encoding="utf-8-sig")
    except OSError as exc:
        raise InputFormatError(f"{out}: cannot write the output: {exc.strerror}") from None

    accepted = doses[FILE].value_counts() if FILE in doses.columns else pd.Series(dtype="int64")
    rejected = rejects[FILE].value_counts()
    rows: list[tuple[str, ...]] = [("file", "rows read", "accepted", "rejected")]
    for name in read.files:
        ok, bad = int(accepted.get(name, 0)), int(rejected.get(name, 0))
        rows.append((name, f"{ok + bad:,}", f"{ok:,}", f"{bad:,}"))
    rows.append(("total", f"{len(doses) + len(rejects):,}", f"{len(doses):,}", f"{len(rejects):,}"))
    print(f"vaxlink normalise: {len(read.files)} file(s)")
    print(_table(rows))
    if read.blank_rows:
        print(f"  ({read.blank_rows:,} blank row(s) skipped)")
    print(f"rejected by field: {_counts(rejects[FIELD]) if len(rejects) else 'none'}")
    issues = result.issues
    print(
        "kept with a field treated as missing: "
        f"{_counts(issues[FIELD]) if len(issues) else 'none'} (see {out / ISSUES_FILE})"
    )
    if len(doses):
        print(f"ID status: {_counts(doses[ID_STATUS])}")
        unknown = doses.loc[~doses[VACCINE_KNOWN].astype(bool), VACCINE].value_counts()
        print(f"unknown vaccine texts: {len(unknown):,} distinct in {int(unknown.sum()):,} row(s)")
        for text, count in unknown.head(5).items():
            print(f"  {safe_text(str(text))!r}: {count:,}")
        if len(unknown):
            print("  map them under [values.vaccine] in a mapping profile (docs/profiles/)")
    print(
        f"wrote {out / DOSES_FILE} ({len(doses):,} rows), {out / REJECTS_FILE} ({len(rejects):,})"
    )
    if not len(doses):
        print("no row was accepted: check the rejects and the mapping profile", file=sys.stderr)
        return 1
    again = " ".join(str(p) for p in args.inputs)
    if args.profile:
        again += f" --profile {args.profile}"
    print(f"next: fix or accept the rejects, then link: vaxlink link {again} --out <DIR>")
    return 0
