"""SIGKILL a real `trade run` process at several points (landing, raw loads, dbt, publish), then run
again: the live file opens, no release is ever half-loaded, and raw tables and marts end up equal to
a clean run's, content hash for content hash. Also: the same inbox twice changes nothing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from orchestration.samples.city_tables import write_city_tables
from orchestration.samples.location_tables import write_location_tables
from orchestration.samples.query_exports import write_query_exports

from .conftest import REPO_ROOT, Warehouse

KILL_FRACTIONS = (0.12, 0.3, 0.45, 0.6, 0.8)  # of a clean run's wall time: spread over every step


def _trade_run(warehouse: Warehouse) -> subprocess.Popen:
    env = {**os.environ, "TRADE_WAREHOUSE_DIR": str(warehouse.root), "TRADE_INBOX": str(warehouse.inbox)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def _finish(warehouse: Warehouse) -> str:
    process = _trade_run(warehouse)
    out, _ = process.communicate(timeout=600)
    assert process.returncode == 0, out[-4000:]
    return out


# The jobs that were running when a kill landed, collected across the kill points.
KILLED_IN: set[str] = set()


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inbox")
    write_location_tables(folder, "2023-01", "2024-12")
    write_city_tables(folder, "2024-01", "2024-12")
    write_query_exports(folder, "2023-01", "2024-12")
    return folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory, inbox):
    warehouse = Warehouse(inbox=inbox, root=tmp_path_factory.mktemp("clean") / "warehouse")
    started = time.monotonic()
    _finish(warehouse)
    duration = time.monotonic() - started
    return warehouse, duration


def _no_partial_release(warehouse: Warehouse) -> None:
    con = duckdb.connect(str(warehouse.live_db), read_only=True)  # the live file opens after a SIGKILL
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' AND table_name LIKE '%_rows'"
            " AND table_name <> 'rejected_rows'"
        ).fetchall()]
        for table in tables:
            half = con.execute(
                f"SELECT DISTINCT r.release_id, rel.status FROM raw.{table} r "
                "LEFT JOIN raw.releases rel USING (release_id) WHERE rel.status IS NULL OR rel.status NOT IN ('loaded', 'superseded')"
            ).fetchall()
            assert half == [], f"rows of releases that are not loaded in raw.{table}: {half}"
            counts = con.execute(
                f"SELECT rel.release_id, rel.row_count, count(r.release_id) FROM raw.releases rel "
                f"JOIN raw.{table} r USING (release_id) GROUP BY ALL HAVING rel.row_count <> count(r.release_id)"
            ).fetchall()
            assert counts == [], f"releases whose rows are not all there in raw.{table}: {counts}"
    finally:
        con.close()


@pytest.mark.parametrize("fraction", KILL_FRACTIONS)
def test_sigkill_then_rerun_gives_the_clean_result(tmp_path, inbox, clean, fraction):
    clean_warehouse, duration = clean
    warehouse = Warehouse(inbox=inbox, root=tmp_path / "warehouse")
    process = _trade_run(warehouse)
    time.sleep(duration * fraction)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    if warehouse.live_db.exists():
        _no_partial_release(warehouse)
    out = _finish(warehouse)
    KILLED_IN.update(re.findall(r"\((\w+)\) of an earlier `trade run` had died", out))
    assert warehouse.raw_digest() == clean_warehouse.raw_digest()
    assert warehouse.marts_digest() == clean_warehouse.marts_digest()
    assert not list((warehouse.root / "landing").glob(".*.partial"))


def test_the_kills_landed_during_loads_and_during_dbt():
    # A kill point that only ever hits the start or the end would prove nothing about transactions.
    assert {"load_releases", "build_marts"} <= KILLED_IN, KILLED_IN


def test_the_same_inbox_twice_changes_nothing(tmp_path, inbox, clean):
    clean_warehouse, _ = clean
    warehouse = Warehouse(inbox=inbox, root=tmp_path / "warehouse")
    shutil.copytree(clean_warehouse.root, warehouse.root)
    shutil.rmtree(warehouse.root / "dagster_home")
    # The copied registry points at the clean warehouse's landing files: same bytes, same ids.
    before_raw, before_marts = warehouse.raw_digest(), warehouse.marts_digest()
    _finish(warehouse)
    assert warehouse.raw_digest() == before_raw
    assert warehouse.marts_digest() == before_marts
