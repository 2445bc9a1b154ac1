"""The raw layer in DuckDB: the releases registry, raw rows with provenance, rejected rows.

Rules kept here, in one place:
- A release is registered once per sha256 (the same bytes twice are one release).
- A release's rows become visible in one transaction together with its `loaded`
  status, so a crash never leaves a half-loaded release behind; reloading a
  release first deletes whatever an interrupted attempt could have left.
- A newer vintage of a complete table (another file of the same format, scope, flow,
  currency and period) marks the older one `superseded`; its rows stay in raw,
  queryable as of their release. Query exports are partial by nature (a query picks
  products and partners), so for them the latest value is chosen row by row in dbt.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from itertools import islice

import duckdb
import pandas as pd

from .errors import ReleaseRejected
from .landing import InboxStamp, LandedFile
from .query_export_bulk import BulkDeclined, rows_in_any_order
from .release import ParsedRelease, RawTable

log = logging.getLogger(__name__)

# Formats whose every release is a complete table for its period: a newer file replaces an older one.
COMPLETE_TABLE_FORMATS = ("gacc_location_table", "gacc_city_table", "gacc_preliminary_country")
BATCH_ROWS = 100_000  # rows per insert: large enough to be fast, small enough to stream a 5 GB file

RELEASES_DDL = """
CREATE TABLE IF NOT EXISTS raw.releases (
    release_id VARCHAR NOT NULL,        -- first 16 hex digits of sha256
    sha256 VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,         -- as received, relative to the inbox
    landing_path VARCHAR NOT NULL,      -- the read-only archived original
    size_bytes BIGINT,
    format VARCHAR,                     -- gacc_location_table | gacc_city_table | gacc_query_export | … | unknown
    scope VARCHAR,                      -- enterprise_location | registration_place | national | reporter
    period_start DATE,
    period_end DATE,
    flow VARCHAR,                       -- both | export | import
    currency VARCHAR,                   -- CNY | USD
    unit VARCHAR,                       -- the unit label printed in the file (values are converted)
    source VARCHAR,                     -- where the file came from (inbox, http …)
    title VARCHAR,
    is_sample BOOLEAN,                  -- made by this project's sample generator, not GACC
    received_at TIMESTAMP NOT NULL,     -- UTC, when the bytes were first seen
    loaded_at TIMESTAMP,                -- UTC
    status VARCHAR NOT NULL,            -- pending | loaded | quarantined | superseded
    error VARCHAR,                      -- why quarantined: file, row, column, reason
    notes VARCHAR,                      -- what the parser noticed (unit label contradicted, …)
    sidecar VARCHAR,                    -- the <file>.json the user put beside it, if any
    raw_table VARCHAR,                  -- where its rows are
    variant VARCHAR,                    -- tells apart tables of one format and period (a city table's province)
    row_count BIGINT,
    rejected_row_count BIGINT,
    superseded_by VARCHAR
)"""
# Columns added after the first release of the schema: an existing warehouse gains them in place.
RELEASES_MIGRATIONS = [
    "ALTER TABLE raw.releases ADD COLUMN IF NOT EXISTS notes VARCHAR",
    "ALTER TABLE raw.releases ADD COLUMN IF NOT EXISTS sidecar VARCHAR",
    "ALTER TABLE raw.releases ADD COLUMN IF NOT EXISTS raw_table VARCHAR",
    "ALTER TABLE raw.releases ADD COLUMN IF NOT EXISTS variant VARCHAR",
]
REJECTED_ROWS_DDL = """
CREATE TABLE IF NOT EXISTS raw.rejected_rows (
    release_id VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    column_name VARCHAR NOT NULL,
    raw_value VARCHAR,
    reason VARCHAR NOT NULL
)"""

# The inbox scan's memory of each file's size, modification time and hash (landing.InboxStamp), so a
# rescan reads only new or changed files. A cache, not data: in a schema of its own, outside raw.
INBOX_FILES_DDL = """
CREATE TABLE IF NOT EXISTS landing.inbox_files (
    file_name VARCHAR NOT NULL,         -- relative to the inbox
    size_bytes BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    hashed_at_ns BIGINT NOT NULL
)"""


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT; on any error (an interrupt included) ROLLBACK, and the error goes on."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


class SharedTransaction:
    """Small releases (rows parsed in memory, no bulk reader) load in shared transactions of up to
    `size` releases: a commit per release cost more than writing a small table's rows, and the 512
    sample releases of `make run` spent seconds in commits. Each release stays all-or-nothing with
    its `loaded` status, since the group commits whole or not at all; a crash leaves the group pending."""

    def __init__(self, con: duckdb.DuckDBPyConnection, size: int) -> None:
        self.con, self.size, self.releases, self.open = con, size, 0, False

    def join(self) -> None:
        """Before writing one more release: commit a full group, begin a new one when none is open."""
        if self.open and self.releases >= self.size:
            self.commit()
        if not self.open:
            self.con.execute("BEGIN TRANSACTION")
            self.open, self.releases = True, 0
        self.releases += 1

    def commit(self) -> None:
        if self.open:
            self.con.execute("COMMIT")
            self.open = False

    def rollback(self) -> None:
        if self.open:
            self.con.execute("ROLLBACK")
            self.open = False


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection, tables: Iterable[RawTable] = ()) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(RELEASES_DDL)
    for migration in RELEASES_MIGRATIONS:
        con.execute(migration)
    con.execute(REJECTED_ROWS_DDL)
    con.execute("CREATE SCHEMA IF NOT EXISTS landing")
    con.execute(INBOX_FILES_DDL)
    for table in tables:
        con.execute(table.ddl())
        _rename_old_columns(con, table)


# Raw columns renamed since a warehouse may have been built: (table, old name) → new name. Rows are
# inserted by position, so a renamed column keeps its place and its data.
RENAMED_COLUMNS = {("query_export_rows", "hs8"): "product_code"}  # codes of 2–8 digits, not only HS8


def _rename_old_columns(con: duckdb.DuckDBPyConnection, table: RawTable) -> None:
    existing = {
        name for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ?", [table.name]
        ).fetchall()
    }
    for (name, old), new in RENAMED_COLUMNS.items():
        if name == table.name and old in existing and new not in existing:
            con.execute(f'ALTER TABLE raw."{name}" RENAME COLUMN "{old}" TO "{new}"')


@dataclass(frozen=True)
class RegistryEntry:
    release_id: str
    file_name: str
    status: str
    period_end: date | None
    sidecar: str | None
    landing_path: str



def known_releases(con: duckdb.DuckDBPyConnection) -> dict[str, RegistryEntry]:
    """sha256 → entry, for every release ever registered."""
    rows = con.execute(
        "SELECT sha256, release_id, file_name, status, period_end, sidecar, landing_path FROM raw.releases"
    ).fetchall()
    return {sha: RegistryEntry(*entry) for sha, *entry in rows}


def inbox_stamps(con: duckdb.DuckDBPyConnection) -> dict[str, InboxStamp]:
    """file name → its stamp from the last inbox scan."""
    rows = con.execute("SELECT file_name, size_bytes, mtime_ns, sha256, hashed_at_ns FROM landing.inbox_files").fetchall()
    return {name: InboxStamp(*stamp) for name, *stamp in rows}


def save_inbox_stamps(con: duckdb.DuckDBPyConnection, stamps: dict[str, InboxStamp]) -> None:
    """The stamps of this scan replace the last scan's (a file gone from the inbox is forgotten)."""
    con.execute("DELETE FROM landing.inbox_files")
    if stamps:
        frame = pd.DataFrame(
            [(name, s.size_bytes, s.mtime_ns, s.sha256, s.hashed_at_ns) for name, s in stamps.items()],
            columns=["file_name", "size_bytes", "mtime_ns", "sha256", "hashed_at_ns"],
        )
        con.register("scanned_inbox_files", frame)
        try:
            con.execute("INSERT INTO landing.inbox_files SELECT * FROM scanned_inbox_files")
        finally:
            con.unregister("scanned_inbox_files")


def _metadata(parsed: ParsedRelease | None) -> list:
    if parsed is None:
        return ["unknown", None, None, None, None, None, None, None, None, None, None, None]
    return [
        parsed.format,
        parsed.scope,
        parsed.period.start,
        parsed.period.end,
        parsed.flow,
        parsed.currency,
        parsed.unit,
        parsed.title,
        parsed.is_sample,
        "; ".join(parsed.notes) or None,
        parsed.raw_table.name,
        parsed.variant,
    ]


def register_release(
    con: duckdb.DuckDBPyConnection,
    landed: LandedFile,
    parsed: ParsedRelease | None,
    rejection: ReleaseRejected | None,
    source: str,
    sidecar: dict | None,
) -> None:
    """Record a newly seen file as pending (to be loaded) or quarantined (with its reason)."""
    con.execute(
        """
        INSERT INTO raw.releases (release_id, sha256, file_name, landing_path, size_bytes, format, scope,
            period_start, period_end, flow, currency, unit, title, is_sample, notes, raw_table, variant,
            source, sidecar, received_at, status, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            landed.release_id,
            landed.sha256,
            landed.file_name,
            str(landed.landing_path),
            landed.size_bytes,
            *_metadata(parsed),
            source,
            json.dumps(sidecar, ensure_ascii=False, sort_keys=True) if sidecar else None,
            utc_now(),
            "quarantined" if rejection else "pending",
            rejection.message if rejection else None,
        ],
    )


def reregister_release(
    con: duckdb.DuckDBPyConnection,
    release_id: str,
    parsed: ParsedRelease | None,
    rejection: ReleaseRejected | None,
    sidecar: dict | None,
) -> None:
    """A quarantined release whose sidecar changed (the user supplied what was missing) is judged again."""
    con.execute(
        """
        UPDATE raw.releases SET format = ?, scope = ?, period_start = ?, period_end = ?, flow = ?, currency = ?,
            unit = ?, title = ?, is_sample = ?, notes = ?, raw_table = ?, variant = ?, sidecar = ?, status = ?,
            error = ?
        WHERE release_id = ?
        """,
        [
            *_metadata(parsed),
            json.dumps(sidecar, ensure_ascii=False, sort_keys=True) if sidecar else None,
            "quarantined" if rejection else "pending",
            rejection.message if rejection else None,
            release_id,
        ],
    )


def pending_releases(con: duckdb.DuckDBPyConnection) -> list[RegistryEntry]:
    rows = con.execute(
        """
        SELECT release_id, file_name, status, period_end, sidecar, landing_path FROM raw.releases
        WHERE status = 'pending' ORDER BY received_at, release_id
        """
    ).fetchall()
    return [RegistryEntry(*row) for row in rows]


def _as_text(value) -> str | None:
    # Every value travels as text and is cast by DuckDB to the declared type, so money never
    # passes through a float and dates, decimals and booleans all take one path.
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _batches(rows: Iterable[tuple], release_id: str) -> Iterator[list[list]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_ROWS)):
        yield [[release_id, *(_as_text(v) for v in row)] for row in batch]


def _insert_rows(con: duckdb.DuckDBPyConnection, release_id: str, parsed: ParsedRelease) -> int:
    table = parsed.raw_table
    names = ["release_id", "source_row", *(c.name for c in table.columns)]
    casts = ", ".join(
        ["release_id", "CAST(source_row AS BIGINT)", *(f"CAST({c.name} AS {c.sql_type})" for c in table.columns)]
    )
    count = 0
    for batch in _batches(parsed.rows, release_id):
        frame = pd.DataFrame(batch, columns=names, dtype=object)
        con.register("incoming_rows", frame)
        try:
            con.execute(f"INSERT INTO raw.{table.name} SELECT {casts} FROM incoming_rows")
        finally:
            con.unregister("incoming_rows")
        count += len(batch)
    return count


def load_release(con: duckdb.DuckDBPyConnection, release_id: str, parsed: ParsedRelease) -> int:
    """Insert a parsed release's rows and mark it loaded, all in one transaction. Returns rows loaded.

    A format's bulk loader goes first when it has one; if it declines the file (not plainly clean),
    that attempt is rolled back and the rows are streamed one by one, which names what is wrong.
    A ReleaseRejected raised while the rows stream in (a streamed file broken halfway) rolls the
    whole release back and propagates, so the caller can quarantine it. The raw tables exist: the
    caller ran ensure_raw_schema once for the whole load (per release it cost more than small releases)."""
    if parsed.bulk_load is not None:
        try:
            with rows_in_any_order(con):
                return _load_in_one_transaction(con, release_id, parsed, parsed.bulk_load)
        except BulkDeclined as why:
            log.info("%s: read row by row (the bulk reader declined: %s)", parsed.file_name, why)
    return _load_in_one_transaction(con, release_id, parsed, lambda con, rid: _insert_rows(con, rid, parsed))


def loads_from_memory(parsed: ParsedRelease) -> bool:
    """Its rows are all parsed already and no bulk reader takes it: writing them cannot turn up a bad
    row halfway, so the release can share a transaction with others (SharedTransaction)."""
    return parsed.bulk_load is None and isinstance(parsed.rows, (list, tuple))


def write_release_from_memory(con: duckdb.DuckDBPyConnection, release_id: str, parsed: ParsedRelease) -> int:
    """load_release for a release that loads_from_memory, inside the caller's open transaction."""
    if not parsed.rows:  # rejected before anything is written, so the shared transaction stays clean
        raise ReleaseRejected(parsed.file_name, NO_ROWS)
    return _write_release(con, release_id, parsed, lambda con, rid: _insert_rows(con, rid, parsed))


NO_ROWS = "no data rows could be loaded from the file"


def _load_in_one_transaction(
    con: duckdb.DuckDBPyConnection,
    release_id: str,
    parsed: ParsedRelease,
    insert_rows: Callable[[duckdb.DuckDBPyConnection, str], int],
) -> int:
    with transaction(con):
        return _write_release(con, release_id, parsed, insert_rows)


def _write_release(
    con: duckdb.DuckDBPyConnection,
    release_id: str,
    parsed: ParsedRelease,
    insert_rows: Callable[[duckdb.DuckDBPyConnection, str], int],
) -> int:
    """The rows, rejected rows and `loaded` status of one release (and the vintages it supersedes),
    in the caller's transaction."""
    # An interrupted attempt cannot have committed rows, but a rerun must be idempotent anyway.
    con.execute(f"DELETE FROM raw.{parsed.raw_table.name} WHERE release_id = ?", [release_id])
    con.execute("DELETE FROM raw.rejected_rows WHERE release_id = ?", [release_id])
    count = insert_rows(con, release_id)
    if count == 0:
        raise ReleaseRejected(parsed.file_name, NO_ROWS)
    rejected = parsed.rejected_rows
    if rejected:
        frame = pd.DataFrame(
            [[release_id, r.source_row, r.column, r.raw_value, r.reason] for r in rejected],
            columns=["release_id", "source_row", "column_name", "raw_value", "reason"],
            dtype=object,
        )
        con.register("incoming_rejected", frame)
        try:
            con.execute(
                "INSERT INTO raw.rejected_rows SELECT release_id, CAST(source_row AS BIGINT), column_name, "
                "raw_value, reason FROM incoming_rejected"
            )
        finally:
            con.unregister("incoming_rejected")
    period = parsed.observed_period or parsed.period
    con.execute(
        """
        UPDATE raw.releases SET status = 'loaded', loaded_at = ?, row_count = ?, rejected_row_count = ?,
               error = ?, period_start = ?, period_end = ?, notes = ?, raw_table = ?, variant = ?
        WHERE release_id = ?
        """,
        [
            utc_now(),
            count,
            len(rejected),
            f"{len(rejected)} row(s) rejected, see raw.rejected_rows" if rejected else None,
            period.start,
            period.end,
            "; ".join(parsed.notes) or None,
            parsed.raw_table.name,
            parsed.variant,
            release_id,
        ],
    )
    if parsed.format in COMPLETE_TABLE_FORMATS:
        # Older vintages of the same table: kept, but no longer the current figure.
        con.execute(
            """
            UPDATE raw.releases AS old SET status = 'superseded', superseded_by = new.release_id
            FROM raw.releases AS new
            WHERE new.release_id = ? AND old.release_id <> new.release_id AND old.status = 'loaded'
              AND old.format = new.format AND old.scope = new.scope
              AND old.flow IS NOT DISTINCT FROM new.flow AND old.currency IS NOT DISTINCT FROM new.currency
              AND coalesce(old.variant, '') = coalesce(new.variant, '')
              AND old.period_start = new.period_start AND old.period_end = new.period_end
              AND old.received_at <= new.received_at
            """,
            [release_id],
        )
    return count


def quarantine_release(con: duckdb.DuckDBPyConnection, release_id: str, rejection: ReleaseRejected) -> None:
    con.execute(
        "UPDATE raw.releases SET status = 'quarantined', error = ? WHERE release_id = ?",
        [rejection.message, release_id],
    )


def withdraw_release(con: duckdb.DuckDBPyConnection, release_id: str, reason: str) -> int:
    """Take a loaded release back out after a blocking check failed on it: its rows leave raw, it is
    quarantined with the reason, and a vintage it had superseded is current again — in one
    transaction. The original bytes stay in landing/; a corrected file is a new release."""
    raw_table = con.execute("SELECT raw_table FROM raw.releases WHERE release_id = ?", [release_id]).fetchone()[0]
    with transaction(con):
        removed = 0
        if raw_table:
            removed = con.execute(f"DELETE FROM raw.{raw_table} WHERE release_id = ?", [release_id]).fetchone()[0]
        con.execute(
            "UPDATE raw.releases SET status = 'loaded', superseded_by = NULL WHERE superseded_by = ? AND status = 'superseded'",
            [release_id],
        )
        con.execute(
            "UPDATE raw.releases SET status = 'quarantined', error = ?, row_count = 0 WHERE release_id = ?",
            [reason, release_id],
        )
    return removed
