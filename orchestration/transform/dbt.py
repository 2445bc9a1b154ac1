"""The dbt project as Dagster assets: staging → intermediate → marts, built with `dbt build`."""


import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ..config import DBT_PROJECT_DIR
from ..resources import WRITER_POOL, WarehouseResource

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


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TradeDbtTranslator(),
    pool=WRITER_POOL,
)
def trade_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # dbt opens the live file itself (profiles.yml reads TRADE_DUCKDB_PATH); no connection of ours is open.
    os.environ["TRADE_DUCKDB_PATH"] = str(warehouse.paths().live_db)
    yield from dbt.cli(["build"], context=context).stream()
