"""Every real fixture in ../shared/fixtures/real through real Dagster runs into DuckDB and dbt,
with figures read back from the marts and staging views as the files state them."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal

import pytest

from .conftest import REAL, REPO_ROOT, require_real, run_pipeline_in_process

YI = Decimal(100_000_000)


@pytest.fixture(scope="module")
def all_real(module_warehouse):
    require_real(REAL)
    inbox = module_warehouse.inbox
    for folder in ("gacc_location_monthly", "gacc_zhejiang_city_ytd", "gacc_preliminary_html", "comtrade"):
        for path in sorted((REAL / folder).iterdir()):
            shutil.copyfile(path, inbox / path.name)
    query = REAL / "gacc_query_export"
    for path in sorted(query.iterdir()):
        shutil.copyfile(path, inbox / path.name)  # soybean files name their direction; the others do not
    # June again, as the customs site's XLSX (the same table in another container): a new vintage.
    _as_xlsx(REAL / "gacc_location_monthly" / "2024-06.csv", inbox / "2024-06.xlsx")
    # The user supplies the missing direction and period for one of them with a sidecar.
    (inbox / "english-full.csv.json").write_text(json.dumps({"flow": "export"}), encoding="utf-8")
    assert run_pipeline_in_process()
    return module_warehouse


def _as_xlsx(source, target):
    import csv

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    with open(source, encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f):
            sheet.append([int(c) if c.isdigit() else c for c in row])
    workbook.save(target)


def _status(warehouse, file_name):
    return warehouse.query("SELECT status, error FROM marts.releases WHERE file_name = ?", [file_name])[0]


def test_every_real_release_is_loaded_or_quarantined_with_a_reason(all_real):
    rows = all_real.query("SELECT file_name, format, status, error FROM marts.releases ORDER BY file_name")
    by_name = {name: (fmt, status, error) for name, fmt, status, error in rows}
    assert all(status in ("loaded", "quarantined", "superseded") for _, status, _ in by_name.values())
    # The release index page is not a data table: quarantined, with the reason.
    assert by_name["preliminary-index-2026.html"][1] == "quarantined"
    for m in range(1, 13):
        expected = "superseded" if m == 6 else "loaded"  # June's CSV is superseded by its XLSX copy
        assert by_name[f"2024-{m:02d}.csv"][:2] == ("gacc_location_table", expected)
        assert by_name[f"zhejiang-2024-{m:02d}.csv"][:2] == ("gacc_city_table", "loaded")
    assert by_name["2024-06.xlsx"][:2] == ("gacc_location_table", "loaded")
    assert by_name["section4-by-country-2026-03-cny.html"][:2] == ("gacc_preliminary_country", "loaded")
    assert by_name["TradeData-2022-totals.csv"][:2] == ("comtrade", "loaded")
    for name in ("soybean-2023-imports.csv", "soybean-2024-imports.csv", "soybean-2024-exports.csv", "english-full.csv"):
        assert by_name[name][:2] == ("gacc_query_export", "loaded"), by_name[name]
    # No direction anywhere: quarantined with how to supply it, nothing else affected.
    status, error = _status(all_real, "chinese-full-by-province.csv")
    assert status == "quarantined" and "sidecar" in error and "chinese-full-by-province.csv" in error
    for name, (fmt, status, error) in by_name.items():
        if status == "quarantined":
            assert error and name in error


def test_the_xlsx_copy_gives_the_same_figures_as_the_csv(all_real):
    june = all_real.query(
        "SELECT v.vintage_number, v.total_ytd_cny FROM marts.trade_by_region_month_vintages v "
        "WHERE region_code = '310000' AND period = DATE '2024-06-01' ORDER BY vintage_number"
    )
    assert len(june) == 2 and june[0][1] == june[1][1]


def test_preliminary_page_figures(all_real):
    total = all_real.query(
        "SELECT total_month, total_ytd, exports_ytd, imports_ytd, period_end, currency "
        "FROM staging.stg_gacc__preliminary_country_rows WHERE partner_name = 'Total'"
    )[0]
    assert total[:4] == (Decimal("41046.4") * YI, Decimal("118380.0") * YI, Decimal("68466.7") * YI, Decimal("49913.3") * YI)
    assert (str(total[4]), total[5]) == ("2026-03-01", "CNY")
    groups = dict(all_real.query(
        "SELECT partner_name, is_group FROM staging.stg_gacc__preliminary_country_rows WHERE partner_name IN ('European Union', 'Germany')"
    ))
    assert groups == {"European Union": True, "Germany": False}


def test_zhejiang_city_tables_give_city_months_from_ytd(all_real):
    hangzhou = all_real.query(
        "SELECT month, total_cny, total_ytd_cny FROM marts.trade_by_region_month "
        "WHERE region_level = 'city' AND region_code = '330100' AND year = 2024 ORDER BY month"
    )
    assert [m for m, _, _ in hangzhou] == list(range(1, 13))
    by_month = {m: (total, ytd) for m, total, ytd in hangzhou}
    assert by_month[3][1] == Decimal("188710013441.00")  # 杭州地区 当期进出口 in zhejiang-2024-03.csv (元, YTD)
    assert by_month[3][0] == by_month[3][1] - by_month[2][1]
    assert by_month[1][0] == by_month[1][1]
    # The July–December footers say 万元 while the values stay in 元: the magnitude wins.
    december = all_real.query(
        "SELECT total_ytd_cny FROM marts.trade_by_region_month WHERE region_level = 'province' "
        "AND region_code = '330000' AND period = DATE '2024-12-01'"
    )[0][0]
    cities = all_real.query(
        "SELECT sum(total_ytd_cny) FROM marts.trade_by_region_month WHERE region_level = 'city' "
        "AND period = DATE '2024-12-01' AND region_code LIKE '33%'"
    )[0][0]
    assert abs(cities - december) < Decimal("0.01") * december
    notes = all_real.query("SELECT notes FROM raw.releases WHERE file_name = 'zhejiang-2024-07.csv'", db=all_real.live_db)[0][0]
    assert "万元" in notes


def test_query_export_rows_keep_codes_units_and_values(all_real):
    row = all_real.query(
        "SELECT period, flow, currency, partner_code, partner_name, hs8, quantity_1, unit_1, value "
        "FROM staging.stg_gacc__query_export_rows WHERE hs8 = '12019019' AND partner_code = '402' "
        "AND period = DATE '2023-01-01'"
    )[0]
    assert row[1:] == ("import", "CNY", "402", "阿根廷", "12019019", Decimal("1296592160"), "千克", Decimal("5917063944"))
    english = all_real.query(
        "SELECT flow, currency, partner_name, value FROM staging.stg_gacc__query_export_rows "
        "WHERE release_period_start = DATE '2026-01-01' AND hs8 = '29012920' AND partner_code = '110'"
    )[0]
    assert english == ("export", "USD", "Hong Kong，China", Decimal("315286"))


def test_comtrade_rows_in_dollars(all_real):
    reporters = {r for (r,) in all_real.query("SELECT DISTINCT reporter_code FROM staging.stg_comtrade__rows")}
    assert reporters == {"156", "276", "842"}
    flows = {f for (f,) in all_real.query("SELECT DISTINCT flow_code FROM staging.stg_comtrade__rows")}
    assert flows <= {"X", "M", "RX", "RM"}


def _seed_rows(name: str) -> list[dict[str, str]]:
    with (REPO_ROOT / "dbt_project" / "seeds" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_zhejiang_city_ytd_figure_is_in_the_marts_to_the_yuan(all_real):
    """Read with the csv module, independently of the parser: each city's 当期 (YTD) figures of each month."""
    city_by_name = {r["gacc_city_name"]: r["region_code"] for r in _seed_rows("cities")}
    marts = {
        (code, period.month): (total, exports, imports)
        for code, period, total, exports, imports in all_real.query(
            "SELECT region_code, period, total_ytd_cny, exports_ytd_cny, imports_ytd_cny FROM marts.trade_by_region_month "
            "WHERE region_level = 'city' AND region_code LIKE '33%' AND year = 2024"
        )
    }
    compared = 0
    for month in range(1, 13):
        path = REAL / "gacc_zhejiang_city_ytd" / f"zhejiang-2024-{month:02d}.csv"
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) < 5 or row[1] not in city_by_name:
                    continue
                total, imports, exports = (Decimal(v).quantize(Decimal(1)) for v in row[2:5])  # columns: 进出口, 进口, 出口
                got = marts[(city_by_name[row[1]], month)]
                assert tuple(v.quantize(Decimal(1)) for v in got) == (total, exports, imports), (path.name, row[1])
                compared += 1
    assert compared == 11 * 12  # Zhejiang's 11 cities, every month


def test_real_detail_reaches_the_fact_and_the_product_mart(all_real):
    """The soybean query exports (national, HS8 × partner × month) are product detail for China."""
    fact = all_real.query(
        "SELECT region_level, region_code, hs_level, partner_code, trade_mode_code, value_cny FROM marts.fct_trade_monthly "
        "WHERE product_code = '12019019' AND partner_code = '402' AND flow = 'import' AND period = DATE '2024-01-01'"
    )
    assert fact and fact[0][:5] == ("nation", "CN", "hs8", "402", "ALL")
    chapters = dict(all_real.query(
        "SELECT year, imports_cny FROM marts.trade_by_product_year WHERE region_code = 'CN' AND hs_level = 'chapter' AND product_code = '12'"
    ))
    hs8 = dict(all_real.query(
        "SELECT year, sum(imports_cny) FROM marts.trade_by_product_year WHERE region_code = 'CN' AND hs_level = 'hs8' "
        "AND product_code LIKE '1201%' GROUP BY year"
    ))
    assert chapters and chapters[2024] >= hs8[2024] > 0
    # A soybean-only query is a product list, not a breakdown of China's imports: never reconciled.
    assert not all_real.query(
        "SELECT * FROM marts.release_reconciliation r JOIN marts.releases USING (release_id) WHERE releases.file_name LIKE 'soybean%'"
    )


def test_reconciliation_of_the_real_tables(all_real):
    statuses = dict(all_real.query(
        "SELECT check_name || ':' || status, count(*) FROM marts.release_reconciliation GROUP BY 1"
    ))
    # Zhejiang's 合计 equals its location-table YTD (to GACC's 万元 rounding), its cities add up to it.
    assert statuses.get("city_table_total_vs_location_table:ok") == 12 * 2
    assert not any(k.startswith("city_table_total_vs_location_table:") and not k.endswith(":ok") for k in statuses)
    assert statuses.get("cities_vs_city_table_total:ok", 0) >= 12 * 2 - 2
    # GACC's YTD carries revisions of earlier months: revised, not mismatched, everywhere in 2024.
    assert statuses.get("months_vs_ytd:ok", 0) > 0 and statuses.get("months_vs_ytd:revised", 0) > 0
    assert "months_vs_ytd:mismatch" not in statuses
