"""The SAMPLE query-platform exports by city × HS chapter × month: layout, both margins, specialisation.

The city exports and everything they are calibrated to (the city tables, the province-level query
exports, the location tables) are read here with the csv module only, not with the generator's
helpers, so these tests pin the generator's promises independently of how it keeps them. The files
are also parsed with the project's own parser, as the pipeline sees them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import time
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from .conftest import REPO_ROOT  # noqa: E402
if str(REPO_ROOT) not in sys.path:  # runnable as plain `pytest` without an installed package
    sys.path.insert(0, str(REPO_ROOT))

from orchestration.ingest.formats import parse_release  # noqa: E402
from orchestration.ingest.release import ParseContext  # noqa: E402
from orchestration.samples import write_sample_releases  # noqa: E402
from orchestration.samples.city_query_exports import (  # noqa: E402
    generate_city_query_exports,
    write_city_query_exports,
)
from orchestration.samples.city_tables import generate_city_tables  # noqa: E402
from orchestration.samples.location_tables import generate_location_tables  # noqa: E402
from orchestration.samples.query_exports import generate_query_exports  # noqa: E402

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
YEARS = range(2018, 2026)
FLOWS = ("exports", "imports")
PROVINCES = {"32": "江苏省", "33": "浙江省", "34": "安徽省"}  # not Shanghai: its city is the province
HEADER = ["数据年月", "商品编码", "商品名称", "注册地编码", "注册地名称", "人民币", ""]
MONTH, CHAPTER, NAME, REG, REG_NAME, VALUE = range(6)
FILE = re.compile(r"sample-query-export-(\d{4})-(exports|imports)-by-city\.csv")
MAX_SECONDS = 10  # the target is < 5 s (province query exports included); room for a slow CI machine
TODAY = date(2026, 11, 28)


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


CITIES = {r["region_code"][:4]: r for r in _seed("cities.csv") if r["province_code"][:2] in PROVINCES}


def _yuan(cell: str) -> int:
    assert re.fullmatch(r"[1-9]\d{0,2}(,\d{3})*", cell), f"人民币 positive, with thousands separators, got {cell!r}"
    return int(cell.replace(",", ""))


@pytest.fixture(scope="module")
def timed() -> tuple[dict[str, bytes], float]:
    start = time.perf_counter()
    files = generate_city_query_exports()
    return files, time.perf_counter() - start


@pytest.fixture(scope="module")
def files(timed) -> dict[str, bytes]:
    return timed[0]


@pytest.fixture(scope="module")
def rows(files) -> dict[tuple[int, str], list[list[str]]]:
    """(year, flow) -> data rows (header dropped), parsed with the csv module from GB18030."""
    parsed = {}
    for name, data in files.items():
        match = FILE.fullmatch(name)
        assert match, name
        grid = list(csv.reader(io.StringIO(data.decode("gb18030"), newline="")))
        assert grid[0] == HEADER
        parsed[(int(match[1]), match[2])] = grid[1:]
    return parsed


@pytest.fixture(scope="module")
def cells(rows) -> dict[tuple[str, str, str], dict[tuple[str, str], int]]:
    """(province 2-digit, YYYYMM, flow) -> (city 4-digit, chapter) -> yuan."""
    result: dict = defaultdict(dict)
    for (_, flow), data in rows.items():
        for row in data:
            result[(row[REG][:2], row[MONTH], flow)][(row[REG], row[CHAPTER])] = _yuan(row[VALUE])
    return result


@pytest.fixture(scope="module")
def city_months() -> dict[tuple[str, str, str], dict[str, int]]:
    """(province, YYYYMM, flow) -> city 4-digit -> month value in 元, from the SAMPLE city tables
    (year to date: the month is YTD(M) − YTD(M−1), January the YTD itself)."""
    gacc = {r["gacc_city_name"]: code for code, r in CITIES.items()}
    ytd: dict[tuple[str, int, int, str], dict[str, int]] = defaultdict(dict)
    for name, data in generate_city_tables().items():
        year, month = map(int, re.fullmatch(r"sample-city-[a-z]+-(\d{4})-(\d{2})\.csv", name).groups())
        for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
            if len(row) > 4 and row[1] in gacc:
                code = gacc[row[1]]
                ytd[(code[:2], year, month, "imports")][code] = int(Decimal(row[3]))  # 当期进口
                ytd[(code[:2], year, month, "exports")][code] = int(Decimal(row[4]))  # 当期出口
    months = {}
    for (province, year, month, flow), values in ytd.items():
        before = ytd[(province, year, month - 1, flow)] if month > 1 else {}
        months[(province, f"{year}{month:02d}", flow)] = {c: v - before.get(c, 0) for c, v in values.items()}
    return months


@pytest.fixture(scope="module")
def chapter_months() -> dict[tuple[str, str, str], dict[str, int]]:
    """(province, YYYYMM, flow) -> chapter -> 元, the province-level SAMPLE query exports summed by chapter."""
    sums: dict = defaultdict(lambda: defaultdict(int))
    for name, data in generate_query_exports().items():
        flow = re.fullmatch(r"sample-query-export-\d{4}-(exports|imports)\.csv", name)[1]
        for row in list(csv.reader(io.StringIO(data.decode("gb18030"), newline="")))[1:]:
            if row[7] in PROVINCES:  # 注册地编码
                sums[(row[7], row[0], flow)][row[1][:2]] += int(row[13].replace(",", ""))
    return sums


@pytest.fixture(scope="module")
def location_months() -> dict[tuple[str, str, str], int]:
    """(province, YYYYMM, flow) -> month value in 元 from the SAMPLE location tables (万元 × 10000)."""
    values = {}
    for name, data in generate_location_tables().items():
        year, month = re.fullmatch(r"sample-location-(\d{4})-(\d{2})\.csv", name).groups()
        by_name = {row[0]: row for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) if row}
        for code, province in PROVINCES.items():
            values[(code, year + month, "exports")] = int(by_name[province][3]) * 10_000  # 出口 M月
            values[(code, year + month, "imports")] = int(by_name[province][5]) * 10_000  # 进口 M月
    return values


# --- files and layout -------------------------------------------------------------------------


def test_file_set(files):
    assert sorted(files) == sorted(
        f"sample-query-export-{year}-{flow}-by-city.csv" for year in YEARS for flow in FLOWS
    )


def test_real_export_layout(files):
    for name, data in files.items():
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data, "GB18030 without BOM, LF line ends"
        text = data.decode("gb18030")
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really GB18030
        assert text.endswith(",\n")
        for line in text.splitlines():
            assert re.fullmatch(r'("[^"]*",){6}', line), f"{name}: every field quoted, trailing comma: {line}"


def test_cells_name_chapters_and_cities_from_the_seeds(rows):
    chapters = {r["chapter"]: r["name_zh"] for r in _seed("hs_chapters.csv")}
    for (year, _), data in rows.items():
        for row in data:
            assert re.fullmatch(rf"{year}(0[1-9]|1[0-2])", row[MONTH])
            assert re.fullmatch(r"\d{2}", row[CHAPTER]) and chapters[row[CHAPTER]] == row[NAME]
            assert re.fullmatch(r"\d{4}", row[REG]) and CITIES[row[REG]]["region_name_zh"] == row[REG_NAME]
            _yuan(row[VALUE])  # positive: rows of value 0 are not written
    used = {row[REG] for data in rows.values() for row in data}
    assert used == set(CITIES) and len(used) == 40, "the 40 prefecture cities of Jiangsu, Zhejiang and Anhui"
    assert "苏州市" in {row[REG_NAME] for row in rows[(2024, "exports")] if row[REG] == "3205"}


def test_no_shanghai(rows):
    for data in rows.values():
        assert not any(row[REG].startswith("31") or "上海" in row[REG_NAME] for row in data)


def test_rows_unique_sorted_and_in_a_sane_number(files, rows):
    per_month: dict[tuple[str, str], int] = defaultdict(int)
    for (_, flow), data in rows.items():
        keys = [(r[MONTH], r[REG], r[CHAPTER]) for r in data]
        assert len(keys) == len(set(keys)), "one row per month × city × chapter"
        assert keys == sorted(keys), "sorted by month, 注册地编码, chapter"
        for r in data:
            per_month[(r[MONTH], flow)] += 1
    # 40 cities × the 20-odd chapters the province exports have in a month, less the rows rounding to 0.
    assert all(500 <= n <= 1_200 for n in per_month.values()), (min(per_month.values()), max(per_month.values()))
    total = sum(per_month.values())
    assert 100_000 <= total <= 200_000, total
    assert sum(len(v) for v in files.values()) < 20_000_000


def test_generation_time(timed):
    assert timed[1] < MAX_SECONDS, f"default generation took {timed[1]:.1f} s"


# --- the numbers ------------------------------------------------------------------------------


def test_city_margins_equal_the_city_tables(cells, city_months):
    assert len(cells) == 3 * 96 * 2
    mismatches = []
    for key, by_cell in cells.items():
        by_city: dict[str, int] = defaultdict(int)
        for (city, _), value in by_cell.items():
            by_city[city] += value
        if by_city != city_months[key]:
            mismatches.append(key)
    assert not mismatches, mismatches[:5]


def test_chapter_margins_equal_the_province_query_exports(cells, chapter_months):
    mismatches = []
    for key, by_cell in cells.items():
        by_chapter: dict[str, int] = defaultdict(int)
        for (_, chapter), value in by_cell.items():
            by_chapter[chapter] += value
        if by_chapter != chapter_months[key]:
            mismatches.append(key)
    assert not mismatches, mismatches[:5]


def test_province_months_equal_the_location_tables(cells, location_months):
    sums = {key: sum(by_cell.values()) for key, by_cell in cells.items()}
    assert sums == {k: v for k, v in location_months.items() if k[1][:4] in {str(y) for y in YEARS}}


def test_deterministic_and_independent_of_the_range(files):
    again = generate_city_query_exports()
    assert {k: hashlib.sha256(v).hexdigest() for k, v in again.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in files.items()
    }
    part = generate_city_query_exports("2022-03", "2022-04")  # March needs February's year to date
    assert list(part) == ["sample-query-export-2022-exports-by-city.csv", "sample-query-export-2022-imports-by-city.csv"]
    for name, data in part.items():
        full_lines = files[name].split(b"\n")
        expected = [full_lines[0]] + [line for line in full_lines[1:] if line[1:7] in (b"202203", b"202204")]
        assert data.split(b"\n") == expected + [b""]


def _share(rows, flow: str, province: str, city: str, chapter: str | None, year: int | None = None) -> Decimal:
    """City's share of the province's flow (of one chapter, or of everything)."""
    city_sum = province_sum = 0
    for (y, f), data in rows.items():
        if f != flow or (year is not None and y != year):
            continue
        for row in data:
            if row[REG][:2] == province and (chapter is None or row[CHAPTER] == chapter):
                value = _yuan(row[VALUE])
                province_sum += value
                city_sum += value if row[REG] == city else 0
    return Decimal(city_sum) / Decimal(province_sum)


@pytest.mark.parametrize("year", YEARS)
def test_suzhou_specialises_in_electrical_goods(rows, year):
    """Suzhou's share of Jiangsu's chapter-85 exports is larger than its share of all Jiangsu exports."""
    assert _share(rows, "exports", "32", "3205", "85", year) > _share(rows, "exports", "32", "3205", None, year)


@pytest.mark.parametrize("year", YEARS)
def test_wenzhou_footwear_location_quotient(rows, year):
    """LQ = Wenzhou's share of Zhejiang's chapter-64 exports ÷ its share of all Zhejiang exports."""
    lq = _share(rows, "exports", "33", "3303", "64", year) / _share(rows, "exports", "33", "3303", None, year)
    assert lq > 2, lq


def test_more_specialisations_show(rows):
    def lq(flow, city, chapter):
        province = city[:2]
        return _share(rows, flow, province, city, chapter) / _share(rows, flow, province, city, None)

    assert lq("exports", "3407", "74") > 5  # Tongling copper
    assert lq("exports", "3405", "72") > 3  # Ma'anshan steel
    assert lq("exports", "3402", "87") > 1.5  # Wuhu vehicles
    assert lq("exports", "3307", "95") > 2  # Jinhua (Yiwu) toys
    assert lq("imports", "3302", "26") > 1.5  # Ningbo ores
    assert lq("imports", "3407", "26") > 2  # Tongling copper ore
    assert lq("exports", "3203", "84") > 1.5  # Xuzhou machinery


# --- as the pipeline sees them ----------------------------------------------------------------


def test_files_parse_with_the_real_parser(tmp_path, files):
    names = ["sample-query-export-2024-exports-by-city.csv", "sample-query-export-2025-imports-by-city.csv"]
    for name in names:
        path = tmp_path / name
        path.write_bytes(files[name])
        release = parse_release(path, name, ParseContext(today=TODAY))
        loaded = list(release.rows)
        assert release.format == "gacc_query_export" and release.raw_table.name == "query_export_rows"
        assert release.flow == ("export" if "-exports-" in name else "import"), "the direction from the file name"
        assert release.is_sample, "the sample- file-name prefix"
        assert release.rejected_rows == []
        assert release.currency == "CNY"
        year = int(name[20:24])
        assert release.observed_period.label == f"{year}-01..{year}-12"
        columns = [c.name for c in release.raw_table.columns]
        data = [dict(zip(["source_row", *columns], row)) for row in loaded]
        assert len(data) == files[name].count(b"\n") - 1
        assert {len(r["product_code"]) for r in data} == {2}
        assert {len(r["registration_code"]) for r in data} == {4}
        assert sum(r["value"] for r in data) == sum(
            int(row[VALUE].replace(",", "")) for row in list(csv.reader(io.StringIO(files[name].decode("gb18030"))))[1:]
        )


def test_write_city_query_exports_and_the_sample_set(tmp_path):
    paths = write_city_query_exports(tmp_path / "one", "2025-12", "2025-12")
    assert [p.name for p in paths] == ["sample-query-export-2025-exports-by-city.csv",
                                       "sample-query-export-2025-imports-by-city.csv"]
    assert all(p.read_bytes() == generate_city_query_exports("2025-12", "2025-12")[p.name] for p in paths)
    counts = write_sample_releases(tmp_path / "all", "2025-11", "2025-12")
    assert counts["city query exports"] == 2
    assert len(list((tmp_path / "all").glob("sample-query-export-*-by-city.csv"))) == 2


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError):
        generate_city_query_exports("2024-05", "2024-01")
    with pytest.raises(ValueError):
        generate_city_query_exports("2017-12", "2018-01")
