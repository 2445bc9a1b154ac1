"""Publish: a consistent, read-only copy of the warehouse for analysts.

Analysts never open the live file (DuckDB allows one writer and no reader beside it).
After a good run the live file is checkpointed (so everything is in the main file, no WAL) and a
build folder is written under a temporary name: builds/<build>/ holds the copy of the file
(trade.duckdb), every contract mart as Parquet (parquet/<mart>.parquet) and manifest.json. It is
made current by one atomic step, the swap of the link published/current; the names analysts use
(published/trade.duckdb, published/parquet, published/manifest.json) are fixed links through
current. So a reader sees one build whole, snapshot, Parquet and manifest alike, never a mix of
two, whenever the publishing process dies; a reader holding the previous build keeps reading it
undisturbed. The previous build stays (readers may hold it open) until the next publish.
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


KEEP_BUILDS = 2  # the current build and the one before it, which readers may still hold open
BUILDS = "builds"
CURRENT = "current"
# The names analysts use, each a fixed link through `current` (never replaced once made).
STABLE_NAMES = ("trade.duckdb", "manifest.json", "parquet")


@dataclass(frozen=True)
class PublishResult:
    snapshot: Path
    manifest: Path
    row_counts: dict[str, int]
    releases_loaded: int
    build: str  # builds/<build> is the folder published/current points at


def _replace_with_link(path: Path, target: Path) -> None:
    """Point `path` at `target` (relative) in one atomic rename: the old entry or the new link, never none."""
    link = path.with_name(f".{path.name}.{os.getpid()}.partial")
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)  # a plain folder from an older layout (a rename cannot replace a folder)
    os.replace(link, path)


def _make_current(published_dir: Path, build: str) -> None:
    _replace_with_link(published_dir / CURRENT, Path(BUILDS) / build)
    for name in STABLE_NAMES:
        path = published_dir / name
        target = Path(CURRENT) / name
        if not (path.is_symlink() and Path(os.readlink(path)) == target):
            _replace_with_link(path, target)  # once, when published/ still has an older layout


def _remove_old_builds(published_dir: Path) -> None:
    builds = published_dir / BUILDS
    current = Path(os.readlink(published_dir / CURRENT)).name
    for leftover in builds.glob(".*.partial"):
        shutil.rmtree(leftover, ignore_errors=True)  # a killed publish's half-written build
    kept = sorted(p.name for p in builds.iterdir() if not p.name.startswith("."))[-KEEP_BUILDS:]
    for old in builds.iterdir():
        if not old.name.startswith(".") and old.name not in kept and old.name != current:
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(published_dir / "parquet-versions", ignore_errors=True)  # the layout before builds/


def publish_snapshot(live_db: Path, published_dir: Path) -> PublishResult:
    published_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_copies(published_dir)
    published_at = datetime.now(timezone.utc)
    build = published_at.strftime("%Y%m%dT%H%M%S%fZ")
    partial = published_dir / BUILDS / f".{build}.partial"
    (partial / "parquet").mkdir(parents=True)
    con = duckdb.connect(str(live_db))
    try:
        con.execute("CHECKPOINT")
        existing = {name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
        ).fetchall()}
        missing = [m for m in PUBLISHED_MARTS if m not in existing]
        if missing:
            shutil.rmtree(partial)
            raise RuntimeError(f"{live_db}: marts missing, nothing published: {', '.join(missing)}")
        row_counts = {m: con.execute(f"SELECT count(*) FROM marts.{m}").fetchone()[0] for m in PUBLISHED_MARTS}
        release_ids = [r for (r,) in con.execute(
            "SELECT release_id FROM marts.releases WHERE status = 'loaded' ORDER BY release_id"
        ).fetchall()]
        latest_period, is_sample = con.execute(
            "SELECT max(period), bool_or(is_sample_data) FROM marts.trade_by_region_month"
        ).fetchone()
        # Written from the live file in this process, before the copy: the same data as the snapshot.
        for mart in PUBLISHED_MARTS:
            con.execute(f"COPY (SELECT * FROM marts.{mart}) TO '{partial / 'parquet' / (mart + '.parquet')}' (FORMAT parquet)")
    finally:
        con.close()

    shutil.copyfile(live_db, partial / "trade.duckdb")
    with open(partial / "trade.duckdb", "rb+") as f:
        os.fsync(f.fileno())
    (partial / "manifest.json").write_text(
        json.dumps(
            {
                "published_at": published_at.isoformat(timespec="seconds"),
                "build": build,
                "snapshot": "trade.duckdb",
                "latest_period": latest_period.isoformat() if latest_period else None,
                "is_sample_data": bool(is_sample),
                "row_counts": row_counts,
                "parquet": {m: f"parquet/{m}.parquet" for m in PUBLISHED_MARTS},
                "loaded_release_ids": release_ids,
            },
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    os.replace(partial, published_dir / BUILDS / build)
    _make_current(published_dir, build)  # the one step that publishes
    _remove_old_builds(published_dir)
    return PublishResult(published_dir / "trade.duckdb", published_dir / "manifest.json", row_counts, len(release_ids), build)
