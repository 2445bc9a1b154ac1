"""The published snapshot as a Dagster asset, downstream of every mart; the report card after it."""


import dagster as dg

from ..resources import WRITER_POOL, WarehouseResource
from ..transform.dbt import trade_dbt_models
from .publish import publish_snapshot
from .report import build_report

MART_KEYS = [key for key in trade_dbt_models.keys if key.path[0] == "marts"]


@dg.asset(
    key=dg.AssetKey(["published", "trade_snapshot"]),
    deps=MART_KEYS,
    group_name="serve",
    # It checkpoints the live file, so it takes the writer's slot like every other writer.
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="published/trade.duckdb: a checkpointed copy of the warehouse, with the contract marts as Parquet "
    "(published/parquet/) and published/manifest.json, written as one build folder and made current by one atomic "
    "link swap; analysts query this, never the live file.",
)
def published_snapshot(warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths()
    result = publish_snapshot(paths.live_db, paths.published_dir)
    return dg.MaterializeResult(
        metadata={
            "snapshot": dg.MetadataValue.path(str(result.snapshot)),
            "manifest": dg.MetadataValue.path(str(result.manifest)),
            "build": result.build,
            "releases_loaded": result.releases_loaded,
            "row_counts": dg.MetadataValue.json(result.row_counts),
        }
    )


@dg.asset(
    key=dg.AssetKey(["published", "report_card"]),
    deps=[published_snapshot],
    group_name="serve",
    # No pool: it opens only the published snapshot, read-only, and writes files under published/report/.
    kinds={"html"},
    description="published/report/index.html: the YRD foreign-trade report card (PNG charts with captions, "
    "chart_data.json with the numbers behind them), rebuilt from the published snapshot after each run "
    "and swapped in whole.",
)
def report_card(warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths()
    result = build_report(paths.published_db, paths.published_dir / "report")
    preview = "\n".join(
        f"- **{name}**: {'skipped — ' if name in result.skipped else ''}{caption}"
        for name, caption in result.captions.items()
    )
    if result.is_sample:
        preview = "**SAMPLE DATA**, not official GACC figures.\n\n" + preview
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(result.index)),
            "charts": dg.MetadataValue.json(list(result.charts)),
            "skipped": dg.MetadataValue.json(result.skipped),
            "is_sample": result.is_sample,
            "last_month": result.last_month or "",
            "preview": dg.MetadataValue.md(preview),
        }
    )
