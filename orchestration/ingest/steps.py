"""The two ingest steps, free of Dagster so they can be run and tested on their own.

1. `register_inbox`: archive every new inbox file under landing/ and record it in
   raw.releases, as `pending` or, when it cannot be trusted, `quarantined`.
2. `load_pending`: load the pending releases of a range of months into raw.*,
   one transaction per release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from ..config import EARLIEST_PERIOD, WarehousePaths
from . import raw_store
from .errors import ReleaseRejected
from .formats import parse_release
from .landing import inbox_files, land_file


@dataclass
class RegisterResult:
    new_pending: list[str] = field(default_factory=list)  # release ids
    new_quarantined: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    already_known: int = 0
    pending_periods: list[date] = field(default_factory=list)  # period_end of every pending release


@dataclass
class LoadResult:
    loaded: list[tuple[str, str, int]] = field(default_factory=list)  # (release id, file name, rows)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    rejected_rows: int = 0


def register_inbox(con: duckdb.DuckDBPyConnection, paths: WarehousePaths, source: str = "inbox") -> RegisterResult:
    raw_store.ensure_raw_schema(con)
    known = raw_store.known_sha256s(con)
    result = RegisterResult()
    for path in inbox_files(paths.inbox):
        landed = land_file(path, paths.inbox, paths.landing)
        if landed.sha256 in known:
            result.already_known += 1
            continue
        parsed, rejection = None, None
        try:
            parsed = parse_release(landed.landing_path.read_bytes(), landed.file_name)
            if parsed.period.start < EARLIEST_PERIOD:
                raise ReleaseRejected(
                    landed.file_name,
                    f"period {parsed.period.label} is before {EARLIEST_PERIOD:%Y-%m}, the first month this warehouse takes",
                )
        except ReleaseRejected as error:
            parsed = None
            rejection = error
            result.new_quarantined.append((landed.file_name, error.message))
        raw_store.register_release(con, landed, parsed, rejection, source)
        known.add(landed.sha256)
        if parsed:
            result.new_pending.append(landed.release_id)
    result.pending_periods = sorted({e.period_end for e in raw_store.pending_releases(con)})
    return result


def load_pending(
    con: duckdb.DuckDBPyConnection, first_period: date | None = None, last_period: date | None = None
) -> LoadResult:
    """Load pending releases whose last month lies in [first_period, last_period] (all when None)."""
    raw_store.ensure_raw_schema(con)
    result = LoadResult()
    for entry in raw_store.pending_releases(con):
        if first_period and entry.period_end < first_period:
            continue
        if last_period and entry.period_end > last_period:
            continue
        landing_path = Path(raw_store.landing_path_of(con, entry.release_id))
        try:
            table = parse_release(landing_path.read_bytes(), entry.file_name)
        except ReleaseRejected as error:
            raw_store.quarantine_release(con, entry.release_id, error)
            result.quarantined.append((entry.file_name, error.message))
            continue
        rows = raw_store.load_release(con, entry.release_id, table)
        result.loaded.append((entry.release_id, entry.file_name, rows))
        result.rejected_rows += len(table.rejected_rows)
    return result
