"""The analyst marts on the full bundled sample (one `trade run`, shared): product detail, the new
three, city specialisation and reconciliation, each checked against figures computed here from
other tables or from the generator's own inputs."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

YRD_PROVINCES = ("310000", "320000", "330000", "340000")
CATEGORIES = {"electric_vehicles", "lithium_ion_batteries", "solar_cells"}


@pytest.fixture(scope="module")
def marts(sample_run):
    warehouse, _ = sample_run
    return warehouse


def test_new_three_has_every_category_for_the_yrd_and_each_province_in_every_year(marts):
    rows = marts.query(
        "SELECT region_code, year, category, exports_cny FROM marts.new_three_exports WHERE region_level IN ('yrd', 'province')"
    )
    seen = defaultdict(set)
    for region, year, category, exports in rows:
        assert exports > 0, (region, year, category)
        seen[(region, year)].add(category)
    for region in ("YRD", *YRD_PROVINCES):
        for year in range(2018, 2026):
            assert seen[(region, year)] == CATEGORIES, (region, year)


def test_the_yrd_new_three_is_the_sum_of_the_provinces(marts):
    mismatched = marts.query(
        """
        SELECT y.year, y.category
        FROM marts.new_three_exports AS y
        JOIN (SELECT year, category, sum(exports_cny) AS s FROM marts.new_three_exports WHERE region_level = 'province' GROUP BY ALL) AS p
          USING (year, category)
        WHERE y.region_code = 'YRD' AND y.exports_cny <> p.s
        """
    )
    assert not mismatched


def test_solar_cells_run_on_across_the_2022_hs_switch(marts):
    yearly = dict(marts.query(
        "SELECT year, exports_cny FROM marts.new_three_exports WHERE region_code = 'YRD' AND category = 'solar_cells'"
    ))
    codes = dict(marts.query(
        "SELECT year, hs8_codes FROM marts.new_three_exports WHERE region_code = 'YRD' AND category = 'solar_cells'"
    ))
    assert codes[2021] == "85414020" and codes[2022] == "85414200+85414300"
    # No break: the switch year grows like its neighbours, not from zero or by a factor.
    assert Decimal("0.8") < yearly[2022] / yearly[2021] < Decimal("2")
    monthly = dict(marts.query(
        """
        SELECT f.period, sum(f.value_cny) FROM marts.fct_trade_monthly AS f
        JOIN marts.dim_product AS d USING (hs_level, product_code)
        WHERE d.new_three_category = 'solar_cells' AND f.flow = 'export' AND f.region_level = 'province'
          AND f.period IN (DATE '2021-12-01', DATE '2022-01-01') GROUP BY f.period
        """
    ))
    assert len(monthly) == 2 and all(v > 0 for v in monthly.values())
    # The concordance view on the HS2017 basis carries the same series under 85414020.
    basis = dict(marts.query(
        """
        SELECT extract(year FROM period) AS y, sum(value_cny) FROM intermediate.int_product_hs2017_basis_month
        WHERE region_level = 'yrd' AND flow = 'export' AND hs2017_code = '85414020' GROUP BY y
        """
    ))
    assert basis[2021] == yearly[2021] and basis[2022] == yearly[2022]


def test_product_detail_adds_up_to_the_published_exports(marts):
    """Each level of trade_by_product_year sums to the province's published exports (the sample detail is exact)."""
    sums = marts.query(
        """
        SELECT p.region_code, p.year, p.hs_level, sum(p.exports_cny) AS detail, any_value(r.exports_cny) AS published,
               sum(p.share_of_region_exports_pct) AS shares
        FROM marts.trade_by_product_year AS p
        JOIN marts.trade_by_region_year AS r USING (region_level, region_code, year)
        WHERE p.region_level IN ('province', 'yrd')
        GROUP BY ALL
        """
    )
    assert len(sums) == 5 * 8 * 5  # YRD + 4 provinces, 8 years, 5 HS levels
    for region, year, level, detail, published, shares in sums:
        # Province detail equals the month columns; the year mart uses the latest YTD, equal in the sample.
        assert abs(detail - published) <= 10_000 * 12 * 4, (region, year, level)
        assert abs(shares - 100) < Decimal("0.6"), (region, year, level)


def test_city_specialization_is_the_location_quotient_of_the_city_detail(marts):
    rows = marts.query(
        "SELECT region_code, product_code, exports_cny, location_quotient, hhi_products FROM marts.city_specialization WHERE year = 2024"
    )
    assert len({r[0] for r in rows}) == 41
    by_city = defaultdict(dict)
    for city, chapter, exports, _, _ in rows:
        by_city[city][chapter] = exports
    yrd = defaultdict(Decimal)
    for chapters in by_city.values():
        for chapter, exports in chapters.items():
            yrd[chapter] += exports
    yrd_total = sum(yrd.values())
    for city, chapter, exports, lq, hhi in rows:
        city_total = sum(by_city[city].values())
        expected = (exports / city_total) / (yrd[chapter] / yrd_total)
        assert abs(lq - expected) < Decimal("0.0001"), (city, chapter)
        expected_hhi = sum((v / city_total) ** 2 for v in by_city[city].values())
        assert abs(hhi - expected_hhi) < Decimal("0.000001"), city
    # Each city's chapters add up to its exports in its district city table.
    city_exports = dict(marts.query(
        "SELECT region_code, exports_cny FROM marts.trade_by_region_year WHERE region_level = 'city' AND year = 2024"
    ))
    for city, chapters in by_city.items():
        assert sum(chapters.values()) == city_exports[city], city


def test_suzhou_top_chapters_by_location_quotient(marts):
    top = marts.query(
        "SELECT product_code, location_quotient FROM marts.city_specialization "
        "WHERE region_code = '320500' AND year = 2025 ORDER BY location_quotient DESC LIMIT 5"
    )
    assert len(top) == 5
    assert [lq for _, lq in top] == sorted((lq for _, lq in top), reverse=True)
    assert top[0][1] > 1


def test_every_sample_release_reconciles(marts):
    statuses = dict(marts.query("SELECT status, count(*) FROM marts.release_reconciliation GROUP BY 1"))
    assert set(statuses) == {"ok"}
    checks = {c for (c,) in marts.query("SELECT DISTINCT check_name FROM marts.release_reconciliation")}
    assert checks == {
        "detail_vs_location_table", "city_table_total_vs_location_table", "cities_vs_city_table_total", "months_vs_ytd",
    }
    # City-level detail is reconciled too: 40 prefecture cities × 96 months × 2 flows.
    city = marts.query(
        "SELECT count(*) FROM marts.release_reconciliation WHERE check_name = 'detail_vs_location_table' AND region_level = 'city'"
    )[0][0]
    assert city == 40 * 96 * 2


def test_dimensions_cover_the_facts(marts):
    assert marts.query("SELECT count(*) FROM marts.dim_period WHERE hs_revision IS NULL OR cny_per_usd IS NULL")[0][0] == 0
    assert marts.query(
        "SELECT hs_revision FROM marts.dim_period WHERE period IN (DATE '2021-12-01', DATE '2022-01-01') ORDER BY period"
    ) == [("HS2017",), ("HS2022",)]
    eu = marts.query("SELECT count(*) FROM marts.dim_partner WHERE is_eu_member")[0][0]
    assert eu == 27
    scopes = dict(marts.query("SELECT statistical_scope, loaded_here FROM marts.dim_statistical_scope"))
    assert scopes == {"enterprise_location": True, "port": False, "customs_district": False, "domestic_destination_source": False}
    # USD = CNY ÷ the month's rate.
    off = marts.query(
        """
        SELECT count(*) FROM marts.fct_trade_monthly AS f JOIN marts.dim_period AS p USING (period)
        WHERE abs(f.value_usd - round(f.value_cny / p.cny_per_usd, 2)) > 0.01
        """
    )[0][0]
    assert off == 0
