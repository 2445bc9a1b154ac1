"""Shared test helpers: where the real fixtures are, and a throwaway warehouse per test."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.config import WarehousePaths

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
REAL = SHARED / "fixtures" / "real"
REAL_LOCATION = REAL / "gacc_location_monthly"


def require_real(path: Path = REAL_LOCATION) -> Path:
    """The real GACC files live in ../shared beside the checkout (CI has them); never copied here."""
    if not path.exists():
        pytest.skip(f"real fixtures not found at {path} (../shared is absent outside this workplace)")
    return path


class Warehouse(WarehousePaths):
    """The warehouse folders of a test (the pipeline's own WarehousePaths), with helpers to read them."""

    def __init__(self, inbox: Path, root: Path):
        super().__init__(inbox=inbox, warehouse_dir=root)

    @property
    def root(self) -> Path:
        return self.warehouse_dir

    def add(self, *files: Path, names: list[str] | None = None) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(files):
            shutil.copyfile(f, self.inbox / (names[i] if names else f.name))

    def query(self, sql: str, params: list | None = None, db: Path | None = None):
        """Read the published snapshot (or another DuckDB file), read-only, as an analyst would."""
        con = duckdb.connect(str(db or self.published_db), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def marts_digest(self, db: Path | None = None) -> str:
        """A content hash of every mart, independent of row order, load timestamps and folder paths."""
        digest = hashlib.sha256()
        for table in ("trade_by_region_month", "trade_by_region_year", "trade_by_product_year", "new_three_exports",
                      "city_specialization", "release_reconciliation"):
            digest.update(repr(self.query(f"SELECT * FROM marts.{table} ORDER BY ALL", db=db)).encode())
        # The fact without its load timestamps (a rerun loads the same releases later).
        digest.update(repr(self.query(
            "SELECT * EXCLUDE (known_since, release_loaded_at) FROM marts.fct_trade_monthly ORDER BY ALL", db=db
        )).encode())
        digest.update(repr(self.query(
            "SELECT * EXCLUDE (known_from, known_until) FROM marts.trade_by_region_month_vintages ORDER BY ALL", db=db
        )).encode())
        digest.update(repr(self.query(
            "SELECT release_id, file_name, sha256, format, period_start, period_end, status, error, row_count "
            "FROM marts.releases ORDER BY release_id", db=db
        )).encode())
        return digest.hexdigest()

    def raw_digest(self) -> str:
        """A content hash of the raw layer of the live file (timestamps and folder paths left out)."""
        digest = hashlib.sha256()
        digest.update(repr(self.query(
            "SELECT release_id, sha256, file_name, format, period_start, period_end, flow, currency, status, error, "
            "row_count, rejected_row_count, superseded_by FROM raw.releases ORDER BY release_id", db=self.live_db
        )).encode())
        tables = [t for (t,) in self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' AND table_name <> 'releases' "
            "ORDER BY table_name", db=self.live_db
        )]
        for table in tables:
            digest.update(table.encode())
            digest.update(repr(self.query(f"SELECT * FROM raw.{table} ORDER BY ALL", db=self.live_db)).encode())
        return digest.hexdigest()


def _empty_warehouse(base: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    root = base / "warehouse"
    inbox = base / "inbox"
    inbox.mkdir(parents=True)
    monkeypatch.setenv("TRADE_WAREHOUSE_DIR", str(root))
    monkeypatch.setenv("TRADE_INBOX", str(inbox))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    return Warehouse(inbox=inbox, root=root)


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Warehouse:
    """An empty inbox and warehouse folder, with the Dagster instance inside it."""
    return _empty_warehouse(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def module_warehouse(tmp_path_factory):
    """Like `warehouse`, shared by the tests of one module that only read what one run built."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _empty_warehouse(tmp_path_factory.mktemp("warehouse"), monkeypatch)


def run_pipeline_in_process() -> bool:
    """The same three jobs `trade run` runs, in this process, on the configured folders."""
    from orchestration.cli import ensure_dagster_home, run_pipeline
    from orchestration.config import warehouse_paths

    paths = warehouse_paths()
    ensure_dagster_home(paths)
    return run_pipeline(paths)


def trade_env(warehouse: Warehouse) -> dict[str, str]:
    return {**os.environ, "TRADE_WAREHOUSE_DIR": str(warehouse.root), "TRADE_INBOX": str(warehouse.inbox)}


TRADE = [sys.executable, "-m", "orchestration.cli"]


def run_trade(warehouse: Warehouse, *args: str) -> subprocess.CompletedProcess:
    """The `trade` console command as a real process, as a user runs it (instance under the warehouse folder)."""
    env = trade_env(warehouse)
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([*TRADE, *args], env=env, capture_output=True, text=True, timeout=900, cwd=REPO_ROOT)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """`trade run` (what `make run` calls) once on the full bundled sample, shared by the modules that read it."""
    base = tmp_path_factory.mktemp("sample")
    warehouse = Warehouse(inbox=base / "inbox", root=base / "warehouse")
    result = run_trade(warehouse, "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return warehouse, result
