"""The same dbt project built on Spark (`make test-spark`): every mart equals DuckDB's.

The bundled sample is built on DuckDB (`trade run`, the shared sample_run), its raw tables are
exported as Parquet (`trade export-raw`), and `dbt build --target spark` (pyspark in this machine,
local[2]) builds every seed, model and data test from those files. Each mart of the Spark build is
then read back (its Parquet files, through DuckDB) and compared with the DuckDB build: the same
columns, the same number of rows, keys, names, dates and counts equal exactly, and every decimal
within one unit of its last digit: money to the cent (the engines divide in different arithmetic,
double on DuckDB, decimal on Spark, so a converted or derived amount may round a cent apart). A second, incremental Spark build of a range of months (insert_overwrite of their
partitions) must leave the facts exactly as they were.

Needs the spark extra (pyspark, dbt-spark) and Java 17; plain `make test` deselects these tests
(marker `spark`), and without the extra they are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.config import DBT_PROJECT_DIR

from .conftest import run_trade

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark installs it)")
pytest.importorskip("dbt.adapters.spark", reason="the spark extra is not installed (make test-spark installs it)")

DBT = str(Path(sys.executable).parent / "dbt")
# The months the incremental rerun recomputes (the sample holds 2018-01 … 2025-12).
RERUN_MONTHS = ("2024-01-01", "2024-03-01")


def _dbt_on_spark(spark_dir: Path, raw_parquet: Path, *args: str, extra_env: dict[str, str] | None = None):
    env = {
        **os.environ,
        "TRADE_SPARK_DIR": str(spark_dir),
        "TRADE_RAW_PARQUET_DIR": str(raw_parquet),
        "TRADE_SPARK_MASTER": "local[2]",
        **(extra_env or {}),
    }
    # Its own target and log folders: the DuckDB manifest in dbt_project/target, which the Dagster
    # definitions load, stays untouched.
    command = [DBT, *args, "--target", "spark", "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(spark_dir / "dbt_target"), "--log-path", str(spark_dir / "dbt_logs")]
    result = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=2400)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def spark_build(sample_run, tmp_path_factory):
    """The sample on DuckDB, its raw tables as Parquet, and `dbt build --target spark` of the whole project."""
    assert shutil.which("java"), "Spark needs Java 17 on PATH (the only system requirement of make test-spark)"
    warehouse, _ = sample_run
    spark_dir = tmp_path_factory.mktemp("spark")
    raw_parquet = spark_dir / "raw_parquet"
    exported = run_trade(warehouse, "export-raw", "--to", str(raw_parquet))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    _dbt_on_spark(spark_dir, raw_parquet, "build")
    return warehouse, spark_dir, raw_parquet


def _mart_names(spark_dir: Path) -> list[str]:
    manifest = json.loads((spark_dir / "dbt_target" / "manifest.json").read_text(encoding="utf-8"))
    return sorted(node["name"] for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and node["schema"] == "marts")


def _spark_table(spark_dir: Path, schema: str, table: str) -> str:
    """The Parquet files of a table Spark wrote (partition folders included), as a DuckDB relation."""
    folder = spark_dir / "tables" / f"{schema}.db" / table
    assert folder.is_dir(), f"Spark did not write {schema}.{table} ({folder})"
    return f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"


def _differences(con: duckdb.DuckDBPyConnection, duckdb_table: str, spark_relation: str) -> list[str]:
    """What differs between a mart of the DuckDB build and the same mart of the Spark build."""
    columns = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = 'duck' AND table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position",
        [duckdb_table],
    ).fetchall())
    spark_columns = {name for (name, *_) in con.execute(f"DESCRIBE SELECT * FROM {spark_relation}").fetchall()}
    if set(columns) != spark_columns:
        return [f"columns: only DuckDB {sorted(set(columns) - spark_columns)}, only Spark {sorted(spark_columns - set(columns))}"]
    # Spark's columns read as DuckDB's types (a partition column comes back from its folder name).
    spark = f"(SELECT {', '.join(f'CAST({c} AS {t}) AS {c}' for c, t in columns.items())} FROM {spark_relation})"
    duck = f"duck.marts.{duckdb_table}"
    problems = []
    duck_rows, spark_rows = (con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0] for rel in (duck, spark))
    if duck_rows != spark_rows:
        problems.append(f"rows: DuckDB {duck_rows}, Spark {spark_rows}")
    # Numbers with decimals (money, quantities, ratios) may differ by one unit in their last decimal
    # (a cent for money): the engines round quotients computed in different arithmetic. Everything
    # else (keys, names, dates, counts) must be equal, row for row.
    scales = dict(con.execute(
        "SELECT column_name, numeric_scale FROM information_schema.columns WHERE table_catalog = 'duck' "
        "AND table_schema = 'marts' AND table_name = ? AND data_type LIKE 'DECIMAL%'", [duckdb_table],
    ).fetchall())
    exact = [c for c in columns if c not in scales]
    exact_list = ", ".join(exact)
    for first, second, label in ((duck, spark, "only in DuckDB"), (spark, duck, "only in Spark")):
        extra = con.execute(
            f"SELECT {exact_list}, count(*) FROM {first} GROUP BY ALL "
            f"EXCEPT SELECT {exact_list}, count(*) FROM {second} GROUP BY ALL LIMIT 3"
        ).fetchall()
        if extra:
            problems.append(f"{label}: {extra}")
    if scales and not problems:
        # The other columns identify a row (each mart's grain is among them): pair the rows by them.
        unique = con.execute(f"SELECT count(*) = count(DISTINCT ({exact_list})) FROM {duck}").fetchone()[0]
        if not unique:
            return [f"the columns other than {sorted(scales)} do not identify a row: cannot pair the rows"]
        join = " AND ".join(f"d.{c} IS NOT DISTINCT FROM s.{c}" for c in exact)
        for column, scale in scales.items():
            off = con.execute(
                f"SELECT d.{column}, s.{column} FROM {duck} AS d JOIN {spark} AS s ON {join} "
                f"WHERE (d.{column} IS NULL) <> (s.{column} IS NULL) OR abs(d.{column} - s.{column}) > {10.0 ** -scale} "
                f"LIMIT 3"
            ).fetchall()
            if off:
                problems.append(f"{column} differs by more than {10.0 ** -scale}: {off}")
    return problems


def _compare(warehouse, spark_dir: Path, marts: list[str]) -> dict[str, list[str]]:
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{warehouse.published_db}' AS duck (READ_ONLY)")
        return {mart: problems for mart in marts
                if (problems := _differences(con, mart, _spark_table(spark_dir, "marts", mart)))}
    finally:
        con.close()


def test_every_mart_built_on_spark_equals_the_duckdb_build(spark_build):
    warehouse, spark_dir, _ = spark_build
    marts = _mart_names(spark_dir)
    duckdb_marts = sorted(name for (name,) in warehouse.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"))
    assert marts == duckdb_marts
    assert _compare(warehouse, spark_dir, marts) == {}


def test_an_incremental_spark_build_of_some_months_leaves_the_marts_equal(spark_build):
    """The build a Dagster partition run makes: only the months asked for are recomputed (their
    partitions overwritten by insert_overwrite); every mart still equals the DuckDB build."""
    warehouse, spark_dir, raw_parquet = spark_build
    result = _dbt_on_spark(
        spark_dir, raw_parquet, "run", "--select", "config.materialized:incremental+",
        extra_env={"TRADE_BUILD_MIN_PERIOD": RERUN_MONTHS[0], "TRADE_BUILD_MAX_PERIOD": RERUN_MONTHS[1]},
    )
    assert "incremental model marts.fct_trade_monthly" in result.stdout
    assert _compare(warehouse, spark_dir, _mart_names(spark_dir)) == {}


def test_spark_connect_profile_is_complete(tmp_path):
    """The production target that needs no extra package is a valid profile: dbt parses the project
    with it (a missing or misspelt setting fails here; no cluster is contacted)."""
    command = [DBT, "parse", "--target", "spark_connect", "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    env = {**os.environ, "TRADE_SPARK_REMOTE": "sc://spark-connect.example:15002"}
    result = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8"))
    # Parsed for Spark: the facts incremental by month are partitioned by it there.
    fact = manifest["nodes"]["model.yrd_trade.fct_trade_monthly"]["config"]
    assert (fact["incremental_strategy"], fact["partition_by"]) == ("insert_overwrite", ["period"])
