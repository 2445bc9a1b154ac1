"""The scale generator (orchestration/samples/scale.py): SAMPLE query exports in the real format,
read by the warehouse's own parser without a rejected row, exact row counts, the same bytes on
every run, unique keys per month. Kept small (50k rows); its speed is measured by `make bench`."""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.ingest.formats import parse_release
from orchestration.ingest.release import ParseContext
from orchestration.samples import scale
from orchestration.samples.__main__ import main
from orchestration.samples.catalogue import load_partners

from .conftest import REPO_ROOT

ROWS = 50_000
MONTHS = "2021-11..2022-02"  # across a year end and the 2022 HS switch
HEADER = ('"数据年月","商品编码","商品名称","贸易伙伴编码","贸易伙伴名称","贸易方式编码","贸易方式名称",'
          '"注册地编码","注册地名称","第一数量","第一计量单位","第二数量","第二计量单位","人民币",')
LINE = re.compile(r'^(?:"[^"]*",){14}$')  # every field quoted, a trailing comma


@pytest.fixture(scope="module")
def one_file(tmp_path_factory) -> scale.ScaleFile:
    return scale.write_scale_file(tmp_path_factory.mktemp("scale"), ROWS, MONTHS)


@pytest.fixture(scope="module")
def parsed_rows(one_file):
    release = parse_release(one_file.path, one_file.path.name, ParseContext(today=date.today(), sidecar={}))
    rows = list(release.rows)  # the stream: rejected rows are collected while it is read
    return release, rows


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_warehouse_parser_reads_every_row_and_rejects_none(one_file, parsed_rows):
    release, rows = parsed_rows
    assert release.format == "gacc_query_export"
    assert release.rejected_rows == []
    assert len(rows) == ROWS == one_file.rows
    assert release.flow == "export" and release.currency == "CNY"
    assert release.is_sample
    assert {r[1] for r in rows} == {date(2021, 11, 1), date(2021, 12, 1), date(2022, 1, 1), date(2022, 2, 1)}
    assert one_file.size_bytes == one_file.path.stat().st_size


def test_rows_are_unique_per_month_product_partner_mode_and_registration(parsed_rows):
    _, rows = parsed_rows
    keys = [(r[1], r[4], r[6], r[8], r[10]) for r in rows]
    assert len(set(keys)) == len(keys)
    assert keys == sorted(keys)  # the platform's order: month, commodity, partner, trade mode, 注册地


def test_realistic_dimensions_from_the_catalogue_and_the_seeds(parsed_rows):
    _, rows = parsed_rows
    partners = load_partners()
    with open(REPO_ROOT / "dbt_project" / "seeds" / "provinces.csv", encoding="utf-8", newline="") as f:
        provinces = {r["region_code"][:2]: r["region_name_zh"] for r in csv.DictReader(f)}
    with open(REPO_ROOT / "dbt_project" / "seeds" / "trade_modes.csv", encoding="utf-8", newline="") as f:
        modes = {r["trade_mode_code"] for r in csv.DictReader(f)}
    products = {p.hs8: p.name_zh for p in scale.dimensions().products}
    assert {r[10]: r[11] for r in rows} == provinces  # all 31 provinces, 2-digit codes, their names
    assert {r[6] for r in rows} <= set(partners) and len({r[6] for r in rows}) > 50
    assert all(partners[r[6]].name_zh == r[7] for r in rows)
    assert {r[8] for r in rows} <= modes
    assert all(products[r[4]] == r[5] and len(r[4]) == 8 for r in rows)
    # The solar-cell code switches with HS2022: 85414020 until 2021-12, 85414200/85414300 after.
    solar = {(r[1].year, r[4]) for r in rows if r[4].startswith("8541")}
    assert {code for year, code in solar if year == 2021} == {"85414020"}
    assert {code for year, code in solar if year == 2022} == {"85414200", "85414300"}
    assert all(r[16] > 0 for r in rows)


def test_province_months_add_up_to_the_sample_location_tables(parsed_rows):
    """Whatever the density, a province's month is its SAMPLE location-table figure (rounded down), so
    the detail reconciles with the location tables and no product's share of its region exceeds 100 %."""
    _, rows = parsed_rows
    sums: dict[tuple[date, str], Decimal] = {}
    counts: dict[tuple[date, str], int] = {}
    for r in rows:
        sums[(r[1], r[10])] = sums.get((r[1], r[10]), Decimal(0)) + r[16]
        counts[(r[1], r[10])] = counts.get((r[1], r[10]), 0) + 1
    regions = [code for code, _ in scale.dimensions().regions]
    checked = 0
    for (month, code), total in sums.items():
        target = Decimal(int(scale.province_targets("exports", month.year, month.month)[regions.index(code)]))
        assert total <= target
        if counts[(month, code)] >= 100:
            assert total >= target * Decimal("0.9999")
            checked += 1
    assert checked >= 60


def test_the_real_format_quirks(one_file):
    data = one_file.path.read_bytes()
    assert one_file.path.name == "sample-scale-query-export-2021-11..2022-02-exports.csv"
    assert b"\r" not in data and data.endswith(b'",\n')
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # GB18030, not UTF-8
    lines = data.decode("gb18030").split("\n")[:-1]
    assert lines[0] == HEADER
    assert len(lines) == ROWS + 1
    assert all(LINE.match(line) for line in lines)
    cells = list(csv.reader(lines[1:]))
    values = [c[13] for c in cells]
    assert any(re.fullmatch(r"\d{1,3}(,\d{3}){2,}", v) for v in values)  # thousands separators in 人民币
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", v) for v in values)
    assert all(re.fullmatch(r"\d+", c[9]) and re.fullmatch(r"\d+", c[11]) for c in cells)  # quantities without
    assert any(c[11:13] == ["0", "?"] for c in cells)  # no second quantity
    assert any(c[12] == "千克" and c[11] != "0" for c in cells)
    assert any("，" in c[2] for c in cells)  # a full-width comma in a name (黑大豆，种用除外, …)


def test_the_same_arguments_give_the_same_bytes(one_file, tmp_path):
    again = scale.write_scale_file(tmp_path, ROWS, MONTHS)
    assert _sha256(again.path) == _sha256(one_file.path)
    other_seed = scale.write_scale_file(tmp_path / "seed", ROWS, MONTHS, seed=7)
    assert _sha256(other_seed.path) != _sha256(one_file.path)


def test_one_file_per_month_from_the_command_line_holds_the_same_month_rows(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--scale", "--months", "2022-01..2022-03", "--rows-per-month", "1000"]) == 0
    assert "3,000 rows of SAMPLE query exports" in capsys.readouterr().out
    files = sorted(tmp_path.glob("*.csv"))
    assert [f.name for f in files] == [f"sample-scale-query-export-2022-0{m}-exports.csv" for m in (1, 2, 3)]
    for f in files:
        release = parse_release(f, f.name, ParseContext(today=date.today(), sidecar={}))
        rows = list(release.rows)
        assert len(rows) == 1000 and not release.rejected_rows
        assert sum(r[16] for r in rows) > Decimal(0)
    # A month's rows do not depend on which other months are generated.
    single = scale.write_scale_file(tmp_path / "one", 3000, "2022-01..2022-03")
    body = b"".join(f.read_bytes().split(b"\n", 1)[1] for f in files)
    assert single.path.read_bytes().split(b"\n", 1)[1] == body


def test_command_line_one_file_and_its_errors(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--scale", "--rows", "2500", "--months", "2024-03", "--flow", "imports"]) == 0
    path = tmp_path / "sample-scale-query-export-2024-03..2024-03-imports.csv"
    assert path.read_bytes().count(b"\n") == 2501
    release = parse_release(path, path.name, ParseContext(today=date.today(), sidecar={}))
    assert release.flow == "import" and len(list(release.rows)) == 2500
    capacity = scale.month_capacity("exports", "2024-03")
    for argv in (
        ["--scale"],  # neither --rows nor --rows-per-month
        ["--scale", "--rows", "10", "--rows-per-month", "10", "--months", "2024-01..2024-02"],
        ["--scale", "--rows-per-month", "10"],  # no months
        ["--scale", "--rows", str(capacity + 1), "--months", "2024-03"],  # more keys than a month holds
        ["--rows", "10"],  # without --scale
    ):
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path / "errors"), *argv])
    assert not (tmp_path / "errors").exists() or not any((tmp_path / "errors").iterdir())
