"""SIGKILL a real `trade run` at random points while it adds releases to a warehouse that already
has a published snapshot, then run again.

Every kill point starts from a copy of the same base warehouse (two months loaded, built and
published) and runs `trade run` on an inbox that adds three months, a new vintage of a location
table and a query export of 300,000 rows (the bulk load path, with its temporary chunk files).
The process group is killed at a random point of one phase — discover (archiving and registering the
inbox), load (releases into raw), or build (dbt and publish) — timed from the moment the run shows
the phase began (its first file in landing/, or the line it prints when the previous job ended) and
spread over the length that phase had in a clean run, so the points land in every phase whatever
the machine's speed. After each kill:
- the live file opens read-only, and read-write (on a copy, so the rerun still meets the file the
  kill left); no release is half there: every raw row belongs to a loaded or superseded release
  and every such release has all its rows; statuses, superseding and landing files agree;
- the published snapshot and Parquet set are the previous build's or the new one's, and
  manifest.json describes the two that are there: one build, never a mix;
then a rerun succeeds, its raw layer, marts and Parquet equal a clean run's (content hash) and the
warehouse folder holds no file a clean run does not leave (temporary chunks, partial copies).

TRADE_FAULT_POINTS (default 10; 50 for the long run) sets the number of points, TRADE_FAULT_SEED the
random seed (default: a new one, printed with the plan), TRADE_FAULT_WORKERS how many points run at
once (default 2). Also: a kill the moment publish makes its build current (a window random points
rarely hit), and the same inbox twice changes nothing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.landing import inbox_files, sha256_of
from orchestration.samples.catalogue import TRADE_MODES, YRD_PROVINCES, allocate, load_partners, products, province_months
from orchestration.samples.city_tables import write_city_tables
from orchestration.samples.location_tables import write_location_tables
from orchestration.samples.query_exports import ENCODING, HEADER, write_query_exports
from orchestration.serve.publish import PUBLISHED_MARTS

from .conftest import REPO_ROOT, TRADE, Warehouse, trade_env

POINTS = int(os.environ.get("TRADE_FAULT_POINTS") or 10)
SEED = int(os.environ.get("TRADE_FAULT_SEED") or secrets.randbelow(1_000_000))
WORKERS = max(1, int(os.environ.get("TRADE_FAULT_WORKERS") or 2))
RUN_TIMEOUT = 900  # seconds for one whole `trade run` on a busy machine

STATUSES = {"pending", "loaded", "quarantined", "superseded"}
BULK_ROWS_PER_PROVINCE_MONTH = 25_000  # × 4 provinces × 3 months = 300,000 rows, ~39 MB (two bulk chunks)


# --- the inbox ---------------------------------------------------------------------------------

def write_bulk_query_export(folder: Path, year: int = 2024, months: tuple[int, ...] = (3, 4, 5)) -> Path:
    """A large query export (HS8 × partner × trade mode × province × month, exports) in the platform's
    real layout: GB18030, every field quoted, thousands separators in 人民币, a trailing comma, the
    direction and year in the file name. Deterministic; each province-month sums exactly to the SAMPLE
    location table's month, so it reconciles like the sample exports do."""
    partners = load_partners()
    targets = province_months(year, year)
    lines = ['"' + '","'.join(HEADER) + '",']
    for month in months:
        period = f"{year:04d}-{month:02d}"
        keys = [(product, partner, mode) for product in products() if product.valid_in(period)
                for partner in sorted(partners) for mode in sorted(TRADE_MODES)]
        rows = []
        for province in YRD_PROVINCES:
            rng = random.Random(f"crash-recovery-bulk/{province.code}/{period}")
            chosen = rng.sample(keys, BULK_ROWS_PER_PROVINCE_MONTH)
            target = targets[(province.code, year, month)]["exports"] * 10_000  # 万元 → yuan
            values = allocate(target, [rng.randint(1, 1000) for _ in chosen])
            for (product, partner, mode), value in zip(chosen, values):
                q1 = max(1, value * 100 // product.price_fen)
                q2, unit_2 = (q1 * product.grams_per_unit // 1000, product.unit_2) if product.has_unit_2 else (0, "?")
                rows.append((f"{year:04d}{month:02d}", product.hs8, product.name_zh, partner, partners[partner].name_zh,
                             mode, TRADE_MODES[mode], province.registration_code, province.name_zh, str(q1),
                             product.unit_1, str(q2), unit_2, f"{value:,}"))
        rows.sort(key=lambda f: (f[1], f[3], f[5], f[7]))  # as the platform sorts within a month
        lines.extend('"' + '","'.join(f) + '",' for f in rows)
    path = folder / f"sample-query-export-{year}-exports-hs8-detail.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(ENCODING))
    return path


def _write_base_releases(folder: Path) -> None:
    write_location_tables(folder, "2024-01", "2024-02")
    write_city_tables(folder, "2024-01", "2024-02")
    write_query_exports(folder, "2024-01", "2024-02")


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory):
    """(base inbox, full inbox): the full one is what the user's inbox holds one month later."""
    base = tmp_path_factory.mktemp("inbox-base")
    _write_base_releases(base)
    full = tmp_path_factory.mktemp("inbox-full")
    _write_base_releases(full)
    write_location_tables(full, "2024-03", "2024-05")
    write_city_tables(full, "2024-03", "2024-05")
    # A corrected location table for a month already loaded: a new vintage that supersedes the old one.
    (full / "sample-location-2024-02-revised.csv").write_bytes((full / "sample-location-2024-02.csv").read_bytes() + b"\n")
    bulk = write_bulk_query_export(full)
    assert bulk.stat().st_size > 32 * 1024 * 1024
    return base, full


# --- running `trade run` ------------------------------------------------------------------------

LIVE: set[subprocess.Popen] = set()  # every `trade run` in flight, killed if the module is torn down
LIVE_LOCK = threading.Lock()


class TradeRun:
    """`trade run` as a real process in its own process group; its output is read as it comes, and
    the moments (relative to its start) are recorded when the first new file appears in landing/
    (discover is archiving the inbox) and when it reports the end of discover, of load and of build."""

    def __init__(self, warehouse: Warehouse):
        landing = warehouse.landing
        already_landed = set(os.listdir(landing)) if landing.exists() else set()
        env = {**trade_env(warehouse), "PYTHONUNBUFFERED": "1"}
        env.pop("DAGSTER_HOME", None)
        self.process = subprocess.Popen(
            [*TRADE, "run"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        with LIVE_LOCK:
            LIVE.add(self.process)
        self.started = time.monotonic()
        self.lines: list[str] = []
        self.marks: dict[str, float] = {}
        self.events = {name: threading.Event() for name in ("landing", "discover", "load", "build", "eof")}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        threading.Thread(target=self._watch_landing, args=(landing, already_landed), daemon=True).start()

    def _mark(self, name: str) -> None:
        if name not in self.marks:
            self.marks[name] = time.monotonic() - self.started
            self.events[name].set()

    def _watch_landing(self, landing: Path, already_landed: set[str]) -> None:
        while not self.events["eof"].is_set():
            if landing.exists() and set(os.listdir(landing)) - already_landed:
                self._mark("landing")
                return
            time.sleep(0.005)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            for name, prefix in (("discover", "discover_releases:"), ("load", "load_releases"), ("build", "build_marts")):
                if line.startswith(prefix):
                    self._mark(name)
        self.events["eof"].set()

    def wait_for(self, name: str, timeout: float = RUN_TIMEOUT) -> bool:
        """True once the run reported `name`; False if it ended first."""
        deadline = time.monotonic() + timeout
        while not self.events[name].wait(0.02):
            if self.events["eof"].is_set() or time.monotonic() > deadline:
                return self.events[name].is_set()
        return True

    def kill(self) -> bool:
        """SIGKILL the whole process group (the dbt subprocess too); True if the run was still going."""
        alive = self.process.poll() is None
        if alive:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                alive = False
        self.wait()
        return alive

    def wait(self, timeout: float = RUN_TIMEOUT) -> tuple[int, str]:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        finally:
            with LIVE_LOCK:
                LIVE.discard(self.process)
        self._reader.join(timeout=60)
        return self.process.returncode, "".join(self.lines)


def _finish(warehouse: Warehouse) -> tuple[str, dict[str, float]]:
    run = TradeRun(warehouse)
    returncode, out = run.wait()
    assert returncode == 0, out[-4000:]
    return out, run.marks


def _group_is_gone(pgid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


# --- what a warehouse looks like ----------------------------------------------------------------

# Marts without load timestamps: their Parquet files must hold exactly the snapshot's content.
TIMELESS_MARTS = ("trade_by_region_month", "trade_by_region_year", "trade_by_product_year", "new_three_exports",
                  "city_specialization", "release_reconciliation")


def parquet_digest(published_dir: Path) -> str:
    """The published Parquet set, read through the `parquet` link resolved once (as a careful reader
    does): every mart's file must be there; content hash of the marts without timestamps, row counts
    of the others."""
    folder = (published_dir / "parquet").resolve()
    digest = hashlib.sha256()
    con = duckdb.connect()
    try:
        for mart in PUBLISHED_MARTS:
            path = folder / f"{mart}.parquet"
            if mart in TIMELESS_MARTS:
                digest.update(repr(con.execute(f"SELECT * FROM read_parquet('{path}') ORDER BY ALL").fetchall()).encode())
            else:
                digest.update(repr(con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()).encode())
    finally:
        con.close()
    return digest.hexdigest()


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BUILD = re.compile(r"\d{8}T\d+Z")  # a publish's build id (published/builds/<build>)
_PID_STAMP = re.compile(r"\.\d+\.[0-9a-f]{8}\.(old|building)(?=/|$)")  # the report card's previous copy
_COMPUTE_LOG = re.compile(r"(compute_logs/)[a-z]{8}(\.\w+)$")  # Dagster's per-step log files


def warehouse_entries(root: Path) -> set[str]:
    """Every file, folder and link under the warehouse folder, with the parts that differ between
    two identical runs (run ids, build stamps, process ids) replaced by placeholders."""
    entries = set()
    for path in root.rglob("*"):
        name = path.relative_to(root).as_posix()
        name = _UUID.sub("<run>", name)
        name = _BUILD.sub("<build>", name)
        name = _PID_STAMP.sub(r".<pid>.<stamp>.\1", name)
        name = _COMPUTE_LOG.sub(r"\1<step>\2", name)
        entries.add(name + ("/" if path.is_dir() and not path.is_symlink() else ""))
    return entries


@dataclass
class State:
    """What a finished warehouse holds, to compare another one with."""
    warehouse: Warehouse
    marts: str
    parquet: str
    raw: str | None = None
    entries: set[str] = field(default_factory=set)
    quarantined: set[str] = field(default_factory=set)
    phase_marks: dict[str, float] = field(default_factory=dict)


def _state(warehouse: Warehouse, marks: dict[str, float] | None = None) -> State:
    return State(
        warehouse=warehouse,
        marts=warehouse.marts_digest(),
        parquet=parquet_digest(warehouse.published_dir),
        raw=warehouse.raw_digest(),
        entries=warehouse_entries(warehouse.root),
        quarantined={r for (r,) in warehouse.query(
            "SELECT release_id FROM raw.releases WHERE status = 'quarantined'", db=warehouse.live_db)},
        phase_marks=marks or {},
    )


def _copy_warehouse(source: Warehouse, root: Path, inbox: Path) -> Warehouse:
    # symlinks=True: published/parquet is a link to the current Parquet set and must stay one.
    shutil.copytree(source.root, root, symlinks=True)
    return Warehouse(inbox=inbox, root=root)


@pytest.fixture(scope="module")
def base(tmp_path_factory, inboxes):
    """A warehouse with two months loaded, built and published: the 'previous' snapshot."""
    base_inbox, _ = inboxes
    warehouse = Warehouse(inbox=base_inbox, root=tmp_path_factory.mktemp("base") / "warehouse")
    _finish(warehouse)
    return _state(warehouse)


@pytest.fixture(scope="module")
def clean(tmp_path_factory, inboxes, base):
    """The base warehouse after an uninterrupted run on the full inbox: what every rerun must equal.
    Its output says when discover and load ended: the phases' lengths the kill points are drawn in."""
    _, full_inbox = inboxes
    warehouse = _copy_warehouse(base.warehouse, tmp_path_factory.mktemp("clean") / "warehouse", full_inbox)
    started = time.monotonic()
    out, marks = _finish(warehouse)
    marks["end"] = time.monotonic() - started
    assert {"landing", "discover", "load", "build"} <= set(marks), out[-3000:]
    state = _state(warehouse, marks)
    assert state.marts != base.marts and state.parquet != base.parquet  # the run really changes the snapshot
    loaded = warehouse.query("SELECT status, count(*) FROM raw.releases GROUP BY ALL ORDER BY ALL", db=warehouse.live_db)
    assert dict(loaded) == {"loaded": len(inbox_files(full_inbox)) - 1, "superseded": 1}, loaded
    return state


# --- the kill points ----------------------------------------------------------------------------

@dataclass(frozen=True)
class KillPoint:
    index: int
    phase: str  # discover | load | build: the phase the point is drawn in
    fraction: float  # of that phase's length in the clean run, after the phase began

    @property
    def label(self) -> str:
        return f"kill{self.index:02d}-{self.phase}"


def kill_plan(points: int, seed: int) -> list[KillPoint]:
    """A fifth of the points while discovering and landing files, two fifths while loading releases
    into raw, two fifths in the dbt build and publish; stratified within each phase (one point per
    equal slice, at a random place in it) so that they spread over the whole phase."""
    assert points >= 2, "TRADE_FAULT_POINTS must be at least 2: one point while loading, one in dbt"
    rng = random.Random(seed)
    n_discover = points // 5
    n_load = (points - n_discover) // 2
    n_build = points - n_discover - n_load
    drawn = [(phase, (slot + rng.random()) / n) for phase, n in (("discover", n_discover), ("load", n_load), ("build", n_build))
             for slot in range(n)]
    rng.shuffle(drawn)
    return [KillPoint(i, phase, fraction) for i, (phase, fraction) in enumerate(drawn)]


PLAN = kill_plan(POINTS, SEED)
ANCHOR = {"discover": "landing", "load": "discover", "build": "load"}  # what says the phase began
PHASE_END = {"discover": "discover", "load": "load", "build": "build"}


def _phase_window(point: KillPoint, marks: dict[str, float]) -> float:
    return marks[PHASE_END[point.phase]] - marks[ANCHOR[point.phase]]


@dataclass
class Landed:
    point: KillPoint
    delay: float  # seconds after the phase began that the kill was sent
    killed_running: bool  # False: the run had already ended (the point missed)
    died_in: list[str]  # the jobs the rerun found dead: where the kill really landed
    statuses_after_kill: dict[str, int]  # releases by status right after the kill
    left_by_kill: list[str]  # what the kill left that a clean run does not (gone after the rerun)
    seconds: float

    def describe(self) -> str:
        if self.died_in:
            where = "died in " + ", ".join(self.died_in)
        else:
            where = "before any Dagster run started" if self.killed_running else "missed: the run had ended"
        left = f"; it left {', '.join(self.left_by_kill)}" if self.left_by_kill else ""
        return (f"{self.point.label} +{self.delay:.2f}s: {where}; releases after the kill {self.statuses_after_kill}"
                f"{left}; {self.seconds:.0f}s")


def _registry_after_kill(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, clean: State) -> dict[str, int]:
    """No release is half there; returns the count of releases by status."""
    releases = con.execute(
        "SELECT release_id, sha256, status, row_count, rejected_row_count, raw_table, superseded_by, landing_path "
        "FROM raw.releases"
    ).fetchall()
    by_id = {r[0]: r for r in releases}
    statuses: dict[str, int] = {}
    for release_id, sha, status, row_count, rejected_count, raw_table, superseded_by, landing_path in releases:
        statuses[status] = statuses.get(status, 0) + 1
        assert status in STATUSES, (release_id, status)
        # Nothing is lost: the archived original is there, whole.
        assert Path(landing_path).is_file() and sha256_of(Path(landing_path)) == sha, (release_id, landing_path)
        if status == "quarantined":
            assert release_id in clean.quarantined, f"a kill quarantined good release {release_id}"
        if status in ("loaded", "superseded"):
            assert row_count and raw_table, (release_id, status, row_count, raw_table)
        if status == "superseded":
            assert superseded_by in by_id and by_id[superseded_by][2] == "loaded", (release_id, superseded_by)
    known = {r[1] for r in releases}
    assert known <= {sha256_of(p) for p in inbox_files(warehouse.inbox)}

    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' AND table_name LIKE '%_rows'"
    ).fetchall()]
    for table in tables:
        rejected = table == "rejected_rows"
        strays = con.execute(
            f"SELECT DISTINCT r.release_id, rel.status FROM raw.{table} AS r LEFT JOIN raw.releases AS rel USING (release_id) "
            "WHERE rel.status IS NULL OR rel.status NOT IN ('loaded', 'superseded')"
        ).fetchall()
        assert strays == [], f"raw.{table} holds rows of releases that are not loaded: {strays}"
        expected = "rel.rejected_row_count" if rejected else "rel.row_count"
        where = "" if rejected else f"AND rel.raw_table = '{table}'"
        incomplete = con.execute(
            f"SELECT rel.release_id, {expected}, count(r.release_id) FROM raw.releases AS rel "
            f"LEFT JOIN raw.{table} AS r USING (release_id) "
            f"WHERE rel.status IN ('loaded', 'superseded') {where} "
            f"GROUP BY ALL HAVING coalesce({expected}, 0) <> count(r.release_id)"
        ).fetchall()
        assert incomplete == [], f"releases whose rows are not all in raw.{table} (id, expected, found): {incomplete}"
    return statuses


def _live_file_after_kill(warehouse: Warehouse, scratch: Path, clean: State) -> dict[str, int]:
    """The live file opens read-only and read-write after the kill, and shows the same registry both ways."""
    assert warehouse.live_db.exists()
    con = duckdb.connect(str(warehouse.live_db), read_only=True)
    try:
        statuses = _registry_after_kill(con, warehouse, clean)
        registry = con.execute("SELECT release_id, status, row_count FROM raw.releases ORDER BY ALL").fetchall()
    finally:
        con.close()
    # Read-write on a copy (with its WAL, if the kill left one): the rerun must still meet the file as
    # the kill left it, recovery included.
    scratch.mkdir()
    for path in warehouse.root.glob(warehouse.live_db.name + "*"):
        if path.is_file():
            shutil.copyfile(path, scratch / path.name)
    con = duckdb.connect(str(scratch / warehouse.live_db.name))
    try:
        assert con.execute("SELECT release_id, status, row_count FROM raw.releases ORDER BY ALL").fetchall() == registry
        con.execute("CHECKPOINT")
    finally:
        con.close()
    shutil.rmtree(scratch)
    return statuses


def _published_after_kill(warehouse: Warehouse, base: State, clean: State) -> None:
    """The snapshot is the previous build or the new one; so is the Parquet set, and the manifest
    describes the snapshot and the Parquet set that are there: one build, never a mix."""
    published = warehouse.marts_digest()
    assert published in (base.marts, clean.marts), "the published snapshot is neither the previous build nor the new one"
    assert parquet_digest(warehouse.published_dir) in (base.parquet, clean.parquet), \
        "the published Parquet set is neither the previous build's nor the new one's"
    assert (warehouse.published_dir / "report" / "index.html").is_file()
    manifest = json.loads((warehouse.published_dir / "manifest.json").read_text(encoding="utf-8"))
    parquet_build = (warehouse.published_dir / "parquet").resolve().parent.name  # builds/<build>/parquet
    snapshot_is = "the previous build" if published == base.marts else "the new build"
    assert manifest["build"] == parquet_build, (
        f"published/manifest.json says build {manifest['build']} but published/parquet is build {parquet_build} "
        f"(the snapshot is {snapshot_is})"
    )
    loaded = [r for (r,) in warehouse.query("SELECT release_id FROM marts.releases WHERE status = 'loaded' ORDER BY release_id")]
    assert manifest["loaded_release_ids"] == loaded, \
        f"published/manifest.json lists {len(manifest['loaded_release_ids'])} loaded releases, the snapshot {len(loaded)}"


def _kill_and_recover(point: KillPoint, base: State, clean: State, folder: Path, stop: threading.Event) -> Landed:
    begun = time.monotonic()
    warehouse = _copy_warehouse(base.warehouse, folder / "warehouse", clean.warehouse.inbox)
    run = TradeRun(warehouse)
    delay = point.fraction * _phase_window(point, clean.phase_marks)
    if run.wait_for(ANCHOR[point.phase]):
        time.sleep(delay)
    if stop.is_set():
        run.kill()
        pytest.skip("the module was torn down")
    killed_running = run.kill()
    assert _group_is_gone(run.process.pid), "a process of the killed run's group survived the SIGKILL"

    left_by_kill = sorted({"/".join(entry.split("/")[:2]) for entry in warehouse_entries(warehouse.root) - clean.entries
                           if not entry.startswith("dagster_home/")})
    statuses = _live_file_after_kill(warehouse, folder / "scratch", clean)
    _published_after_kill(warehouse, base, clean)

    out, _ = _finish(warehouse)
    died_in = re.findall(r"\((\w+)\) of an earlier `trade run` had died", out)
    assert warehouse.raw_digest() == clean.raw, "raw differs from the clean run's after the rerun"
    assert warehouse.marts_digest() == clean.marts, "the marts differ from the clean run's after the rerun"
    assert parquet_digest(warehouse.published_dir) == clean.parquet, "the Parquet differs from the clean run's"
    manifest = json.loads((warehouse.published_dir / "manifest.json").read_text(encoding="utf-8"))
    assert (warehouse.published_dir / "parquet").resolve().parent.name == manifest["build"]
    leftovers = warehouse_entries(warehouse.root) - clean.entries
    assert not leftovers, f"files a clean run does not leave (temporary chunks, partial copies …): {sorted(leftovers)}"
    shutil.rmtree(folder)  # kept only when something failed
    return Landed(point, delay, killed_running, died_in, statuses, left_by_kill, time.monotonic() - begun)


def _kill_at_the_swap(base: State, clean: State, folder: Path) -> None:
    """A kill the moment publish makes the new build current (a window random points rarely hit):
    snapshot, Parquet set and manifest must still be one build's."""
    warehouse = _copy_warehouse(base.warehouse, folder / "warehouse", clean.warehouse.inbox)
    current = warehouse.published_dir / "current"
    before = os.readlink(current)
    run = TradeRun(warehouse)
    while run.process.poll() is None and os.readlink(current) == before:
        time.sleep(0.0005)
    assert run.kill(), "the run ended before it made its build current"
    _live_file_after_kill(warehouse, folder / "scratch", clean)
    _published_after_kill(warehouse, base, clean)
    _finish(warehouse)
    assert warehouse.marts_digest() == clean.marts and parquet_digest(warehouse.published_dir) == clean.parquet
    shutil.rmtree(folder)


def _say(request, text: str) -> None:
    """Print past pytest's capture: the plan and where the kills landed are wanted in every CI log."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + text, flush=True)


@pytest.fixture(scope="module")
def kill_runs(request, tmp_path_factory, base, clean):
    """Every kill point (and the same-inbox-twice run and the kill as publish makes its build current), WORKERS at a
    time in the background, all submitted at once; each test waits for its own."""
    plan = ", ".join(f"{p.label}+{p.fraction * _phase_window(p, clean.phase_marks):.2f}s" for p in PLAN)
    marks = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in clean.phase_marks.items())
    _say(request, f"crash recovery, TRADE_FAULT_SEED={SEED} TRADE_FAULT_POINTS={POINTS} (workers {WORKERS}); the clean "
                  f"run reported the end of {marks}; kill points, after their phase began: {plan}")
    stop = threading.Event()
    folders = {p.index: tmp_path_factory.mktemp(p.label) for p in PLAN}
    executor = ThreadPoolExecutor(WORKERS)
    futures: dict[int | str, Future] = {
        "twice": executor.submit(_same_inbox_twice, clean, tmp_path_factory.mktemp("twice")),
        "swap": executor.submit(_kill_at_the_swap, base, clean, tmp_path_factory.mktemp("swap")),
    }
    for p in PLAN:
        futures[p.index] = executor.submit(_kill_and_recover, p, base, clean, folders[p.index], stop)
    yield futures
    stop.set()
    for future in futures.values():
        future.cancel()
    with LIVE_LOCK:
        for process in list(LIVE):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    executor.shutdown(wait=True)


def _result(future: Future, what: str):
    try:
        return future.result(timeout=4 * RUN_TIMEOUT)
    except AssertionError as error:
        raise AssertionError(f"{what} (TRADE_FAULT_SEED={SEED} TRADE_FAULT_POINTS={POINTS}): {error}") from error


LANDED: dict[int, Landed] = {}


@pytest.mark.parametrize("point", PLAN, ids=[p.label for p in PLAN])
def test_sigkill_then_rerun_gives_the_clean_result(kill_runs, point):
    LANDED[point.index] = _result(kill_runs[point.index], f"{point.label} at fraction {point.fraction:.3f}")


def test_the_kills_landed_during_loads_and_during_dbt(request, kill_runs):
    # A kill point that only ever hits the start or the end would prove nothing about transactions.
    for point in PLAN:
        if point.index not in LANDED:
            try:
                LANDED[point.index] = kill_runs[point.index].result(timeout=4 * RUN_TIMEOUT)
            except Exception:  # noqa: BLE001 - that point's own test reports it
                pass
    lines = [landed.describe() for _, landed in sorted(LANDED.items())]
    _say(request, "where the kills landed:\n" + "\n".join("  " + line for line in lines))
    killed_in = {job for landed in LANDED.values() for job in landed.died_in}
    assert {"load_releases", "build_marts"} <= killed_in, (SEED, lines)
    # And some kill in the load job left releases pending: it hit before the last release went into raw.
    assert any(l.statuses_after_kill.get("pending") for l in LANDED.values() if "load_releases" in l.died_in), lines


def _same_inbox_twice(clean: State, folder: Path) -> None:
    warehouse = _copy_warehouse(clean.warehouse, folder / "warehouse", clean.warehouse.inbox)
    shutil.rmtree(warehouse.root / "dagster_home")
    # The copied registry points at the clean warehouse's landing files: same bytes, same ids.
    _finish(warehouse)
    assert warehouse.raw_digest() == clean.raw
    assert warehouse.marts_digest() == clean.marts
    assert warehouse_entries(warehouse.root) - clean.entries == set()


def test_the_same_inbox_twice_changes_nothing(kill_runs):
    _result(kill_runs["twice"], "the same inbox twice")


def test_a_kill_as_publish_makes_its_build_current_leaves_one_build_published(kill_runs):
    _result(kill_runs["swap"], "kill as published/current is swapped")
