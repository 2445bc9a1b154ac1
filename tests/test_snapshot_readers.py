"""Analysts reading the published snapshot while the pipeline runs again and again: three reader
processes loop over every documented analyst query (docs/analysts.md) for the whole time `trade run`
runs three times, each run adding a month of new releases, so the snapshot is replaced under them:
- one opens published/trade.duckdb read-only afresh for every round of queries;
- one holds a read-only connection for a few seconds at a time, across the swaps, then reopens;
- one reads the Parquet files under published/parquet (the link resolved once per round), with the
  queries that only use the marts published as Parquet.
Zero errors, and every reader saw every build the runs published (manifest build id) and queried
more than one snapshot's content."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time

from orchestration.samples import write_sample_releases
from orchestration.serve.publish import PUBLISHED_MARTS

from .conftest import Warehouse, run_trade
from .test_docs_queries import QUERIES

RUNS = ("2024-01", "2024-02", "2024-03")  # one month of new sample releases before each run
HOLD_SECONDS = 3  # how long the holding reader keeps one connection before reopening

# A reader in its own process. Every error is recorded with the round and query, none swallowed;
# a missing snapshot (before the first publish) is waited for, not counted.
READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    from pathlib import Path
    published, mode, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    queries, parquet_marts = json.loads(sys.argv[4]), json.loads(sys.argv[5])
    hold_seconds = float(sys.argv[6])
    stop = out.with_name(out.name + ".stop")
    db, manifest = published / "trade.duckdb", published / "manifest.json"
    rounds, errors, builds, contents = 0, [], [], []
    held, held_since = None, 0.0

    def note(seen, item):
        if item not in seen:
            seen.append(item)

    while not stop.exists():
        if not (db.exists() and manifest.exists() and (published / "parquet").exists()):
            time.sleep(0.1)
            continue
        step = "manifest"
        try:
            note(builds, json.loads(manifest.read_text(encoding="utf-8"))["build"])
            step = "connect"
            if mode == "parquet":
                folder = (published / "parquet").resolve()  # one Parquet set for the whole round
                con = duckdb.connect()
                con.execute("CREATE SCHEMA marts")
                for mart in parquet_marts:
                    con.execute(f"CREATE VIEW marts.{mart} AS SELECT * FROM read_parquet('{folder / (mart + '.parquet')}')")
            elif mode == "hold":
                if held is None or time.monotonic() - held_since > hold_seconds:
                    if held is not None:
                        held.close()
                    held, held_since = duckdb.connect(str(db), read_only=True), time.monotonic()
                con = held
            else:
                con = duckdb.connect(str(db), read_only=True)
            step = "content"
            content = con.execute("SELECT count(*), max(received_at)::VARCHAR FROM marts.releases").fetchone()
            for i, sql in queries:
                step = f"query {i}"
                con.execute(sql).fetchall()
            note(contents, list(content))
            rounds += 1
            if mode != "hold":
                con.close()
        except Exception as error:
            errors.append(f"round {rounds}, {step}: {type(error).__name__}: {error}")
        time.sleep(0.1)
    out.write_text(json.dumps({"rounds": rounds, "errors": errors, "builds": builds, "contents": contents}))
    """
)
MODES = ("reconnect", "hold", "parquet")


def _uses_only(sql: str, marts: tuple[str, ...]) -> bool:
    return set(re.findall(r"marts\.(\w+)", sql)) <= set(marts)


def test_readers_never_fail_while_the_snapshot_is_replaced_run_after_run(tmp_path):
    warehouse = Warehouse(inbox=tmp_path / "inbox", root=tmp_path / "warehouse")
    numbered = list(enumerate(QUERIES, start=1))
    parquet_queries = [(i, sql) for i, sql in numbered if _uses_only(sql, PUBLISHED_MARTS)]
    assert len(numbered) >= 10 and len(parquet_queries) >= 10
    outs = {mode: tmp_path / f"reader-{mode}.json" for mode in MODES}
    readers = {
        mode: subprocess.Popen([
            sys.executable, "-c", READER, str(warehouse.published_dir), mode, str(outs[mode]),
            json.dumps(parquet_queries if mode == "parquet" else numbered), json.dumps(PUBLISHED_MARTS), str(HOLD_SECONDS),
        ])
        for mode in MODES
    }
    published_builds = []
    try:
        for month in RUNS:
            write_sample_releases(warehouse.inbox, month, month)
            result = run_trade(warehouse, "run")
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            published_builds.append(json.loads((warehouse.published_dir / "manifest.json").read_text(encoding="utf-8"))["build"])
            for mode, reader in readers.items():
                assert reader.poll() is None, f"the {mode} reader exited during the runs"
        time.sleep(HOLD_SECONDS + 2)  # a few rounds on the last build, past the holding reader's reopening
    finally:
        for out in outs.values():
            out.with_name(out.name + ".stop").write_text("1")
        for reader in readers.values():
            try:
                reader.wait(timeout=60)
            except subprocess.TimeoutExpired:
                reader.kill()
    assert len(set(published_builds)) == len(RUNS)  # each run really replaced the snapshot
    for mode, reader in readers.items():
        assert reader.returncode == 0, mode
        result = json.loads(outs[mode].read_text())
        assert result["errors"] == [], (mode, result["errors"][:20])
        assert result["builds"] == published_builds, (mode, result["builds"], published_builds)
        assert len(result["contents"]) >= 2, (mode, result["contents"])  # it queried more than one snapshot
        assert result["rounds"] >= 3 * len(RUNS), (mode, result["rounds"])
