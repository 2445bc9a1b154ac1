"""The Dagster side: the code location loads, the schedule and sensors drive a refresh,
partitioned loads take exactly their months, and a new vintage supersedes the old one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal

import dagster as dg
import duckdb

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


def test_production_instance_config_is_valid_and_keeps_one_writer():
    """deploy/dagster.yaml loads through Dagster's own instance-config validation."""
    from dagster._core.instance.config import dagster_instance_config

    config, _ = dagster_instance_config(str(REPO_ROOT / "deploy"))
    assert "postgres" in config["storage"]
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"


def test_definitions_hold_the_whole_path_and_one_writer_pool():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {"raw/releases", "raw/location_table_rows", "raw/city_table_rows", "raw/query_export_rows",
            "raw/preliminary_country_rows", "raw/comtrade_rows", "marts/trade_by_region_month",
            "marts/trade_by_region_year", "marts/releases", "published/trade_snapshot"} <= keys
    # every asset that writes the live file (dbt and publish included) takes the writer pool; the
    # source poller only writes files into the inbox and must not wait for a writer
    pools = {assets_def.op.name: assets_def.op.pool for assets_def in defs.assets}
    assert pools.pop("inbox__fetched_releases") is None
    assert pools.pop("published__report_card") is None  # reads the published snapshot only
    assert set(pools.values()) == {"duckdb_writer"}
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
    # The raw asset says which releases fed it, what they add up to, and shows a few rows.
    raw_metadata = instance.get_latest_materialization_event(
        dg.AssetKey(["raw", "location_table_rows"])
    ).asset_materialization.metadata
    assert "2024-01.csv" in raw_metadata["loaded"].value and "2024-03.csv" in raw_metadata["loaded"].value
    assert raw_metadata["releases_loaded_this_run"].value == 2  # February came in its own run
    assert raw_metadata["total_100m_cny"].value > 0 and "| release_id |" in raw_metadata["preview"].value

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
    # … of the same months.
    assert (build_request.tags[PARTITION_RANGE_START], build_request.tags[PARTITION_RANGE_END]) == ("2024-01-01", "2024-03-01")
    built = defs.resolve_job_def(build_marts_job.name).execute_in_process(instance=instance, tags=build_request.tags)
    assert built.success
    assert warehouse.published_db.exists()
    # dbt's artifacts of the build are kept with the warehouse, in a folder named for the run, and
    # none in dbt_project/target, where dagster-dbt would have left a folder per build.
    assert not list((REPO_ROOT / "dbt_project" / "target").glob("trade_dbt_models-*"))
    builds = list((warehouse_paths().dbt_builds).iterdir())
    assert [b.name.endswith(built.run_id) for b in builds] == [True]
    assert (builds[0] / "run_results.json").exists() and (builds[0] / "dbt.log").exists()
    # The monthly dbt assets record the three months; the published snapshot is one asset.
    from dagster import AssetKey

    assert instance.get_materialized_partitions(AssetKey(["marts", "fct_trade_monthly"])) == {
        "2024-01-01", "2024-02-01", "2024-03-01"
    }
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


def test_inbox_sensor_requests_a_run_for_new_files_only(warehouse):
    from orchestration.resources import WarehouseResource

    RESOURCES = {"warehouse": WarehouseResource()}  # reads TRADE_INBOX, set by the fixture
    folder = require_real()
    sensor = defs.resolve_sensor_def("inbox_sensor")
    context = dg.build_sensor_context(resources=RESOURCES)
    assert sensor.evaluate_tick(context).run_requests == []  # empty inbox: nothing to do

    warehouse.add(folder / "2024-01.csv")
    tick = sensor.evaluate_tick(dg.build_sensor_context(resources=RESOURCES, cursor=context.cursor))
    assert len(tick.run_requests) == 1 and tick.run_requests[0].job_name in (None, discover_releases_job.name)
    first_key = tick.run_requests[0].run_key

    # The same file again: nothing (the cursor has it).
    again = sensor.evaluate_tick(dg.build_sensor_context(resources=RESOURCES, cursor=tick.cursor))
    assert again.run_requests == []

    # A second file: one request, for the new file only.
    warehouse.add(folder / "2024-02.csv")
    third = sensor.evaluate_tick(dg.build_sensor_context(resources=RESOURCES, cursor=again.cursor))
    assert len(third.run_requests) == 1 and third.run_requests[0].run_key != first_key
    assert "2024-02.csv" in third.run_requests[0].tags["trade/new_files"]
    assert "2024-01.csv" not in third.run_requests[0].tags["trade/new_files"]
    # A sidecar appearing beside a file is news too (it can change the file's verdict).
    (warehouse.inbox / "2024-02.csv.json").write_text('{"flow": "both"}', encoding="utf-8")
    fourth = sensor.evaluate_tick(dg.build_sensor_context(resources=RESOURCES, cursor=third.cursor))
    assert len(fourth.run_requests) == 1


def test_backfill_of_three_months_recomputes_them_and_rebuild_equals_incremental(warehouse):
    """`trade backfill` over three months of the sample, then a later month, then a full rebuild:
    the incremental marts equal the rebuilt ones, and the monthly assets know their partitions."""
    from orchestration.cli import ensure_dagster_home, run_pipeline
    from orchestration.config import warehouse_paths
    from orchestration.samples import write_sample_releases

    write_sample_releases(warehouse.inbox, "2024-01", "2024-03")
    paths = warehouse_paths()
    ensure_dagster_home(paths)
    assert run_pipeline(paths, months=("2024-01-01", "2024-03-01"))
    instance = dg.DagsterInstance.get()
    from dagster import AssetKey

    fact = AssetKey(["marts", "fct_trade_monthly"])
    assert instance.get_materialized_partitions(fact) == {"2024-01-01", "2024-02-01", "2024-03-01"}
    three_months = warehouse.query("SELECT count(DISTINCT period) FROM marts.fct_trade_monthly")[0][0]
    assert three_months == 3
    # Every dbt table's materialization carries rows, releases, months, a total in 亿元 and a preview.
    metadata = instance.get_latest_materialization_event(AssetKey(["marts", "fct_trade_monthly"])).asset_materialization.metadata
    assert metadata["dagster/row_count"].value == warehouse.query("SELECT count(*) FROM marts.fct_trade_monthly")[0][0]
    assert metadata["releases"].value > 0 and metadata["periods_covered"].value == "2024-01-01 … 2024-03-01"
    assert metadata["sum_value_cny_100m"].value > 0 and "| region_level |" in metadata["preview"].value
    # So does a table of the work database (work.duckdb, beside the live file).
    detail = instance.get_latest_materialization_event(
        AssetKey(["intermediate", "int_trade_detail_month"])).asset_materialization.metadata
    assert detail["dagster/row_count"].value == warehouse.query(
        "SELECT count(*) FROM intermediate.int_trade_detail_month", db=paths.work_db)[0][0] > 0

    # April arrives: only April is loaded and built; the earlier months stay as they were.
    write_sample_releases(warehouse.inbox, "2024-04", "2024-04")
    before = warehouse.query("SELECT release_loaded_at FROM marts.fct_trade_monthly WHERE period = DATE '2024-01-01' LIMIT 1")
    assert run_pipeline(paths)
    assert "2024-04-01" in instance.get_materialized_partitions(fact)
    assert warehouse.query("SELECT count(DISTINCT period) FROM marts.fct_trade_monthly")[0][0] == 4
    assert warehouse.query(
        "SELECT release_loaded_at FROM marts.fct_trade_monthly WHERE period = DATE '2024-01-01' LIMIT 1"
    ) == before
    # The months this build recomputed, which the uniqueness tests of the facts check: April only.
    assert warehouse.query("SELECT period FROM intermediate.int_build_months") == [(date(2024, 4, 1),)]
    incremental = warehouse.marts_digest()
    incremental_rest = _incremental_models_digest(warehouse)

    # The April build started from the parse the first build saved for this warehouse's path: dbt
    # did not parse the whole project again (the project's saved parse is for the default path).
    newest_build = sorted(paths.dbt_builds.iterdir())[-1]
    assert "Unable to do partial parsing" not in (newest_build / "dbt.log").read_text(encoding="utf-8")

    # The full-rebuild path gives the same marts.
    assert run_pipeline(paths, full_refresh=True)
    assert warehouse.marts_digest() == incremental
    assert _incremental_models_digest(warehouse) == incremental_rest
    # A full rebuild recomputes, and tests, every month.
    assert {date(2024, month, 1) for month in range(1, 5)} <= {
        p for (p,) in warehouse.query("SELECT period FROM intermediate.int_build_months")
    }


def test_a_work_file_is_rebuilt_beside_a_new_live_file_not_trusted(warehouse):
    """The row-grain intermediate tables live in work.duckdb, which publishing does not copy. They are
    derived from one live file: a live file loaded afresh beside an old work file (the live file and
    its archive deleted, the work file left) must not pick up the old file's months. The work tables
    are dropped and rebuilt from the new live file, and the two files are paired again."""
    from orchestration.cli import ensure_dagster_home, run_pipeline
    from orchestration.config import warehouse_paths
    from orchestration.samples import write_sample_releases

    paths = warehouse_paths()
    ensure_dagster_home(paths)
    write_sample_releases(warehouse.inbox, "2024-01", "2024-02")
    assert run_pipeline(paths)
    detail_months = "SELECT DISTINCT period FROM intermediate.int_trade_detail_month ORDER BY 1"
    assert warehouse.query(detail_months, db=paths.work_db) == [(date(2024, 1, 1),), (date(2024, 2, 1),)]
    # Analysts' snapshot is the live file: it holds none of the work tables.
    assert warehouse.query(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN "
        "('int_trade_detail_month', 'int_query_export_latest')"
    ) == []

    paths.live_db.unlink()
    shutil.rmtree(paths.landing)
    shutil.rmtree(warehouse.inbox)
    write_sample_releases(warehouse.inbox, "2024-03", "2024-03")
    assert run_pipeline(paths)
    march = [(date(2024, 3, 1),)]
    assert warehouse.query("SELECT DISTINCT period FROM marts.fct_trade_monthly") == march
    assert warehouse.query(detail_months, db=paths.work_db) == march
    pairing = "SELECT pairing_id FROM {}.main.work_database_pairing"
    con = duckdb.connect(str(paths.live_db), read_only=True)
    try:
        con.execute("ATTACH ? AS work (READ_ONLY)", [str(paths.work_db)])
        (live_id,), (work_id,) = con.execute(pairing.format("trade")).fetchall(), con.execute(pairing.format("work")).fetchall()
    finally:
        con.close()
    assert live_id == work_id

    # A warehouse built before the work file existed holds the table in the live file: the next
    # build drops it there, and the snapshot is again without it.
    con = duckdb.connect(str(paths.live_db))
    try:
        con.execute("ATTACH ? AS work (READ_ONLY)", [str(paths.work_db)])
        con.execute("CREATE TABLE trade.intermediate.int_trade_detail_month AS "
                    "SELECT * FROM work.intermediate.int_trade_detail_month")
    finally:
        con.close()
    assert run_pipeline(paths)
    assert warehouse.query(
        "SELECT table_name FROM information_schema.tables WHERE table_name = 'int_trade_detail_month'", db=paths.live_db
    ) == []
    assert warehouse.query(detail_months, db=paths.work_db) == march


def _incremental_models_digest(warehouse) -> str:
    """The incremental models marts_digest does not cover, and the dimensions built from them, without
    their load timestamps."""
    import hashlib

    digest = hashlib.sha256()
    for sql in (
        "SELECT * EXCLUDE (release_loaded_at) FROM intermediate.int_product_hs2017_basis_month ORDER BY ALL",
        "SELECT * EXCLUDE (release_loaded_at) FROM intermediate.int_product_month ORDER BY ALL",
        "SELECT * EXCLUDE (release_loaded_at) FROM intermediate.int_query_export_codes ORDER BY ALL",
        "SELECT * EXCLUDE (release_loaded_at) FROM intermediate.int_query_export_release_sums ORDER BY ALL",
        "SELECT * EXCLUDE (release_loaded_at) FROM marts.fct_trade_monthly_history ORDER BY ALL",
        "SELECT * FROM marts.dim_product ORDER BY ALL",
        "SELECT * FROM marts.dim_partner ORDER BY ALL",
        "SELECT * FROM marts.dim_trade_mode ORDER BY ALL",
    ):
        digest.update(repr(warehouse.query(sql)).encode())
    return digest.hexdigest()


def test_only_the_newest_dbt_build_folders_are_kept(tmp_path):
    from orchestration.transform.dbt import new_build_folder, remove_old_builds

    builds = tmp_path / "dbt_builds"
    made = [new_build_folder(builds, f"run{i:05d}") for i in range(7)]
    assert made == sorted(made)  # named to sort by time
    remove_old_builds(builds, keep=made[-1], count=5)
    assert sorted(builds.iterdir()) == made[2:]
    # The build just made stays even when the clock made it sort first (a clock set back).
    early = builds / "19990101T000000000000Z-runearly"
    early.mkdir()
    remove_old_builds(builds, keep=early, count=2)
    assert sorted(builds.iterdir()) == [early, *made[5:]]


def test_the_dbt_resource_runs_dbt_without_loading_an_adapter_in_this_process(tmp_path):
    from orchestration.transform.dbt import DBT_EXECUTABLE, TradeDbtCliResource, dbt_project

    resource = TradeDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    invocation = resource.cli(["--version"], target_path=tmp_path / "target")
    invocation.wait()
    assert invocation.is_successful()
    assert invocation.adapter is None  # dagster-dbt's would have loaded the project and profile here
