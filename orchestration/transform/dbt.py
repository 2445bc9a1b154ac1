"""The dbt project as Dagster assets: staging → intermediate → marts, built with `dbt build`."""


import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ..config import DBT_PROJECT_DIR
from ..partitions import monthly_release_partitions
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


class TradeDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the dbt adapter it loads in this process before every build.

    That adapter (2 s of loading the project, profile and macros in a profile of `make run`) only
    serves dagster-dbt's fetch_row_counts and fetch_column_metadata, which this project does not
    use: each table's metadata is read from the warehouse once dbt has exited (table_metadata).
    Without an adapter dagster-dbt runs dbt exactly as before."""

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None


class TradeDbtTranslator(DagsterDbtTranslator):
    """Keys mirror where a table lives in DuckDB (marts/trade_by_region_year), groups by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # Sources too: raw/<table> is the key the ingest asset materializes, whatever the source's name.
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["schema"]

    def get_partitions_def(self, dbt_resource_props: Mapping[str, Any]) -> dg.PartitionsDefinition | None:
        if is_monthly_fact(dbt_resource_props):
            return monthly_release_partitions
        return None


def is_monthly_fact(dbt_resource_props: Mapping[str, Any]) -> bool:
    """The trade facts (marts, incremental by month) have monthly partitions: a month of them is a
    real slice an engineer inspects and backfills, and they make build_marts a monthly job.
    Everything else is one asset without partitions: views, seeds, dimensions and yearly marts are
    rebuilt whole by every build, and the intermediate models incremental by month rebuild the same
    months as the facts (macro months_to_rebuild). Dagster writes one event per partition and asset
    to its SQLite storage, so a build of the 96 sample months with every model monthly spent most
    of its time writing tens of thousands of events."""
    config = dbt_resource_props.get("config") or {}
    return (
        dbt_resource_props.get("resource_type") == "model"
        and config.get("materialized") == "incremental"
        and dbt_resource_props.get("schema") == "marts"
    )


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False  # rebuild every incremental model from raw (`trade rebuild`)


# The months a build recomputes besides those new releases touched, for the macro months_to_rebuild.
# Environment variables, not --vars: dbt re-parses the whole project whenever --vars change (seconds
# on every build), while an env_var read only at execution time leaves partial parsing intact.
BUILD_RANGE_ENV = ("TRADE_BUILD_MIN_PERIOD", "TRADE_BUILD_MAX_PERIOD")


def dbt_build_args(full_refresh: bool) -> list[str]:
    return ["build", "--full-refresh"] if full_refresh else ["build"]


def dbt_build_env(first_month: date | None, last_month: date | None) -> dict[str, str]:
    """The range of months to recompute (first days, inclusive) as the macro months_to_rebuild reads it;
    empty strings when the run has no range (only the months new releases touched are rebuilt)."""
    if first_month and last_month:
        return {BUILD_RANGE_ENV[0]: first_month.isoformat(), BUILD_RANGE_ENV[1]: last_month.isoformat()}
    return {name: "" for name in BUILD_RANGE_ENV}


def partition_months(context: dg.AssetExecutionContext) -> tuple[date | None, date | None]:
    """The first and last month of the run's partition range (None, None for an unpartitioned run)."""
    if not context.has_partition_key_range:
        return None, None
    keys = context.partition_key_range
    return date.fromisoformat(keys.start[:10]), date.fromisoformat(keys.end[:10])


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TradeDbtTranslator(),
    pool=WRITER_POOL,
    # The facts are monthly like the raw tables they are built from (TradeDbtTranslator.get_partitions_def);
    # a range of months is one dbt invocation.
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def trade_dbt_models(
    context: dg.AssetExecutionContext, dbt: TradeDbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
):
    # dbt opens the live and work files itself (profiles.yml reads TRADE_DUCKDB_PATH and
    # TRADE_WORK_DUCKDB_PATH); no connection of ours is open.
    os.environ.update(warehouse.paths().dbt_env())
    # Set (or cleared) on every run: the dbt subprocess inherits this process's environment.
    os.environ.update(dbt_build_env(*partition_months(context)))
    args = dbt_build_args(config.full_refresh)
    target = new_build_folder(warehouse.paths().dbt_builds, context.run.run_id)
    reuse_saved_parse(target)
    # Events are held until dbt has exited, then each table's metadata (rows, releases, months,
    # total, preview) is read from the file dbt no longer holds, and attached to its event.
    events = list(dbt.cli(args, context=context, target_path=target).stream())
    remove_old_builds(target.parent, keep=target)
    remove_leftover_project_builds()
    yield from with_table_metadata(context, events, warehouse)


# The builds whose artifacts are kept: enough to compare the last runs, bounded so that a warehouse
# on a daily schedule does not grow by a build's 10 MB of compiled SQL and manifest every day.
KEEP_DBT_BUILDS = 5
PARTIAL_PARSE_FILE = "partial_parse.msgpack"  # dbt's saved parse, in a build's target folder


def new_build_folder(builds: Path, run_id: str) -> Path:
    """A fresh folder for one dbt build's artifacts, named to sort by time.

    dagster-dbt would write each build to a new folder under dbt_project/target and never remove
    it; under the warehouse they belong to the warehouse they describe, and are pruned."""
    folder = builds / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{run_id}"
    folder.mkdir(parents=True)
    return folder


def reuse_saved_parse(target: Path) -> None:
    """Start the build from the parse this warehouse's last build saved, when there is one.

    dbt keys its saved parse to the profile, and the profile names the warehouse file: the parse
    `make manifest` saves is for the default warehouse, so a warehouse anywhere else (TRADE_WAREHOUSE_DIR)
    parsed the whole project on every build, 9-11 s. The newest earlier build of this warehouse saved
    a parse for its path; dagster-dbt copies the project's only when the build folder has none. A parse
    saved before the project changed is still right: dbt re-parses the files that changed, and the
    whole project when dbt or the profile changed or the file does not load."""
    earlier = sorted((p for p in target.parent.iterdir() if p.is_dir() and p != target), reverse=True)
    for folder in earlier:
        saved = folder / PARTIAL_PARSE_FILE
        if saved.is_file():
            shutil.copyfile(saved, target / PARTIAL_PARSE_FILE)
            return


def remove_old_builds(builds: Path, keep: Path, count: int = KEEP_DBT_BUILDS) -> None:
    """Remove all but the newest `count` build folders (`keep` always stays)."""
    folders = sorted(p for p in builds.iterdir() if p.is_dir())
    for old in folders[:-count]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def remove_leftover_project_builds() -> None:
    """The per-build folders dagster-dbt left in dbt_project/target before builds moved under the
    warehouse (`<asset>-<run>-<random>`, 10 MB each; thousands after a year of daily runs)."""
    for leftover in (DBT_PROJECT_DIR / "target").glob(f"{trade_dbt_models.op.name}-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def with_table_metadata(context: dg.AssetExecutionContext, events: list, warehouse: WarehouseResource) -> Iterator:
    work_db = warehouse.paths().work_db
    with warehouse.connect() as con:
        if work_db.exists():
            con.execute("ATTACH ? AS work (READ_ONLY)", [str(work_db)])
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
