"""Where everything lives, configured by environment.

Two variables point the whole pipeline at a user's own files:
- TRADE_INBOX: the folder of release files as downloaded (default `warehouse/inbox`).
- TRADE_WAREHOUSE_DIR: the warehouse folder (default `warehouse/`), holding
  `landing/` (the immutable archive), the live `trade.duckdb`, and `published/`.

Everything else is derived from those two, so one place decides every path.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
# The first statistical month the warehouse takes (GACC's location table series, as published online).
EARLIEST_PERIOD = date(2014, 1, 1)


@dataclass(frozen=True)
class WarehousePaths:
    inbox: Path
    warehouse_dir: Path

    @property
    def landing(self) -> Path:
        return self.warehouse_dir / "landing"

    @property
    def live_db(self) -> Path:
        return self.warehouse_dir / "trade.duckdb"

    @property
    def work_db(self) -> Path:
        """The work database: the row-grain intermediate tables only dbt reads (dbt_project/macros/work_database.sql),
        kept out of the live file so that publishing copies only what analysts query."""
        return self.warehouse_dir / "work.duckdb"

    def dbt_env(self) -> dict[str, str]:
        """The environment that points dbt's DuckDB profile at this warehouse's two files."""
        return {"TRADE_DUCKDB_PATH": str(self.live_db), "TRADE_WORK_DUCKDB_PATH": str(self.work_db)}

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def published_db(self) -> Path:
        return self.published_dir / "trade.duckdb"

    @property
    def raw_parquet(self) -> Path:
        """The raw tables as Parquet (`trade export-raw`), what the dbt spark target reads."""
        return self.warehouse_dir / "raw_parquet"

    @property
    def dagster_home(self) -> Path:
        return self.warehouse_dir / "dagster_home"

    @property
    def dbt_builds(self) -> Path:
        """One folder per dbt build of this warehouse (its compiled SQL, run_results.json, dbt.log)."""
        return self.warehouse_dir / "logs" / "dbt_builds"


def warehouse_paths() -> WarehousePaths:
    """Read the two variables now (not at import) so tests and users can repoint them."""
    warehouse_dir = Path(os.environ.get("TRADE_WAREHOUSE_DIR") or REPO_ROOT / "warehouse")
    inbox = Path(os.environ.get("TRADE_INBOX") or warehouse_dir / "inbox")
    if not warehouse_dir.is_absolute():
        warehouse_dir = Path.cwd() / warehouse_dir
    if not inbox.is_absolute():
        inbox = Path.cwd() / inbox
    return WarehousePaths(inbox=inbox.resolve(), warehouse_dir=warehouse_dir.resolve())


class WarehouseUnwritable(Exception):
    """The warehouse folder cannot be written (read-only, no permission, disk full). Said in one line
    that names the folder, so the user can act on it."""

    def __init__(self, folder: Path, reason: str):
        self.folder = folder
        self.reason = reason
        super().__init__(f"cannot write the warehouse at {folder}: {reason}")


def check_warehouse_writable(paths: WarehousePaths) -> None:
    """Before a run writes anything: the warehouse folder (or the folder it will be created in), each
    folder directly inside it but the inbox, and the live and work DuckDB files must be writable. A read-only warehouse then
    fails at once, naming the folder, with nothing changed; finding out half-way would leave a run
    recorded as failed and files written up to that point. Probed by really creating an unnamed
    temporary file (what the OS says, for root and read-only mounts too, not what the mode bits
    suggest). A disk that fills during the run cannot be foreseen: the CLI reports that when it happens."""
    folder = paths.warehouse_dir
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    folders = [existing]
    if existing == folder:
        # The inbox may sit inside (the default) and is only ever read: a read-only inbox is fine.
        folders += sorted(p for p in folder.iterdir() if p.is_dir() and p.resolve() != paths.inbox)
    for candidate in folders:
        try:
            with tempfile.TemporaryFile(dir=candidate):
                pass
        except OSError as error:
            raise WarehouseUnwritable(
                folder, f"cannot create a file in {candidate} ({error.strerror or error}); nothing was changed"
            ) from None
    for database in (paths.live_db, paths.work_db):
        if database.exists():
            try:
                os.close(os.open(database, os.O_WRONLY))  # opened, not truncated: the file is untouched
            except OSError as error:
                raise WarehouseUnwritable(
                    folder, f"cannot write {database} ({error.strerror or error}); nothing was changed"
                ) from None
