"""Storage faults on a real `trade run` process: the disk fills during the run, and the warehouse
folder is read-only. Either way the command ends with one line naming the warehouse and exit
status 2 (never an uncaught traceback), nothing half-written is visible, and after the full disk a
rerun gives exactly the marts of a clean run.

A full disk is produced with a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored): every write
that would take a file past the limit fails with EFBIG, mid-way, exactly where a full disk fails
with ENOSPC, for the process and the dbt it starts — no root, no special file system. A read-only
folder is the folder's own permission bits; root ignores those through CAP_DAC_OVERRIDE, so when
the tests run as root the command runs without that capability (still uid 0, still able to read
everything): the folder is then read-only to it as to any user.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.samples.city_tables import write_city_tables
from orchestration.samples.location_tables import write_location_tables
from orchestration.samples.query_exports import write_query_exports

from .conftest import REPO_ROOT, TRADE, Warehouse, run_trade, trade_env

# Where the limits land on this inbox (three months of location tables, city tables and the two
# query exports): the raw load writes ~1.3 MB to DuckDB's write-ahead log, so at 1 MB the second query export's
# commit fails; the load fits in 4 MB and dbt's build does not (the live file ends near 12 MB).
LIMIT_DURING_LOAD = 1_000_000
LIMIT_DURING_BUILD = 4_000_000
PR_CAPBSET_DROP = 24  # <linux/prctl.h>
CAP_DAC_OVERRIDE = 1  # <linux/capability.h>: lets root write where the mode bits say no


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    write_location_tables(folder, "2024-01", "2024-03")
    write_city_tables(folder, "2024-01", "2024-03")
    write_query_exports(folder, "2024-01", "2024-03")
    return folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory, inbox) -> Warehouse:
    warehouse = Warehouse(inbox=inbox, root=tmp_path_factory.mktemp("clean") / "warehouse")
    result = run_trade(warehouse, "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return warehouse


def _trade_run(warehouse: Warehouse, preexec_fn=None) -> subprocess.CompletedProcess:
    env = trade_env(warehouse)
    env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [*TRADE, "run"], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, preexec_fn=preexec_fn
    )


def _file_size_limit(limit: int):
    def limit_writes() -> None:
        # Ignored, SIGXFSZ no longer kills the writer: write() returns EFBIG, as it returns ENOSPC on a full disk.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_writes


def _obey_permissions() -> None:
    """Run in the child before exec: as root, drop CAP_DAC_OVERRIDE from the bounding set, so the
    command exec'd next has it neither permitted nor effective and the mode bits bind it."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE): no read-only folder for root")


# How a write that found no room is reported: by the OS (EFBIG here, ENOSPC on a full disk), and by
# SQLite (the Dagster instance) in its own words.
NO_ROOM = re.compile(r"File too large|No space left on device|database or disk is full")


def _assert_clear_error(result: subprocess.CompletedProcess, warehouse: Warehouse, *words: str) -> str:
    """Exit status 2, no uncaught traceback, and a last line that names the warehouse and the reason."""
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback (most recent call last)" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"trade: cannot write the warehouse at {warehouse.root}: "), last
    for word in words:
        assert word in last, last
    return last


def _assert_out_of_room(result: subprocess.CompletedProcess, warehouse: Warehouse) -> None:
    last = _assert_clear_error(result, warehouse)
    assert NO_ROOM.search(last), last


def _failed_job(result: subprocess.CompletedProcess) -> str:
    failed = re.findall(r"^(\w+)[^\n]*: FAILED", result.stdout, re.MULTILINE)
    assert len(failed) == 1, result.stdout[-3000:]
    return failed[0]


def _assert_nothing_half_written(warehouse: Warehouse) -> dict[str, int]:
    """The live file opens; every raw row belongs to a loaded (or superseded) release and every such
    release has all its rows; no copy half-written into landing/ or published/. Returns the
    releases by status."""
    con = duckdb.connect(str(warehouse.live_db), read_only=True)
    try:
        statuses = dict(con.execute("SELECT status, count(*) FROM raw.releases GROUP BY status").fetchall())
        assert set(statuses) <= {"pending", "loaded", "superseded", "quarantined"}, statuses
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' AND table_name LIKE '%_rows'"
            " AND table_name <> 'rejected_rows'"
        ).fetchall()]
        assert tables
        for table in tables:
            orphans = con.execute(
                f"SELECT DISTINCT r.release_id, rel.status FROM raw.{table} r LEFT JOIN raw.releases rel USING (release_id)"
                " WHERE rel.status IS NULL OR rel.status NOT IN ('loaded', 'superseded')"
            ).fetchall()
            assert orphans == [], f"rows of releases that are not loaded in raw.{table}: {orphans}"
            incomplete = con.execute(
                f"SELECT rel.file_name, rel.row_count, count(r.release_id) FROM raw.releases rel "
                f"JOIN raw.{table} r USING (release_id) GROUP BY ALL HAVING rel.row_count <> count(r.release_id)"
            ).fetchall()
            assert incomplete == [], f"releases whose rows are not all there in raw.{table}: {incomplete}"
    finally:
        con.close()
    for folder in (warehouse.landing, warehouse.published_dir):
        assert not list(folder.glob(".*.partial")), list(folder.glob(".*.partial"))
    if warehouse.published_db.exists():
        warehouse.query("SELECT count(*) FROM marts.releases")  # a snapshot, if any, is a whole one
    return statuses


def test_a_disk_that_fills_during_the_load_and_then_during_the_build_loses_nothing(tmp_path, inbox, clean):
    warehouse = Warehouse(inbox=inbox, root=tmp_path / "warehouse")

    during_load = _trade_run(warehouse, _file_size_limit(LIMIT_DURING_LOAD))
    _assert_out_of_room(during_load, warehouse)
    assert _failed_job(during_load) == "load_releases"
    statuses = _assert_nothing_half_written(warehouse)
    # Mid-way: some releases loaded in their own transactions, the one whose commit failed is still pending.
    assert statuses.get("loaded") and statuses.get("pending"), statuses
    assert not warehouse.published_db.exists()

    during_build = _trade_run(warehouse, _file_size_limit(LIMIT_DURING_BUILD))
    _assert_out_of_room(during_build, warehouse)
    assert _failed_job(during_build) == "build_marts"
    statuses = _assert_nothing_half_written(warehouse)
    assert "pending" not in statuses, statuses  # the load finished this time; dbt ran out of room
    assert not warehouse.published_db.exists()

    rerun = _trade_run(warehouse)  # the limit lifted: room on the disk again
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    _assert_nothing_half_written(warehouse)
    assert warehouse.raw_digest() == clean.raw_digest()
    assert warehouse.marts_digest() == clean.marts_digest()


def _tree(root: Path) -> dict[str, tuple]:
    """Every entry below root (and root itself) with its type, mode, size, mtime and content hash."""
    entries = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        entry: tuple = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_size, info.st_mtime_ns)
        if stat.S_ISREG(info.st_mode):
            entry += (hashlib.sha256(path.read_bytes()).hexdigest(),)
        entries[str(path.relative_to(root))] = entry
    return entries


def _make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(stat.S_IMODE(path.lstat().st_mode) | stat.S_IWUSR)


def _assert_really_read_only(folder: Path) -> None:
    """The mechanism itself, checked with the same child setup: creating a file there must fail,
    or the test below would prove nothing."""
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"], capture_output=True, text=True,
        preexec_fn=_obey_permissions,
    )
    assert probe.returncode != 0 and "Permission denied" in probe.stderr, (probe.returncode, probe.stderr)


@pytest.fixture
def read_only_copy_of_clean(tmp_path, clean):
    warehouse = Warehouse(inbox=clean.inbox, root=tmp_path / "warehouse")
    shutil.copytree(clean.root, warehouse.root)
    _make_read_only(warehouse.root)
    yield warehouse
    _make_writable(warehouse.root)  # so that pytest can remove it when not root


def test_a_read_only_warehouse_fails_at_once_naming_the_folder_and_changes_nothing(read_only_copy_of_clean, clean):
    warehouse = read_only_copy_of_clean
    _assert_really_read_only(warehouse.root)
    inbox_before, before = _tree(warehouse.inbox), _tree(warehouse.root)

    result = _trade_run(warehouse, _obey_permissions)

    _assert_clear_error(result, warehouse, str(warehouse.root), "Permission denied", "nothing was changed")
    assert _tree(warehouse.root) == before
    assert _tree(warehouse.inbox) == inbox_before
    # Analysts still read the snapshot the last good run published.
    assert warehouse.marts_digest() == clean.marts_digest()


def test_a_new_warehouse_inside_a_read_only_folder_fails_at_once_and_creates_nothing(tmp_path, inbox):
    parent = tmp_path / "read-only"
    parent.mkdir()
    warehouse = Warehouse(inbox=inbox, root=parent / "warehouse")
    _make_read_only(parent)
    try:
        _assert_really_read_only(parent)
        result = _trade_run(warehouse, _obey_permissions)
        _assert_clear_error(result, warehouse, str(parent), "Permission denied")
        assert list(parent.iterdir()) == []
    finally:
        _make_writable(parent)
