"""`python -m orchestration.samples --out DIR [--first 2018-01] [--last 2025-12]`

Writes the SAMPLE releases to DIR: monthly location tables (sample-location-YYYY-MM.csv), district
city tables (sample-city-<province>-YYYY-MM.csv), online-query exports (sample-query-export-YYYY-<flow>.csv)
and online-query exports by city × HS chapter (sample-query-export-YYYY-<flow>-by-city.csv).

At benchmark scale (`scale.py`), SAMPLE online-query exports only:
  --scale --rows N [--months 2018-01..2025-12]      one file of exactly N rows spread over the months
  --scale --months 2018-01..2025-12 --rows-per-month N   one file per month
  (--flow exports|imports, --seed S: the same arguments always give the same bytes)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import write_sample_releases
from .location_tables import SAMPLE_FIRST_PERIOD, SAMPLE_LAST_PERIOD
from .scale import DEFAULT_MONTHS, DEFAULT_SEED, write_scale_file, write_scale_months


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.samples",
        description="Write SAMPLE GACC releases (not official figures): location tables calibrated to "
        "dbt_project/seeds/published_annual_totals.csv, city tables and query exports (by province and by city) "
        "consistent with them.",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to write the CSV files into")
    parser.add_argument("--first", default=SAMPLE_FIRST_PERIOD, help=f"first month, YYYY-MM (default {SAMPLE_FIRST_PERIOD})")
    parser.add_argument("--last", default=SAMPLE_LAST_PERIOD, help=f"last month, YYYY-MM (default {SAMPLE_LAST_PERIOD})")
    big = parser.add_argument_group(
        "benchmark scale", "--scale writes only SAMPLE online-query exports (GB18030, the real layout), millions of rows"
    )
    big.add_argument("--scale", action="store_true", help="write scale query exports instead of the sample releases")
    big.add_argument("--rows", type=int, help="one file of exactly this many rows, spread evenly over --months")
    big.add_argument("--rows-per-month", type=int, help="one file per month of --months, this many rows each")
    big.add_argument("--months", help=f"months as FIRST..LAST (default {'..'.join(DEFAULT_MONTHS)})")
    big.add_argument("--flow", choices=("exports", "imports"), default="exports", help="the direction (default exports)")
    big.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    if args.scale:
        return _scale(parser, args)
    if args.rows is not None or args.rows_per_month is not None or args.months:
        parser.error("--rows, --rows-per-month and --months go with --scale")
    try:
        counts = write_sample_releases(args.out, args.first, args.last)
    except ValueError as error:  # a bad period or an inconsistent seed: say why, no traceback
        parser.error(str(error))
    kinds = ", ".join(f"{n} sample {kind}" for kind, n in counts.items())
    print(f"wrote {kinds} ({args.first} to {args.last}) to {args.out.resolve()}")
    return 0


def _scale(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if (args.rows is None) == (args.rows_per_month is None):
        parser.error("--scale needs either --rows N (one file) or --rows-per-month N (one file per month)")
    if args.rows_per_month is not None and not args.months:
        parser.error("--rows-per-month needs --months FIRST..LAST")
    months = args.months or "..".join(DEFAULT_MONTHS)
    started = time.perf_counter()
    try:
        if args.rows is not None:
            files = [write_scale_file(args.out, args.rows, months, args.flow, args.seed)]
        else:
            files = write_scale_months(args.out, months, args.rows_per_month, args.flow, args.seed)
    except ValueError as error:
        parser.error(str(error))
    seconds = time.perf_counter() - started
    rows = sum(f.rows for f in files)
    size = sum(f.size_bytes for f in files)
    where = files[0].path if len(files) == 1 else f"{len(files)} files in {args.out.resolve()}"
    print(f"wrote {rows:,} rows of SAMPLE query exports ({args.flow}, {months}), {size / 1e6:,.1f} MB, to {where} "
          f"in {seconds:.1f} s ({rows / seconds:,.0f} rows/s, {size / 1e6 / seconds:.1f} MB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
