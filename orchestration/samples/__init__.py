"""Deterministic SAMPLE releases for development and tests (never official GACC figures).

Four kinds, each in the real layout GACC users download, consistent with each other:
- `location_tables`: monthly location tables (进出口商品收发货人所在地总值表), calibrated to the
  published annual totals in `dbt_project/seeds/published_annual_totals.csv`;
- `city_tables`: district city tables for the four YRD provinces (41 cities), year-to-date;
- `query_exports`: online-query exports (HS8 × partner × 注册地 × trade mode × month) whose
  province-month totals equal the location tables;
- `city_query_exports`: online-query exports by city (4-digit 注册地) × HS chapter × month for the 40
  prefecture cities of Jiangsu, Zhejiang and Anhui, whose city totals equal the city tables and
  chapter totals the province-level query exports.
Command line: `python -m orchestration.samples --out DIR [--first 2018-01] [--last 2025-12]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def write_files(out_dir: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write generated files (name → bytes) into out_dir; returns their paths in order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = out_dir / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def write_sample_releases(out_dir: Path, first: str = "2018-01", last: str = "2025-12") -> dict[str, int]:
    """Write every kind of sample release into out_dir; returns how many files of each kind."""
    from .city_query_exports import generate_city_query_exports
    from .city_tables import write_city_tables
    from .location_tables import write_location_tables
    from .query_exports import generate_query_exports

    province_exports = generate_query_exports(first, last)  # made once: the city exports are fitted to it
    return {
        "location tables": len(write_location_tables(out_dir, first, last)),
        "city tables": len(write_city_tables(out_dir, first, last)),
        "query exports": len(write_files(out_dir, province_exports)),
        "city query exports": len(write_files(out_dir, generate_city_query_exports(first, last, province_exports))),
    }
