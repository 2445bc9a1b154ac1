"""Release sources as a Dagster resource and the asset that polls them into the inbox.

The inbox is the one entrance to the warehouse: every source (a drop folder, GACC's release index
over HTTP) only ever writes new files into it, atomically, and the registry takes it from there.
Sources are configured by environment (empty = off), so the same definitions serve a laptop with
no network and a server that polls GACC:
  TRADE_HTTP_INDEX_URL      a release index page (GACC's preliminary index) to poll
  TRADE_HTTP_ALLOWED_HOSTS  comma-separated hosts the source may fetch from (default: the index's host)
  TRADE_HTTP_FROM_PERIOD    YYYY-MM: ignore releases for earlier months
  TRADE_DROP_FOLDER         a folder whose new files are copied into the inbox
"""


import os
from urllib.parse import urlsplit

import dagster as dg

from ..resources import WarehouseResource
from .sources import FetchReport, HttpReleaseSource, LocalFolderSource, SourceUnavailable

FETCHED_KEY = dg.AssetKey(["inbox", "fetched_releases"])


class ReleaseSources(dg.ConfigurableResource):
    """The configured release sources. Empty fields fall back to the environment variables above."""

    http_index_url: str = ""
    http_allowed_hosts: str = ""
    http_from_period: str = ""
    drop_folder: str = ""

    def configured(self) -> dict[str, HttpReleaseSource | LocalFolderSource]:
        sources: dict[str, HttpReleaseSource | LocalFolderSource] = {}
        index_url = self.http_index_url or os.environ.get("TRADE_HTTP_INDEX_URL", "")
        if index_url:
            hosts = self.http_allowed_hosts or os.environ.get("TRADE_HTTP_ALLOWED_HOSTS", "")
            sources["gacc_preliminary"] = HttpReleaseSource(
                index_url=index_url,
                allowed_hosts=[h.strip() for h in hosts.split(",") if h.strip()] or [urlsplit(index_url).netloc],
                from_period=self.http_from_period or os.environ.get("TRADE_HTTP_FROM_PERIOD", ""),
            )
        folder = self.drop_folder or os.environ.get("TRADE_DROP_FOLDER", "")
        if folder:
            sources["drop_folder"] = LocalFolderSource(folder=folder)
        return sources


@dg.asset(
    key=FETCHED_KEY,
    group_name="ingest",
    kinds={"python"},
    description="Polls the configured release sources (GACC's release index over HTTP, a drop folder) and "
    "writes their new files into the inbox, atomically. Never opens the DuckDB file.",
)
def fetched_releases(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, release_sources: ReleaseSources
) -> dg.MaterializeResult:
    paths = warehouse.paths()
    paths.inbox.mkdir(parents=True, exist_ok=True)
    state_dir = paths.warehouse_dir / "sources"  # outside the inbox: a state file is not a release
    reports: dict[str, FetchReport] = {}
    unavailable: dict[str, str] = {}
    for name, source in release_sources.configured().items():
        try:
            reports[name] = source.fetch_new(paths.inbox, state_dir / f"{name}.json")
        except SourceUnavailable as error:
            # The inbox still gets scanned; the failure shows here and in the sources_reachable check.
            unavailable[name] = str(error)
            context.log.error(f"release source {name} unavailable: {error}")
    for name, report in reports.items():
        for failure in report.failures:
            context.log.warning(f"{name}: {failure}")
    downloaded = [p.name for r in reports.values() for p in r.downloaded]
    failures = [f"{name}: {failure}" for name, r in reports.items() for failure in r.failures]
    return dg.MaterializeResult(
        metadata={
            "sources": dg.MetadataValue.json(sorted(release_sources.configured()) or ["inbox only"]),
            "new_files": len(downloaded),
            "already_seen": sum(r.skipped for r in reports.values()),
            "failures": len(failures) + len(unavailable),
            "files": dg.MetadataValue.md("\n".join(f"- `{n}`" for n in downloaded[:50]) or "none"),
            "problems": dg.MetadataValue.md(
                "\n".join(f"- {p}" for p in [*failures, *(f"{n}: {e}" for n, e in unavailable.items())][:50]) or "none"
            ),
        }
    )


@dg.asset_check(
    asset=FETCHED_KEY,
    name="sources_reachable",
    description="Every configured release source answered, and every new release it listed was fetched.",
)
def sources_reachable(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(FETCHED_KEY)
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    failures = metadata["failures"].value if "failures" in metadata else 0
    return dg.AssetCheckResult(
        passed=failures == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description="all sources answered" if failures == 0 else f"{failures} problem(s): see the asset's metadata",
        metadata={"failures": failures},
    )
