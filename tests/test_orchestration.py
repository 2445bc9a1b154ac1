"""The Dagster side: the code location loads, the schedule and sensors drive a refresh,
partitioned loads take exactly their months, and a new vintage supersedes the old one."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import dagster as dg

from orchestration.definitions import defs
from orchestration.ingest.assets import RAW_ROW_KEYS, RELEASES_KEY
from orchestration.jobs import build_marts_job, discover_releases_job, load_releases_job
from orchestration.sensors import (
    PARTITION_RANGE_END,
    PARTITION_RANGE_START,
    build_after_load_sensor,
    load_request_for,
)

from .conftest import REPO_ROOT, require_real, run_pipeline_in_process


def test_code_location_validates():
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Validation successful" in result.stdout + result.stderr


def test_definitions_hold_the_whole_path_and_one_writer_pool():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {"raw/releases", "raw/location_table_rows", "raw/city_table_rows", "raw/query_export_rows",
            "raw/preliminary_country_rows", "raw/comtrade_rows", "marts/trade_by_region_month",
            "marts/trade_by_region_year", "marts/releases", "published/trade_snapshot"} <= keys
    # every asset writes the live file (dbt and publish included), so every one takes the writer pool
    assert {assets_def.op.pool for assets_def in defs.assets} == {"duckdb_writer"}
    assert repo.get_schedule_def("daily_release_poll").job_name == discover_releases_job.name
    assert all(repo.asset_graph.get(key).partitions_def is not None for key in RAW_ROW_KEYS)


def test_load_request_covers_exactly_the_pending_months():
    request = load_request_for(["2024-03-01", "2024-01-01", "1999-01-01"], run_key="k")
    assert request.tags[PARTITION_RANGE_START] == "2024-01-01"
    assert request.tags[PARTITION_RANGE_END] == "2024-03-01"
    assert load_request_for([], run_key="k") is None


def test_schedule_sensor_chain_and_partition_range(warehouse):
    folder = require_real()
    warehouse.add(folder / "2024-01.csv", folder / "2024-02.csv", folder / "2024-03.csv")
    from orchestration.cli import ensure_dagster_home
    from orchestration.config import warehouse_paths

    ensure_dagster_home(warehouse_paths())
    instance = dg.DagsterInstance.get()

    # The schedule asks for the discovery job.
    schedule = defs.resolve_schedule_def("daily_release_poll")
    requests = schedule.evaluate_tick(dg.build_schedule_context(instance=instance)).run_requests
    assert [r.job_name for r in requests] in ([None], [discover_releases_job.name])
    assert defs.resolve_job_def(discover_releases_job.name).execute_in_process(instance=instance).success

    # The pending-release sensor sees the registry's materialization and asks for Jan–Mar in one run …
    sensor = defs.resolve_sensor_def("pending_releases_sensor")
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    tick = sensor.evaluate_tick(context)
    assert len(tick.run_requests) == 1
    request = tick.run_requests[0]
    assert (request.tags[PARTITION_RANGE_START], request.tags[PARTITION_RANGE_END]) == ("2024-01-01", "2024-03-01")
    # … and only once (its cursor has moved past that materialization).
    again = dg.build_sensor_context(instance=instance, definitions=defs, cursor=tick.cursor)
    assert sensor.evaluate_tick(again).run_requests == []

    # A load of February alone takes February alone.
    load = defs.resolve_job_def(load_releases_job.name)
    assert load.execute_in_process(instance=instance, partition_key="2024-02-01").success
    loaded = warehouse.query(
        "SELECT strftime(period_start, '%Y-%m') FROM raw.releases WHERE status = 'loaded'", db=warehouse.live_db
    )
    assert loaded == [("2024-02",)]
    # The requested range run loads the rest.
    ranged = load.execute_in_process(instance=instance, tags=request.tags)
    assert ranged.success
    assert warehouse.query("SELECT count(*) FROM raw.releases WHERE status = 'loaded'", db=warehouse.live_db)[0][0] == 3

    # A successful load asks for the build.
    status_context = dg.build_run_status_sensor_context(
        sensor_name="build_after_load_sensor",
        dagster_instance=instance,
        dagster_run=ranged.dagster_run,
        dagster_event=ranged.get_run_success_event(),
    )
    build_request = build_after_load_sensor(status_context)
    assert isinstance(build_request, dg.RunRequest)
    assert defs.resolve_sensor_def("build_after_load_sensor").job_name == build_marts_job.name
    assert defs.resolve_job_def(build_marts_job.name).execute_in_process(instance=instance).success
    assert warehouse.published_db.exists()
    materialized = instance.get_latest_materialization_event(RELEASES_KEY)
    assert materialized.asset_materialization.metadata["new_pending"].value == 3


def test_a_revised_release_supersedes_the_old_one_which_stays_queryable(warehouse):
    folder = require_real()
    warehouse.add(folder / "2024-01.csv", folder / "2024-02.csv")
    assert run_pipeline_in_process()
    original = warehouse.query(
        "SELECT total_cny, release_id FROM marts.trade_by_region_month WHERE region_code = '310000' AND month = 2"
    )[0]

    # GACC revises February: Shanghai's month and YTD totals go up by 100 万元.
    text = (folder / "2024-02.csv").read_text(encoding="utf-8-sig")
    old_line = next(line for line in text.splitlines() if line.startswith("上海市,"))
    cells = old_line.split(",")
    cells[1] = str(int(cells[1]) + 100)
    cells[2] = str(int(cells[2]) + 100)
    (warehouse.inbox / "2024-02-revised.csv").write_text(text.replace(old_line, ",".join(cells)), encoding="utf-8")
    assert run_pipeline_in_process()

    revised = warehouse.query(
        "SELECT total_cny, release_id FROM marts.trade_by_region_month WHERE region_code = '310000' AND month = 2"
    )[0]
    assert revised[0] == original[0] + Decimal(100 * 10_000)
    assert revised[1] != original[1]
    old_status, superseded_by = warehouse.query(
        "SELECT status, superseded_by FROM marts.releases WHERE release_id = ?", [original[1]]
    )[0]
    assert (old_status, superseded_by) == ("superseded", revised[1])
    # As known before the revision: the old vintage's figure is still in raw, with its release.
    old_figure = warehouse.query(
        "SELECT total_month_cny FROM raw.location_table_rows WHERE release_id = ? AND location_name = '上海市'",
        [original[1]],
    )[0][0]
    assert old_figure == original[0]
    # The as-of view gives the figure as known before the revision arrived, and now.
    vintages = warehouse.query(
        "SELECT vintage_number, total_cny, is_latest, known_until IS NULL FROM marts.trade_by_region_month_vintages "
        "WHERE region_code = '310000' AND period = DATE '2024-02-01' ORDER BY vintage_number"
    )
    assert vintages == [(1, original[0], False, False), (2, revised[0], True, True)]
