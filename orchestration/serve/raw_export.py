"""The raw tables as Parquet, for engines other than DuckDB (the dbt `spark` target reads them).

Every table of schema `raw` (what the dbt sources declare, and nothing else dbt reads from the
warehouse file: seeds come from CSV) becomes `<table>/data.parquet` in one folder: a folder per
table, the layout a Spark or Hive table's LOCATION names (a later writer can add files beside it). The folder is
written under a temporary name beside its destination and renamed into place, so a reader (a
Spark job registering the files) never sees half a table or a mix of two exports: it sees the
previous folder, or, for the instant between the two renames, none.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

RAW_SCHEMA = "raw"


def raw_table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", [RAW_SCHEMA]
    ).fetchall()]


def write_raw_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """Each raw table as folder/<table>/data.parquet (the folder must exist); its row count by table."""
    counts = {}
    for table in raw_table_names(con):
        (folder / table).mkdir()
        target = str(folder / table / "data.parquet").replace("'", "''")
        con.execute(f'COPY (SELECT * FROM {RAW_SCHEMA}."{table}") TO \'{target}\' (FORMAT parquet)')
        counts[table] = con.execute(f'SELECT count(*) FROM {RAW_SCHEMA}."{table}"').fetchone()[0]
    return counts


def export_raw_tables(database: Path, destination: Path) -> dict[str, int]:
    """Export every raw table of the DuckDB file `database` (opened read-only) into `destination`,
    replacing what an earlier export left there; the row count of each table."""
    destination = destination.resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    previous = destination.with_name(f".{destination.name}.{os.getpid()}.previous")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            counts = write_raw_parquet(con, partial)
        if not counts:
            raise RuntimeError(f"{database} has no tables in schema {RAW_SCHEMA}: nothing exported")
        if destination.exists():
            os.replace(destination, previous)
        os.replace(partial, destination)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(previous, ignore_errors=True)
    return counts
