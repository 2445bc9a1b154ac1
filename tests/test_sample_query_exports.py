"""The SAMPLE query-platform exports (数据在线查询): layout, exact calibration, the new three.

Both the query exports and the location tables they are calibrated to are read here with the csv
module only (not with the project's parsers or the generator's own helpers), so these tests pin
the generator's promises independently of how it keeps them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import time
from collections import defaultdict
from decimal import Decimal

import pytest

from .conftest import REAL, REPO_ROOT  # noqa: E402
if str(REPO_ROOT) not in sys.path:  # runnable as plain `pytest` without an installed package
    sys.path.insert(0, str(REPO_ROOT))

from orchestration.samples.location_tables import generate_location_tables  # noqa: E402
from orchestration.samples.query_exports import generate_query_exports, write_query_exports  # noqa: E402

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
REAL_DIR = REAL / "gacc_query_export"
YEARS = range(2018, 2026)
FLOWS = ("exports", "imports")
PROVINCES = {"31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省"}
HEADER = [
    "数据年月", "商品编码", "商品名称", "贸易伙伴编码", "贸易伙伴名称", "贸易方式编码", "贸易方式名称",
    "注册地编码", "注册地名称", "第一数量", "第一计量单位", "第二数量", "第二计量单位", "人民币", "",
]
MONTH, HS8, NAME, PARTNER, PARTNER_NAME, MODE, MODE_NAME, REG, REG_NAME, Q1, U1, Q2, U2, VALUE = range(14)
MAX_SECONDS = 20


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


NEW_THREE = {r["hs8"]: r["category"] for r in _seed("new_three_codes.csv") if r["included"] == "true" and r["hs8"]}
PARTNERS = {r["gacc_code"]: r for r in _seed("partners.csv")}


@pytest.fixture(scope="module")
def timed() -> tuple[dict[str, bytes], float]:
    start = time.perf_counter()
    files = generate_query_exports()
    return files, time.perf_counter() - start


@pytest.fixture(scope="module")
def files(timed) -> dict[str, bytes]:
    return timed[0]


@pytest.fixture(scope="module")
def rows(files) -> dict[tuple[int, str], list[list[str]]]:
    """(year, flow) -> data rows (header dropped), parsed with the csv module from GB18030."""
    parsed = {}
    for name, data in files.items():
        match = re.fullmatch(r"sample-query-export-(\d{4})-(exports|imports)\.csv", name)
        assert match, name
        grid = list(csv.reader(io.StringIO(data.decode("gb18030"), newline="")))
        assert grid[0] == HEADER
        parsed[(int(match[1]), match[2])] = grid[1:]
    return parsed


def _yuan(cell: str) -> int:
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", cell), f"人民币 with thousands separators, got {cell!r}"
    return int(cell.replace(",", ""))


@pytest.fixture(scope="module")
def location_months() -> dict[tuple[str, str, str], int]:
    """(注册地编码, YYYYMM, flow) -> month value in 元, from the SAMPLE location tables (万元 × 10000)."""
    values = {}
    for name, data in generate_location_tables().items():
        year, month = re.fullmatch(r"sample-location-(\d{4})-(\d{2})\.csv", name).groups()
        grid = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        by_name = {row[0]: row for row in grid[4:]}
        for code, province in PROVINCES.items():
            row = by_name[province]
            values[(code, year + month, "exports")] = int(row[3]) * 10_000  # 出口 M月
            values[(code, year + month, "imports")] = int(row[5]) * 10_000  # 进口 M月
    return values


def test_deterministic_and_independent_of_the_range(files):
    again = generate_query_exports()
    assert {k: hashlib.sha256(v).hexdigest() for k, v in again.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in files.items()
    }
    # A month's rows do not depend on which other months are generated.
    part = generate_query_exports("2022-01", "2022-02")
    assert list(part) == ["sample-query-export-2022-exports.csv", "sample-query-export-2022-imports.csv"]
    for name, data in part.items():
        full_lines = files[name].split(b"\n")
        expected = [full_lines[0]] + [line for line in full_lines[1:] if line[1:7] in (b"202201", b"202202")]
        assert data.split(b"\n") == expected + [b""]


def test_file_set(files):
    assert sorted(files) == sorted(
        f"sample-query-export-{year}-{flow}.csv" for year in YEARS for flow in FLOWS
    ), "one file per year and flow; the direction only in the name"


def test_real_export_layout(files):
    for name, data in files.items():
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data, "GB18030 without BOM, LF line ends"
        text = data.decode("gb18030")  # strict: raises on bytes that are not GB18030
        assert text.endswith(",\n")
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really GB18030, not UTF-8 that happens to decode
        for line in text.splitlines():
            assert re.fullmatch(r'("[^"]*",){14}', line), f"{name}: every field quoted, trailing comma: {line}"


def test_cells_are_formatted_as_the_platform_prints_them(rows):
    for (year, _), data in rows.items():
        for row in data:
            assert len(row) == 15 and row[14] == ""
            assert re.fullmatch(rf"{year}(0[1-9]|1[0-2])", row[MONTH])
            assert re.fullmatch(r"\d{8}", row[HS8])
            assert PROVINCES[row[REG]] == row[REG_NAME]
            assert PARTNERS[row[PARTNER]]["name_zh"] == row[PARTNER_NAME]
            _yuan(row[VALUE])
            # Quantities are printed without separators in every real export ("214847").
            assert re.fullmatch(r"\d+", row[Q1]) and re.fullmatch(r"\d+", row[Q2])
            assert row[U1] in {"千克", "个", "辆", "台", "件", "条", "双", "米", "块", "副"}
            if row[U2] == "?":
                assert row[Q2] == "0"
            else:
                assert row[U2] == "千克"
    all_rows = [row for data in rows.values() for row in data]
    assert sum(row[U2] == "?" for row in all_rows) > 0.5 * len(all_rows), "mostly no second unit"
    assert any("，" in row[NAME] for row in all_rows), "a name with a full-width comma, read as one field"
    assert any("，" in row[NAME] for row in rows[(2018, "exports")])
    assert any(int(row[VALUE].replace(",", "")) >= 1000 and "," in row[VALUE] for row in all_rows)


def test_header_matches_the_real_exports():
    real = REAL_DIR / "chinese-full-by-province.csv"
    monthly = REAL_DIR / "soybean-2024-imports.csv"
    if not real.exists() or not monthly.exists():
        pytest.skip(f"real query exports not found at {REAL_DIR} (../shared is absent outside this workplace)")
    real_header = next(csv.reader(io.StringIO(real.read_bytes().decode("gb18030"))))
    assert HEADER[1:] == real_header, "the by-province export's columns, in order"
    assert next(csv.reader(io.StringIO(monthly.read_bytes().decode("gb18030"))))[0] == HEADER[0] == "数据年月"
    first_line = real.read_bytes().split(b"\n")[0]
    assert first_line.startswith(b'"') and first_line.endswith(b'",')


def test_trade_modes_match_the_seed_when_present(rows):
    seed = SEEDS / "trade_modes.csv"
    if not seed.exists():
        pytest.skip("trade_modes.csv seed not present")
    names = {r["trade_mode_code"]: r["name_zh"] for r in _seed("trade_modes.csv")}
    used = {(row[MODE], row[MODE_NAME]) for data in rows.values() for row in data}
    assert used and all(names.get(code) == name for code, name in used), used


def test_province_month_sums_equal_the_location_tables(rows, location_months):
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    for (_, flow), data in rows.items():
        for row in data:
            sums[(row[REG], row[MONTH], flow)] += _yuan(row[VALUE])
    assert len(sums) == 4 * 96 * 2
    mismatches = {k: (v, location_months[k]) for k, v in sums.items() if v != location_months[k]}
    assert not mismatches, list(mismatches.items())[:5]


def test_row_counts_and_size(files, rows):
    per_month: dict[tuple, int] = defaultdict(int)
    for (_, flow), data in rows.items():
        for row in data:
            per_month[(row[REG], row[MONTH], flow)] += 1
        keys = [(r[MONTH], r[HS8], r[PARTNER], r[MODE], r[REG]) for r in data]
        assert len(keys) == len(set(keys)), "one row per month × commodity × partner × trade mode × 注册地"
        assert keys == sorted(keys), "sorted by month, then commodity code"
    assert all(150 <= n <= 250 for n in per_month.values()), (min(per_month.values()), max(per_month.values()))
    total = sum(per_month.values())
    assert 150_000 <= total <= 250_000, total
    assert sum(len(v) for v in files.values()) < 40_000_000


def test_generation_time(timed):
    assert timed[1] < MAX_SECONDS, f"default generation took {timed[1]:.1f} s"


def _new_three_by_year(rows) -> dict[int, dict[tuple[str, str], int]]:
    """year -> (注册地, category) -> yuan, exports only."""
    totals: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for (year, flow), data in rows.items():
        if flow != "exports":
            continue
        for row in data:
            if row[HS8] in NEW_THREE:
                totals[year][(row[REG], NEW_THREE[row[HS8]])] += _yuan(row[VALUE])
    return totals


def test_new_three_present_and_growing(rows):
    totals = _new_three_by_year(rows)
    yrd = [sum(totals[year].values()) for year in YEARS]
    assert all(b > a for a, b in zip(yrd, yrd[1:])), [round(v / 1e8) for v in yrd]
    for year in YEARS:  # every province exports all three every year
        assert all(totals[year][(reg, c)] > 0 for reg in PROVINCES for c in set(NEW_THREE.values()))
    # Calibrated figures (亿元) from customs-facts.md §3, which the generator reproduces exactly.
    hundred_million = Decimal(100_000_000)

    def province_year(reg: str, year: int, *categories: str) -> Decimal:
        cats = categories or set(NEW_THREE.values())
        return sum(Decimal(v) for (r, c), v in totals[year].items() if r == reg and c in cats) / hundred_million

    assert province_year("34", 2023) == Decimal("390.6")
    assert province_year("34", 2024) == Decimal("490.1")
    assert province_year("31", 2025) == Decimal("1566.7")
    assert province_year("32", 2025) == Decimal("1849.8")
    assert province_year("32", 2022, "solar_cells") == Decimal("988.8")
    assert province_year("32", 2022, "lithium_ion_batteries") == Decimal("722.2")
    # About half of China's 1.06万亿元 of 2023 comes from the YRD.
    assert 4_000 < yrd[YEARS.index(2023)] / 1e8 < 6_000


def test_new_three_share_of_exports_is_modest(rows, location_months):
    """Electric vehicles are never imported in the sample, and the new three stay a modest share of any month."""
    shares: dict[tuple[str, str], int] = defaultdict(int)
    for (_, flow), data in rows.items():
        for row in data:
            category = NEW_THREE.get(row[HS8])
            if flow == "imports":
                assert category != "electric_vehicles"
            elif category:
                shares[(row[REG], row[MONTH])] += _yuan(row[VALUE])
    for (reg, month), value in shares.items():
        assert 0 < value < 0.15 * location_months[(reg, month, "exports")], (reg, month)


def test_solar_codes_switch_at_hs2022(rows):
    solar_months: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for (_, flow), data in rows.items():
        for row in data:
            if NEW_THREE.get(row[HS8]) == "solar_cells":
                solar_months[(row[REG], row[MONTH], flow)].add(row[HS8])
    for (reg, month, flow), codes in solar_months.items():
        if month < "202201":
            assert codes == {"85414020"}, (reg, month, flow, codes)
        else:
            assert codes <= {"85414200", "85414300"} and codes, (reg, month, flow, codes)
    # Every province exports solar cells in every month, so the break is visible in each series.
    assert sum(1 for (_, _, flow) in solar_months if flow == "exports") == 4 * 96


def test_quantities_are_plausible(rows):
    """Value ÷ first quantity stays near each code's typical unit price (±25% noise)."""
    prices: dict[str, list[float]] = defaultdict(list)
    for data in rows.values():
        for row in data:
            value, q1 = _yuan(row[VALUE]), int(row[Q1])
            if q1 >= 100:
                prices[row[HS8]].append(value / q1)
    ev = prices["87038010"]
    assert ev and all(100_000 <= p <= 210_000 for p in ev), (min(ev), max(ev))  # yuan per electric car
    soy = prices["12019019"]
    assert soy and all(3 <= p <= 6 for p in soy)  # yuan per kg of soybeans (real: ~4.2 in 2023)


def test_write_query_exports(tmp_path):
    paths = write_query_exports(tmp_path, "2025-12", "2025-12")
    assert [p.name for p in paths] == ["sample-query-export-2025-exports.csv", "sample-query-export-2025-imports.csv"]
    assert all(p.read_bytes() == generate_query_exports("2025-12", "2025-12")[p.name] for p in paths)


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError):
        generate_query_exports("2024-05", "2024-01")
    with pytest.raises(ValueError):
        generate_query_exports("2017-12", "2018-01")
    with pytest.raises(ValueError):
        generate_query_exports("2024-13", "2024-12")
