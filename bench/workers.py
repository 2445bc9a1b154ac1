"""One measurement in a fresh process: `python bench/workers.py KIND RESULT.json ARGS.json`.

bench/run.py starts one of these per timed run, so no run inherits another's caches, imports or
memory, and the peak RSS (VmHWM) this process reports is the run's own. Imports happen before the
clock starts; every timing ends after the DuckDB connection is closed (closing checkpoints the
file), so every path pays for durability.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM), in KiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def children_peak_rss_kb() -> int:
    """The largest peak RSS of the child processes waited for (dbt, started by dagster-dbt)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def ingest(args: dict) -> dict:
    """The warehouse's own ingest of the inbox into a fresh warehouse, as the pipeline's two assets do
    it: register_inbox on one connection (raw/releases), load_pending on another (the raw rows)."""
    from orchestration.ingest.steps import load_pending, register_inbox
    from orchestration.resources import WarehouseResource

    warehouse = WarehouseResource(inbox=args["inbox"], warehouse_dir=args["warehouse"])
    paths = warehouse.paths()
    started = time.perf_counter()
    with warehouse.connect() as con:
        registered = register_inbox(con, paths)
    registered_at = time.perf_counter()
    with warehouse.connect() as con:
        loaded = load_pending(con)
    finished = time.perf_counter()
    with warehouse.connect() as con:  # what the writer connection allows DuckDB (after the timing)
        settings = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('memory_limit', 'threads', 'temp_directory')"
        ).fetchall())
    return {
        "seconds": finished - started,
        "writer_settings": settings,
        "register_seconds": registered_at - started,
        "load_seconds": finished - registered_at,
        "rows": sum(rows for _, _, rows in loaded.loaded),
        "releases_loaded": len(loaded.loaded),
        "quarantined": registered.new_quarantined + loaded.quarantined,
        "rejected_rows": loaded.rejected_rows,
    }


def duckdb_csv(args: dict) -> dict:
    """The practical limit: DuckDB's own CSV reader on the UTF-8 copy, into a table of a fresh file."""
    import duckdb

    path = args["csv"].replace("'", "''")
    started = time.perf_counter()
    con = duckdb.connect(args["db"])
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    con.close()
    seconds = time.perf_counter() - started
    with duckdb.connect(args["db"], read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    return {"seconds": seconds, "rows": rows}


def pandas_path(args: dict) -> dict:
    """The path users write by hand: pandas reads the GB18030 file, DuckDB stores the frame."""
    import duckdb
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(args["csv"], encoding="gb18030", thousands=",")
    read_at = time.perf_counter()
    con = duckdb.connect(args["db"])
    con.execute("CREATE TABLE t AS SELECT * FROM frame")
    con.close()
    finished = time.perf_counter()
    return {"seconds": finished - started, "read_seconds": read_at - started, "rows": len(frame)}


def _run_stats(since: float | None = None) -> dict:
    """Per job and per step wall time of the Dagster runs in this instance (newest first)."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    jobs, steps = {}, {}
    for run in reversed(instance.get_runs()):
        stats = instance.get_run_stats(run.run_id)
        if stats.start_time is None or stats.end_time is None or (since and stats.start_time < since):
            continue
        jobs[run.job_name] = jobs.get(run.job_name, 0.0) + stats.end_time - stats.start_time
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time and step.end_time:
                steps[step.step_key] = steps.get(step.step_key, 0.0) + step.end_time - step.start_time
    return {"jobs": jobs, "steps": steps}


def pipeline(args: dict) -> dict:
    """What `trade run` does (discover → load → dbt build → publish), on the folders in the
    environment (TRADE_WAREHOUSE_DIR, TRADE_INBOX), timed around run_pipeline. The code location
    (definitions, dbt manifest) is imported before the clock starts: a constant, not the work."""
    import orchestration.definitions  # noqa: F401  (import cost outside the timing)
    from orchestration.cli import ensure_dagster_home, exclusive_cli_run, run_pipeline
    from orchestration.config import warehouse_paths

    paths = warehouse_paths()
    ensure_dagster_home(paths)
    wall_started = time.time()
    started = time.perf_counter()
    with exclusive_cli_run(paths):
        ok = run_pipeline(paths)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "ok": bool(ok),
        **_run_stats(since=wall_started - 1),
        "children_peak_rss_kb": children_peak_rss_kb(),
        "live_db_bytes": paths.live_db.stat().st_size if paths.live_db.exists() else None,
        "published_db_bytes": paths.published_db.stat().st_size if paths.published_db.exists() else None,
    }


def run_stats(args: dict) -> dict:
    """The job and step times of every run in the instance at DAGSTER_HOME (after `make run`)."""
    return _run_stats()


def queries(args: dict) -> dict:
    """The documented analyst queries on the published snapshot, read-only, as an analyst runs
    them: one connection, each query once to warm up, then `repeat` timed runs (fetching all rows)."""
    import duckdb

    con = duckdb.connect(args["db"], read_only=True)
    timings = []
    for sql in args["queries"]:
        con.execute(sql).fetchall()
        runs = []
        for _ in range(args["repeat"]):
            started = time.perf_counter()
            rows = con.execute(sql).fetchall()
            runs.append((time.perf_counter() - started) * 1000)
        timings.append({"ms": runs, "rows": len(rows)})
    con.close()
    return {"queries": timings}


KINDS = {
    "ingest": ingest, "duckdb_csv": duckdb_csv, "pandas": pandas_path, "pipeline": pipeline,
    "run_stats": run_stats, "queries": queries,
}


def main(argv: list[str]) -> int:
    kind, result_path, args_path = argv
    args = json.loads(Path(args_path).read_text(encoding="utf-8"))
    result = KINDS[kind](args)
    result["peak_rss_kb"] = peak_rss_kb()
    result["pid"] = os.getpid()
    Path(result_path).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
