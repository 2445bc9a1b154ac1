"""The SAMPLE district city tables: real Zhejiang layout and quirks, exact calibration, cities that add up.

The city tables and the location tables they are calibrated to are read with the csv module only,
so these tests hold the generator to its promises independently of its own helpers.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from decimal import Decimal

import pytest

from .conftest import REAL, REPO_ROOT  # noqa: E402
if str(REPO_ROOT) not in sys.path:  # runnable as plain `pytest` without an installed package
    sys.path.insert(0, str(REPO_ROOT))

from orchestration.samples.city_tables import generate_city_tables, write_city_tables  # noqa: E402
from orchestration.samples.location_tables import generate_location_tables  # noqa: E402

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
REAL_DIR = REAL / "gacc_zhejiang_city_ytd"
YEARS = range(2018, 2026)
PROVINCES = {"shanghai": "上海市", "jiangsu": "江苏省", "zhejiang": "浙江省", "anhui": "安徽省"}
HEADER = ["Unnamed: 0", "收发货人所在地", "当期进出口", "当期进口", "当期出口", "进出口同比", "进口同比", "出口同比"]
TOTAL, IMPORTS, EXPORTS = 2, 3, 4
NBSP = "\u00a0"


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


CITIES = _seed("cities.csv")
PROVINCE_CODE = {r["region_name_zh"]: r["region_code"] for r in _seed("provinces.csv")}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return generate_city_tables()


def _grid(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, as the real files"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _yuan(cell: str) -> int:
    """'1206510099416.0' → 1206510099416; the sample prints whole yuan as floats."""
    value = Decimal(cell)
    assert value == value.to_integral_value(), cell
    return int(value)


@pytest.fixture(scope="module")
def tables(files) -> dict[tuple[str, int, int], dict[str, list[str]]]:
    """(province slug, year, month) -> row name -> row (header and the two footers left out)."""
    parsed = {}
    for name, data in files.items():
        slug, year, month = re.fullmatch(r"sample-city-([a-z]+)-(\d{4})-(\d{2})\.csv", name).groups()
        grid = _grid(data)
        assert grid[0] == HEADER
        parsed[(slug, int(year), int(month))] = {row[1]: row for row in grid[1:-2]}
    return parsed


@pytest.fixture(scope="module")
def location_ytd() -> dict[tuple[str, int, int], dict[str, int]]:
    """(province name, year, month) -> {'exports', 'imports'} year to date, 元 (the 1至M月 columns × 10000)."""
    values = {}
    for name, data in generate_location_tables().items():
        year, month = (int(x) for x in re.fullmatch(r"sample-location-(\d{4})-(\d{2})\.csv", name).groups())
        grid = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert grid[3][4] == grid[3][6] == f"1至{month}月"
        for row in grid[4:]:
            if row[0] in PROVINCES.values():
                values[(row[0], year, month)] = {"exports": int(row[4]) * 10_000, "imports": int(row[6]) * 10_000}
    return values


def test_deterministic_and_independent_of_the_range(files):
    assert generate_city_tables() == files
    part = generate_city_tables("2021-11", "2022-02")
    assert len(part) == 4 * 4
    assert all(files[name] == data for name, data in part.items())


def test_file_set(files):
    expected = {
        f"sample-city-{slug}-{year}-{month:02d}.csv" for slug in PROVINCES for year in YEARS for month in range(1, 13)
    }
    assert set(files) == expected


def test_41_cities_across_the_four_provinces(tables):
    for year in YEARS:
        for month in (1, 7, 12):
            seen = {}
            for slug, province in PROVINCES.items():
                names = [n for n in tables[(slug, year, month)] if n != "合计"]
                assert len(names) == len(set(names))
                for n in names:
                    seen[n] = PROVINCE_CODE[province]
            assert seen == {r["gacc_city_name"]: r["province_code"] for r in CITIES}
            assert len(seen) == 41
    assert list(tables[("shanghai", 2024, 3)]) == ["合计", "上海地区"]


def test_total_equals_the_location_table_ytd(tables, location_ytd):
    for (slug, year, month), rows in tables.items():
        expected = location_ytd[(PROVINCES[slug], year, month)]
        total = rows["合计"]
        assert _yuan(total[EXPORTS]) == expected["exports"], (slug, year, month)
        assert _yuan(total[IMPORTS]) == expected["imports"], (slug, year, month)
        assert _yuan(total[TOTAL]) == expected["exports"] + expected["imports"]


def test_cities_sum_to_the_total(tables):
    for key, rows in tables.items():
        cities = [row for name, row in rows.items() if name != "合计"]
        for column in (TOTAL, IMPORTS, EXPORTS):
            assert sum(_yuan(row[column]) for row in cities) == _yuan(rows["合计"][column]), (key, column)
        for row in cities:
            assert _yuan(row[TOTAL]) == _yuan(row[IMPORTS]) + _yuan(row[EXPORTS])
            assert _yuan(row[IMPORTS]) > 0 and _yuan(row[EXPORTS]) > 0


def test_year_to_date_never_decreases_within_a_year(tables):
    for slug in PROVINCES:
        for year in YEARS:
            for name in tables[(slug, year, 1)]:
                for column in (TOTAL, IMPORTS, EXPORTS):
                    series = [_yuan(tables[(slug, year, m)][name][column]) for m in range(1, 13)]
                    assert all(b > a for a, b in zip(series, series[1:])), (slug, year, name, column)


def test_shares_are_plausible(tables):
    def share(slug: str, city: str, year: int = 2024) -> float:
        rows = tables[(slug, year, 12)]
        return _yuan(rows[city][TOTAL]) / _yuan(rows["合计"][TOTAL])

    assert 0.40 < share("jiangsu", "苏州地区") < 0.55
    assert 0.35 < share("anhui", "合肥地区") < 0.50
    assert share("zhejiang", "宁波地区") > share("zhejiang", "杭州地区") > share("zhejiang", "丽水地区")
    assert share("shanghai", "上海地区") == 1.0


def test_growth_rates(tables):
    for (slug, year, month), rows in tables.items():
        for name, row in rows.items():
            rates = row[5:8]
            if year == 2018:
                assert rates == ["", "", ""], "no base year in the seed"
                continue
            before = tables[(slug, year - 1, month)][name]
            for rate, column in zip(rates, (TOTAL, IMPORTS, EXPORTS)):
                expected = (_yuan(row[column]) / _yuan(before[column]) - 1) * 100
                assert rate and rate.lower() != "nan" and abs(float(rate) - expected) <= 0.051, (slug, year, month, name)
                if month >= 7:
                    assert re.fullmatch(r"-?\d+\.\d", rate), "one decimal from July, as the real files"


def test_unit_footer_quirk_and_sample_label(files):
    for name, data in files.items():
        month = int(name[-6:-4])
        grid = _grid(data)
        unit = "万元" if month >= 7 else "元"
        assert grid[-2] == ["", f"{NBSP}单位：人民币，{unit}，%", "", "", "", "", "", ""], name
        assert grid[-1][1].startswith("样本数据：") and "SAMPLE DATA" in grid[-1][1]
        assert grid[-1][0] == "" and grid[-1][2:] == [""] * 6
        # Whatever the footer says, the values are in 元: 合计 is far above what 万元 could be.
        assert Decimal(grid[1][TOTAL]) > Decimal("1e10"), name


def test_layout_matches_the_real_zhejiang_file(files):
    real_file = REAL_DIR / "zhejiang-2024-03.csv"
    july_file = REAL_DIR / "zhejiang-2024-07.csv"
    if not real_file.exists() or not july_file.exists():
        pytest.skip(f"real city tables not found at {REAL_DIR} (../shared is absent outside this workplace)")
    real, sample = real_file.read_bytes(), files["sample-city-zhejiang-2024-03.csv"]
    assert real.startswith(b"\xef\xbb\xbf") and sample.startswith(b"\xef\xbb\xbf")
    assert real.split(b"\r\n")[0] == sample.split(b"\r\n")[0], "header line byte for byte"
    assert b"\n" not in real.replace(b"\r\n", b"") and b"\n" not in sample.replace(b"\r\n", b""), "CRLF"
    real_grid, sample_grid = _grid(real), _grid(sample)
    assert {len(r) for r in real_grid} == {len(r) for r in sample_grid} == {8}
    assert real_grid[1][:2] == sample_grid[1][:2] == ["", "合计"]
    assert [r[1] for r in real_grid[2:-1]] == [r[1] for r in sample_grid[2:-2]], "same cities, same order"
    assert real_grid[-1] == sample_grid[-2], "the unit footer, no-break space included"
    assert _grid(july_file.read_bytes())[-1] == _grid(files["sample-city-zhejiang-2024-07.csv"])[-2]
    # Values print as pandas floats ('1206510099416.0') in both.
    assert re.fullmatch(r"\d+\.0", real_grid[1][TOTAL]) and re.fullmatch(r"\d+\.0", sample_grid[1][TOTAL])


def test_write_city_tables(tmp_path):
    paths = write_city_tables(tmp_path, "2019-06", "2019-07")
    assert sorted(p.name for p in paths) == sorted(
        f"sample-city-{slug}-2019-{m}.csv" for slug in PROVINCES for m in ("06", "07")
    )
    assert all(p.read_bytes() == generate_city_tables("2019-06", "2019-07")[p.name] for p in paths)
