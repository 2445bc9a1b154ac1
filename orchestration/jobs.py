"""The three steps of a refresh as jobs: discover (unpartitioned), load (monthly), build + publish."""

import dagster as dg

from .freshness import FRESHNESS_CHECK_KEY
from .ingest.assets import RAW_ROW_KEYS, RELEASES_KEY
from .ingest.source_assets import FETCHED_KEY
from .serve.assets import published_snapshot, report_card
from .transform.dbt import trade_dbt_models

discover_releases_job = dg.define_asset_job(
    "discover_releases",
    selection=dg.AssetSelection.assets(FETCHED_KEY, RELEASES_KEY),
    description="Poll the release sources into the inbox, archive new inbox files and register them "
    "(pending or quarantined).",
)

load_releases_job = dg.define_asset_job(
    "load_releases",
    # With the raw checks; not the freshness check, which judges the published snapshot (its own job).
    selection=dg.AssetSelection.assets(*RAW_ROW_KEYS) - dg.AssetSelection.checks(FRESHNESS_CHECK_KEY),
    description="Load the pending releases of the selected months into raw.*, one transaction per release, "
    "then run the raw asset checks on those months.",
)

build_marts_job = dg.define_asset_job(
    "build_marts",
    selection=dg.AssetSelection.assets(trade_dbt_models, published_snapshot, report_card),
    description="dbt build (staging → marts, with tests), publish the snapshot, then rebuild the report card from it.",
)
