"""End to end on the real GACC 2024 location tables: real Dagster runs, real dbt build, real DuckDB."""

from __future__ import annotations

from decimal import Decimal

import pytest

from .conftest import REAL_LOCATION, require_real, run_pipeline_in_process

SHANGHAI_2024_WANYUAN = 426_808_654  # 上海市 1至12月 2024 in the real table


def _load_real_year(warehouse, broken: bool = True) -> None:
    folder = require_real()
    warehouse.add(*sorted(folder.glob("2024-*.csv")))
    if broken:
        # A copy of March whose group header is damaged: the only file that must not load.
        text = (folder / "2024-03.csv").read_text(encoding="utf-8-sig")
        damaged = text.replace("收发货人所在地,进出口,进出口,出口,出口,进口,进口", "收发货人所在地,进出口,进出口,出口,出口,进口,INVALID", 1)
        (warehouse.inbox / "broken-2024-03.csv").write_text(damaged, encoding="utf-8")
    assert run_pipeline_in_process()


@pytest.fixture(scope="module")
def real_year(module_warehouse):
    """The twelve real 2024 files plus one damaged copy, through one real pipeline run."""
    _load_real_year(module_warehouse)
    return module_warehouse


def test_real_year_loads_and_shanghai_2024_matches_the_published_figure(real_year):
    warehouse = real_year
    statuses = dict(warehouse.query("SELECT file_name, status FROM marts.releases"))
    assert {statuses[f"2024-{m:02d}.csv"] for m in range(1, 13)} == {"loaded"}
    total, months, level = warehouse.query(
        "SELECT total_cny, months_covered, region_level FROM marts.trade_by_region_year "
        "WHERE region_code = '310000' AND year = 2024"
    )[0]
    assert total == Decimal(SHANGHAI_2024_WANYUAN) * 10_000
    assert (months, level) == (12, "province")
    # The YRD is the four provinces, never their zones.
    yrd, provinces = warehouse.query(
        "SELECT max(total_cny) FILTER (region_code = 'YRD'), "
        "sum(total_cny) FILTER (region_code IN ('310000','320000','330000','340000')) "
        "FROM marts.trade_by_region_year WHERE year = 2024"
    )[0]
    assert yrd == provinces == Decimal(426_808_654 + 561_769_537 + 526_412_573 + 86_484_921) * 10_000


def test_broken_header_is_quarantined_naming_file_and_expectation_while_others_load(real_year):
    warehouse = real_year
    status, error = warehouse.query(
        "SELECT status, error FROM marts.releases WHERE file_name = 'broken-2024-03.csv'"
    )[0]
    assert status == "quarantined"
    assert "broken-2024-03.csv" in error and "row 2" in error and "expected '进口'" in error
    assert warehouse.query("SELECT count(*) FROM marts.releases WHERE status = 'loaded'")[0][0] == 12


def test_monthly_values_derived_from_ytd_match_the_month_columns(real_year):
    warehouse = real_year
    rows = warehouse.query(
        "SELECT region_code, month, total_cny, total_from_ytd_cny FROM marts.trade_by_region_month "
        "WHERE region_code IN ('CN', 'YRD', '310000', '320000', '330000', '340000') ORDER BY region_code, month"
    )
    assert len(rows) == 6 * 12
    for region, month, published, derived in rows:
        if month <= 2:
            # Nothing was revised yet: January is its YTD, February the YTD difference, to GACC's
            # rounding of 1 万元 per figure (per province: the YRD adds up four).
            assert abs(published - derived) <= 10_000 * (4 if region == "YRD" else 1), (region, month)
        else:
            # Later YTDs carry GACC's revisions of earlier months: the two agree within 1%.
            assert abs(published - derived) <= Decimal("0.01") * published, (region, month)


def test_only_real_files_make_the_marts_and_a_rerun_changes_nothing(warehouse):
    _load_real_year(warehouse, broken=False)
    assert warehouse.query("SELECT DISTINCT year FROM marts.trade_by_region_year") == [(2024,)]
    assert warehouse.query("SELECT bool_or(is_sample_data) FROM marts.trade_by_region_month")[0][0] is False
    before = warehouse.marts_digest()
    # The same bytes again, under another name: still one release.
    warehouse.add(REAL_LOCATION / "2024-05.csv", names=["copy-of-may.csv"])
    assert run_pipeline_in_process()
    assert warehouse.marts_digest() == before
    assert warehouse.query("SELECT count(*) FROM marts.releases")[0][0] == 12


def test_landing_keeps_every_original_read_only_by_sha256(real_year):
    warehouse = real_year
    landed = sorted((warehouse.root / "landing").iterdir())
    assert len(landed) == 13
    for path in landed:
        assert path.stat().st_mode & 0o222 == 0, f"{path} is writable"
    sha, landing_path = warehouse.query(
        "SELECT sha256, landing_path FROM raw.releases WHERE file_name = '2024-12.csv'", db=warehouse.live_db
    )[0]
    assert landing_path.endswith(f"{sha}.csv")
    raw = warehouse.query(
        "SELECT count(*), min(source_row), count(DISTINCT release_id) FROM raw.location_table_rows r "
        "JOIN raw.releases USING (release_id) WHERE file_name = '2024-12.csv'",
        db=warehouse.live_db,
    )[0]
    # 355 lines: 3 header rows, 351 locations (总值, 31 provinces, their zones), 1 footnote
    assert raw == (351, 4, 1)


def test_every_province_and_national_figure_of_the_real_tables_is_in_the_marts(real_year):
    """Each file read with the csv module, independently of the parser: for China (总值) and each of the
    31 provinces, the month and 1至M月 figures of total, exports and imports equal the month mart to the 万元."""
    import csv

    from .conftest import REPO_ROOT

    with (REPO_ROOT / "dbt_project" / "seeds" / "provinces.csv").open(encoding="utf-8", newline="") as handle:
        code_by_name = {r["region_name_zh"]: r["region_code"] for r in csv.DictReader(handle)}
    code_by_name["总值"] = "CN"
    marts = {
        (code, period.month): figures
        for code, period, *figures in real_year.query(
            "SELECT region_code, period, total_cny, total_ytd_cny, exports_cny, exports_ytd_cny, imports_cny, imports_ytd_cny "
            "FROM marts.trade_by_region_month WHERE region_level IN ('nation', 'province') AND year = 2024"
        )
    }
    compared = 0
    for month in range(1, 13):
        path = REAL_LOCATION / f"2024-{month:02d}.csv"
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                if row and row[0] in code_by_name:
                    published = [Decimal(v) * 10_000 for v in row[1:7]]  # 万元 → yuan, as printed
                    assert marts[(code_by_name[row[0]], month)] == published, (path.name, row[0])
                    compared += 1
    assert compared == 12 * 32  # China + 31 provinces, every month
