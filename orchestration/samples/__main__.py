"""`python -m orchestration.samples --out DIR [--first 2018-01] [--last 2025-12]`

Writes the SAMPLE releases to DIR: monthly location tables (sample-location-YYYY-MM.csv), district
city tables (sample-city-<province>-YYYY-MM.csv), online-query exports (sample-query-export-YYYY-<flow>.csv)
and online-query exports by city × HS chapter (sample-query-export-YYYY-<flow>-by-city.csv).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import write_sample_releases
from .location_tables import SAMPLE_FIRST_PERIOD, SAMPLE_LAST_PERIOD


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
    args = parser.parse_args(argv)
    try:
        counts = write_sample_releases(args.out, args.first, args.last)
    except ValueError as error:  # a bad period or an inconsistent seed: say why, no traceback
        parser.error(str(error))
    kinds = ", ".join(f"{n} sample {kind}" for kind, n in counts.items())
    print(f"wrote {kinds} ({args.first} to {args.last}) to {args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
