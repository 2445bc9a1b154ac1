"""What every format parser returns, so one loader serves every format.

A parser reads one file and returns a `ParsedRelease`: the release's metadata for the
registry, the raw table its rows go to, and the rows themselves as an iterable so that a
multi-gigabyte export streams through without being held in memory. Rows are tuples:
(source_row, *values in `raw_table.columns` order). Values may be str, int, Decimal, date,
bool or None; the loader casts them to the declared SQL types inside DuckDB.

Rows that cannot be trusted inside a good file go to `rejected_rows` (a parser may append
to it while `rows` is being iterated). A file that cannot be trusted as a whole raises
`ReleaseRejected` — either from `parse` or, for streamed formats, while `rows` is iterated;
the loader then rolls the release back and quarantines it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .periods import Period


@dataclass(frozen=True)
class RawColumn:
    name: str
    sql_type: str  # DuckDB type, e.g. "DECIMAL(20, 2)", "VARCHAR", "DATE", "BOOLEAN", "INTEGER"


@dataclass(frozen=True)
class RawTable:
    """A table in schema `raw`. The loader adds `release_id` and `source_row` in front."""

    name: str
    columns: tuple[RawColumn, ...]

    def ddl(self) -> str:
        columns = ",\n    ".join(f"{c.name} {c.sql_type}" for c in self.columns)
        return (
            f"CREATE TABLE IF NOT EXISTS raw.{self.name} (\n"
            f"    release_id VARCHAR NOT NULL,\n    source_row BIGINT NOT NULL,\n    {columns}\n)"
        )


@dataclass(frozen=True)
class RejectedRow:
    source_row: int
    column: str  # the column's position and/or name, as a person would look for it
    raw_value: str
    reason: str


@dataclass(frozen=True)
class ParseContext:
    """What a parser may know besides the file: today (to reject future periods), the sidecar
    `<file>.json` a user may put beside a file (flow, period, currency …), and reference codes."""

    today: date
    sidecar: Mapping[str, Any] = field(default_factory=dict)
    province_codes: Mapping[str, str] = field(default_factory=dict)  # 上海市 → 310000


@dataclass
class ParsedRelease:
    file_name: str
    format: str  # gacc_location_table | gacc_city_table | gacc_query_export | gacc_preliminary_country | comtrade
    scope: str  # enterprise_location | registration_place | national | reporter
    period: Period  # first..last month covered (for a query export known after its rows are read: see `finalize`)
    flow: str  # both | export | import
    currency: str  # CNY | USD
    unit: str  # the unit label as printed (values in rows are already converted to whole yuan / dollars)
    raw_table: RawTable
    rows: Iterable[tuple]
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    title: str | None = None
    is_sample: bool = False
    notes: list[str] = field(default_factory=list)  # footnotes, unit-label warnings … (stored in the registry)
    # Streamed formats learn their true period while rows are read; they set it here before the
    # iteration ends, and the loader records it.
    observed_period: Period | None = None
    # What tells apart two complete tables of the same format, scope and period (the province of a
    # district city table): a newer file supersedes an older one only when this matches too.
    variant: str = ""
    # A faster way to load the rows than iterating `rows`, for files it can vouch for: called inside
    # the release's transaction as bulk_load(con, release_id) → rows inserted, or raising
    # query_export_bulk.BulkDeclined, after which the loader rolls back and iterates `rows`.
    bulk_load: Callable[[Any, str], int] | None = None


def is_sample_release(file_name: str, texts: Iterable[str]) -> bool:
    """This project's sample generator names its files `sample-…` and writes SAMPLE DATA / 样本数据 in
    a title, banner or footnote where the layout has one: either marks a release as sample data."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.lower().startswith("sample-") or any("SAMPLE DATA" in t.upper() or "样本数据" in t for t in texts)


def read_sidecar(path: Path) -> dict[str, Any]:
    """`<file>.json` beside a release file, e.g. {"flow": "export", "period": "2024-03"}."""
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.exists():
        return {}
    return json.loads(sidecar.read_text(encoding="utf-8"))
