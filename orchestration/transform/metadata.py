"""What an engineer sees on a dbt asset in the UI: rows, releases, months covered, totals in 亿元
and a small preview of the table, read from the live file after `dbt build` has finished."""

from __future__ import annotations

from typing import Any

import duckdb

PREVIEW_ROWS = 5
# Money columns whose sum says something at a glance (yuan → 亿元); the first one a table has wins.
TOTAL_COLUMNS = ("total_cny", "exports_cny", "value_cny", "published_cny")
PERIOD_COLUMNS = ("period", "year")


def markdown_table(columns: list[str], rows: list[tuple]) -> str:
    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|")[:40]

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table_metadata(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """Row count, distinct releases, the span of periods, a total in 亿元 and a preview; {} when the
    relation does not exist (a test, a skipped model)."""
    columns = [
        name for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    ]
    if not columns:
        return {}
    relation = f'"{schema}"."{table}"'
    metadata: dict[str, Any] = {"dagster/row_count": con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]}
    if "release_id" in columns:
        metadata["releases"] = con.execute(f"SELECT count(DISTINCT release_id) FROM {relation}").fetchone()[0]
    period = next((c for c in PERIOD_COLUMNS if c in columns), None)
    if period:
        first, last = con.execute(f'SELECT min("{period}"), max("{period}") FROM {relation}').fetchone()
        if first is not None:
            metadata["periods_covered"] = f"{first} … {last}"
    total = next((c for c in TOTAL_COLUMNS if c in columns), None)
    if total:
        (value,) = con.execute(f'SELECT sum("{total}") FROM {relation}').fetchone()
        if value is not None:
            # A plain sum over all rows (levels and months added together): a fingerprint that
            # moves when the data moves, not a figure to quote.
            metadata[f"sum_{total}_100m"] = round(float(value) / 1e8, 1)
    shown = columns[:8]
    rows = con.execute(f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in shown)} FROM {relation} LIMIT {PREVIEW_ROWS}").fetchall()
    metadata["preview"] = markdown_table(shown, rows)
    return metadata
