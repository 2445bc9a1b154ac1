"""The raw layer in DuckDB: the releases registry, raw rows with provenance, rejected rows.

Rules kept here, in one place:
- A release is registered once per sha256 (the same bytes twice are one release).
- A release's rows become visible in one transaction together with its `loaded`
  status, so a crash never leaves a half-loaded release behind; reloading a
  release first deletes whatever an interrupted attempt could have left.
- A newer vintage (another file for the same format, scope and period) marks the
  older one `superseded`; its rows stay in raw, queryable as of their release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import pandas as pd

from .errors import ReleaseRejected
from .landing import LandedFile
from .location_table import VALUE_COLUMNS, YOY_COLUMNS, ParsedLocationTable

RAW_SCHEMA_DDL = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    """
    CREATE TABLE IF NOT EXISTS raw.releases (
        release_id VARCHAR NOT NULL,        -- first 16 hex digits of sha256
        sha256 VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,         -- as received, relative to the inbox
        landing_path VARCHAR NOT NULL,      -- the read-only archived original
        size_bytes BIGINT,
        format VARCHAR,                     -- gacc_location_table | unknown
        scope VARCHAR,                      -- enterprise_location | port | …
        period_start DATE,
        period_end DATE,
        flow VARCHAR,                       -- both | export | import
        currency VARCHAR,                   -- CNY | USD
        unit VARCHAR,                       -- the unit label printed in the file (万元 …)
        source VARCHAR,                     -- where the file came from (inbox, http …)
        title VARCHAR,
        is_sample BOOLEAN,                  -- made by this project's sample generator, not GACC
        received_at TIMESTAMP NOT NULL,     -- UTC, when the bytes were first seen
        loaded_at TIMESTAMP,                -- UTC
        status VARCHAR NOT NULL,            -- pending | loaded | quarantined | superseded
        error VARCHAR,                      -- why quarantined: file, row, column, reason
        row_count INTEGER,
        rejected_row_count INTEGER,
        superseded_by VARCHAR
    )""",
    f"""
    CREATE TABLE IF NOT EXISTS raw.location_table_rows (
        release_id VARCHAR NOT NULL,
        source_row INTEGER NOT NULL,        -- 1-based row in the file as received
        period_start DATE NOT NULL,
        period_end DATE NOT NULL,
        row_kind VARCHAR NOT NULL,          -- nation | province | zone
        location_name VARCHAR NOT NULL,
        province_code VARCHAR NOT NULL,     -- CN, or the province (a zone's parent province)
        is_duplicate BOOLEAN NOT NULL,
        {", ".join(f"{c}_cny DECIMAL(20, 2)" for c in VALUE_COLUMNS)},
        {", ".join(f"{c} DECIMAL(18, 2)" for c in YOY_COLUMNS)}
    )""",
    """
    CREATE TABLE IF NOT EXISTS raw.rejected_rows (
        release_id VARCHAR NOT NULL,
        source_row INTEGER NOT NULL,
        column_name VARCHAR NOT NULL,
        raw_value VARCHAR,
        reason VARCHAR NOT NULL
    )""",
]


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in RAW_SCHEMA_DDL:
        con.execute(ddl)


@dataclass(frozen=True)
class RegistryEntry:
    release_id: str
    file_name: str
    status: str
    period_end: object
    error: str | None


def known_sha256s(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT sha256 FROM raw.releases").fetchall()}


def register_release(
    con: duckdb.DuckDBPyConnection,
    landed: LandedFile,
    parsed: ParsedLocationTable | None,
    rejection: ReleaseRejected | None,
    source: str,
) -> None:
    """Record a newly seen file as pending (to be loaded) or quarantined (with its reason)."""
    is_quarantined = rejection is not None
    con.execute(
        """
        INSERT INTO raw.releases (release_id, sha256, file_name, landing_path, size_bytes, format, scope,
            period_start, period_end, flow, currency, unit, source, title, is_sample, received_at, status, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            landed.release_id,
            landed.sha256,
            landed.file_name,
            str(landed.landing_path),
            landed.size_bytes,
            parsed.format if parsed else "unknown",
            parsed.scope if parsed else None,
            parsed.period.start if parsed else None,
            parsed.period.end if parsed else None,
            "both" if parsed else None,
            "CNY" if parsed else None,
            parsed.unit if parsed else None,
            source,
            parsed.title if parsed else None,
            parsed.is_sample if parsed else None,
            utc_now(),
            "quarantined" if is_quarantined else "pending",
            rejection.message if is_quarantined else None,
        ],
    )


def pending_releases(con: duckdb.DuckDBPyConnection) -> list[RegistryEntry]:
    rows = con.execute(
        """
        SELECT release_id, file_name, status, period_end, error FROM raw.releases
        WHERE status = 'pending' ORDER BY received_at, release_id
        """
    ).fetchall()
    return [RegistryEntry(*row) for row in rows]


def landing_path_of(con: duckdb.DuckDBPyConnection, release_id: str) -> str:
    return con.execute("SELECT landing_path FROM raw.releases WHERE release_id = ?", [release_id]).fetchone()[0]


def _rows_frame(release_id: str, table: ParsedLocationTable) -> pd.DataFrame:
    # Money travels as text and is cast by DuckDB, so no value ever passes through a float.
    records = []
    for row in table.rows:
        record = {
            "release_id": release_id,
            "source_row": row.source_row,
            "period_start": table.period.start.isoformat(),
            "period_end": table.period.end.isoformat(),
            "row_kind": row.row_kind,
            "location_name": row.location_name,
            "province_code": row.province_code,
            "is_duplicate": row.is_duplicate,
        }
        for column in VALUE_COLUMNS:
            value = row.values_cny[column]
            record[f"{column}_cny"] = None if value is None else str(value)
        for column in YOY_COLUMNS:
            value = row.yoy_pct[column]
            record[column] = None if value is None else str(value)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(records[0].keys()) if records else None)


def load_release(con: duckdb.DuckDBPyConnection, release_id: str, table: ParsedLocationTable) -> int:
    """Insert a parsed release's rows and mark it loaded, all in one transaction. Returns rows loaded."""
    frame = _rows_frame(release_id, table)
    rejected = pd.DataFrame.from_records(
        [(release_id, r.source_row, r.column, r.raw_value, r.reason) for r in table.rejected_rows],
        columns=["release_id", "source_row", "column_name", "raw_value", "reason"],
    )
    value_casts = ", ".join(f"CAST({c}_cny AS DECIMAL(20, 2))" for c in VALUE_COLUMNS)
    yoy_casts = ", ".join(f"CAST({c} AS DECIMAL(18, 2))" for c in YOY_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        # An interrupted earlier attempt cannot have committed rows, but a rerun must be idempotent anyway.
        con.execute("DELETE FROM raw.location_table_rows WHERE release_id = ?", [release_id])
        con.execute("DELETE FROM raw.rejected_rows WHERE release_id = ?", [release_id])
        con.register("incoming_rows", frame)
        con.execute(
            f"""
            INSERT INTO raw.location_table_rows
            SELECT release_id, CAST(source_row AS INTEGER), CAST(period_start AS DATE), CAST(period_end AS DATE),
                   row_kind, location_name, province_code, CAST(is_duplicate AS BOOLEAN), {value_casts}, {yoy_casts}
            FROM incoming_rows
            """
        )
        con.unregister("incoming_rows")
        if len(rejected):
            con.register("incoming_rejected", rejected)
            con.execute(
                "INSERT INTO raw.rejected_rows SELECT release_id, CAST(source_row AS INTEGER), column_name, "
                "raw_value, reason FROM incoming_rejected"
            )
            con.unregister("incoming_rejected")
        now = utc_now()
        con.execute(
            """
            UPDATE raw.releases SET status = 'loaded', loaded_at = ?, row_count = ?, rejected_row_count = ?,
                   error = ?
            WHERE release_id = ?
            """,
            [
                now,
                len(frame),
                len(rejected),
                f"{len(rejected)} row(s) rejected, see raw.rejected_rows" if len(rejected) else None,
                release_id,
            ],
        )
        # Older vintages of the same table: kept, but no longer the current figure.
        con.execute(
            """
            UPDATE raw.releases AS old SET status = 'superseded', superseded_by = new.release_id
            FROM raw.releases AS new
            WHERE new.release_id = ? AND old.release_id <> new.release_id
              AND old.status = 'loaded' AND old.format = new.format AND old.scope = new.scope
              AND old.period_start = new.period_start AND old.period_end = new.period_end
              AND old.received_at <= new.received_at
            """,
            [release_id],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(frame)


def quarantine_release(con: duckdb.DuckDBPyConnection, release_id: str, rejection: ReleaseRejected) -> None:
    con.execute(
        "UPDATE raw.releases SET status = 'quarantined', error = ? WHERE release_id = ?",
        [rejection.message, release_id],
    )
