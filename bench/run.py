"""`make bench`: measure the warehouse against its targets, print a table, write docs/benchmarks.md
and docs/benchmarks.json.

  .venv/bin/python bench/run.py [--quick] [--out-md PATH] [--out-json PATH] [--tmp DIR] [--keep] [--faults-only | --page-only]

BENCH_QUICK=1 (or --quick) runs small sizes to try the script; its figures are labelled quick and
say nothing about the targets. BENCH_TMPDIR (or --tmp) is where the generated data and the
throwaway warehouses go (default: the system temp folder; never the repo); it is removed at the end
unless --keep. TRADE_FAULT_POINTS=N also runs the long fault test
(`TRADE_FAULT_POINTS=N .venv/bin/pytest -q tests/test_crash_recovery.py`) after the measurements and
records whether it passed; --faults-only (`make bench-faults`) runs only that test and records it on the
page the last full run wrote, keeping its figures; --page-only writes the page again from
docs/benchmarks.json (after a change to the page's wording), measuring nothing.

Every timed run is its own fresh process (bench/workers.py), so none inherits another's caches or
memory; the data is made by the scale generator (orchestration/samples/scale.py), SAMPLE data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the repo's packages without an install

from orchestration.config import WarehousePaths  # noqa: E402
from orchestration.samples import scale  # noqa: E402

WORKER = REPO / "bench" / "workers.py"
GIB = 2**30
MIB = 2**20

# Targets from issue 7: (comparison, threshold).
TARGETS: dict[str, tuple[str, float]] = {
    "p1_vs_duckdb": (">=", 0.8),
    "p1_vs_pandas": (">=", 3.0),
    "p2_ratio": ("<=", 1.2),
    "p3_peak_rss_mb": ("<=", 1500.0),
    "p3_file_mb": (">=", 5 * 1024.0),  # the largest file must be at least 5 GiB
    "p4_p95_ms": ("<=", 50.0),
    "p5_make_run_s": ("<=", 60.0),
}
KEYS = ("p1_vs_duckdb", "p1_vs_pandas", "p2_ratio", "p3_peak_rss_mb", "p3_file_mb", "p4_p95_ms", "p4_p50_ms",
        "p5_make_run_s")
# The revision of each figure's method (1 when not listed). Bump it with the METHODS text when a change
# makes the figure measure something else, so the next page does not compare it with the last as if
# the code had moved it. 2: p2's runs start dbt from a saved parse that fits their path (b6940dc).
METHOD_REVISIONS = {"p2_ratio": 2}


@dataclass(frozen=True)
class Sizes:
    p1_rows: int  # rows of the file ingested three ways
    p1_reps: int  # runs of each way, alternating
    p2_months: str  # the months already in the warehouse
    p2_rows_per_month: int
    p2_new_month: str  # the month added
    p2_reps: int
    p3_rows: int  # rows of the largest file
    p4_repeat: int  # timed runs of each analyst query after one warm-up
    p4_sample: str  # the sample releases added beside the largest file, so every mart has rows
    p5_sample: str  # "default" (what `make run` writes into an empty inbox) or a range of sample months
    disk_gb: int  # free space needed under the temp folder


FULL = Sizes(
    p1_rows=5_000_000, p1_reps=3,
    p2_months="2018-01..2025-12", p2_rows_per_month=100_000, p2_new_month="2026-01", p2_reps=3,
    p3_rows=43_000_000, p4_repeat=10, p4_sample="2018-01..2025-12", p5_sample="default", disk_gb=30,
)
QUICK = Sizes(
    p1_rows=20_000, p1_reps=1,
    p2_months="2025-01..2025-12", p2_rows_per_month=500, p2_new_month="2026-01", p2_reps=1,
    p3_rows=30_000, p4_repeat=3, p4_sample="2025-01..2025-12", p5_sample="2025-01..2025-12", disk_gb=2,
)


# --------------------------------------------------------------------------------------------
# Running one measurement
# --------------------------------------------------------------------------------------------


class WorkerKilled(RuntimeError):
    """A worker ended by a signal it did not send itself (on a shared machine: someone else's kill)."""


def _twice(run, what: str):
    """Run a measurement again, once, when its worker was killed from outside (the callers set up the same
    fresh state inside `run`, so the rerun starts from scratch)."""
    try:
        return run()
    except WorkerKilled as error:
        _say(f"{what}: killed from outside ({_short(error)[:160]}); running it again")
        return run()


class Bench:
    def __init__(self, tmp: Path, quick: bool) -> None:
        self.tmp = tmp
        self.quick = quick
        self.sizes = QUICK if quick else FULL
        self.log_dir = tmp / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.runs = 0
        self.p2_base: tuple[Path, int] | None = None  # p2's base warehouse and its rows, kept for p4
        self.probes: list[dict] = []  # host_probe before each measurement

    def probe(self, label: str) -> None:
        self.probes.append(host_probe(self.tmp, label, reps=1 if self.quick else 3))
        _say(f"host probe before {label}: {self.probes[-1]['seconds']:.2f} s")

    def worker(self, kind: str, args: dict, env: dict | None = None) -> dict:
        """Run bench/workers.py KIND in a fresh process; its result, plus the parent's view of it
        (wall time including interpreter start, highest VmRSS seen while polling, load average)."""
        self.runs += 1
        stem = self.log_dir / f"{self.runs:03d}-{kind}"
        args_path, result_path, log_path = (stem.with_suffix(s) for s in (".args.json", ".result.json", ".log"))
        args_path.write_text(json.dumps(args), encoding="utf-8")
        full_env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # each warehouse has its own instance
        full_env.update(env or {})
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, str(WORKER), kind, str(result_path), str(args_path)],
                cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT,
            )
            polled_kb = 0
            try:
                while process.poll() is None:
                    polled_kb = max(polled_kb, _vm_rss_kb(process.pid))
                    time.sleep(0.2)
            except BaseException:  # stopped (Ctrl-C, SIGTERM): the worker goes too, by its own pid
                process.kill()
                process.wait()
                raise
        wall = time.perf_counter() - started
        if process.returncode != 0 or not result_path.exists():
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            error = WorkerKilled if process.returncode < 0 else RuntimeError
            raise error(f"worker {kind} failed (exit {process.returncode}); log {log_path}:\n{tail}")
        result = json.loads(result_path.read_text(encoding="utf-8"))
        result.update(process_wall_seconds=wall, polled_peak_rss_kb=polled_kb,
                      load_before=load_before, load_after=os.getloadavg()[0])
        return result


def _vm_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in 0..100."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _to_utf8(source: Path, target: Path) -> None:
    """The same bytes re-encoded to UTF-8, streamed (chunks cut after a line break)."""
    with open(source, "rb") as src, open(target, "wb") as out:
        pending = b""
        while block := src.read(16 * MIB):
            data = pending + block
            cut = data.rfind(b"\n") + 1
            data, pending = data[:cut], data[cut:]
            out.write(data.decode("gb18030").encode("utf-8"))
        out.write(pending.decode("gb18030").encode("utf-8"))


# The host probe: a fixed workload whose time depends only on the machine. The figures measured side
# by side (p1, p2) are ratios and survive a slow host; p4 and p5 are absolute times and do not, so the
# page shows the probe taken just before each measurement, against the run's fastest probe and the
# previous run's, and says which figures came from a pass that ran slow.
PROBE_SLOW = 1.3  # a probe this much slower than the fastest one seen marks its pass as slow


def _probe_once(scratch: Path) -> dict[str, float]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")
    started = time.perf_counter()
    con.execute("SELECT sum(hash(i)) FROM range(100000000) t(i)").fetchone()
    duckdb_s = time.perf_counter() - started
    con.close()
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):  # the interpreter's speed: Dagster and the parsers are Python
        total += i * i % 7
    python_s = time.perf_counter() - started
    block = b"\x5a" * MIB
    started = time.perf_counter()
    with open(scratch, "wb") as out:
        for _ in range(256):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    disk_s = time.perf_counter() - started
    scratch.unlink()
    return {"duckdb_s": duckdb_s, "python_s": python_s, "disk_s": disk_s}


def host_probe(tmp: Path, label: str, reps: int = 3) -> dict:
    """The probe, `reps` times after one warm-up run (the first run in a process is slower: DuckDB's and
    the interpreter's first use); the median of each part and their sum (the figure compared)."""
    runs = [_probe_once(tmp / ".host-probe") for _ in range(reps + 1)][1:]
    parts = {key: _median([r[key] for r in runs]) for key in runs[0]}
    return {"label": label, **parts, "seconds": sum(parts.values()), "reps": reps, "load": os.getloadavg()[0]}


def slow_passes(probes: list[dict], fastest: float | None) -> list[str]:
    """The passes whose probe took at least PROBE_SLOW times the fastest probe."""
    return [p["label"] for p in probes if fastest and p["seconds"] >= PROBE_SLOW * fastest]


def _say(text: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {text}", flush=True)


# --------------------------------------------------------------------------------------------
# The measurements
# --------------------------------------------------------------------------------------------


def measure_p1(bench: Bench) -> dict:
    """Ingest throughput of one GB18030 query export: the warehouse's own ingest vs DuckDB's read_csv of
    the UTF-8 copy vs pandas + DuckDB, each run in a fresh process into a fresh file, alternating."""
    s = bench.sizes
    data = _fresh(bench.tmp / "p1")
    source = scale.write_scale_file(data / "source", s.p1_rows)
    utf8 = data / "utf8.csv"
    _to_utf8(source.path, utf8)
    _say(f"p1: {s.p1_rows:,} rows, {source.size_bytes / MIB:,.0f} MiB GB18030; {s.p1_reps} run(s) of each way")
    ways = ["warehouse", "duckdb", "pandas"]
    runs: dict[str, list[dict]] = {w: [] for w in ways}
    for rep in range(s.p1_reps):
        order = ways[rep % 3:] + ways[: rep % 3]  # alternate who goes first
        for way in order:
            target = data / f"run-{rep}-{way}"

            def one_run(way: str = way, target: Path = target) -> dict:
                _fresh(target)
                if way == "warehouse":
                    inbox = target / "inbox"
                    _link_or_copy(source.path, inbox / source.path.name)
                    return bench.worker("ingest", {"inbox": str(inbox), "warehouse": str(target / "warehouse")})
                if way == "duckdb":
                    return bench.worker("duckdb_csv", {"csv": str(utf8), "db": str(target / "t.duckdb")})
                return bench.worker("pandas", {"csv": str(source.path), "db": str(target / "t.duckdb")})

            result = _twice(one_run, f"p1 {way} run {rep + 1}")
            if way == "warehouse" and (result["quarantined"] or result["rows"] != s.p1_rows):
                raise RuntimeError(f"the warehouse ingest loaded {result['rows']} rows, quarantined {result['quarantined']}")
            result["rows_per_s"] = s.p1_rows / result["seconds"]
            runs[way].append(result)
            _say(f"p1 {way} run {rep + 1}: {result['seconds']:.1f} s, {result['rows_per_s']:,.0f} rows/s, "
                 f"peak {result['peak_rss_kb'] / 1024:,.0f} MiB (load {result['load_before']:.1f})")
            shutil.rmtree(target)
    speed = {w: _median([r["rows_per_s"] for r in runs[w]]) for w in ways}
    return {
        "p1_vs_duckdb": speed["warehouse"] / speed["duckdb"],
        "p1_vs_pandas": speed["warehouse"] / speed["pandas"],
        "p1_rows": s.p1_rows,
        "p1_file_mb": source.size_bytes / MIB,
        "p1_ingest_rows_per_s": speed["warehouse"],
        "p1_duckdb_rows_per_s": speed["duckdb"],
        "p1_pandas_rows_per_s": speed["pandas"],
        "p1_runs": {w: [_brief(r) for r in runs[w]] for w in ways},
    }


def _brief(result: dict) -> dict:
    keep = ("seconds", "rows_per_s", "writer_settings", "register_seconds", "load_seconds", "read_seconds", "peak_rss_kb",
            "process_wall_seconds", "load_before", "load_after", "jobs", "steps", "children_peak_rss_kb",
            "live_db_bytes", "published_db_bytes", "dbt_parsed_in_full")
    return {k: result[k] for k in keep if k in result}


def save_dbt_parse(warehouse: Path, folder: Path) -> dict[str, str]:
    """Save dbt's parse for a new warehouse at `warehouse` into `folder` (untimed), and return the
    environment that hands it to dagster-dbt (DBT_TARGET_PATH).

    dbt hashes the profile, warehouse path included, into its saved parse. At install `make manifest`
    saves it for the default path, and each build starts from the parse the warehouse's previous build
    saved, so a user's run parses only what changed. A new warehouse at a temporary path would parse
    the whole project, seconds no user's run spends; this is `make manifest` for that path. The
    repository's dbt_project/target is not touched."""
    parsed = subprocess.run(
        [str(REPO / ".venv" / "bin" / "dbt"), "parse", "--quiet", "--profiles-dir", ".", "--target-path", str(folder)],
        cwd=REPO / "dbt_project", env={**os.environ, **WarehousePaths(inbox=warehouse / "inbox", warehouse_dir=warehouse.resolve()).dbt_env()},
        capture_output=True, text=True,
    )
    if parsed.returncode != 0:
        raise RuntimeError(f"dbt parse for {warehouse} failed (exit {parsed.returncode}):\n"
                           f"{(parsed.stdout + parsed.stderr)[-3000:]}")
    return {"DBT_TARGET_PATH": str(folder)}


def dbt_parsed_in_full(warehouse: Path) -> bool:
    """Whether the warehouse's last dbt build parsed the whole project (its saved parse did not fit)."""
    log = warehouse / "logs" / "dbt_build.log"
    return log.exists() and "Unable to do partial parsing" in log.read_text(encoding="utf-8", errors="replace")


def _pipeline(bench: Bench, warehouse: Path, inbox: Path, env: dict | None = None) -> dict:
    result = bench.worker("pipeline", {}, env={"TRADE_WAREHOUSE_DIR": str(warehouse), "TRADE_INBOX": str(inbox),
                                               **(env or {})})
    if not result["ok"]:
        dbt_log = warehouse / "logs" / "dbt_build.log"
        tail = dbt_log.read_text(encoding="utf-8", errors="replace")[-3000:] if dbt_log.exists() else ""
        if dbt_log.exists():
            shutil.copyfile(dbt_log, bench.log_dir / f"{bench.runs:03d}-dbt_build.log")
        # A dbt log that stops without dbt's own summary: dbt was killed, not failed.
        killed = bool(tail) and "Done. PASS=" not in tail and "Completed with" not in tail and "Encountered an error" not in tail
        raise (WorkerKilled if killed else RuntimeError)(
            f"the pipeline failed on {warehouse}{' (its dbt process was killed)' if killed else ''}; "
            f"the end of its dbt log:\n{tail}"
        )
    result["dbt_parsed_in_full"] = dbt_parsed_in_full(warehouse)
    return result


def write_sample_tables(inbox: Path, months: str) -> None:
    """The SAMPLE location tables, city tables and city query exports of `months`, so that the region and
    city marts (and the analyst queries on them) have rows; the scale files' province months add up to
    the location tables'. The sample's own province query exports are left out: the scale files stand
    for them."""
    from orchestration.samples.city_query_exports import write_city_query_exports
    from orchestration.samples.city_tables import write_city_tables
    from orchestration.samples.location_tables import write_location_tables

    first, last = months.split("..")
    for write in (write_location_tables, write_city_tables, write_city_query_exports):
        write(inbox, first, last)


def measure_p2(bench: Bench) -> dict:
    """Adding one month to a warehouse of 96 months vs to an empty one: `trade run`'s work
    (run_pipeline: discover → load → dbt build → publish) with the new month's file in the inbox."""
    s = bench.sizes
    data = _fresh(bench.tmp / "p2")
    history = scale.write_scale_months(data / "history", s.p2_months, s.p2_rows_per_month)
    new = scale.write_scale_months(data / "new", f"{s.p2_new_month}..{s.p2_new_month}", s.p2_rows_per_month)[0]
    _say(f"p2: {len(history)} months × {s.p2_rows_per_month:,} rows and the sample tables of {s.p4_sample}, "
         "building the base warehouse")
    base_inbox = data / "base-inbox"
    for f in history:
        _link_or_copy(f.path, base_inbox / f.path.name)
    write_sample_tables(base_inbox, s.p4_sample)
    # The full runs use the warehouse at the path it was built at, as a user's warehouse stays where it
    # is: its last build's saved dbt parse fits (dbt ties it to the warehouse path). Each run starts
    # from a pristine copy of it (base).
    at_home = data / "warehouse"
    setup = _twice(lambda: _pipeline(bench, at_home, base_inbox), "p2 base build")  # a rerun resumes the build
    base = data / "base"
    at_home.rename(base)
    bench.p2_base = (base, len(history) * s.p2_rows_per_month)  # p4's fallback, should the big build fail
    _say(f"p2: base warehouse built in {setup['seconds']:.0f} s ({setup['live_db_bytes'] / MIB:,.0f} MiB live file)")
    runs: dict[str, list[dict]] = {"full": [], "empty": []}
    for rep in range(s.p2_reps):
        for kind in (("full", "empty") if rep % 2 == 0 else ("empty", "full")):
            target = data / f"run-{rep}-{kind}"

            def add_month(kind: str = kind, target: Path = target) -> dict:
                _fresh(target)
                inbox = target / "inbox"
                warehouse, env = at_home, {}
                if kind == "full":
                    # The same warehouse (live and work files, landing, instance, dbt's saved parse) and an inbox
                    # that still holds every earlier file, as a user's download folder does, plus the new month.
                    shutil.rmtree(at_home, ignore_errors=True)
                    shutil.copytree(base, at_home, symlinks=True)
                    for f in base_inbox.iterdir():
                        _link_or_copy(f, inbox / f.name)
                else:  # a new warehouse, with dbt's parse saved for its path as `make manifest` does at install
                    warehouse = target / "warehouse"
                    env = save_dbt_parse(warehouse, target / "dbt_parse")
                _link_or_copy(new.path, inbox / new.path.name)
                # The copy above leaves gigabytes of dirty pages; flushed now, the disk writes of the
                # setup are not billed to the run (they slowed its own writes, the publish copy most).
                os.sync()
                return _pipeline(bench, warehouse, inbox, env)

            result = _twice(add_month, f"p2 {kind} run {rep + 1}")
            runs[kind].append(result)
            _say(f"p2 {kind} run {rep + 1}: {result['seconds']:.1f} s (load {result['load_before']:.1f}) "
                 + ", ".join(f"{k} {v:.1f}" for k, v in result["jobs"].items())
                 + (" (dbt parsed the whole project)" if result["dbt_parsed_in_full"] else ""))
            shutil.rmtree(target)
            shutil.rmtree(at_home, ignore_errors=True)
    full = _median([r["seconds"] for r in runs["full"]])
    empty = _median([r["seconds"] for r in runs["empty"]])
    return {
        "p2_ratio": full / empty,
        "p2_full_s": full,
        "p2_empty_s": empty,
        "p2_months": len(history),
        "p2_rows_per_month": s.p2_rows_per_month,
        "p2_history_rows": len(history) * s.p2_rows_per_month,
        "p2_new_month": s.p2_new_month,
        "p2_dbt_parsed_in_full": [r["dbt_parsed_in_full"] for r in runs["full"] + runs["empty"]],
        "p2_ratio_process_wall": _median([r["process_wall_seconds"] for r in runs["full"]])
        / _median([r["process_wall_seconds"] for r in runs["empty"]]),
        "p2_setup": _brief(setup),
        "p2_runs": {k: [_brief(r) for r in v] for k, v in runs.items()},
    }


def measure_p3_p4(bench: Bench, queries: list[str]) -> dict:
    """p3: the largest file through the warehouse's ingest in a fresh process, its peak RSS. p4: the
    marts built on it by the real pipeline, then the documented analyst queries on the snapshot."""
    s = bench.sizes
    data = _fresh(bench.tmp / "p3")
    _say(f"p3: generating {s.p3_rows:,} rows")
    big = scale.write_scale_file(data / "inbox", s.p3_rows)
    _say(f"p3: {big.size_bytes / MIB:,.0f} MiB in {big.seconds:.0f} s ({big.rows / big.seconds:,.0f} rows/s, "
         f"{big.size_bytes / MIB / big.seconds:.0f} MiB/s); ingesting")
    warehouse = data / "warehouse"
    def ingest_once() -> dict:
        shutil.rmtree(warehouse, ignore_errors=True)
        return bench.worker("ingest", {"inbox": str(data / "inbox"), "warehouse": str(warehouse)})

    ingest = _twice(ingest_once, "p3 ingest")
    if ingest["quarantined"] or ingest["rows"] != s.p3_rows:
        raise RuntimeError(f"p3: loaded {ingest['rows']} of {s.p3_rows} rows, quarantined {ingest['quarantined']}")
    _say(f"p3: ingested in {ingest['seconds']:.0f} s ({s.p3_rows / ingest['seconds']:,.0f} rows/s), "
         f"peak RSS {ingest['peak_rss_kb'] / 1024:,.0f} MiB")
    result: dict[str, Any] = {
        "p3_peak_rss_mb": ingest["peak_rss_kb"] / 1024,
        "p3_file_mb": big.size_bytes / MIB,
        "p3_rows": s.p3_rows,
        "p3_ingest_rows_per_s": s.p3_rows / ingest["seconds"],
        "p3_ingest": _brief(ingest),
        "p3_polled_peak_rss_mb": ingest["polled_peak_rss_kb"] / 1024,
        "generator_rows_per_s": big.rows / big.seconds,
        "generator_mb_per_s": big.size_bytes / MIB / big.seconds,
    }
    # The file is archived in landing/ now and registered: the pipeline needs no inbox copy. The sample
    # tables join it (write_sample_tables), so that the region and city marts have rows too.
    big.path.unlink()
    try:
        write_sample_tables(data / "inbox", s.p4_sample)
        _say(f"p4: building the marts on it and the sample tables of {s.p4_sample} with the pipeline")
        snapshot, p4_rows = warehouse / "published" / "trade.duckdb", s.p3_rows
        try:
            build = _twice(lambda: _pipeline(bench, warehouse, data / "inbox"), "p4 build")
            result["p4_build_s"] = build["seconds"]
            result["p4_build"] = _brief(build)
            _say(f"p4: built in {build['seconds']:.0f} s")
        except RuntimeError as error:
            # The marts could not be built at this size. The analyst queries then run on the largest
            # warehouse that was built, p2's, and the document says so.
            result["p4_fallback_reason"] = _short(error)
            result["p4_build_error"] = str(error)[-4000:]
            if bench.p2_base is None:
                raise
            snapshot, p4_rows = bench.p2_base[0] / "published" / "trade.duckdb", bench.p2_base[1]
            _say(f"p4: the build on {s.p3_rows:,} rows failed ({_short(error)[:200]}); "
                 f"measuring on p2's warehouse of {p4_rows:,} rows")
        bench.probe("p4")
        _say(f"p4: {len(queries)} analyst queries × {s.p4_repeat} runs")
        timed = bench.worker("queries", {"db": str(snapshot), "queries": queries, "repeat": s.p4_repeat})
        every = [ms for q in timed["queries"] for ms in q["ms"]]
        result.update(
            p4_p50_ms=_percentile(every, 50),
            p4_p95_ms=_percentile(every, 95),
            p4_queries=[{"query": i + 1, "median_ms": _median(q["ms"]), "max_ms": max(q["ms"]), "rows": q["rows"],
                         "first_line": _first_line(queries[i])} for i, q in enumerate(timed["queries"])],
            p4_rows=p4_rows,
        )
    except Exception as error:  # p3 stands even when the build or the queries fail
        result["p4_error"] = f"{type(error).__name__}: {error}"[-4000:]
    return result


def _short(error: BaseException | str) -> str:
    """An error in one line for the table: its first line and, for a traceback, the last one."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return text
    short = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"
    return short[:600]


def _first_line(sql: str) -> str:
    lines = [line.strip() for line in sql.strip().splitlines() if line.strip() and not line.strip().startswith("--")]
    return (lines[0] if lines else "")[:90]


def measure_p5(bench: Bench) -> dict:
    """`make run` wall time on the default sample, in a clean temporary warehouse (install done)."""
    return _twice(lambda: _measure_p5(bench), "p5 make run")


def _measure_p5(bench: Bench) -> dict:
    s = bench.sizes
    data = _fresh(bench.tmp / "p5")
    inbox = _fresh(data / "inbox")
    warehouse = data / "warehouse"
    if s.p5_sample != "default":
        from orchestration.samples import write_sample_releases

        first, last = s.p5_sample.split("..")
        write_sample_releases(inbox, first, last)
    env = {**os.environ, "TRADE_WAREHOUSE_DIR": str(warehouse), "TRADE_INBOX": str(inbox),
           **save_dbt_parse(warehouse, data / "dbt_parse")}
    env.pop("DAGSTER_HOME", None)
    log = bench.log_dir / "p5-make-run.log"
    _say(f"p5: make run ({'the default sample' if s.p5_sample == 'default' else 'sample ' + s.p5_sample})")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        completed = subprocess.run(["make", "run"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        killed = completed.returncode < 0 or "] Killed" in tail or "] Terminated" in tail
        raise (WorkerKilled if killed else RuntimeError)(f"make run failed (exit {completed.returncode}):\n{tail}")
    _say(f"p5: make run took {seconds:.1f} s")
    result = {"p5_make_run_s": seconds, "p5_sample": s.p5_sample, "p5_load_before": load_before,
              "p5_load_after": os.getloadavg()[0],
              # should the saved parse not match (a dbt or profile change the bench did not foresee)
              "p5_dbt_parsed_in_full": dbt_parsed_in_full(warehouse)}
    try:  # where the time went, from the run's Dagster instance (only to explain the figure)
        stats = bench.worker("run_stats", {}, env={"DAGSTER_HOME": str(warehouse / "dagster_home")})
        result.update(p5_jobs=stats["jobs"], p5_steps=stats["steps"])
    except RuntimeError as error:
        result["p5_stats_error"] = str(error)[:500]
    return result


def run_fault_test(points: str) -> dict:
    """The long fault test, in its own pytest process, with what it ran on (the commit, the date), since
    --faults-only records it on a page whose figures an earlier run measured."""
    pytest = REPO / ".venv" / "bin" / "pytest"
    command = [str(pytest)] if pytest.exists() else [sys.executable, "-m", "pytest"]
    command += ["-q", "tests/test_crash_recovery.py"]
    _say(f"fault test: TRADE_FAULT_POINTS={points} {' '.join(command)}")
    date, code = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), git_state()  # what it starts on
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=REPO, env={**os.environ, "TRADE_FAULT_POINTS": points},
                               capture_output=True, text=True)
    return {
        "date": date,
        "git": code,
        "command": f"TRADE_FAULT_POINTS={points} .venv/bin/pytest -q tests/test_crash_recovery.py",
        "passed": completed.returncode == 0,
        "exit_code": completed.returncode,
        "seconds": time.perf_counter() - started,
        "summary": (completed.stdout.strip().splitlines() or [""])[-1],
        "tail": (completed.stdout + completed.stderr)[-2000:],
    }


# --------------------------------------------------------------------------------------------
# Machine, versions, outputs
# --------------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or cpu
    ram = None
    try:
        ram = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")) / 1024**2
    except (OSError, StopIteration):
        pass
    os_name = platform.platform()
    try:
        pretty = next(line.split("=", 1)[1].strip().strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                      if line.startswith("PRETTY_NAME="))
        os_name = f"{pretty} ({platform.system()} {platform.release()})"
    except (OSError, StopIteration):
        pass

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cores": os.cpu_count(),
        "ram_gib": round(ram, 1) if ram else None,
        "cpu": cpu,
        "os": os_name,
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "dbt_core": version("dbt-core"),
        "dbt_duckdb": version("dbt-duckdb"),
        "dagster": version("dagster"),
        "pandas": version("pandas"),
        "numpy": version("numpy"),
    }


def git_state() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--porcelain")
    return {"commit": git("rev-parse", "HEAD") or "unknown",
            "uncommitted_changes": len(changed.splitlines()) if changed else 0}


def analyst_queries() -> list[str]:
    """The SQL blocks of docs/analysts.md, extracted as tests/test_docs_queries.py does."""
    import re

    return re.findall(r"```sql\n(.*?)```", (REPO / "docs" / "analysts.md").read_text(encoding="utf-8"), re.S)


def met(key: str, value: float | None) -> bool | None:
    if value is None or key not in TARGETS:
        return None
    op, threshold = TARGETS[key]
    return value >= threshold if op == ">=" else value <= threshold


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def check_disk(tmp: Path, sizes: Sizes) -> dict:
    free = shutil.disk_usage(tmp).free / 1e9
    if free < sizes.disk_gb:
        raise SystemExit(
            f"bench: needs about {sizes.disk_gb} GB free under {tmp} (the generated files, their landing copies, "
            f"the warehouses and their published snapshots); {free:.0f} GB free. Point BENCH_TMPDIR at a bigger disk."
        )
    return {"free_gb": round(free, 1), "needed_gb": sizes.disk_gb}


# --------------------------------------------------------------------------------------------
# Why a figure falls short (from what was measured)
# --------------------------------------------------------------------------------------------


def _jobs_line(jobs: dict) -> str:
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in jobs.items())


def _step_growth(full: dict, empty: dict) -> list[tuple[str, float, float]]:
    steps = sorted(set(full) | set(empty), key=lambda k: -(full.get(k, 0) - empty.get(k, 0)))
    return [(k, empty.get(k, 0.0), full.get(k, 0.0)) for k in steps]


def explain(results: dict) -> dict[str, str]:
    """For each figure short of its target, why, in the measured numbers."""
    why: dict[str, str] = {}
    r = results
    if met("p1_vs_duckdb", r.get("p1_vs_duckdb")) is False or met("p1_vs_pandas", r.get("p1_vs_pandas")) is False:
        runs = r.get("p1_runs", {})
        register = _median([x["register_seconds"] for x in runs.get("warehouse", [])]) if runs.get("warehouse") else None
        load = _median([x["load_seconds"] for x in runs.get("warehouse", [])]) if runs.get("warehouse") else None
        duck = _median([x["seconds"] for x in runs.get("duckdb", [])]) if runs.get("duckdb") else None
        text = (
            f"The warehouse ingested {_fmt(r.get('p1_ingest_rows_per_s'), 0)} rows/s against "
            f"{_fmt(r.get('p1_duckdb_rows_per_s'), 0)} for DuckDB's read_csv and {_fmt(r.get('p1_pandas_rows_per_s'), 0)} "
            f"for pandas + DuckDB (medians). Of its median run, registering took {_fmt(register, 1)} s (sha256 of the inbox "
            f"file, a copy into landing/, the header parse) and loading {_fmt(load, 1)} s, against {_fmt(duck, 1)} s for "
            "DuckDB's whole run. The load does more work on the same two cores: iconv transcodes GB18030 to UTF-8 "
            "(DuckDB cannot read GB18030) beside DuckDB's two threads, so it takes CPU from them; every cell is checked "
            "(codes, months, numbers), provenance is added (release id, source line) and the columns are typed "
            "(DECIMAL values, dates), where read_csv stores what it sniffs. The source line comes from WITH ORDINALITY "
            "over each transcoded chunk (DuckDB 2.0's CSV reader gives no file row number), and an ordinality keeps "
            "DuckDB from splitting a chunk's scan across threads, so chunks load two at a time. The archive copy and "
            "its hash are a fixed cost per byte that the baselines do not pay."
        )
        pandas, duckdb_speed = r.get("p1_pandas_rows_per_s"), r.get("p1_duckdb_rows_per_s")
        if pandas and duckdb_speed and 3 * pandas / duckdb_speed > 1:
            text += (
                f" On this machine the hand-written pandas path ran at {pandas / duckdb_speed:.2f}× DuckDB's read_csv "
                "(pandas' C parser does the reading), so p1_vs_pandas ≥ 3 means ingesting "
                f"{3 * pandas / duckdb_speed:.1f}× faster than DuckDB's own reader, where p1_vs_duckdb asks for 0.8×: "
                "an ingest that itself loads through DuckDB's reader, with more work on top, cannot beat that reader, "
                "so with these baselines the pandas target is out of reach."
            )
        why["p1"] = text
    if met("p2_ratio", r.get("p2_ratio")) is False:
        runs = r.get("p2_runs", {})
        if runs.get("full") and runs.get("empty"):
            full, empty = runs["full"][0], runs["empty"][0]
            growth = _step_growth(full.get("steps", {}), empty.get("steps", {}))[:4]
            lines = "; ".join(f"{k} {e:.1f} s → {f:.1f} s" for k, e, f in growth)
            why["p2"] = (
                f"Adding {r.get('p2_new_month')} took {_fmt(r.get('p2_full_s'), 1)} s with {r.get('p2_months')} months "
                f"({_fmt(r.get('p2_history_rows'), 0)} rows) already in the warehouse and {_fmt(r.get('p2_empty_s'), 1)} s "
                f"on an empty one. The steps that grew most (empty → full, first run of each): {lines}. Work that "
                "grows with the warehouse rather than with the new month: dbt's non-incremental table models and its "
                "tests scan all months, the report card draws the charts that need a year or more of history, and "
                "publishing copies the whole live DuckDB file (raw tables and marts; the row-grain intermediate tables "
                "stay in work.duckdb, which is not published) and syncs it to disk "
                f"({_fmt((full.get('live_db_bytes') or 0) / MIB, 0)} MiB full vs {_fmt((empty.get('live_db_bytes') or 0) / MIB, 0)} "
                "MiB empty) to published/ and rewrites every mart as Parquet and the report card. In all, the "
                f"month cost {_fmt((r.get('p2_full_s') or 0) - (r.get('p2_empty_s') or 0), 1)} s more with the history "
                "(medians): the ratio sets that against the whole empty run, so a machine that runs the fixed work "
                "(starting the runs and dbt, parsing, the tests) faster raises it for the same growth."
            )
    if met("p3_file_mb", r.get("p3_file_mb")) is False:
        why["p3"] = (f"The largest file was {_fmt(r.get('p3_file_mb'), 1)} MiB, not the 5 GiB the target is about"
                     + (" (quick mode)." if r.get("mode") == "quick" else "."))
    if met("p3_peak_rss_mb", r.get("p3_peak_rss_mb")) is False:
        ingest = r.get("p3_ingest", {})
        settings = ingest.get("writer_settings", {})
        why["p3"] = (why.get("p3", "") + (
            f" Ingesting the {_fmt(r.get('p3_file_mb'), 0)} MiB file ({_fmt(r.get('p3_rows'), 0)} rows) peaked at "
            f"{_fmt(r.get('p3_peak_rss_mb'), 0)} MiB resident (register {_fmt(ingest.get('register_seconds'), 0)} s, load "
            f"{_fmt(ingest.get('load_seconds'), 0)} s). The writer connection allows DuckDB memory_limit = "
            f"{settings.get('memory_limit', '?')} with {settings.get('threads', '?')} threads; the release loads in one "
            "transaction (so a crash never leaves half of it), and DuckDB's buffer pool, the uncommitted row groups "
            "and the Python process itself add up past the target."
        )).strip()
    if met("p4_p95_ms", r.get("p4_p95_ms")) is False:
        slow = sorted(r.get("p4_queries", []), key=lambda q: -q["median_ms"])[:3]
        listed = "; ".join(f"query {q['query']} ({q['first_line']}) {q['median_ms']:.0f} ms" for q in slow)
        why["p4"] = (
            f"On the snapshot built from {_fmt(r.get('p4_rows'), 0)} query-export rows the slowest documented queries "
            f"were: {listed}. The queries that read marts.fct_trade_monthly scan the fact at its full grain "
            "(region × product × partner × trade mode × month) and aggregate it at query time; the pre-aggregated marts "
            "(trade_by_region_year, trade_by_product_year …) answer in a few milliseconds."
        )
    if r.get("p4_fallback_reason"):
        profile = (REPO / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
        hint = (
            " dbt_project/profiles.yml sets no memory_limit (nor temp_directory), so dbt's DuckDB assumes 80 % of RAM "
            "for itself and does not spill to disk before the machine runs out."
            if "memory_limit" not in profile else ""
        )
        why["p4"] = (
            f"The marts could not be built on the {_fmt(r.get('p3_rows'), 0)}-row warehouse of p3 ({r['p4_fallback_reason']}); "
            f"the figure is from p2's warehouse of {_fmt(r.get('p4_rows'), 0)} rows instead.{hint} "
        ) + why.get("p4", "")
    for key in ("p4", "p5"):  # absolute times: a slow host shows in them (p1 and p2 are ratios)
        if key in r.get("slow_passes", []) and key in why:
            probe = next(p for p in r["host_probes"] if p["label"] == key)
            why[key] += (f" The host probe just before this pass took {probe['seconds']:.2f} s against "
                         f"{r['fastest_probe_s']:.2f} s for the fastest probe (this run's or the previous run's): "
                         "the machine itself ran slow, and this figure shows it.")
    if met("p5_make_run_s", r.get("p5_make_run_s")) is False:
        why["p5"] = (
            f"`make run` took {_fmt(r.get('p5_make_run_s'), 1)} s: {_jobs_line(r.get('p5_jobs', {}))}; the rest "
            f"({_fmt(r.get('p5_make_run_s', 0) - sum(r.get('p5_jobs', {}).values()), 1)} s) is outside the Dagster jobs: "
            "make's up-to-date check of the dbt manifest, writing the sample files into the inbox, "
            "starting Python, importing Dagster and the code location, and the summary. Steps: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(r.get("p5_steps", {}).items(), key=lambda kv: -kv[1])[:6])
            + "."
            + (" dbt parsed the whole project in this run: the parse saved before it did not match (see the "
               "run's dbt log), so this figure includes a full parse, a few seconds that `make run` at the "
               "default path does not spend." if r.get("p5_dbt_parsed_in_full") else "")
        )
    return why


# --------------------------------------------------------------------------------------------
# Writing the results
# --------------------------------------------------------------------------------------------

METHODS = {
    "p1": (
        "One SAMPLE query export of {p1_rows:,} rows ({p1_file_mb:,.0f} MiB, GB18030, the real layout) from the scale "
        "generator, taken three ways, each run in its own fresh process into a fresh DuckDB file, the three ways "
        "alternating (who goes first rotates), {p1_reps} run(s) each; the figure is the ratio of the MEDIAN rows/s. "
        "(a) the warehouse: `register_inbox` then `load_pending` (orchestration/ingest/steps.py) on "
        "`WarehouseResource.connect()` connections to a fresh warehouse, as the pipeline's raw/releases and raw row "
        "assets call them (landing copy, sha256, parsing, validation, one transaction); (b) DuckDB: "
        "`CREATE TABLE t AS SELECT * FROM read_csv('<the same rows re-encoded to UTF-8>')` (the conversion is not "
        "timed); (c) pandas: `pandas.read_csv(path, encoding='gb18030', thousands=',')` then "
        "`CREATE TABLE t AS SELECT * FROM frame`. Timed from before the first connection (or the read) to after "
        "the last `close()` (which checkpoints), imports excluded; the file is in the page cache for all three."
    ),
    "p2": (
        "{p2_months} monthly SAMPLE query exports ({p2_rows_per_month:,} rows each, {p2_history_rows:,} rows, all 31 "
        "provinces) and the SAMPLE location tables, city tables and city query exports of {p4_sample} built into a "
        "base warehouse with the pipeline; then, {p2_reps} time(s) each, alternating which goes first: (full) a "
        "copy of the base warehouse (live and work files, landing/, Dagster instance, dbt's last builds) at the path it was "
        "built at, with the inbox still holding every earlier file plus {p2_new_month} ({p2_rows_per_month:,} rows), "
        "and (empty) a fresh warehouse with only the {p2_new_month} file. Both start dbt from a saved parse that "
        "fits their path, as a user's run does (full: its previous build's; empty: one saved untimed for its path, "
        "as `make manifest` does at install for the default path), so neither pays for parsing the whole project. "
        "Each is `run_pipeline` (what `trade run` does: discover → load → dbt build of the "
        "pending months → publish + report card) in a fresh process, timed around the call (the code location is "
        "imported before the clock starts); the copies that set a run up are flushed to disk (`sync`) before it "
        "starts, so their writeback does not slow the run's own writes. p2_ratio = median(full) ÷ median(empty)."
    ),
    "p3": (
        "The largest file: {p3_rows:,} rows, {p3_file_mb:,.0f} MiB (MiB = 2^20 bytes; the target's 5 GB is read as "
        "5 GiB = 5,120 MiB), generated by the scale generator, then `register_inbox` + `load_pending` into a fresh "
        "warehouse in a fresh process. p3_peak_rss_mb is that process's VmHWM (/proc/self/status) at the end, in "
        "MiB; the parent also polled VmRSS every 0.2 s ({p3_polled_peak_rss_mb:,.0f} MiB)."
    ),
    "p4": (
        "The warehouse of p3 ({p3_rows:,} rows) plus the SAMPLE location tables, city tables and city query "
        "exports of {p4_sample} (so that the region and city marts have rows too; the scale file's province months add "
        "up to the location tables'), built by the real pipeline (`run_pipeline`: load, dbt build of every month, "
        "publish; dbt's DuckDB holds to the memory_limit of dbt_project/profiles.yml, half the RAM, and spills "
        "beyond it; should the build fail, the queries run on p2's base warehouse and this page says so); then the {p4_count} SQL blocks of docs/analysts.md (extracted as tests/test_docs_queries.py "
        "does) on warehouse/published/trade.duckdb opened read-only, one connection, each query run once to warm up "
        "and then {p4_repeat} times, all rows fetched. p50/p95 over all {p4_samples} timed runs (linear "
        "interpolation between ranks)."
    ),
    "p5": (
        "`make run` as a subprocess from the repo, after install (make bench depends on the manifest), with "
        "TRADE_WAREHOUSE_DIR and TRADE_INBOX pointing at an empty temporary folder, so it writes {p5_what} and runs the "
        "whole pipeline and the summary. Wall time of the command, one run. Before it, untimed, dbt's parse is saved for "
        "that folder's path, as `make manifest` saves it at install for the default path (dbt hashes the warehouse "
        "path into its saved parse); dagster-dbt takes it from DBT_TARGET_PATH."
    ),
}


def _same_mode_page(out_json: Path, mode: str) -> dict | None:
    """The json of the page this run replaces, when there is one of the same mode (quick or full)."""
    try:
        before = json.loads(out_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return before if before.get("mode") == mode else None


def previous_run(out_json: Path, mode: str) -> dict | None:
    """The figures of the run this one replaces (the same file, the same mode), to show how far a rerun
    moved them: what a rerun reproduces, and what is noise."""
    before = _same_mode_page(out_json, mode)
    if before is None:
        return None
    probes = [p["seconds"] for p in before.get("host_probes") or []]
    return {"date": before.get("date"), "commit": (before.get("git") or {}).get("commit"),
            "figures": {key: before.get(key) for key in KEYS}, "fastest_probe_s": min(probes, default=None),
            "cpu": (before.get("machine") or {}).get("cpu"),
            "method_revisions": before.get("method_revisions")}  # None: a page from before they were kept


def previous_fault_test(out_json: Path, mode: str) -> dict | None:
    """The long fault test the page holds (the same mode), which a run that does not repeat it keeps."""
    fault = (_same_mode_page(out_json, mode) or {}).get("fault_test")
    return fault if fault and (fault.get("git") or {}).get("commit") else None  # older records named no commit


def previous_yardstick(results: dict) -> float | None:
    """The previous run's fastest host probe, where it can judge this run: on the same CPU model only."""
    previous = results.get("previous") or {}
    same_machine = previous.get("cpu") == (results.get("machine") or {}).get("cpu")
    return previous.get("fastest_probe_s") if same_machine else None


def comparison_rows(results: dict) -> list[str]:
    """The table rows of this run's figures against the previous run's; a figure whose method changed
    between the two is marked, not given a change."""
    previous = results["previous"]
    before_methods = previous.get("method_revisions") or {}
    now_methods = results.get("method_revisions") or {}
    rows = []
    for key in KEYS:
        before, now = previous["figures"].get(key), results.get(key)
        digits = 2 if key in ("p1_vs_duckdb", "p1_vs_pandas", "p2_ratio") else 1
        revised = key in before_methods and before_methods[key] != now_methods.get(key, 1)
        change = "method changed: not comparable" if revised else _change(now, before)
        rows.append(f"| `{key}` | {_fmt(before, digits)} | {_fmt(now, digits)} | {change} |")
    return rows


def _change(now: Any, before: Any) -> str:
    if not isinstance(now, (int, float)) or not isinstance(before, (int, float)) or not before:
        return "—"
    return f"{(now / before - 1) * 100:+.0f} %"


def write_outputs(results: dict, out_md: Path, out_json: Path) -> None:
    results["why"] = explain(results)  # here, so that the page's modes that measure nothing word it alike
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    try:
        text = markdown(results)
    except Exception as error:  # never lose a run's figures to a formatting slip: the table and the error
        text = "# Benchmarks\n\n" + "\n".join(
            f"- `{key}`: {value} ({target}, {status})" for key, value, target, status in table_rows(results)
        ) + f"\n\n(The full page could not be written: {type(error).__name__}: {error}; see benchmarks.json.)\n"
    out_md.write_text(text, encoding="utf-8")


def table_rows(results: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for key in KEYS:
        value = results.get(key)
        target = TARGETS.get(key)
        status = met(key, value)
        rows.append((
            key,
            _fmt(value, 2 if key in ("p1_vs_duckdb", "p1_vs_pandas", "p2_ratio") else 1),
            f"{target[0]} {target[1]:g}" if target else "—",
            "—" if status is None else ("met" if status else "NOT met"),
        ))
    return rows


def print_table(results: dict) -> None:
    rows = [("figure", "value", "target", "")] + table_rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print()
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    print()


def _probe_line(results: dict) -> str:
    probes = results.get("host_probes") or []
    if not probes:
        return "- host probe: not taken"
    previous = previous_yardstick(results)
    slow = results.get("slow_passes") or []
    return (
        "- host probe (a fixed workload: DuckDB hashing 100M integers on one thread, a Python loop of 10M steps, "
        f"256 MiB written and synced; after a warm-up, median of {probes[0].get('reps', 3)}), taken before each pass: "
        + ", ".join(f"{p['label']} {p['seconds']:.2f} s" for p in probes)
        + (f" (the previous run's fastest: {previous:.2f} s)" if previous else "")
        + (f". **Slow passes** (≥ {PROBE_SLOW:g}× the fastest probe): {', '.join(slow)}; their absolute times "
           "(p4's latencies, p5's wall time) overstate what the code costs on this machine at its usual speed."
           if slow else ". No pass ran slow (all within "
           f"{PROBE_SLOW:g}× the fastest probe).")
    )


def markdown(results: dict) -> str:
    m, g = results["machine"], results["git"]
    quick = results["mode"] == "quick"
    s = results["sizes"]
    lines = [
        "# Benchmarks" + (" (QUICK MODE: small sizes, NOT comparable with the targets)" if quick else ""),
        "",
        f"Written by `make bench` (bench/run.py) on {results['date']}"
        + (" with BENCH_QUICK=1: the sizes are tiny, so these figures only show that the script works." if quick else "."),
        "All data is SAMPLE data from the scale generator (`python -m orchestration.samples --scale`), not GACC's.",
        "",
        "| figure | value | target | |",
        "|---|---|---|---|",
    ]
    for key, value, target, status in table_rows(results):
        lines.append(f"| `{key}` | {value} | {target} | {status} |")
    lines += [
        "",
        "Throughputs: the warehouse's ingest "
        f"{_fmt(results.get('p1_ingest_rows_per_s'), 0)} rows/s at {_fmt(results.get('p1_rows'), 0)} rows "
        f"(DuckDB read_csv {_fmt(results.get('p1_duckdb_rows_per_s'), 0)}, pandas {_fmt(results.get('p1_pandas_rows_per_s'), 0)}), "
        f"{_fmt(results.get('p3_ingest_rows_per_s'), 0)} rows/s at {_fmt(results.get('p3_rows'), 0)} rows; "
        f"the scale generator {_fmt(results.get('generator_rows_per_s'), 0)} rows/s "
        f"({_fmt(results.get('generator_mb_per_s'), 1)} MiB/s).",
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['cpu']}",
        f"- {m['os']}",
        f"- Python {m['python']}, DuckDB {m['duckdb']}, dbt-core {m['dbt_core']} (dbt-duckdb {m['dbt_duckdb']}), "
        f"Dagster {m['dagster']}, pandas {m['pandas']}, numpy {m['numpy']}",
        f"- git commit {g['commit']}" + (f" with {g['uncommitted_changes']} uncommitted change(s)" if g["uncommitted_changes"] else ""),
        f"- load average (1 min) at the start {results['load_start']:.1f}, at the end {results['load_end']:.1f}: "
        "the machine is shared, so absolute times are noisy; the ratios are measured side by side.",
        _probe_line(results),
        f"- `make bench` took {results['bench_seconds'] / 60:.1f} min; temp data under {results['disk']['tmp']} "
        f"({results['disk']['free_gb']} GB free, about {results['disk']['needed_gb']} GB needed), removed at the end.",
        "",
        "## Method",
        "",
    ]
    fill = {
        **s,
        "p1_rows": s["p1_rows"], "p1_file_mb": results.get("p1_file_mb") or 0,
        "p2_months": len(scale.parse_months(s["p2_months"])), "p2_history_rows": len(scale.parse_months(s["p2_months"])) * s["p2_rows_per_month"],
        "p3_file_mb": results.get("p3_file_mb") or 0, "p3_polled_peak_rss_mb": results.get("p3_polled_peak_rss_mb") or 0,
        "p4_rows": results.get("p4_rows") or s["p3_rows"], "p4_count": results.get("p4_query_count", 0),
        "p4_samples": results.get("p4_query_count", 0) * s["p4_repeat"],
        "p5_what": "the default sample releases (2018-01 … 2025-12, 512 files)" if s["p5_sample"] == "default"
        else f"nothing (the inbox holds the sample releases of {s['p5_sample']} only, quick mode)",
    }
    for key, text in METHODS.items():
        lines.append(f"- **{key}**: " + text.format(**fill))
    if results.get("p4_fallback_reason"):
        lines.append(
            f"- **p4 was measured on p2's warehouse ({_fmt(results.get('p4_rows'))} rows), not at {s['p3_rows']:,} rows**: "
            f"building the marts at that size failed: {results['p4_fallback_reason']}"
        )
    lines += ["", "## Where a target is not met, why", ""]
    why = results.get("why", {})
    errors = results.get("errors", {})
    if not why and not errors:
        lines.append("Every target is met.")
    for key in ("p1", "p2", "p3", "p4", "p5"):
        if key in errors:
            lines.append(f"- **{key}** could not be measured: {errors[key]}"
                         + (f" (logs: {results['logs_kept']})" if results.get("logs_kept") else ""))
        elif key in why:
            lines.append(f"- **{key}**: {why[key]}")
    lines += ["", "## Details", ""]
    if results.get("p2_runs"):
        for kind in ("full", "empty"):
            for i, run in enumerate(results["p2_runs"][kind]):
                lines.append(f"- p2 {kind} run {i + 1}: {run['seconds']:.1f} s ({_jobs_line(run.get('jobs', {}))}; "
                             f"load average {run['load_before']:.1f})")
    if results.get("p1_runs"):
        for way, runs in results["p1_runs"].items():
            lines.append(f"- p1 {way}: " + ", ".join(f"{r['seconds']:.1f} s ({r['rows_per_s']:,.0f} rows/s, "
                                                     f"peak {r['peak_rss_kb'] / 1024:,.0f} MiB)" for r in runs))
    if results.get("p4_build_s") is not None:
        lines.append(f"- p4 build of the marts on {s['p3_rows']:,} rows: {results['p4_build_s']:.0f} s "
                     f"({_jobs_line(results.get('p4_build', {}).get('jobs', {}))})")
    if results.get("p4_queries"):
        lines.append("- p4 per query (median / max ms, rows): " + "; ".join(
            f"{q['query']}: {q['median_ms']:.1f} / {q['max_ms']:.1f}, {q['rows']}" for q in results["p4_queries"]))
    if results.get("p5_jobs"):
        lines.append(f"- p5 jobs: {_jobs_line(results['p5_jobs'])}")
    previous = results.get("previous")
    if previous:
        lines += ["", "## Against the previous run", "",
                  f"The run this page replaced: {previous['date']}, commit {(previous['commit'] or '?')[:12]}."]
        if previous.get("cpu") and previous["cpu"] != m["cpu"]:
            lines.append(f"It ran on another CPU model ({previous['cpu']}; this run: {m['cpu']}), so the changes below "
                         "are the machine's as much as the code's: absolute times move with it, and so do ratios whose "
                         "two sides spend their time differently (p2's fixed work against its growth).")
        lines += ["", "| figure | previous | this run | change |", "|---|---|---|---|"]
        lines += comparison_rows(results)
    lines += ["", "## Long fault test", ""]
    fault = results.get("fault_test")
    if fault is None:
        lines.append("Not run (set TRADE_FAULT_POINTS, e.g. `TRADE_FAULT_POINTS=50 make bench`).")
    else:
        lines.append(f"`{fault['command']}`: **{'passed' if fault['passed'] else 'FAILED'}** in {fault['seconds'] / 60:.1f} min "
                     f"({fault['summary']}).")
        ran_on = (fault.get("git") or {}).get("commit")
        if ran_on and ran_on != g["commit"]:  # by --faults-only, or kept from an earlier page: other code
            lines.append("")
            dirty = fault["git"].get("uncommitted_changes")
            when = ("after the figures above (`make bench-faults` records it without measuring again)"
                    if fault["date"] >= results["date"] else
                    "before the figures above: the last long run, kept from an earlier page (`make bench-faults` "
                    "runs it again)")
            lines.append(f"Started {fault['date']} at commit {ran_on[:12]}"
                         + (f" (with {dirty} uncommitted change(s))" if dirty else "") + f", {when}.")
        if not fault["passed"]:
            lines += ["", "```", fault["tail"].strip(), "```"]
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def last_results(out_json: Path) -> dict:
    """What the last run wrote, for a mode that adds to its page rather than measuring again."""
    try:
        return json.loads(out_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SystemExit(f"bench: {out_json} cannot be read ({error}); run `make bench` first.")


def record_fault_test_only(out_md: Path, out_json: Path, points: str) -> int:
    """The long fault test alone (half an hour to an hour at 50 points), recorded on the page of the last full run:
    a bench and the fault test together take longer than one sitting often allows."""
    results = last_results(out_json)
    results["fault_test"] = run_fault_test(points)
    write_outputs(results, out_md, out_json)
    fault = results["fault_test"]
    _say(f"fault test {'passed' if fault['passed'] else 'FAILED'} in {fault['seconds'] / 60:.1f} min "
         f"({fault['summary']}); recorded in {out_md} and {out_json}")
    return 0 if fault["passed"] else 1


def _terminate(signum, frame):  # SIGTERM: unwind, so that the worker is stopped and the temp data removed
    raise SystemExit(f"bench: stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
                        help="small sizes, to try the script (also BENCH_QUICK=1)")
    parser.add_argument("--out-md", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--out-json", type=Path, default=REPO / "docs" / "benchmarks.json")
    parser.add_argument("--tmp", type=Path, default=os.environ.get("BENCH_TMPDIR") or None,
                        help="where the temp data goes (also BENCH_TMPDIR; default the system temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data (for inspection)")
    parser.add_argument("--faults-only", action="store_true",
                        help="run only the long fault test (TRADE_FAULT_POINTS, default 50) and record it on the "
                             "existing page, keeping its figures (make bench-faults)")
    parser.add_argument("--page-only", action="store_true",
                        help="write the page again from the last run's json, measuring nothing (after a change "
                             "to how the page is written)")
    args = parser.parse_args(argv)
    if args.faults_only:
        return record_fault_test_only(args.out_md, args.out_json, os.environ.get("TRADE_FAULT_POINTS") or "50")
    if args.page_only:
        write_outputs(last_results(args.out_json), args.out_md, args.out_json)
        _say(f"wrote {args.out_md} again from {args.out_json}")
        return 0

    sizes = QUICK if args.quick else FULL
    tmp_parent = Path(args.tmp) if args.tmp else Path(tempfile.gettempdir())
    tmp_parent.mkdir(parents=True, exist_ok=True)
    disk = check_disk(tmp_parent, sizes)
    tmp = Path(tempfile.mkdtemp(prefix="trade-bench-", dir=tmp_parent))
    if tmp.resolve().is_relative_to(REPO):
        raise SystemExit(f"bench: the temp folder {tmp} is inside the repo; point BENCH_TMPDIR elsewhere")
    disk["tmp"] = str(tmp_parent)
    started = time.perf_counter()
    queries = analyst_queries()
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "git": git_state(),
        "sizes": asdict(sizes),
        "disk": disk,
        "targets": {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items()},
        "load_start": os.getloadavg()[0],
        "p4_query_count": len(queries),
        "method_revisions": {key: METHOD_REVISIONS.get(key, 1) for key in KEYS},
        "errors": {},
    }
    for key in KEYS:
        results[key] = None
    _say(f"{results['mode']} run; temp data in {tmp} ({disk['free_gb']} GB free)")
    bench = Bench(tmp, args.quick)
    try:
        for name, step in (("p5", lambda: measure_p5(bench)), ("p1", lambda: measure_p1(bench)),
                           ("p2", lambda: measure_p2(bench)), ("p3", lambda: measure_p3_p4(bench, queries))):
            bench.probe(name)
            try:
                results.update(step())
            except Exception as error:  # one failed measurement does not lose the others
                results["errors"][name] = _short(error)
                results.setdefault("error_details", {})[name] = f"{type(error).__name__}: {error}"[-4000:]
                _say(f"{name} FAILED: {error}")
            finally:
                if name != "p2":  # p2's base warehouse stays until p4 is done (its fallback)
                    shutil.rmtree(tmp / name, ignore_errors=True)  # free the disk before the next one
        bench.p2_base = None
        shutil.rmtree(tmp / "p2", ignore_errors=True)
        if results.get("p4_error"):
            results["errors"]["p4"] = _short(results["p4_error"])
        elif "p3" in results["errors"]:
            results["errors"]["p4"] = "p4 runs on the warehouse of p3, which failed"
        points = os.environ.get("TRADE_FAULT_POINTS")
        if points:
            results["fault_test"] = run_fault_test(points)
        elif (last_fault_test := previous_fault_test(args.out_json, results["mode"])) is not None:
            results["fault_test"] = last_fault_test  # the page keeps the last long run, with the commit it ran on
    finally:
        if results["errors"] and not args.keep:  # the logs of what failed outlive the temp data
            kept = tmp_parent / f"trade-bench-logs-{datetime.now():%Y%m%d-%H%M%S}"
            shutil.copytree(bench.log_dir, kept)
            results["logs_kept"] = str(kept)
            _say(f"logs of the failed measurements kept in {kept}")
        if args.keep:
            _say(f"temp data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["host_probes"] = bench.probes
    results["load_end"] = os.getloadavg()[0]
    results["bench_seconds"] = time.perf_counter() - started
    results["met"] = {k: met(k, results.get(k)) for k in TARGETS}
    results["previous"] = previous_run(args.out_json, results["mode"])
    yardstick = previous_yardstick(results)
    results["fastest_probe_s"] = min([p["seconds"] for p in bench.probes] + ([yardstick] if yardstick else []),
                                     default=None)
    results["slow_passes"] = slow_passes(bench.probes, results["fastest_probe_s"])
    write_outputs(results, args.out_md, args.out_json)
    print_table(results)
    _say(f"wrote {args.out_md} and {args.out_json} in {results['bench_seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
