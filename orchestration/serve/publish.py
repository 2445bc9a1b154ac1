"""Publish: a consistent, read-only copy of the warehouse for analysts.

Analysts never open the live file (DuckDB allows one writer and no reader beside it).
After a good run the live file is checkpointed (so everything is in the main file, no WAL),
copied under a temporary name in published/, then swapped in by an atomic rename: a reader
holding the previous snapshot keeps reading it undisturbed, a new reader gets the new one.

Each contract mart is also written as Parquet, one file per mart named after it, into a new
folder parquet-versions/<build>/; the link published/parquet is then swapped to it atomically,
so a reader sees one complete set of files, never a mix of two builds. The previous set stays
(readers may hold it open) until the next publish.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from ..ingest.landing import remove_partial_copies

# The analyst contract (DESIGN.md) plus the vintages mart; the dimensions and the fact are in the
# snapshot too (schema marts), but analysts are promised these names.
PUBLISHED_MARTS = (
    "trade_by_region_month",
    "trade_by_region_year",
    "trade_by_product_year",
    "new_three_exports",
    "city_specialization",
    "release_reconciliation",
    "releases",
    "trade_by_region_month_vintages",
)


KEEP_PARQUET_VERSIONS = 2


@dataclass(frozen=True)
class PublishResult:
    snapshot: Path
    manifest: Path
    row_counts: dict[str, int]
    releases_loaded: int
    parquet_dir: Path


def _write_parquet(con: duckdb.DuckDBPyConnection, published_dir: Path, build: str) -> Path:
    versions = published_dir / "parquet-versions"
    target = versions / build
    partial = versions / f".{build}.partial"
    for leftover in versions.glob(".*.partial") if versions.exists() else ():
        shutil.rmtree(leftover, ignore_errors=True)  # a killed publish's half-written set
    partial.mkdir(parents=True)
    for mart in PUBLISHED_MARTS:
        con.execute(f"COPY (SELECT * FROM marts.{mart}) TO '{partial / (mart + '.parquet')}' (FORMAT parquet)")
    os.replace(partial, target)
    link = published_dir / "parquet"
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # a plain folder from an older layout
    new_link = published_dir / f".parquet.{os.getpid()}.partial"
    new_link.unlink(missing_ok=True)
    new_link.symlink_to(Path("parquet-versions") / build, target_is_directory=True)
    os.replace(new_link, link)  # atomic: the old link or the new one, never none
    for old in sorted(p for p in versions.iterdir() if not p.name.startswith("."))[:-KEEP_PARQUET_VERSIONS]:
        shutil.rmtree(old, ignore_errors=True)
    return link


def _atomic_write_text(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def publish_snapshot(live_db: Path, published_dir: Path) -> PublishResult:
    published_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_copies(published_dir)
    published_at = datetime.now(timezone.utc)
    build = published_at.strftime("%Y%m%dT%H%M%S%fZ")
    con = duckdb.connect(str(live_db))
    try:
        con.execute("CHECKPOINT")
        existing = {name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
        ).fetchall()}
        missing = [m for m in PUBLISHED_MARTS if m not in existing]
        if missing:
            raise RuntimeError(f"{live_db}: marts missing, nothing published: {', '.join(missing)}")
        row_counts = {m: con.execute(f"SELECT count(*) FROM marts.{m}").fetchone()[0] for m in PUBLISHED_MARTS}
        release_ids = [r for (r,) in con.execute(
            "SELECT release_id FROM marts.releases WHERE status = 'loaded' ORDER BY release_id"
        ).fetchall()]
        latest_period, is_sample = con.execute(
            "SELECT max(period), bool_or(is_sample_data) FROM marts.trade_by_region_month"
        ).fetchone()
        # Written from the live file in this process, before the copy: the same data as the snapshot.
        parquet_dir = _write_parquet(con, published_dir, build)
    finally:
        con.close()

    snapshot = published_dir / "trade.duckdb"
    partial = published_dir / f".trade.duckdb.{os.getpid()}.partial"
    shutil.copyfile(live_db, partial)
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(partial, snapshot)

    manifest = published_dir / "manifest.json"
    _atomic_write_text(
        manifest,
        json.dumps(
            {
                "published_at": published_at.isoformat(timespec="seconds"),
                "build": build,
                "snapshot": snapshot.name,
                "latest_period": latest_period.isoformat() if latest_period else None,
                "is_sample_data": bool(is_sample),
                "row_counts": row_counts,
                "parquet": {m: f"parquet/{m}.parquet" for m in PUBLISHED_MARTS},
                "loaded_release_ids": release_ids,
            },
            indent=2,
            ensure_ascii=False,
        ),
    )
    return PublishResult(snapshot, manifest, row_counts, len(release_ids), parquet_dir)
