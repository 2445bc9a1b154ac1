"""`trade run` (what `make run` calls) as a real process on the bundled sample releases."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

from .conftest import REPO_ROOT, run_trade

SEED = REPO_ROOT / "dbt_project" / "seeds" / "published_annual_totals.csv"


def test_empty_inbox_gets_labelled_sample_releases_and_the_summary_is_printed(sample_run):
    warehouse, result = sample_run
    assert len(list(warehouse.inbox.glob("sample-location-*.csv"))) == 96
    assert len(list(warehouse.inbox.glob("sample-city-*.csv"))) == 4 * 96
    assert len(list(warehouse.inbox.glob("sample-query-export-*-by-city.csv"))) == 2 * 8
    assert len(list(warehouse.inbox.glob("sample-query-export-*.csv"))) == 2 * 8 * 2  # by province and by city
    out = result.stdout
    assert "SAMPLE DATA" in out
    assert "亿元" in out and "YRD cumulative 2018–2025" in out
    for region in ("YRD", "Shanghai (310000)", "Jiangsu (320000)", "Zhejiang (330000)", "Anhui (340000)"):
        # One line per year: Shanghai, a province and a city with one code, is shown once.
        assert sum(bool(re.match(re.escape(region) + r" +20\d\d ", line)) for line in out.splitlines()) == 8, region
    assert "Releases: 512 loaded" in out


def test_published_snapshot_holds_both_marts_and_the_100_trillion_headline(sample_run):
    warehouse, _ = sample_run
    assert warehouse.published_db.exists()
    tables = {t for (t,) in warehouse.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'")}
    assert {"trade_by_region_month", "trade_by_region_year", "releases"} <= tables
    cumulative = warehouse.query(
        "SELECT cumulative_total_since_2018_cny FROM marts.trade_by_region_year WHERE region_code = 'YRD' AND year = 2025"
    )[0][0]
    assert cumulative > Decimal(100) * 10**12  # over 100 万亿元, as published
    levels = dict(warehouse.query("SELECT region_level, count(DISTINCT region_code) FROM marts.trade_by_region_month GROUP BY 1"))
    assert levels == {"nation": 1, "yrd": 1, "province": 31, "city": 41}
    assert warehouse.query("SELECT bool_and(is_sample_data) FROM marts.trade_by_region_year")[0][0] is True


def test_every_calibrated_year_equals_its_published_figure(sample_run):
    warehouse, _ = sample_run
    with open(SEED, encoding="utf-8", newline="") as f:
        seeds = list(csv.DictReader(f))
    marts = {
        (code, year): (total, exports, imports)
        for code, year, total, exports, imports in warehouse.query(
            "SELECT region_code, year, total_cny, exports_cny, imports_cny FROM marts.trade_by_region_year"
        )
    }
    checked = 0
    for seed in seeds:
        got = marts[(seed["region_code"], int(seed["year"]))]
        for value, column in zip(got, ("total_100m_cny", "exports_100m_cny", "imports_100m_cny")):
            # the files are in 万元: the published 亿元 figure to the nearest 万元
            expected = (Decimal(seed[column]) * 10_000).quantize(Decimal(1)) * 10_000
            assert value == expected, (seed["region_code"], seed["year"], column)
        checked += 1
    assert checked == 40
    shanghai_2024 = marts[("310000", 2024)][0]
    assert round(shanghai_2024 / Decimal(10**12), 2) == Decimal("4.27")


def test_rerun_is_idempotent_and_a_quarantined_file_does_not_fail_the_run(sample_run):
    warehouse, _ = sample_run
    before = warehouse.marts_digest()
    again = run_trade(warehouse, "run")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing pending" in again.stdout
    assert warehouse.marts_digest() == before

    (warehouse.inbox / "notes.txt").write_text("these are my notes, not a customs table\n", encoding="utf-8")
    third = run_trade(warehouse, "run")
    assert third.returncode == 0, third.stderr[-3000:]
    assert "Quarantined" in third.stdout and "notes.txt" in third.stdout and "unknown layout" in third.stdout
    assert warehouse.marts_digest() != before  # the registry gained the quarantined release …
    assert warehouse.query("SELECT count(*) FROM marts.releases WHERE status = 'loaded'")[0][0] == 512  # … nothing else changed
