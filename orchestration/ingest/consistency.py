"""Checks across releases before one is loaded: a year-to-date figure never goes down within a year.

A March table whose year-to-date total for a region is below February's (as currently loaded)
cannot be right — a column shifted, a file mislabelled, a unit misread — so the release is
quarantined, naming the row and column, instead of silently rewriting history. The check looks
both ways, so it holds whatever order the months arrive in.
"""

from __future__ import annotations

from datetime import date

import duckdb

from .errors import ReleaseRejected
from .release import ParsedRelease

# Per format: the raw table, the columns naming a region, the year-to-date columns to compare, and
# the row kinds checked. Development zones are left out: GACC revises small zones by more than a
# month's trade (the real 2024 tables have a zone YTD going down in 5 of 11 months), while China,
# the provinces and the cities never go down.
YTD_TABLES = {
    "gacc_location_table": (
        "location_table_rows",
        ("row_kind", "province_code", "location_name"),
        ("total_ytd_cny", "exports_ytd_cny", "imports_ytd_cny"),
        ("nation", "province"),
    ),
    "gacc_city_table": (
        "city_table_rows",
        ("row_kind", "province_code", "city_name"),
        ("total_ytd_cny", "exports_ytd_cny", "imports_ytd_cny"),
        ("city", "province_total"),
    ),
}


def _month_shift(month: date, delta: int) -> date:
    index = month.year * 12 + month.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def _current_ytd(con, raw_table, key_columns, ytd_columns, fmt, variant, months) -> dict[date, dict[tuple, tuple]]:
    """Year-to-date figures of the current vintage of each of `months` for the same kind of table
    (one query for both neighbours: per release, the query costs more than the check)."""
    rows = con.execute(
        f"""
        SELECT rel.period_end, {", ".join(key_columns)}, {", ".join(ytd_columns)}
        FROM raw.{raw_table} AS r JOIN raw.releases AS rel ON r.release_id = rel.release_id
        WHERE rel.status = 'loaded' AND rel.format = ? AND coalesce(rel.variant, '') = ?
          AND list_contains(?, rel.period_end)
        """,
        [fmt, variant, months],
    ).fetchall()
    width = len(key_columns)
    figures: dict[date, dict[tuple, tuple]] = {month: {} for month in months}
    for month, *row in rows:
        figures[month][tuple(row[:width])] = tuple(row[width:])
    return figures


def check_ytd_does_not_decrease(con: duckdb.DuckDBPyConnection, parsed: ParsedRelease) -> None:
    """Raise ReleaseRejected when a YTD figure of `parsed` is below the previous month's or above the next's."""
    if parsed.format not in YTD_TABLES or parsed.period.first_month != parsed.period.last_month:
        return
    raw_table, key_columns, ytd_columns, checked_kinds = YTD_TABLES[parsed.format]
    names = [c.name for c in parsed.raw_table.columns]
    key_at = [names.index(c) + 1 for c in key_columns]  # +1: rows start with source_row
    ytd_at = [names.index(c) + 1 for c in ytd_columns]
    month = parsed.period.end
    neighbours = []
    if month.month > 1:
        neighbours.append(("previous", _month_shift(month, -1)))
    if month.month < 12:
        neighbours.append(("next", _month_shift(month, 1)))
    known_by_month = _current_ytd(
        con, raw_table, key_columns, ytd_columns, parsed.format, parsed.variant, [m for _, m in neighbours]
    )
    for side, other_month in neighbours:
        other = known_by_month[other_month]
        if not other:
            continue
        for row in parsed.rows:
            if row[key_at[0]] not in checked_kinds:
                continue
            known = other.get(tuple(row[i] for i in key_at))
            if known is None:
                continue
            for column, at, other_value in zip(ytd_columns, ytd_at, known):
                value = row[at]
                if value is None or other_value is None:
                    continue
                if (side == "previous" and value < other_value) or (side == "next" and value > other_value):
                    raise ReleaseRejected(
                        parsed.file_name,
                        f"year-to-date goes down within {month.year}: {row[key_at[-1]]} {column} is {value} "
                        f"in {month:%Y-%m} but {other_value} in {other_month:%Y-%m} (already loaded)",
                        row=row[0],
                        column=column,
                    )
