"""The city-table parser on the 12 real Zhejiang files (Hangzhou customs district) and on broken ones."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from orchestration.ingest.city_table import (
    FORMAT,
    RAW_TABLE,
    SCOPE,
    city_codes,
    looks_like_city_table,
    parse_city_grid,
)
from orchestration.ingest.errors import ReleaseRejected
from orchestration.ingest.grids import read_grid
from orchestration.ingest.location_table import parse_location_grid
from orchestration.ingest.release import ParseContext
from orchestration.reference import province_codes

from .conftest import REAL  # noqa: E402  (../shared/fixtures/real beside the checkout)
CITY_DIR = REAL / "gacc_zhejiang_city_ytd"
LOCATION_DIR = REAL / "gacc_location_monthly"
TODAY = date(2026, 11, 28)
CONTEXT = ParseContext(today=TODAY, province_codes=province_codes())
COLUMNS = ["source_row", *(c.name for c in RAW_TABLE.columns)]

# Looked up in zhejiang-2024-03.csv: ",杭州地区,188710013441.0,66120845828.0,122589167613.0,…"
HANGZHOU_2024_03_YTD = Decimal(188_710_013_441)
ZHEJIANG_2024_03_YTD = Decimal(1_206_510_099_416)  # the 合计 row, in 元
UNIT_NOTE = "unit label says 万元 but the magnitude says 元: values taken as 元"

HEADER = ["", "收发货人所在地", "当期进出口", "当期进口", "当期出口", "进出口同比", "进口同比", "出口同比"]


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real fixtures not found at {path} (../shared is absent outside this workplace)")
    return path


def _real_grid(month: int) -> list[list[str]]:
    path = _require(CITY_DIR) / f"zhejiang-2024-{month:02d}.csv"
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [list(row) for row in csv.reader(f)]


def _parse(grid, file_name="zhejiang-2024-03.csv", context=CONTEXT, cities=None):
    return parse_city_grid(grid, file_name, context, city_codes() if cities is None else cities)


def _rows(release) -> list[dict]:
    rows = [dict(zip(COLUMNS, row)) for row in release.rows]
    assert all(len(row) == len(COLUMNS) for row in release.rows)
    return rows


def _row(release, name) -> dict:
    return next(r for r in _rows(release) if r["city_name"] == name)


def _synthetic(total="1000000000000", cities=(("杭州地区", "600000000000"), ("宁波地区", "400000000000")),
               footer=" 单位：人民币，元，%"):
    """A city table in the real layout, values in 元; imports = 40% and exports = 60% of each total."""
    grid = [HEADER]
    for name, value in (("合计", total), *cities):
        v = Decimal(value)
        grid.append(["", name, value, str(v * Decimal("0.4")), str(v * Decimal("0.6")), "1.5", "2.5", "3.5"])
    if footer:
        grid.append(["", footer, "", "", "", "", "", ""])
    return grid


# --- the real files -------------------------------------------------------------------------


def test_all_twelve_real_months_parse():
    for month in range(1, 13):
        release = _parse(_real_grid(month), f"zhejiang-2024-{month:02d}.csv")
        assert (release.format, release.scope, release.flow, release.currency) == (FORMAT, SCOPE, "both", "CNY")
        # The release is OF month M (registry key); the rows say the values run from January 1st.
        assert (release.period.year, release.period.first_month, release.period.last_month) == (2024, month, month)
        rows = _rows(release)
        assert {(r["period_start"], r["period_end"]) for r in rows} == {(date(2024, 1, 1), date(2024, month, 1))}
        cities = [r for r in rows if r["row_kind"] == "city"]
        assert len(cities) == 11
        assert all(r["region_code"] and r["province_code"] == "330000" for r in cities)
        total = _row(release, "合计")
        assert (total["row_kind"], total["region_code"], total["province_code"]) == ("province_total", "330000", "330000")
        assert release.rejected_rows == []
        assert not release.is_sample
        assert release.variant == "330000"  # another province's table of the same month is another release
        # Cities add up to the province (no cross-check note), and the unit decided is 元 in every month.
        assert not any("sum to" in n for n in release.notes)
        assert {r["unit_applied"] for r in rows} == {"元"}
        assert Decimal(10) ** 11 < total["total_ytd_cny"] < Decimal(10) ** 13


def test_hangzhou_and_province_total_for_march_2024():
    release = _parse(_real_grid(3))
    hangzhou = _row(release, "杭州地区")
    assert hangzhou["region_code"] == "330100"
    assert hangzhou["total_ytd_cny"] == HANGZHOU_2024_03_YTD
    total = _row(release, "合计")
    assert total["total_ytd_cny"] == ZHEJIANG_2024_03_YTD
    # Columns are mapped by header name: the file prints imports (进口) before exports (出口).
    assert total["imports_ytd_cny"] == Decimal(331_880_971_033)
    assert total["exports_ytd_cny"] == Decimal(874_629_128_383)
    assert total["total_ytd_yoy_pct"] == Decimal("7.83")  # 7.829401719063993 as printed, to 2 decimals
    assert total["imports_ytd_yoy_pct"] == Decimal("11.25")


def test_province_total_agrees_with_the_location_table():
    """合计 2024-03 = 1,206,510,099,416 元; the location table prints 浙江省 1至3月 as 120,651,010 万元."""
    release = _parse(_real_grid(3))
    location = parse_location_grid(
        read_grid(_require(LOCATION_DIR) / "2024-03.csv", "2024-03.csv"), "2024-03.csv", province_codes(), TODAY
    )
    zhejiang = next(r for r in location.rows if r.location_name == "浙江省")
    assert zhejiang.values_cny["total_ytd"] == Decimal(120_651_010) * 10_000
    # Same figure, rounded to whole 万元 in the location table.
    assert abs(_row(release, "合计")["total_ytd_cny"] - zhejiang.values_cny["total_ytd"]) <= 5_000


def test_wrong_wanyuan_footer_from_july_keeps_yuan_and_says_so():
    for month in range(1, 13):
        release = _parse(_real_grid(month), f"zhejiang-2024-{month:02d}.csv")
        if month >= 7:
            assert release.unit == "万元"  # the label as printed
            assert any(n.startswith(UNIT_NOTE) for n in release.notes), release.notes
        else:
            assert release.unit == "元"
            assert not any("magnitude" in n for n in release.notes)
        assert {r["unit_applied"] for r in _rows(release)} == {"元"}
    # Year-to-date keeps rising across the label change (×10,000 would show as a jump).
    hangzhou = [_row(_parse(_real_grid(m), f"zhejiang-2024-{m:02d}.csv"), "杭州地区")["total_ytd_cny"] for m in range(1, 13)]
    assert hangzhou == sorted(hangzhou)
    assert hangzhou[6] < 2 * hangzhou[5]


def test_file_named_by_province_and_read_through_xlsx(tmp_path):
    grid = _real_grid(3)
    workbook = openpyxl.Workbook()
    for row in grid:
        workbook.active.append([float(c) if c.replace(".", "", 1).replace("-", "", 1).isdigit() else c for c in row])
    workbook.save(tmp_path / "浙江省-2024-03.xlsx")
    from_xlsx = _parse(read_grid(tmp_path / "浙江省-2024-03.xlsx", "浙江省-2024-03.xlsx"), "浙江省-2024-03.xlsx")
    from_csv = _parse(grid, "浙江省-2024-03.csv")
    assert (from_xlsx.period.year, from_xlsx.period.last_month) == (2024, 3)
    assert [r[1:6] + r[7:10] for r in from_xlsx.rows] == [r[1:6] + r[7:10] for r in from_csv.rows]


def test_rows_load_into_the_declared_raw_table():
    release = _parse(_real_grid(7), "zhejiang-2024-07.csv")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute(RAW_TABLE.ddl())
    placeholders = ", ".join("?" for _ in range(len(COLUMNS) + 1))
    con.executemany(f"INSERT INTO raw.{RAW_TABLE.name} VALUES ({placeholders})", [("r1", *row) for row in release.rows])
    total, unit = con.execute(
        f"SELECT total_ytd_cny, unit_applied FROM raw.{RAW_TABLE.name} WHERE row_kind = 'province_total'"
    ).fetchone()
    assert unit == "元"
    assert total == Decimal("3014651610684.00")  # printed 3014651610684.0005: kept in 元, to the fen


# --- detection --------------------------------------------------------------------------------


def test_looks_like_city_table_tells_it_from_the_location_table():
    city_text = (_require(CITY_DIR) / "zhejiang-2024-03.csv").read_text(encoding="utf-8-sig")
    location_text = (_require(LOCATION_DIR) / "2024-03.csv").read_text(encoding="utf-8-sig")
    assert looks_like_city_table(city_text)
    assert not looks_like_city_table(location_text)
    assert not looks_like_city_table("商品编码,商品名称,人民币\n")
    # A city table's title may say 1-3月; only a header cell that is just '1至3月' marks a location table.
    assert looks_like_city_table("2024年1-3月浙江省进出口总值表\n" + city_text)
    assert not looks_like_city_table("<tr><td>收发货人所在地</td><td>3月</td><td>1至3月</td><td>当期进出口</td></tr>")


# --- names and codes --------------------------------------------------------------------------


def test_city_codes_from_the_seed():
    codes = city_codes()
    assert codes["杭州地区"] == codes["杭州市"] == ("330100", "330000")
    assert codes["台州地区"] == ("331000", "330000") and codes["泰州地区"] == ("321200", "320000")


def test_city_name_variants_map_to_the_same_code():
    release = _parse(_synthetic(cities=(("杭州市", "600000000000"), ("宁波", "400000000000"))))
    assert _row(release, "杭州市")["region_code"] == "330100"
    assert _row(release, "宁波")["region_code"] == "330200"


def test_unknown_city_loads_with_null_code_never_dropped():
    release = _parse(_synthetic(cities=(("杭州地区", "600000000000"), ("新区地区", "400000000000"))))
    unknown = _row(release, "新区地区")
    assert (unknown["row_kind"], unknown["region_code"], unknown["province_code"]) == ("city", None, "330000")
    assert unknown["total_ytd_cny"] == Decimal(400_000_000_000)
    assert any("新区地区" in n for n in release.notes)
    assert release.rejected_rows == []


def test_province_from_file_name_when_no_city_is_known():
    release = _parse(_synthetic(cities=(("甲地区", "1000000000000"),)), "浙江省-2024-03.csv")
    assert _row(release, "合计")["region_code"] == "330000"
    with pytest.raises(ReleaseRejected, match="which province"):
        _parse(_synthetic(cities=(("甲地区", "1000000000000"),)), "table-2024-03.csv")


def test_cities_of_two_provinces_under_one_total_rejected():
    with pytest.raises(ReleaseRejected, match="several provinces"):
        _parse(_synthetic(cities=(("杭州地区", "600000000000"), ("南京地区", "400000000000"))))


# --- units ------------------------------------------------------------------------------------


def test_yuan_label_with_wanyuan_magnitude_is_scaled_with_a_note():
    # The real 2024-03 figures in 万元 (120,651,010 for the province) under a footer saying 元.
    grid = _synthetic(total="120651010", cities=(("杭州地区", "18871001"), ("宁波地区", "101780009")))
    release = _parse(grid)
    assert release.unit == "元"
    total = _row(release, "合计")
    assert total["unit_applied"] == "万元"
    assert total["total_ytd_cny"] == Decimal(120_651_010) * 10_000
    assert any(n.startswith("unit label says 元 but the magnitude says 万元") for n in release.notes)


def test_wanyuan_label_with_wanyuan_magnitude_is_scaled_without_a_note():
    release = _parse(_synthetic(total="120651010", cities=(("杭州地区", "120651010"),), footer="单位：人民币，万元，%"))
    assert _row(release, "杭州地区")["total_ytd_cny"] == Decimal(120_651_010) * 10_000
    assert not any("magnitude" in n for n in release.notes)


def test_no_unit_label_decided_by_magnitude_with_a_note():
    release = _parse(_synthetic(total="1206510099416", cities=(("杭州地区", "1206510099416"),), footer=None))
    assert release.unit == "元"
    assert any("no unit label" in n for n in release.notes)


def test_dollar_footer_rejected():
    with pytest.raises(ReleaseRejected, match="US dollars"):
        _parse(_synthetic(footer="单位：美元，元，%"))


# --- checks -----------------------------------------------------------------------------------


def test_cities_not_adding_up_to_the_total_get_a_note():
    release = _parse(_synthetic(total="1206510099416", cities=(("杭州地区", "1000000000000"),)))
    assert any("sum to" in n and "合计" in n for n in release.notes)
    assert len(release.rows) == 2  # a note, not a rejection: a check flags it later


def test_bad_number_rejects_the_row_and_the_rest_loads():
    grid = _real_grid(3)
    hangzhou = next(i for i, row in enumerate(grid) if row[1] == "杭州地区")
    grid[hangzhou][3] = "6612O845828.0"  # letter O for a zero
    grid[hangzhou + 1][2] = "-48054136590.0"
    release = _parse(grid)
    assert [(r.source_row, r.column, r.raw_value) for r in release.rejected_rows] == [
        (hangzhou + 1, "4 (imports_ytd_cny)", "6612O845828.0"),
        (hangzhou + 2, "3 (total_ytd_cny)", "-48054136590.0"),
    ]
    assert len([r for r in _rows(release) if r["row_kind"] == "city"]) == 9


def test_unreadable_growth_rate_is_null_not_a_rejection():
    grid = _real_grid(3)
    grid[2][5] = "n/a"
    release = _parse(grid)
    assert release.rejected_rows == []
    assert _row(release, "杭州地区")["total_ytd_yoy_pct"] is None


def test_no_total_row_rejected():
    grid = [row for row in _real_grid(3) if row[1] != "合计"]
    with pytest.raises(ReleaseRejected, match="no 合计"):
        _parse(grid)


def test_repeated_total_with_other_values_rejected_identical_repeat_is_a_rejected_row():
    grid = _real_grid(3)
    repeat = list(grid[1])
    release = _parse([*grid[:-1], repeat, grid[-1]])
    assert [r.reason for r in release.rejected_rows] == ["an identical repeat of row 2"]
    repeat[2] = "1.0"
    with pytest.raises(ReleaseRejected, match="appears twice"):
        _parse([*grid[:-1], repeat, grid[-1]])


def test_no_header_rejected():
    with pytest.raises(ReleaseRejected, match="no header row"):
        _parse([["", "地区", "金额"], ["", "合计", "1"]])


# --- period -----------------------------------------------------------------------------------


def test_no_period_rejected_with_how_to_fix():
    with pytest.raises(ReleaseRejected) as caught:
        _parse(_real_grid(3), "city-table.csv")
    assert "no period" in caught.value.reason
    assert "浙江省-2024-03.csv" in caught.value.reason and "sidecar" in caught.value.reason


def test_period_from_title_row_and_from_sidecar():
    titled = [["2024年1-3月浙江省进出口收发货人所在地总值表"], *_real_grid(3)]
    release = _parse(titled, "city-table.csv")
    assert (release.period.year, release.period.last_month) == (2024, 3)
    assert release.title == "2024年1-3月浙江省进出口收发货人所在地总值表"
    assert _rows(release)[0]["source_row"] == 3  # rows keep their line numbers in the file
    sidecar = ParseContext(today=TODAY, sidecar={"period": "2024-03"}, province_codes=province_codes())
    assert _parse(_real_grid(3), "city-table.csv", context=sidecar).period.last_month == 3


def test_future_period_rejected():
    with pytest.raises(ReleaseRejected, match="in the future"):
        _parse(_real_grid(3), "zhejiang-2027-03.csv")


def test_sample_flag():
    assert _parse(_real_grid(3), "sample-zhejiang-2024-03.csv").is_sample
    grid = _real_grid(3)
    grid.append(["", "样本数据：本文件由样本生成器生成", "", "", "", "", "", ""])
    assert _parse(grid).is_sample
