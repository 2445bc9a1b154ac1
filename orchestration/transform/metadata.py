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
    relation does not exist (a test, a skipped model). A view (staging) gets its preview only: it
    stores nothing, its rows are those of the raw table under it (whose asset has the figures), and
    counting them would run the view over the whole history on every build."""
    found = con.execute(
        "SELECT table_catalog, column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    if not found:
        return {}
    # The live file or the attached work file (the row-grain intermediate tables): whichever holds it.
    catalog = found[0][0]
    columns = [name for (in_catalog, name) in found if in_catalog == catalog]
    relation = f'"{catalog}"."{schema}"."{table}"'
    is_view = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? AND table_name = ? "
        "AND table_type = 'VIEW'",
        [catalog, schema, table],
    ).fetchone()[0] > 0
    if is_view:
        return {"preview": _preview(con, relation, columns)}
    # One pass over the table for every figure: a fact of tens of millions of rows is no place for
    # four scans.
    period = next((c for c in PERIOD_COLUMNS if c in columns), None)
    total = next((c for c in TOTAL_COLUMNS if c in columns), None)
    figures = {"rows": "count(*)"}
    if "release_id" in columns:
        figures["releases"] = "count(DISTINCT release_id)"
    if period:
        figures["first"], figures["last"] = f'min("{period}")', f'max("{period}")'
    if total:
        figures["total"] = f'sum("{total}")'
    values = dict(zip(figures, con.execute(
        f"SELECT {', '.join(figures.values())} FROM {relation}"
    ).fetchone()))
    metadata: dict[str, Any] = {"dagster/row_count": values["rows"]}
    if "releases" in values:
        metadata["releases"] = values["releases"]
    if period and values["first"] is not None:
        metadata["periods_covered"] = f"{values['first']} … {values['last']}"
    if total and values["total"] is not None:
        # A plain sum over all rows (levels and months added together): a fingerprint that
        # moves when the data moves, not a figure to quote.
        metadata[f"sum_{total}_100m"] = round(float(values["total"]) / 1e8, 1)
    metadata["preview"] = _preview(con, relation, columns)
    return metadata


def _preview(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> str:
    shown = columns[:8]
    rows = con.execute(f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in shown)} FROM {relation} LIMIT {PREVIEW_ROWS}").fetchall()
    return markdown_table(shown, rows)
