"""Publish: a consistent, read-only copy of the warehouse for analysts.

Analysts never open the live file (DuckDB allows one writer and no reader beside it).
After a good run the live file is checkpointed (so everything is in the main file, no WAL),
copied under a temporary name in published/, then swapped in by an atomic rename: a reader
holding the previous snapshot keeps reading it undisturbed, a new reader gets the new one.
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


@dataclass(frozen=True)
class PublishResult:
    snapshot: Path
    manifest: Path
    row_counts: dict[str, int]
    releases_loaded: int


def _atomic_write_text(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def publish_snapshot(live_db: Path, published_dir: Path) -> PublishResult:
    published_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_copies(published_dir)
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
                "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "snapshot": snapshot.name,
                "row_counts": row_counts,
                "loaded_release_ids": release_ids,
            },
            indent=2,
            ensure_ascii=False,
        ),
    )
    return PublishResult(snapshot, manifest, row_counts, len(release_ids))
