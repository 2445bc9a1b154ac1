"""The published snapshot as a Dagster asset, downstream of every mart."""


import dagster as dg

from ..resources import WRITER_POOL, WarehouseResource
from ..transform.dbt import trade_dbt_models
from .publish import publish_snapshot

MART_KEYS = [key for key in trade_dbt_models.keys if key.path[0] == "marts"]


@dg.asset(
    key=dg.AssetKey(["published", "trade_snapshot"]),
    deps=MART_KEYS,
    group_name="serve",
    # It checkpoints the live file, so it takes the writer's slot like every other writer.
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="published/trade.duckdb: a checkpointed copy of the warehouse, swapped in by atomic rename; "
    "analysts query this, never the live file. Plus published/manifest.json.",
)
def published_snapshot(warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths()
    result = publish_snapshot(paths.live_db, paths.published_dir)
    return dg.MaterializeResult(
        metadata={
            "snapshot": dg.MetadataValue.path(str(result.snapshot)),
            "manifest": dg.MetadataValue.path(str(result.manifest)),
            "releases_loaded": result.releases_loaded,
            "row_counts": dg.MetadataValue.json(result.row_counts),
        }
    )
