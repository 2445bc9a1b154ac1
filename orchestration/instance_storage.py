"""The embedded Dagster instance's event log: Dagster's SQLite storage, keeping one SQLAlchemy engine
per database instead of creating one for every event.

Dagster's SqliteEventLogStorage builds a new engine for each event it stores. An engine owns
SQLAlchemy's cache of compiled statements, so every INSERT was compiled again, and creating the
engine and checking its tables cost as much. A `make run` stores about 3,900 event rows (each
partition of each asset is an event, and asset events go to the run's database and to the index),
and a profile of it spent 16 s of 46 s in that storage, most of it compiling and connecting.
- Each database keeps its engine, so statements are compiled once.
- The index database (one file, written by every run) keeps one idle connection open between
  events; a run's own database still gets a fresh connection per event (NullPool, as in Dagster),
  so a long-lived process (the daemon) never piles up open files, one per run it has seen. SQLite
  in WAL mode lets the UI and the daemon read and write the same files beside an idle connection.
- A table found once is not looked up again (tables are only ever added, by migrations).

Configured by the dagster.yaml `trade dagster-home` writes (cli.DAGSTER_YAML). base_dir defaults to
$DAGSTER_HOME/history/runs, where Dagster's default SQLite storage keeps its event logs, so an
instance written before keeps its history, and the folder can move with the warehouse.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool


class EngineCachingSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: dict[str, Engine] = {}
        self._engines_lock = threading.Lock()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> dict:
        from dagster._config import Field, StringSource

        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> EngineCachingSqliteEventLogStorage:
        base_dir = config_value.get("base_dir") or os.path.join(os.environ["DAGSTER_HOME"], "history", "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                pool: dict[str, Any] = (
                    {"poolclass": QueuePool, "pool_size": 1, "max_overflow": 4} if shard == INDEX_SHARD_NAME
                    else {"poolclass": NullPool}
                )
                engine = create_engine(
                    self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **pool
                )
                self._engines[shard] = engine
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's own _connect, with the engine kept (it disposed of it after each use).
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables_found:
            engine = self._engine(INDEX_SHARD_NAME)
            with engine.connect() as conn:
                if not engine.dialect.has_table(conn, table_name):
                    return False
            self._tables_found.add(table_name)
        return True

    def dispose(self) -> None:
        super().dispose()
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
