"""What analysts get: a snapshot they can hold open while the pipeline runs, Parquet per mart with
a manifest, `trade query` / `trade sql` (read-only), and docs generated from the dbt project."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from orchestration.samples import write_sample_releases
from orchestration.serve.docs import ANALYST_DOCS, BEGIN, END, mart_columns_markdown
from orchestration.serve.publish import PUBLISHED_MARTS

from .conftest import REPO_ROOT, Warehouse, run_trade, trade_env

# A reader in its own process: one read-only connection held open from start to "reopen", querying
# all the while; then it reopens and reports what it sees. Every error is recorded, none swallowed.
READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    from pathlib import Path
    db, folder = sys.argv[1], Path(sys.argv[2])
    con = duckdb.connect(db, read_only=True)
    queries = errors = 0
    first = con.execute("SELECT count(DISTINCT period) FROM marts.trade_by_region_month").fetchone()[0]
    (folder / "ready").write_text("1")
    while not (folder / "reopen").exists():
        try:
            months = con.execute("SELECT count(DISTINCT period) FROM marts.trade_by_region_month").fetchone()[0]
            assert months == first, (months, first)
            con.execute("SELECT sum(total_cny) FROM marts.trade_by_region_year").fetchone()
            queries += 1
        except Exception as error:
            errors += 1
            (folder / "errors").open("a").write(repr(error) + "\\n")
        time.sleep(0.02)
    con.close()
    con = duckdb.connect(db, read_only=True)
    after = con.execute("SELECT count(DISTINCT period) FROM marts.trade_by_region_month").fetchone()[0]
    (folder / "result.json").write_text(json.dumps({"first": first, "after": after, "queries": queries, "errors": errors}))
    """
)


def test_a_reader_holds_the_snapshot_open_through_a_whole_run(tmp_path):
    warehouse = Warehouse(inbox=tmp_path / "inbox", root=tmp_path / "warehouse")
    write_sample_releases(warehouse.inbox, "2024-01", "2024-03")
    first = run_trade(warehouse, "run")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]

    signals = tmp_path / "reader"
    signals.mkdir()
    reader = subprocess.Popen([sys.executable, "-c", READER, str(warehouse.published_db), str(signals)])
    try:
        deadline = time.monotonic() + 60
        while not (signals / "ready").exists():
            assert reader.poll() is None and time.monotonic() < deadline, "reader did not start"
            time.sleep(0.05)
        # A whole pipeline run (discover, load, dbt build, publish) while the reader holds the old snapshot.
        write_sample_releases(warehouse.inbox, "2024-04", "2024-06")
        second = run_trade(warehouse, "run")
        assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
        (signals / "reopen").write_text("1")
        assert reader.wait(timeout=60) == 0
    finally:
        if reader.poll() is None:
            reader.kill()
    result = json.loads((signals / "result.json").read_text())
    assert result["errors"] == 0, (signals / "errors").read_text()
    assert result["queries"] > 10  # it really was querying during the run
    assert (result["first"], result["after"]) == (3, 6)  # the old snapshot throughout, the new one after reopening


@pytest.fixture(scope="module")
def published(sample_run):
    warehouse, _ = sample_run
    return warehouse


def test_every_contract_mart_is_in_parquet_and_the_manifest_says_what_was_built(published):
    manifest = json.loads((published.published_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["is_sample_data"] is True and manifest["latest_period"] == "2025-12-01"
    assert len(manifest["loaded_release_ids"]) == published.query(
        "SELECT count(*) FROM marts.releases WHERE status = 'loaded'"
    )[0][0]
    con = duckdb.connect()
    for mart in PUBLISHED_MARTS:
        path = published.published_dir / "parquet" / f"{mart}.parquet"
        assert manifest["parquet"][mart] == f"parquet/{mart}.parquet"
        in_parquet = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
        in_snapshot = published.query(f"SELECT count(*) FROM marts.{mart}")[0][0]
        assert in_parquet == in_snapshot == manifest["row_counts"][mart] > 0, mart
    # Same content, not only the same count: the YRD's years.
    parquet_yrd = con.execute(
        f"SELECT year, total_cny FROM read_parquet('{published.published_dir / 'parquet' / 'trade_by_region_year.parquet'}') "
        "WHERE region_code = 'YRD' ORDER BY year"
    ).fetchall()
    assert parquet_yrd == published.query("SELECT year, total_cny FROM marts.trade_by_region_year WHERE region_code = 'YRD' ORDER BY year")


def _trade(warehouse, *args, stdin: str | None = None):
    env = trade_env(warehouse)
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args], env=env, input=stdin,
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )


def test_trade_query_prints_a_table_or_csv_and_refuses_writes(published):
    table = _trade(published, "query", "SELECT region_code, year FROM marts.trade_by_region_year WHERE region_code = 'YRD' ORDER BY year")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split("|")[0].strip() == "region_code" and "(8 rows)" in lines[-1]
    as_csv = _trade(published, "query", "--csv", "SELECT region_code, year FROM marts.trade_by_region_year WHERE region_code = 'YRD' ORDER BY year")
    assert as_csv.stdout.splitlines()[:2] == ["region_code,year", "YRD,2018"]
    before = published.query("SELECT count(*) FROM marts.releases")[0][0]
    refused = _trade(published, "query", "DELETE FROM marts.releases")
    assert refused.returncode == 1 and "read-only" in refused.stderr
    assert published.query("SELECT count(*) FROM marts.releases")[0][0] == before


def test_trade_sql_reads_statements_and_refuses_writes(published):
    script = "SELECT 'a;b' AS text;\nSELECT count(*) AS n\nFROM marts.new_three_exports;\nDROP TABLE marts.releases;\n"
    shell = _trade(published, "sql", stdin=script)
    assert "a;b" in shell.stdout and "read-only" in shell.stdout
    assert shell.returncode == 1  # a script with a refused statement fails
    assert published.query("SELECT count(*) FROM marts.releases")[0][0] > 0


def test_the_analyst_docs_list_every_mart_column_from_the_dbt_docs():
    text = ANALYST_DOCS.read_text(encoding="utf-8")
    generated = mart_columns_markdown(REPO_ROOT / "dbt_project" / "target" / "manifest.json")
    section = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert section == generated.strip(), "run: python -m orchestration.serve.docs --analysts"
    for mart in PUBLISHED_MARTS:
        assert f"### `marts.{mart}`" in section


def test_make_docs_builds_a_self_contained_dbt_site(published):
    result = _trade(published, "docs")
    assert result.returncode == 0, result.stderr[-2000:]
    page = (published.published_dir / "docs" / "index.html").read_text(encoding="utf-8")
    assert "trade_by_product_year" in page and "location_quotient" in page
    # Nothing is fetched from the network: no external script or stylesheet.
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//', page)
