"""The one place that assembles the code location: assets, jobs, schedule, sensors, resources."""

import dagster as dg
from dagster_dbt import DbtCliResource

from .ingest.assets import raw_release_rows, release_registry
from .jobs import build_marts_job, discover_releases_job, load_releases_job
from .resources import WarehouseResource
from .schedules import daily_release_poll
from .sensors import build_after_load_sensor, pending_releases_sensor
from .serve.assets import published_snapshot
from .transform.dbt import DBT_EXECUTABLE, dbt_project, trade_dbt_models

defs = dg.Definitions(
    assets=[release_registry, raw_release_rows, trade_dbt_models, published_snapshot],
    jobs=[discover_releases_job, load_releases_job, build_marts_job],
    schedules=[daily_release_poll],
    sensors=[pending_releases_sensor, build_after_load_sensor],
    resources={
        "warehouse": WarehouseResource(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
