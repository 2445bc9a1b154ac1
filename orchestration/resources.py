"""Resources: where the warehouse is, and the one way to open its live DuckDB file for writing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from .config import WarehousePaths, warehouse_paths

# Every asset that opens the live file shares this pool; the instance limits it to one slot
# (DuckDB allows one writer process and no reader beside it).
WRITER_POOL = "duckdb_writer"


def writer_settings() -> dict[str, str]:
    """DuckDB settings of the writing connection. The memory limit bounds what a load of a
    multi-gigabyte export holds (DuckDB spills beyond it to <warehouse>/trade.duckdb.tmp), so one run
    fits beside Dagster on a small machine; TRADE_DUCKDB_MEMORY_LIMIT overrides it (e.g. 4GB)."""
    return {"memory_limit": os.environ.get("TRADE_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT}


DEFAULT_MEMORY_LIMIT = "1GB"


class WarehouseResource(dg.ConfigurableResource):
    """The inbox and warehouse folders. Empty fields fall back to TRADE_INBOX / TRADE_WAREHOUSE_DIR,
    read when a run starts, so the same definitions serve every user's folders."""

    inbox: str = ""
    warehouse_dir: str = ""

    def paths(self) -> WarehousePaths:
        defaults = warehouse_paths()
        return WarehousePaths(
            inbox=Path(self.inbox).resolve() if self.inbox else defaults.inbox,
            warehouse_dir=Path(self.warehouse_dir).resolve() if self.warehouse_dir else defaults.warehouse_dir,
        )

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the live file, always closed (dbt needs the lock next)."""
        paths = self.paths()
        paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(paths.live_db), config=writer_settings())
        try:
            yield con
        finally:
            con.close()
