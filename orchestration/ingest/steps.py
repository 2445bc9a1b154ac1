"""The two ingest steps, free of Dagster so they can be run and tested on their own.

1. `register_inbox`: archive every new inbox file under landing/ and record it in
   raw.releases, as `pending` or, when it cannot be trusted, `quarantined`.
2. `load_pending`: load the pending releases of a range of months into raw.*; each
   release's rows appear together with its `loaded` status (small ones share a commit).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from ..config import EARLIEST_PERIOD, WarehousePaths
from ..reference import province_codes
from . import raw_store
from .consistency import check_ytd_does_not_decrease
from .errors import ReleaseRejected
from .formats import ALL_RAW_TABLES, parse_release
from .landing import InboxStamp, LandedFile, inbox_files, inbox_name, land_file, remove_partial_copies
from .query_export_bulk import remove_leftovers
from .release import ParseContext, ParsedRelease, read_sidecar

log = logging.getLogger(__name__)
RELEASES_PER_COMMIT = 64  # small releases loaded in one transaction (raw_store.SharedTransaction)


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


def _context(sidecar: dict) -> ParseContext:
    return ParseContext(today=date.today(), sidecar=sidecar, province_codes=province_codes())


def _judge(landed: LandedFile, path: Path) -> tuple[dict, ParsedRelease | None, ReleaseRejected | None]:
    """Read the sidecar and parse (lazily, for streamed formats) to learn format and period,
    or the reason not to trust the file."""
    try:
        sidecar = read_sidecar(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return {}, None, ReleaseRejected(landed.file_name, f"its sidecar {path.name}.json is not valid JSON: {error}")
    try:
        parsed = parse_release(landed.landing_path, landed.file_name, _context(sidecar))
        if parsed.period.start < EARLIEST_PERIOD:
            raise ReleaseRejected(
                landed.file_name,
                f"period {parsed.period.label} is before {EARLIEST_PERIOD:%Y-%m}, the first month this warehouse takes",
            )
        return sidecar, parsed, None
    except ReleaseRejected as error:
        return sidecar, None, error
    except OSError:
        raise  # the disk, not the file: the run fails and says so (cli.py)
    except Exception as error:  # a parser bug must not stop the rest of the inbox from registering
        log.exception("parsing %s failed", landed.file_name)
        return sidecar, None, ReleaseRejected(
            landed.file_name,
            f"the parser failed on it ({type(error).__name__}: {error}); this is a bug in the warehouse: "
            "please report it with the file",
        )


def _sidecar_text(sidecar: dict) -> str | None:
    return json.dumps(sidecar, ensure_ascii=False, sort_keys=True) if sidecar else None


def register_inbox(con: duckdb.DuckDBPyConnection, paths: WarehousePaths, source: str = "inbox") -> RegisterResult:
    raw_store.ensure_raw_schema(con, ALL_RAW_TABLES)
    remove_partial_copies(paths.landing)
    known = raw_store.known_releases(con)
    previous_stamps = raw_store.inbox_stamps(con)
    stamps: dict[str, InboxStamp] = {}
    result = RegisterResult()
    # One transaction for the whole scan: a commit per file cost more than registering it. A crash
    # leaves only the landed copies, which the next scan registers (landing is content-addressed).
    with raw_store.transaction(con):
        for path in inbox_files(paths.inbox):
            landed, stamp = land_file(path, paths.inbox, paths.landing, previous_stamps.get(inbox_name(path, paths.inbox)))
            stamps[landed.file_name] = stamp
            entry = known.get(landed.sha256)
            if entry is not None:
                # Known bytes are one release. Only a quarantined one whose sidecar changed is judged again:
                # that is how a user supplies a missing direction or period.
                changed = entry.status == "quarantined" and _sidecar_text(_peek_sidecar(path)) != entry.sidecar
                if not changed:
                    result.already_known += 1
                    continue
                sidecar, parsed, rejection = _judge(landed, path)
                raw_store.reregister_release(con, entry.release_id, parsed, rejection, sidecar or None)
            else:
                sidecar, parsed, rejection = _judge(landed, path)
                raw_store.register_release(con, landed, parsed, rejection, source, sidecar or None)
            status = "quarantined" if rejection else "pending"
            known[landed.sha256] = raw_store.RegistryEntry(
                landed.release_id, landed.file_name, status, None, _sidecar_text(sidecar), str(landed.landing_path)
            )
            if rejection:
                result.new_quarantined.append((landed.file_name, rejection.message))
            else:
                result.new_pending.append(landed.release_id)
        raw_store.save_inbox_stamps(con, stamps)
    result.pending_periods = sorted({e.period_end for e in raw_store.pending_releases(con)})
    return result


def _peek_sidecar(path: Path) -> dict:
    try:
        return read_sidecar(path)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"invalid sidecar": True}


def load_pending(
    con: duckdb.DuckDBPyConnection, first_period: date | None = None, last_period: date | None = None
) -> LoadResult:
    """Load pending releases whose last month lies in [first_period, last_period] (all when None)."""
    raw_store.ensure_raw_schema(con, ALL_RAW_TABLES)
    remove_leftovers(con)  # chunk files of a bulk load that was killed
    result = LoadResult()
    shared = raw_store.SharedTransaction(con, RELEASES_PER_COMMIT)
    try:
        for entry in raw_store.pending_releases(con):
            if first_period and entry.period_end < first_period:
                continue
            if last_period and entry.period_end > last_period:
                continue
            sidecar = json.loads(entry.sidecar) if entry.sidecar else {}
            try:
                parsed = parse_release(Path(entry.landing_path), entry.file_name, _context(sidecar))
                if raw_store.loads_from_memory(parsed):
                    shared.join()
                    check_ytd_does_not_decrease(con, parsed)
                    rows = raw_store.write_release_from_memory(con, entry.release_id, parsed)
                else:
                    shared.commit()  # a streamed or bulk release has a transaction of its own
                    check_ytd_does_not_decrease(con, parsed)
                    rows = raw_store.load_release(con, entry.release_id, parsed)
            except ReleaseRejected as error:
                # Raised before the release wrote anything (or its own transaction rolled it back).
                raw_store.quarantine_release(con, entry.release_id, error)
                result.quarantined.append((entry.file_name, error.message))
                continue
            result.loaded.append((entry.release_id, entry.file_name, rows))
            result.rejected_rows += len(parsed.rejected_rows)
        shared.commit()
    except BaseException:
        shared.rollback()
        raise
    return result
