"""The SAMPLE location-table generator and the two seeds it is calibrated to.

The generated files are parsed here with the csv module only (not with the
project's parser), so these tests pin the generator's own promises: exact
calibration to the seed, months that add up, provinces that add up to 总值,
zones that stay inside their province, and the real GACC layout.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from .conftest import REAL, REPO_ROOT  # noqa: E402
if str(REPO_ROOT) not in sys.path:  # runnable as plain `pytest` without an installed package
    sys.path.insert(0, str(REPO_ROOT))

from orchestration.samples.location_tables import (  # noqa: E402
    SAMPLE_FIRST_PERIOD,
    SAMPLE_LAST_PERIOD,
    generate_location_tables,
    write_location_tables,
)

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
REAL_DIR = REAL / "gacc_location_monthly"
YRD = ("310000", "320000", "330000", "340000")
YEARS = range(2018, 2026)
FLOWS = ("total", "exports", "imports")
# Column index of (month, year-to-date) per flow in a location-table row.
COLUMNS = {"total": (1, 2), "exports": (3, 4), "imports": (5, 6)}
HEADER_ROWS = 4  # title, unit row, group row, month row
FOOTER_ROWS = 2  # the real 注 note, then the SAMPLE DATA row


def _seed_rows(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


PROVINCES = _seed_rows("provinces.csv")
PROVINCE_NAMES = {r["region_name_zh"]: r["region_code"] for r in PROVINCES}
NAME_OF = {r["region_code"]: r["region_name_zh"] for r in PROVINCES} | {"CN": "总值"}
TOTALS = {(r["region_code"], int(r["year"])): r for r in _seed_rows("published_annual_totals.csv")}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return generate_location_tables()


def _grid(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, as the real files"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _body(data: bytes) -> list[list[str]]:
    return _grid(data)[HEADER_ROWS:-FOOTER_ROWS]


def _by_name(data: bytes) -> dict[str, list[str]]:
    return {row[0]: row for row in _body(data)}


def _name(year: int, month: int) -> str:
    return f"sample-location-{year}-{month:02d}.csv"


def _groups(data: bytes) -> list[tuple[list[str], list[list[str]]]]:
    """(province row, its zone rows) in file order; 总值 is not a group."""
    groups: list[tuple[list[str], list[list[str]]]] = []
    for row in _body(data):
        if row[0] in PROVINCE_NAMES:
            groups.append((row, []))
        elif row[0] != "总值":
            assert groups, f"zone row {row[0]} before any province"
            groups[-1][1].append(row)
    return groups


# ---- the seeds -------------------------------------------------------------------------------


def test_provinces_seed_lists_31_provinces_with_the_yrd_flagged():
    assert len(PROVINCES) == 31
    codes = [r["region_code"] for r in PROVINCES]
    assert len(set(codes)) == 31 and all(len(c) == 6 and c.endswith("0000") for c in codes)
    assert {r["region_code"] for r in PROVINCES if r["is_yrd"] == "true"} == set(YRD)
    assert {r["is_yrd"] for r in PROVINCES} == {"true", "false"}
    assert PROVINCE_NAMES["内蒙古自治区"] == "150000" and PROVINCE_NAMES["新疆维吾尔自治区"] == "650000"


def test_annual_totals_seed_covers_every_region_and_year_and_adds_up():
    assert set(TOTALS) == {(code, year) for code in ("CN", *YRD) for year in YEARS}
    for key, row in TOTALS.items():
        total, exports, imports = (Decimal(row[f"{f}_100m_cny"]) for f in FLOWS)
        assert exports + imports == total, key
        assert row["is_estimated"] in ("true", "false"), key
        # Estimates say how they were made; published figures name their source.
        assert row["source"].startswith("estimated:") == (row["is_estimated"] == "true"), key


def test_annual_totals_seed_matches_the_published_headlines():
    # The 2024 row is the exact 1至12月 figure of the real GACC table: 426,808,654 万元.
    assert Decimal(TOTALS[("310000", 2024)]["total_100m_cny"]) == Decimal("42680.8654")
    yrd = lambda year: sum(Decimal(TOTALS[(c, year)]["total_100m_cny"]) for c in YRD)  # noqa: E731
    # "YRD trade since 2018 passed 100 万亿元"; YRD 2022 ≈ 15.07 万亿元.
    assert sum(yrd(year) for year in YEARS) > 1_000_000
    assert abs(yrd(2022) - Decimal("150700")) < 100
    for year in YEARS:
        assert yrd(year) < Decimal(TOTALS[("CN", year)]["total_100m_cny"])


# ---- the generated files ---------------------------------------------------------------------


def test_generation_is_deterministic_and_fast():
    started = time.perf_counter()
    first = generate_location_tables()
    elapsed = time.perf_counter() - started
    assert first == generate_location_tables()
    assert elapsed < 5, f"generating the sample took {elapsed:.1f}s"


def test_one_file_per_month_2018_to_2025(files):
    assert (SAMPLE_FIRST_PERIOD, SAMPLE_LAST_PERIOD) == ("2018-01", "2025-12")
    assert len(files) == 96
    assert set(files) == {_name(y, m) for y in YEARS for m in range(1, 13)}


def test_a_sub_range_gives_the_same_bytes_as_the_full_run(files):
    part = generate_location_tables("2020-11", "2021-02")
    assert list(part) == [_name(2020, 11), _name(2020, 12), _name(2021, 1), _name(2021, 2)]
    assert all(files[name] == data for name, data in part.items())


@pytest.mark.parametrize("first,last", [("2017-12", "2018-01"), ("2025-12", "2026-01"), ("2024-03", "2024-02"), ("2024-3", "2024-04")])
def test_bad_periods_are_refused(first, last):
    with pytest.raises(ValueError):
        generate_location_tables(first, last)


def test_layout_is_the_real_one_plus_a_sample_title_and_a_sample_footer(files):
    data = files[_name(2024, 3)]
    assert b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n"), "CRLF lines, as the real files"
    grid = _grid(data)
    assert all(len(row) == 10 for row in grid)
    assert grid[0][0] == "2024年3月进出口商品收发货人所在地总值表（人民币值）（样本数据 SAMPLE DATA）"
    assert grid[0][1:] == [""] * 9
    assert grid[1] == [f"Unnamed: {i}_level_0" for i in range(7)] + ["单位：万人民币"] * 3
    assert grid[2] == ["收发货人所在地", "进出口", "进出口", "出口", "出口", "进口", "进口",
                       "累计比去年同期±％", "累计比去年同期±％.1", "累计比去年同期±％.2"]
    assert grid[3] == ["收发货人所在地", "3月", "1至3月", "3月", "1至3月", "3月", "1至3月", "进出口", "出口", "进口"]
    assert grid[4][0] == "总值"
    assert grid[-2][0].startswith("注：根据海关总署公告〔2016〕20") and len(set(grid[-2])) == 1
    assert grid[-1][0].startswith("样本数据：") and "SAMPLE DATA" in grid[-1][0] and grid[-1][1:] == [""] * 9
    provinces_in_file = [row[0] for row in _body(data) if row[0] in PROVINCE_NAMES]
    assert provinces_in_file == [r["region_name_zh"] for r in sorted(PROVINCES, key=lambda r: r["region_code"])]


def test_every_value_cell_is_an_integer_and_total_is_exports_plus_imports(files):
    for name, data in files.items():
        for row in _body(data):
            values = [int(cell) for cell in row[1:7]]  # raises on anything but plain integers
            assert all(v >= 0 for v in values), (name, row[0])
            assert values[0] == values[2] + values[4] and values[1] == values[3] + values[5], (name, row[0])


@pytest.mark.parametrize("code", ["CN", *YRD])
def test_december_year_to_date_equals_the_seed_exactly(files, code):
    for year in YEARS:
        row = _by_name(files[_name(year, 12)])[NAME_OF[code]]
        seed = TOTALS[(code, year)]
        for flow in FLOWS:
            expected = Decimal(seed[f"{flow}_100m_cny"]) * 10_000
            assert int(row[COLUMNS[flow][1]]) == expected, (code, year, flow)


def test_months_add_up_to_the_year_to_date_in_every_row(files):
    for year in YEARS:
        running: dict[tuple[str, str], int] = {}
        for month in range(1, 13):
            for name, row in _by_name(files[_name(year, month)]).items():
                for flow, (month_col, ytd_col) in COLUMNS.items():
                    key = (name, flow)
                    running[key] = running.get(key, 0) + int(row[month_col])
                    assert running[key] == int(row[ytd_col]), (year, month, name, flow)
                    if month == 1:
                        assert row[month_col] == row[ytd_col]


def test_provinces_add_up_to_the_nation_in_every_month(files):
    for name, data in files.items():
        rows = _by_name(data)
        for column in range(1, 7):
            provinces = sum(int(rows[p][column]) for p in PROVINCE_NAMES)
            assert provinces == int(rows["总值"][column]), (name, column)


def test_zones_are_parts_of_their_province(files):
    for name, data in files.items():
        groups = _groups(data)
        with_zones = {province[0] for province, zones in groups if zones}
        assert {NAME_OF[c] for c in YRD} <= with_zones, name
        for province, zones in groups:
            for column in range(1, 7):
                if zones:
                    assert sum(int(z[column]) for z in zones) < int(province[column]), (name, province[0], column)


def test_february_is_below_january_for_china_every_year(files):
    for year in YEARS:
        january = int(_by_name(files[_name(year, 1)])["总值"][1])
        february = int(_by_name(files[_name(year, 2)])["总值"][1])
        assert february < january, year


def test_growth_rates_compare_with_the_same_months_of_the_previous_year(files):
    assert _by_name(files[_name(2018, 6)])["总值"][7:] == ["--", "--", "--"]
    for year in YEARS[1:]:
        for code in ("CN", *YRD):
            row = _by_name(files[_name(year, 12)])[NAME_OF[code]]
            for flow, column in zip(FLOWS, (7, 8, 9)):
                now = Decimal(TOTALS[(code, year)][f"{flow}_100m_cny"])
                before = Decimal(TOTALS[(code, year - 1)][f"{flow}_100m_cny"])
                assert abs(Decimal(row[column]) - (now / before - 1) * 100) <= Decimal("0.05"), (code, year, flow)
    # Year-to-date growth at March compares 1至3月 with 1至3月 of the year before.
    march, last_march = _by_name(files[_name(2021, 3)])["总值"], _by_name(files[_name(2020, 3)])["总值"]
    expected = (Decimal(march[2]) / Decimal(last_march[2]) - 1) * 100
    assert abs(Decimal(march[7]) - expected) <= Decimal("0.05")


def test_write_location_tables_and_the_command_line(tmp_path):
    paths = write_location_tables(tmp_path / "api", "2019-01", "2019-03")
    assert [p.name for p in paths] == [_name(2019, 1), _name(2019, 2), _name(2019, 3)]
    assert paths[1].read_bytes() == generate_location_tables("2019-02", "2019-02")[_name(2019, 2)]

    out = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.samples", "--out", str(out), "--first", "2025-11"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote 2 sample location tables, 8 sample city tables, 2 sample query exports")
    assert str(out) in result.stdout
    assert sorted(p.name for p in out.glob("sample-location-*")) == [_name(2025, 11), _name(2025, 12)]


@pytest.mark.skipif(not REAL_DIR.is_dir(), reason="../shared/fixtures/real is absent (outside this workplace)")
def test_header_footer_and_names_match_the_real_gacc_file(files):
    with (REAL_DIR / "2024-03.csv").open(encoding="utf-8-sig", newline="") as handle:
        real = list(csv.reader(handle))
    sample = _grid(files[_name(2024, 3)])
    assert sample[1:HEADER_ROWS] == real[:3]
    assert sample[-2] == real[-1]
    real_names = {row[0] for row in real[3:-1]}
    assert set(PROVINCE_NAMES) <= real_names
    with (REAL_DIR / "2024-12.csv").open(encoding="utf-8-sig", newline="") as handle:
        real_names |= {row[0] for row in csv.reader(handle)}
    sample_names = {row[0] for row in _body(files[_name(2024, 3)])}
    assert sample_names <= real_names, sample_names - real_names
