"""`trade`: the command line of the warehouse.

  trade run           discover → load → dbt build → publish, then print the summary (what `make run` does)
  trade backfill --from YYYY-MM --to YYYY-MM
                      the same for a range of months: loads their pending releases, recomputes them
  trade rebuild       the same with every model rebuilt from raw (dbt --full-refresh)
  trade summary       print the summary of the published snapshot
  trade query "SQL"   one query on the published snapshot, printed as a table (--csv for CSV)
  trade sql           an interactive read-only SQL shell on the published snapshot
  trade docs          the dbt docs site, offline, in published/docs/index.html (what `make docs` does)
  trade dagster-home  prepare and print the Dagster instance folder (used by `make dev`)
  trade export-raw [--to DIR]
                      the raw tables of the published snapshot as Parquet (default <warehouse>/raw_parquet),
                      what the dbt spark target reads (docs/deployment.md)

The steps run as the same Dagster jobs the schedule and sensors launch, in this process, recorded
in the instance under the warehouse folder, so `make dev` shows every run `make run` made.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from .config import WarehousePaths, WarehouseUnwritable, check_warehouse_writable, warehouse_paths

# Exit status when the warehouse cannot be written (1 is any other failed run).
EXIT_UNWRITABLE = 2
# OS errors that mean "no room or no right to write", wherever they come from.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS})
PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM})
# The same, as DuckDB, SQLite, dbt and Dagster pass the OS's words on inside their own messages.
_NO_ROOM = re.compile(
    r"No space left on device|File too large|Disk quota exceeded|Read-only file system"
    r"|database or disk is full|attempt to write a readonly database",
    re.IGNORECASE,
)
_NO_PERMISSION = re.compile(r"Permission denied|Operation not permitted", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION_CLASS = re.compile(r"^(?:[\w.]+\.)?_?\w+(?:Exception|Error): ")  # '_duckdb.IOException: '

# Instance settings: one slot for the writers' pool (DuckDB allows a single writer process), and
# Dagster's SQLite event log with its engines kept (instance_storage.py: the same files, in the folder
# Dagster's default storage uses, {runs}; seconds less per run).
DAGSTER_YAML = """\
# Written by `trade dagster-home`. The embedded SQLite storage is the default; see
# docs/engineering.md for a production instance with Postgres run storage.
concurrency:
  pools:
    default_limit: 1
event_log_storage:
  module: orchestration.instance_storage
  class: EngineCachingSqliteEventLogStorage
  config:
    base_dir: {runs}
telemetry:
  enabled: false
"""
# What earlier versions wrote; replaced by DAGSTER_YAML like a file written for another folder (a
# warehouse copied or moved). A file a user edited is left alone.
EARLIER_DAGSTER_YAMLS = (
    "# Written by `trade dagster-home`. The embedded SQLite storage is the default; see\n"
    "# docs/engineering.md for a production instance with Postgres run storage.\n"
    "concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n",
)
_DAGSTER_YAML_FOR_ANY_FOLDER = re.compile(re.escape(DAGSTER_YAML).replace(re.escape("{runs}"), ".+"))


def dagster_yaml(home: Path) -> str:
    return DAGSTER_YAML.replace("{runs}", json.dumps(str(home / "history" / "runs")))  # JSON quotes are YAML's


def ensure_dagster_home(paths: WarehousePaths) -> Path:
    """DAGSTER_HOME if set, else <warehouse>/dagster_home, with a dagster.yaml that limits writers to one."""
    home = Path(os.environ.get("DAGSTER_HOME") or paths.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = dagster_yaml(home)
    text = config.read_text(encoding="utf-8") if config.exists() else None
    if text is None or (text != wanted and (text in EARLIER_DAGSTER_YAMLS or _DAGSTER_YAML_FOR_ANY_FOLDER.fullmatch(text))):
        config.write_text(wanted, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def seed_inbox_with_samples(paths: WarehousePaths) -> dict[str, int]:
    """An empty inbox gets the bundled sample releases, so `make run` shows the whole path at once."""
    from .ingest.landing import inbox_files
    from .samples import write_sample_releases

    if inbox_files(paths.inbox):
        return {}
    return write_sample_releases(paths.inbox)


# Tag on the runs `trade run` makes in process, so that a later `trade run` can tell its own dead runs.
CLI_RUN_TAG = "trade/launched_by"


@contextlib.contextmanager
def exclusive_cli_run(paths: WarehousePaths):
    """One `trade run` at a time per warehouse (an OS lock, released even by SIGKILL)."""
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.warehouse_dir / ".trade-run.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another `trade run` is running on {paths.warehouse_dir}; wait for it to finish") from None
        yield


def release_dead_cli_runs(instance) -> list[tuple[str, str]]:
    """Runs of an earlier `trade run` that was killed stay 'started' and keep their slot in the writers'
    pool, which would block every later writer. Holding the lock, no other `trade run` is alive, so
    such runs are dead: mark them failed and free their slots."""
    import dagster as dg

    dead = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED],
            tags={CLI_RUN_TAG: "cli"},
        )
    )
    for run in dead:
        instance.report_run_failed(run, "the `trade run` process running it died (killed or crashed)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [(run.run_id, run.job_name) for run in dead]


def _month_key(text: str) -> str:
    """'2024-03' or '2024-03-01' → the partition key '2024-03-01'."""
    from datetime import date

    year, month = (int(part) for part in text.split("-")[:2])
    return date(year, month, 1).isoformat()


def _latest_loaded_month(paths: WarehousePaths) -> str | None:
    import duckdb

    if not paths.live_db.exists():
        return None
    with duckdb.connect(str(paths.live_db), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()}
        if "releases" not in tables:
            return None
        latest = con.execute("SELECT max(period_end) FROM raw.releases WHERE status IN ('loaded', 'superseded')").fetchone()[0]
    return latest.isoformat() if latest else None


def _inside(path: object, folder: Path) -> bool:
    return isinstance(path, (str, os.PathLike)) and Path(os.path.abspath(path)).is_relative_to(folder)


def storage_failure_in_text(text: str, warehouse_dir: Path) -> str | None:
    """The line of an error text (or log) that says a write failed for want of room or permission:
    disk full, file too large, read-only, or a permission denied on a file of the warehouse. A line
    naming a file of the warehouse comes first (a full disk also fails log writes elsewhere)."""
    found = [
        _EXCEPTION_CLASS.sub("", line.strip())
        for line in _ANSI.sub("", text).splitlines()
        if _NO_ROOM.search(line) or (_NO_PERMISSION.search(line) and str(warehouse_dir) in line)
    ]
    return next((line for line in found if str(warehouse_dir) in line), found[0] if found else None)


def storage_failure_of(error: BaseException | None, warehouse_dir: Path) -> str | None:
    """Why an exception (or one it was raised from or while handling) is a failed write, or None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, WarehouseUnwritable):
            return error.reason
        if isinstance(error, OSError) and (
            error.errno in WRITE_ERRNOS or (error.errno in PERMISSION_ERRNOS and _inside(error.filename, warehouse_dir))
        ):
            return f"{error.strerror}: {error.filename}" if error.filename else str(error.strerror or error)
        reason = storage_failure_in_text(str(error), warehouse_dir)
        if reason:
            return reason
        error = error.__cause__ or error.__context__
    return None


def _failure_messages(result) -> Iterator[str]:
    """Every error message a Dagster run recorded (a step's error, what caused it, what it interrupted)."""
    for event in result.all_events:
        pending = [getattr(event.event_specific_data, "error", None)]
        while pending:
            error = pending.pop()
            if error is None:
                continue
            yield error.message
            pending += [error.cause, error.context]


def _stop_if_unwritable(paths: WarehousePaths, result, log: Path | None = None) -> None:
    """A job that failed because a write failed (disk full, read-only) stops the whole command with
    that reason, said once, instead of "see the log above". The step's own transaction kept the
    warehouse consistent; what was not written is still pending and loads on the next run."""
    texts = list(_failure_messages(result))
    if log is not None and log.exists():
        texts.append(log.read_text(encoding="utf-8", errors="replace"))
    reason = storage_failure_in_text("\n".join(texts), paths.warehouse_dir)
    if reason:
        raise WarehouseUnwritable(paths.warehouse_dir, reason)


def run_pipeline(
    paths: WarehousePaths, months: tuple[str, str] | None = None, full_refresh: bool = False
) -> bool:
    """Run discover → load → build (+ publish) in order; True when every step succeeded.

    months (first, last partition keys) widens the load and the build to that range (a backfill);
    full_refresh rebuilds every incremental model from raw (a full rebuild). Raises
    WarehouseUnwritable when a step failed because the warehouse could not be written."""
    import dagster as dg

    from .definitions import defs
    from .ingest.assets import RELEASES_KEY
    from .jobs import build_marts_job, discover_releases_job, load_releases_job
    from .partitions import monthly_release_partitions
    from .sensors import PARTITION_RANGE_END, PARTITION_RANGE_START, load_request_for

    instance = dg.DagsterInstance.get()
    for run_id, job_name in release_dead_cli_runs(instance):
        print(f"run {run_id} ({job_name}) of an earlier `trade run` had died: marked failed, its writer slot freed")
    cli_tags = {CLI_RUN_TAG: "cli"}
    # Step logs go to the instance (and the UI); the terminal gets warnings and the summary.
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    discover = defs.resolve_job_def(discover_releases_job.name).execute_in_process(
        instance=instance, run_config=quiet, tags=cli_tags, raise_on_error=False
    )
    print(f"discover_releases: {'ok' if discover.success else 'FAILED'} (run {discover.run_id})")
    if not discover.success:
        _stop_if_unwritable(paths, discover)
        return False
    pending = []
    for event in discover.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key == RELEASES_KEY:
            pending = list(materialization.metadata["pending_periods"].value)
    request = load_request_for(pending + list(months or ()), run_key=None)
    if request is not None:
        load = defs.resolve_job_def(load_releases_job.name).execute_in_process(
            instance=instance, run_config=quiet, tags={**request.tags, **cli_tags}, raise_on_error=False
        )
        print(f"load_releases {request.tags[PARTITION_RANGE_START]} … {request.tags[PARTITION_RANGE_END]}: "
              f"{'ok' if load.success else 'FAILED'} (run {load.run_id})")
        if not load.success:
            _stop_if_unwritable(paths, load)
            return False
        build_range = (request.tags[PARTITION_RANGE_START], request.tags[PARTITION_RANGE_END])
    else:
        print("load_releases: nothing pending")
        latest = _latest_loaded_month(paths) or monthly_release_partitions.get_last_partition_key()
        build_range = (latest, latest)
    if full_refresh:
        keys = monthly_release_partitions.get_partition_keys()
        build_range = (keys[0], keys[-1])
    # dbt's own progress lines go to a log file; the terminal keeps the summary readable.
    dbt_log = paths.warehouse_dir / "logs" / "dbt_build.log"
    dbt_log.parent.mkdir(parents=True, exist_ok=True)
    build_config = {**quiet, "ops": {"trade_dbt_models": {"config": {"full_refresh": full_refresh}}}}
    build_tags = {PARTITION_RANGE_START: build_range[0], PARTITION_RANGE_END: build_range[1], **cli_tags}
    log = open(dbt_log, "w", encoding="utf-8")
    try:
        with contextlib.redirect_stdout(log):
            build = defs.resolve_job_def(build_marts_job.name).execute_in_process(
                instance=instance, run_config=build_config, tags=build_tags, raise_on_error=False
            )
    finally:
        try:
            log.close()
        except OSError as error:
            # A full disk fills the log too: its last lines are lost, but the build's outcome (and
            # why it failed, reported below) must still reach the terminal.
            print(f"dbt log: the end could not be written ({error.strerror or error})")
    if not build.success:
        print("".join(dbt_log.read_text(encoding="utf-8").splitlines(keepends=True)[-40:]))
    print(f"dbt log: {dbt_log}")
    kind = "full rebuild" if full_refresh else f"{build_range[0][:7]} … {build_range[1][:7]}"
    print(f"build_marts (dbt build {kind} + publish): {'ok' if build.success else 'FAILED'} (run {build.run_id})")
    if not build.success:
        _stop_if_unwritable(paths, build, log=dbt_log)
    return build.success


def main(argv: list[str] | None = None) -> int:
    """The command line. A warehouse that cannot be written (read-only, disk full) ends the command
    with one line naming the folder and the reason, and exit status 2, never a traceback."""
    paths = warehouse_paths()
    try:
        return _command(argv, paths)
    except Exception as error:
        reason = storage_failure_of(error, paths.warehouse_dir)
        if reason is None:
            raise
        print(f"trade: cannot write the warehouse at {paths.warehouse_dir}: {reason}", file=sys.stderr)
        return EXIT_UNWRITABLE


def _command(argv: list[str] | None, paths: WarehousePaths) -> int:
    parser = argparse.ArgumentParser(prog="trade", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the whole pipeline and print the summary")
    backfill = sub.add_parser("backfill", help="load pending releases of a range of months and recompute those months")
    backfill.add_argument("--from", dest="first", required=True, help="first month, YYYY-MM")
    backfill.add_argument("--to", dest="last", required=True, help="last month, YYYY-MM")
    sub.add_parser("rebuild", help="load what is pending, then rebuild every model from raw (dbt --full-refresh)")
    sub.add_parser("summary", help="print the summary of the published snapshot")
    query = sub.add_parser("query", help="run one SQL query on the published snapshot (read-only) and print the result")
    query.add_argument("sql", help='e.g. "SELECT * FROM marts.trade_by_region_year LIMIT 5"')
    query.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    sub.add_parser("sql", help="an interactive read-only SQL shell on the published snapshot (statements end with ;)")
    sub.add_parser("docs", help="build the dbt docs site (offline) into published/docs/index.html")
    sub.add_parser("dagster-home", help="prepare and print the Dagster instance folder")
    export_raw = sub.add_parser("export-raw", help="write the raw tables of the published snapshot as Parquet")
    export_raw.add_argument("--to", dest="destination", type=Path, help="folder (default <warehouse>/raw_parquet)")
    args = parser.parse_args(argv)

    if args.command == "dagster-home":
        print(ensure_dagster_home(paths))
        return 0
    if args.command == "docs":
        from .serve.docs import build_dbt_docs

        print(f"dbt docs: {build_dbt_docs(paths)}")
        return 0
    # The commands that read the published snapshot.
    if args.command in ("query", "sql", "summary", "export-raw") and not paths.published_db.exists():
        print(f"no published snapshot at {paths.published_db}; run `make run` first", file=sys.stderr)
        return 1
    if args.command in ("query", "sql"):
        from .serve.sql import interactive_shell, run_query

        if args.command == "query":
            return run_query(paths.published_db, args.sql, as_csv=args.csv)
        return interactive_shell(paths.published_db)
    if args.command == "export-raw":
        from .serve.raw_export import export_raw_tables

        # From the snapshot, not the live file: one consistent build, and no wait on a running writer.
        destination = args.destination or paths.raw_parquet
        counts = export_raw_tables(paths.published_db, destination)
        print(f"raw tables as Parquet in {destination.resolve()}: "
              + ", ".join(f"{table} {rows:,}" for table, rows in counts.items()))
        return 0
    if args.command == "summary":
        from .serve.summary import summary_text

        print(summary_text(paths.published_db))
        return 0

    # Checked before anything is written (the instance folder, sample files, the lock), so that a
    # read-only warehouse fails at once and stays exactly as it was.
    check_warehouse_writable(paths)
    ensure_dagster_home(paths)
    months = None
    if args.command == "backfill":
        months = (_month_key(args.first), _month_key(args.last))
        if months[0] > months[1]:
            print(f"--from {args.first} is after --to {args.last}", file=sys.stderr)
            return 2
    written = seed_inbox_with_samples(paths)
    if written:
        kinds = ", ".join(f"{n} {kind}" for kind, n in written.items())
        print(f"The inbox {paths.inbox} was empty: wrote SAMPLE releases ({kinds}); sample data calibrated to "
              "published totals, not official GACC figures.")
    print(f"inbox: {paths.inbox}\nwarehouse: {paths.warehouse_dir}")
    with exclusive_cli_run(paths):
        succeeded = run_pipeline(paths, months=months, full_refresh=args.command == "rebuild")
    if not succeeded:
        print("The pipeline failed; see the log above (and `make dev` for the Dagster UI).", file=sys.stderr)
        return 1
    from .serve.summary import summary_text

    print()
    print(summary_text(paths.published_db))
    print(f"\nPublished snapshot: {paths.published_db}")
    print(f"Report card: {paths.published_dir / 'report' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
