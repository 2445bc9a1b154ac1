"""Dagster assets of ingestion: inbox → landing + registry (raw.releases) → raw rows."""


import warnings

import dagster as dg

from ..checks import RAW_CHECK_SPECS, raw_check_results
from ..partitions import last_month_of_window, monthly_release_partitions
from ..resources import WRITER_POOL, WarehouseResource
from .formats import ALL_RAW_TABLES
from .source_assets import FETCHED_KEY
from ..transform.metadata import markdown_table
from .raw_store import withdraw_release
from .steps import load_pending, register_inbox

RELEASES_KEY = dg.AssetKey(["raw", "releases"])
RAW_ROW_KEYS = [dg.AssetKey(["raw", table.name]) for table in ALL_RAW_TABLES]
# A yuan figure per raw table that says at a glance what a load brought (亿元 in the metadata):
# China's trade in the location tables' months, the CNY detail of the query exports.
RAW_TABLE_TOTALS = {
    "location_table_rows": "sum(r.total_month_cny) FILTER (WHERE r.row_kind = 'nation')",
    "query_export_rows": "sum(r.value) FILTER (WHERE r.currency = 'CNY')",
}
RAW_TABLE_DESCRIPTIONS = {
    "location_table_rows": "GACC monthly location table (进出口商品收发货人所在地总值表), yuan.",
    "city_table_rows": "GACC district city tables, year-to-date, yuan.",
    "query_export_rows": "GACC online-query exports (数据在线查询), in the file's currency.",
    "preliminary_country_rows": "GACC English preliminary release (4) by country/region.",
    "comtrade_rows": "UN Comtrade (Comtrade+ CSV, bulk TSV), US dollars.",
}

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
    deps=[FETCHED_KEY],  # after the sources have written their new files into the inbox
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


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=dg.AssetKey(["raw", table.name]),
            deps=[RELEASES_KEY],
            group_name="ingest",
            kinds={"duckdb", "python"},
            partitions_def=monthly_release_partitions,
            description=f"raw.{table.name}: {RAW_TABLE_DESCRIPTIONS[table.name]} Every row carries its release id "
            "and its row number in the file as received.",
        )
        for table in ALL_RAW_TABLES
    ],
    name="raw_release_rows",
    pool=WRITER_POOL,
    partitions_def=monthly_release_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
    # Judged on the run's months after loading (orchestration/checks.py); a failed blocking check fails the run.
    check_specs=RAW_CHECK_SPECS,
)
def raw_release_rows(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Loads the pending releases of the selected months (by their last month); each release all or nothing."""
    window = context.partition_time_window
    first, last_month = window.start.date(), last_month_of_window(window)
    with warehouse.connect() as con:
        result = load_pending(con, first, last_month)
        counts = {
            table.name: con.execute(
                f"SELECT count(*), count(DISTINCT r.release_id), {RAW_TABLE_TOTALS.get(table.name, 'NULL')} "
                f"FROM raw.{table.name} AS r "
                "JOIN raw.releases AS rel ON r.release_id = rel.release_id WHERE rel.period_end BETWEEN ? AND ?",
                [first, last_month],
            ).fetchone()
            for table in ALL_RAW_TABLES
        }
        # Which release fed which raw table (the registry's raw_table), and a few of its rows.
        loaded_ids = [release_id for release_id, _, _ in result.loaded]
        fed = {
            table.name: con.execute(
                "SELECT release_id, file_name, row_count FROM raw.releases "
                "WHERE raw_table = ? AND release_id IN (SELECT unnest(?)) ORDER BY file_name",
                [table.name, loaded_ids],
            ).fetchall()
            for table in ALL_RAW_TABLES
        }
        previews = {}
        for table in ALL_RAW_TABLES:
            if fed[table.name]:
                cursor = con.execute(f"SELECT * FROM raw.{table.name} WHERE release_id = ? LIMIT 5", [fed[table.name][0][0]])
                previews[table.name] = markdown_table([d[0] for d in cursor.description][:8], [r[:8] for r in cursor.fetchall()])
        check_results, blocking_failures = raw_check_results(context, con, first, last_month)
        # A blocking failure takes the releases it names that this run loaded back out (quarantined,
        # rows removed), so no later build can pick them up; the run still fails and alerts.
        for failure in blocking_failures:
            for release_id, name, _ in result.loaded:
                if name in failure.files:
                    withdraw_release(con, release_id, f"failed check {failure.check_name}: {failure.description}")
                    context.log.error(f"release {name} withdrawn and quarantined: failed check {failure.check_name}")
    for name, reason in result.quarantined:
        context.log.warning(f"quarantined {name}: {reason}")
    for table in ALL_RAW_TABLES:
        rows, releases, total = counts[table.name]
        loaded_here = fed[table.name]
        metadata = {
            "months": f"{first:%Y-%m} … {last_month:%Y-%m}",
            "dagster/row_count": rows,
            "releases_in_months": releases,
            "releases_loaded_this_run": len(loaded_here),
            "releases_quarantined_this_run": len(result.quarantined),
            "rows_rejected_this_run": result.rejected_rows,
            "loaded": dg.MetadataValue.md(
                "\n".join(f"- `{rid}` {name}: {n} rows" for rid, name, n in loaded_here[:20])
                + (f"\n- … and {len(loaded_here) - 20} more" if len(loaded_here) > 20 else "") or "none"
            ),
            "quarantined": dg.MetadataValue.md(_markdown_list(result.quarantined)),
        }
        if total is not None:
            metadata["total_100m_cny"] = round(float(total) / 1e8, 1)
        if table.name in previews:
            metadata["preview"] = dg.MetadataValue.md(previews[table.name])
        yield dg.MaterializeResult(asset_key=dg.AssetKey(["raw", table.name]), metadata=metadata)
    yield from check_results
