"""The dbt project as Dagster assets: staging → intermediate → marts, built with `dbt build`."""


import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ..config import DBT_PROJECT_DIR
from ..partitions import last_month_of_window, monthly_release_partitions
from ..resources import WRITER_POOL, WarehouseResource
from .metadata import table_metadata

# The dbt of this interpreter's environment, whether or not the venv is activated.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# `make` runs `dbt parse` before anything loads the definitions. Under `dagster dev` the code
# location re-parses on every reload so model edits show at once (DbtProject.prepare_if_dev would
# look for a `dbt` on PATH, which an unactivated venv does not have).
if os.environ.get("DAGSTER_IS_DEV_CLI"):
    subprocess.run(
        [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)], cwd=DBT_PROJECT_DIR, check=True
    )


class TradeDbtTranslator(DagsterDbtTranslator):
    """Keys mirror where a table lives in DuckDB (marts/trade_by_region_year), groups by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # Sources too: raw/<table> is the key the ingest asset materializes, whatever the source's name.
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["schema"]


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False  # rebuild every incremental model from raw (`trade rebuild`)


def dbt_build_args(first_month: date | None, last_month: date | None, full_refresh: bool) -> list[str]:
    """`dbt build` for a range of months: the incremental models recompute those months (vars
    min_period / max_period) besides any month a newly loaded release touched."""
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if first_month and last_month:
        args += ["--vars", json.dumps({"min_period": first_month.isoformat(), "max_period": last_month.isoformat()})]
    return args


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TradeDbtTranslator(),
    pool=WRITER_POOL,
    # Monthly like the raw tables they are built from; a range of months is one dbt invocation.
    partitions_def=monthly_release_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def trade_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
):
    # dbt opens the live file itself (profiles.yml reads TRADE_DUCKDB_PATH); no connection of ours is open.
    os.environ["TRADE_DUCKDB_PATH"] = str(warehouse.paths().live_db)
    window = context.partition_time_window
    args = dbt_build_args(window.start.date(), last_month_of_window(window), config.full_refresh)
    # Events are held until dbt has exited, then each table's metadata (rows, releases, months,
    # total, preview) is read from the file dbt no longer holds, and attached to its event.
    events = list(dbt.cli(args, context=context).stream())
    yield from with_table_metadata(context, events, warehouse)


def with_table_metadata(context: dg.AssetExecutionContext, events: list, warehouse: WarehouseResource) -> Iterator:
    with warehouse.connect() as con:
        for event in events:
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name)
            elif isinstance(event, dg.AssetMaterialization):
                key = event.asset_key
            else:
                yield event
                continue
            metadata = table_metadata(con, *key.path) if len(key.path) == 2 else {}
            if metadata:
                metadata["preview"] = dg.MetadataValue.md(metadata["preview"])
                event = event.with_metadata({**event.metadata, **metadata})
            yield event
