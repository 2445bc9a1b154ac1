"""The embedded Dagster instance's event log: Dagster's SQLite storage, keeping one SQLAlchemy engine
per database instead of creating one for every event.

Dagster's SqliteEventLogStorage builds a new engine for each event it stores. An engine owns
SQLAlchemy's cache of compiled statements, so every INSERT was compiled again, and creating the
engine and checking its tables cost as much. A `make run` stores about 3,900 event rows (each
partition of each asset is an event, and asset events go to the run's database and to the index),
and a profile of it spent 16 s of 46 s in that storage, most of it compiling and connecting.
- Each database keeps its engine, so statements are compiled once.
- Connections are still fresh for each event (NullPool, as in Dagster): nothing stays open between
  events, so the UI and the daemon see the files as before, a long-lived process never piles up open
  files, and a full disk fails the way it always did (a kept connection turned it into a bare
  "disk I/O error" on the next event).
- A table found once is not looked up again (tables are only ever added, by migrations).

Configured by the dagster.yaml `trade dagster-home` writes (cli.dagster_yaml): base_dir is
<home>/history/runs, where Dagster's default SQLite storage keeps its event logs, so an instance
written before keeps its history. The file names the folder, so every `trade` command rewrites a
file it wrote for another folder (a warehouse copied or moved).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool


class EngineCachingSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: dict[str, Engine] = {}
        self._engines_lock = threading.Lock()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> EngineCachingSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)  # Dagster's own builds its own class

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
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
