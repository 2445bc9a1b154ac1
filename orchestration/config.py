"""Where everything lives, configured by environment.

Two variables point the whole pipeline at a user's own files:
- TRADE_INBOX: the folder of release files as downloaded (default `warehouse/inbox`).
- TRADE_WAREHOUSE_DIR: the warehouse folder (default `warehouse/`), holding
  `landing/` (the immutable archive), the live `trade.duckdb`, and `published/`.

Everything else is derived from those two, so one place decides every path.
"""

from __future__ import annotations

import os
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
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def published_db(self) -> Path:
        return self.published_dir / "trade.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.warehouse_dir / "dagster_home"


def warehouse_paths() -> WarehousePaths:
    """Read the two variables now (not at import) so tests and users can repoint them."""
    warehouse_dir = Path(os.environ.get("TRADE_WAREHOUSE_DIR") or REPO_ROOT / "warehouse")
    inbox = Path(os.environ.get("TRADE_INBOX") or warehouse_dir / "inbox")
    if not warehouse_dir.is_absolute():
        warehouse_dir = Path.cwd() / warehouse_dir
    if not inbox.is_absolute():
        inbox = Path.cwd() / inbox
    return WarehousePaths(inbox=inbox.resolve(), warehouse_dir=warehouse_dir.resolve())
