"""The one place that assembles the code location: assets, jobs, schedule, sensors, resources."""

import sqlite3

import dagster as dg
import sqlalchemy

from .alerts import run_failure_alert
from .freshness import daily_freshness_check, freshness_checks_job, release_calendar_freshness
from .ingest.assets import raw_release_rows, release_registry
from .ingest.source_assets import ReleaseSources, fetched_releases, sources_reachable
from .jobs import build_marts_job, discover_releases_job, load_releases_job
from .resources import WarehouseResource
from .schedules import daily_release_poll
from .sensors import build_after_load_sensor, inbox_sensor, pending_releases_sensor
from .serve.assets import published_snapshot, report_card
from .transform.dbt import DBT_EXECUTABLE, TradeDbtCliResource, dbt_project, trade_dbt_models


def _dagster_sqlite_without_fsync(dbapi_connection, _record) -> None:
    """The embedded instance (SQLite under the warehouse folder) stores every Dagster event in its own
    transaction on a fresh connection, and SQLite syncs the file to disk on each one: a build of 96
    months writes thousands of events, and the waits for the disk were most of `make run`'s time
    (tens of seconds; minutes on a busy disk). Without the sync a killed process still loses nothing
    committed (the OS holds the pages); only a power cut could cost the run history, never the
    warehouse, whose DuckDB file syncs on its own. A production instance uses Postgres
    (deploy/dagster.yaml), which this does not touch."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


# Every SQLAlchemy engine of this process; in a Dagster process only the instance's storage uses SQLite.
if not sqlalchemy.event.contains(sqlalchemy.engine.Engine, "connect", _dagster_sqlite_without_fsync):
    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", _dagster_sqlite_without_fsync)

defs = dg.Definitions(
    assets=[fetched_releases, release_registry, raw_release_rows, trade_dbt_models, published_snapshot,
            report_card],
    asset_checks=[release_calendar_freshness, sources_reachable],
    jobs=[discover_releases_job, load_releases_job, build_marts_job, freshness_checks_job],
    schedules=[daily_release_poll, daily_freshness_check],
    sensors=[inbox_sensor, pending_releases_sensor, build_after_load_sensor, run_failure_alert],
    resources={
        "warehouse": WarehouseResource(),
        "release_sources": ReleaseSources(),
        "dbt": TradeDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
