"""The one place that assembles the code location: assets, jobs, schedule, sensors, resources."""

import dagster as dg
from dagster_dbt import DbtCliResource

from .alerts import run_failure_alert
from .freshness import daily_freshness_check, freshness_checks_job, release_calendar_freshness
from .ingest.assets import raw_release_rows, release_registry
from .ingest.source_assets import ReleaseSources, fetched_releases, sources_reachable
from .jobs import build_marts_job, discover_releases_job, load_releases_job
from .resources import WarehouseResource
from .schedules import daily_release_poll
from .sensors import build_after_load_sensor, inbox_sensor, pending_releases_sensor
from .serve.assets import published_snapshot, report_card
from .transform.dbt import DBT_EXECUTABLE, dbt_project, trade_dbt_models

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
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
