"""Dagster assets of ingestion: inbox → landing + registry (raw.releases) → raw rows."""


import warnings
from datetime import date

import dagster as dg

from ..partitions import monthly_release_partitions
from ..resources import WRITER_POOL, WarehouseResource
from .steps import load_pending, register_inbox

RELEASES_KEY = dg.AssetKey(["raw", "releases"])
LOCATION_ROWS_KEY = dg.AssetKey(["raw", "location_table_rows"])

# A single-run backfill policy is what lets a range of months load in one run; Dagster marks the
# parameter beta, which is known and accepted here, so the warning is not repeated on every load.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)


def _markdown_list(items: list[tuple[str, str]], limit: int = 20) -> str:
    lines = [f"- `{name}`: {reason}" for name, reason in items[:limit]]
    if len(items) > limit:
        lines.append(f"- … and {len(items) - limit} more (see marts.releases)")
    return "\n".join(lines) or "none"


@dg.asset(
    key=RELEASES_KEY,
    group_name="ingest",
    pool=WRITER_POOL,
    kinds={"duckdb", "python"},
    description=(
        "Scans the inbox, archives every new file under landing/<sha256> (read-only) and records it in "
        "the releases registry: pending when it parses, quarantined with its reason when it cannot be trusted."
    ),
)
def release_registry(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths()
    with warehouse.connect() as con:
        result = register_inbox(con, paths)
        counts = dict(con.execute("SELECT status, count(*) FROM raw.releases GROUP BY status").fetchall())
    for name, reason in result.new_quarantined:
        context.log.warning(f"quarantined {name}: {reason}")
    return dg.MaterializeResult(
        metadata={
            "inbox": dg.MetadataValue.path(str(paths.inbox)),
            "new_pending": len(result.new_pending),
            "new_quarantined": len(result.new_quarantined),
            "already_known": result.already_known,
            "releases_by_status": dg.MetadataValue.json(counts),
            # Read by the pending-release sensor to request loads of exactly these months.
            "pending_periods": dg.MetadataValue.json([p.isoformat() for p in result.pending_periods]),
            "quarantined": dg.MetadataValue.md(_markdown_list(result.new_quarantined)),
        }
    )


@dg.asset(
    key=LOCATION_ROWS_KEY,
    deps=[RELEASES_KEY],
    group_name="ingest",
    pool=WRITER_POOL,
    kinds={"duckdb", "python"},
    partitions_def=monthly_release_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "Rows of GACC's monthly location table (进出口商品收发货人所在地总值表), values in yuan, with release id "
        "and source row. Loads the pending releases of the selected months, one transaction per release."
    ),
)
def raw_location_table(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    window = context.partition_time_window
    first, last = window.start.date(), window.end.date()
    # The window's end is exclusive: the last partition is the month before it.
    last_month = date(last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
    with warehouse.connect() as con:
        result = load_pending(con, first, last_month)
        rows, releases = con.execute(
            "SELECT count(*), count(DISTINCT release_id) FROM raw.location_table_rows "
            "WHERE period_end BETWEEN ? AND ?",
            [first, last_month],
        ).fetchone()
    for name, reason in result.quarantined:
        context.log.warning(f"quarantined {name}: {reason}")
    loaded_md = "\n".join(f"- `{rid}` {name}: {n} rows" for rid, name, n in result.loaded[:20]) or "none"
    return dg.MaterializeResult(
        metadata={
            "months": f"{first:%Y-%m} … {last_month:%Y-%m}",
            "releases_loaded": len(result.loaded),
            "releases_quarantined": len(result.quarantined),
            "rows_rejected": result.rejected_rows,
            "dagster/row_count": rows,
            "releases_in_months": releases,
            "loaded": dg.MetadataValue.md(loaded_md),
            "quarantined": dg.MetadataValue.md(_markdown_list(result.quarantined)),
        }
    )
