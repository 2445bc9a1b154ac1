"""grids.read_grid: XLSX, XLS, HTML (also HTML named .xls) and CSV give one grid of cell strings.

Each spreadsheet is built in tmp_path from the real 2024-03 location CSV's own cells, with the
group header merged as in the files customs publishes, and must read back as the same cells
and parse to the same rows as the CSV.
"""

from __future__ import annotations

import csv
import html
import re
import zipfile
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import openpyxl
import pytest
import xlrd
import xlwt

from orchestration.ingest.errors import ReleaseRejected
from orchestration.ingest.grids import number_text, read_grid, sniff_kind
from orchestration.ingest.location_table import parse_location_grid
from orchestration.reference import province_codes

from .conftest import REAL  # noqa: E402  (../shared/fixtures/real beside the checkout)
LOCATION_CSV = REAL / "gacc_location_monthly" / "2024-03.csv"
TODAY = date(2026, 11, 28)
SHANGHAI_YTD_WANYUAN = 103_279_329  # 上海市 1至3月 2024 in the real file

GROUP_ROW = 1  # 收发货人所在地, 进出口, 进出口, 出口, 出口, 进口, 进口, … (0-based row index)


def _csv_grid() -> list[list[str]]:
    if not LOCATION_CSV.exists():
        pytest.skip(f"real fixture {LOCATION_CSV} not found (../shared is absent outside this workplace)")
    with open(LOCATION_CSV, encoding="utf-8-sig", newline="") as f:
        return [list(row) for row in csv.reader(f)]


def _merges(grid: list[list[str]]) -> list[tuple[int, int, int, int]]:
    """Merged ranges laid over the CSV grid (0-based, inclusive), as in the published spreadsheets."""
    last = len(grid) - 1
    return [
        (GROUP_ROW, 1, GROUP_ROW, 2),  # 进出口
        (GROUP_ROW, 3, GROUP_ROW, 4),  # 出口
        (GROUP_ROW, 5, GROUP_ROW, 6),  # 进口
        (GROUP_ROW, 0, GROUP_ROW + 1, 0),  # 收发货人所在地 over the group and month rows
        (0, 7, 0, 9),  # 单位：万人民币
        (last, 0, last, 9),  # the 注：… footnote row
    ]


def _covered(merges, r, c) -> bool:
    """A cell inside a merged range other than its top-left: left empty in the written file."""
    return any(r1 <= r <= r2 and c1 <= c <= c2 and (r, c) != (r1, c1) for r1, c1, r2, c2 in merges)


def _typed(cell: str):
    """What a spreadsheet would hold: numbers as numbers, so the reader's number formatting is tested."""
    if re.fullmatch(r"-?\d+", cell):
        return int(cell)
    if re.fullmatch(r"-?\d+\.\d+", cell):
        return float(cell)
    return cell


def _same_cells(expected: list[list[str]], got: list[list[str]]) -> None:
    """Cell by cell; numbers compare by value ('5.0' in the CSV may come back as '5')."""

    def trimmed(row):
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        return row

    expected = [trimmed(r) for r in expected]
    got = [trimmed(r) for r in got]
    assert len(got) == len(expected)
    for i, (e_row, g_row) in enumerate(zip(expected, got)):
        assert len(g_row) == len(e_row), f"row {i + 1}: {g_row} != {e_row}"
        for c, (e, g) in enumerate(zip(e_row, g_row)):
            if e == g:
                continue
            try:
                assert Decimal(e) == Decimal(g), f"row {i + 1} col {c + 1}: {g!r} != {e!r}"
            except InvalidOperation:
                raise AssertionError(f"row {i + 1} col {c + 1}: {g!r} != {e!r}") from None


def _parsed_rows(table):
    return [(r.location_name, r.row_kind, r.province_code, dict(r.values_cny), dict(r.yoy_pct)) for r in table.rows]


def _assert_parses_like_csv(grid: list[list[str]], file_name: str, csv_grid: list[list[str]]) -> None:
    expected = parse_location_grid(csv_grid, "2024-03.csv", province_codes(), TODAY)
    got = parse_location_grid(grid, file_name, province_codes(), TODAY)
    assert (got.period.year, got.period.last_month) == (2024, 3)
    assert got.unit == expected.unit == "万人民币"
    assert got.rejected_rows == []
    assert _parsed_rows(got) == _parsed_rows(expected)
    shanghai = next(r for r in got.rows if r.location_name == "上海市")
    assert shanghai.values_cny["total_ytd"] == Decimal(SHANGHAI_YTD_WANYUAN) * 10_000


def _write_xlsx(grid, path: Path, merges=()) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "进出口商品收发货人所在地总值表"
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            if not _covered(merges, r, c) and cell != "":
                sheet.cell(row=r + 1, column=c + 1, value=_typed(cell))
    for r1, c1, r2, c2 in merges:
        sheet.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
    workbook.save(path)
    return path


def _write_xls(grid, path: Path, merges=()) -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    for r1, c1, r2, c2 in merges:
        sheet.write_merge(r1, r2, c1, c2, _typed(grid[r1][c1]))
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            in_merge = any(r1 <= r <= r2 and c1 <= c <= c2 for r1, c1, r2, c2 in merges)
            if not in_merge and cell != "":
                sheet.write(r, c, _typed(cell))
    book.save(str(path))
    return path


def _html_page(grid) -> str:
    """The table as the customs site serves it: colspan/rowspan for merged cells, &nbsp; padding,
    inside a layout table and after a small navigation table."""
    merges = _merges(grid)
    lines = []
    for r, row in enumerate(grid):
        cells = []
        for c, cell in enumerate(row):
            if _covered(merges, r, c):
                continue
            span = next(((r2 - r1 + 1, c2 - c1 + 1) for r1, c1, r2, c2 in merges if (r1, c1) == (r, c)), (1, 1))
            attributes = (f' rowspan="{span[0]}"' if span[0] > 1 else "") + (f' colspan="{span[1]}"' if span[1] > 1 else "")
            text = html.escape(cell)
            if r > 2 and c == 0:
                text = "&nbsp;&nbsp;" + text  # indentation the site uses; read_grid strips it
            cells.append(f"<td{attributes}>{text}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return (
        "<!DOCTYPE html><HTML><head><meta charset='utf-8'><title>海关统计</title></head><body>"
        "<table><tr><td>首页</td><td>数据发布</td></tr></table>"
        "<table><tr><td><table border='1'>" + "\n".join(lines) + "</table></td></tr></table>"
        "</body></html>"
    )


# --- sniffing -----------------------------------------------------------------------------------


def test_sniff_kind_reads_the_bytes_not_the_extension(tmp_path):
    xlsx = _write_xlsx([["a", "1"]], tmp_path / "a.xlsx").read_bytes()
    assert sniff_kind(xlsx[:4096], "a.bin") == "xlsx"
    assert sniff_kind(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.csv") == "xls"
    assert sniff_kind("<TABLE><tr><td>收发货人所在地</td></tr></TABLE>".encode("gb18030"), "2024-03.xls") == "html"
    assert sniff_kind(b"\r\n  <!DOCTYPE html>\n<html lang='zh'>", "page.xls") == "html"
    assert sniff_kind("收发货人所在地,进出口\n".encode("utf-8-sig"), "2024-03.xls") == "csv"
    assert sniff_kind(b"PK\x03\x04" + b"\0" * 30 + b"data.csv", "archive.zip") == "zip"


def test_number_text_keeps_money_digits_and_no_float_noise():
    assert number_text(426808654.0) == "426808654"
    assert number_text(1206510099416.0) == "1206510099416"
    assert number_text(426808654) == "426808654"
    assert number_text(5.0) == "5"
    assert number_text(-2.5) == "-2.5"
    assert number_text(26.029999999999998) == "26.029999999999998"  # as stored: never rounded here
    assert number_text(0.0783, percent=True) == "7.83"
    assert number_text(float("nan")) == "nan"


# --- the real location table through each format --------------------------------------------


def test_csv_grid_is_the_csv(tmp_path):
    grid = _csv_grid()
    assert read_grid(LOCATION_CSV, "2024-03.csv") == grid
    _assert_parses_like_csv(read_grid(LOCATION_CSV, "2024-03.csv"), "2024-03.csv", grid)


def test_xlsx_with_merged_headers_reads_back_the_same_cells(tmp_path):
    grid = _csv_grid()
    path = _write_xlsx(grid, tmp_path / "2024-03.xlsx", _merges(grid))
    got = read_grid(path, "2024-03.xlsx")
    assert got[GROUP_ROW][:7] == ["收发货人所在地", "进出口", "进出口", "出口", "出口", "进口", "进口"]
    assert got[GROUP_ROW + 1][0] == "收发货人所在地"  # the vertical merge is filled too
    _same_cells(grid, got)
    shanghai = next(row for row in got if row[0] == "上海市")
    assert shanghai[2] == str(SHANGHAI_YTD_WANYUAN)  # an int cell, no '.0'
    _assert_parses_like_csv(got, "2024-03.xlsx", grid)


def test_xlsx_named_xls_is_read_by_content(tmp_path):
    path = _write_xlsx([["收发货人所在地", "进出口"], ["上海市", "103279329"]], tmp_path / "2024-03.xls")
    assert read_grid(path, "2024-03.xls") == [["收发货人所在地", "进出口"], ["上海市", "103279329"]]


def test_xlsx_rows_keep_their_sheet_row_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active["B3"] = "收发货人所在地"
    workbook.active["A5"] = 1
    workbook.save(tmp_path / "gaps.xlsx")
    assert read_grid(tmp_path / "gaps.xlsx", "gaps.xlsx") == [["", ""], ["", ""], ["", "收发货人所在地"], ["", ""], ["1", ""]]


def test_xlsx_percent_formatted_cells_read_as_shown(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["name", "value", "yoy"])
    sheet.append(["上海市", 1032793290000.0, 0.05])
    sheet["C2"].number_format = "0.0%"
    workbook.save(tmp_path / "p.xlsx")
    assert read_grid(tmp_path / "p.xlsx", "p.xlsx")[1] == ["上海市", "1032793290000", "5"]


def test_xls_with_merged_headers_reads_back_the_same_cells(tmp_path):
    grid = _csv_grid()
    path = _write_xls(grid, tmp_path / "2024-03.xls", _merges(grid))
    got = read_grid(path, "2024-03.xls")
    assert got[GROUP_ROW][:7] == ["收发货人所在地", "进出口", "进出口", "出口", "出口", "进口", "进口"]
    _same_cells(grid, got)
    shanghai = next(row for row in got if row[0] == "上海市")
    assert shanghai[2] == str(SHANGHAI_YTD_WANYUAN)  # xlrd gives 103279329.0; the grid has no '.0'
    _assert_parses_like_csv(got, "2024-03.xls", grid)


def test_xls_without_formatting_info_fills_header_merges_from_the_left(tmp_path, monkeypatch):
    grid = _csv_grid()
    path = _write_xls(grid, tmp_path / "2024-03.xls", _merges(grid))
    real_open = xlrd.open_workbook

    def no_formatting(*args, **kwargs):
        if kwargs.get("formatting_info"):
            raise NotImplementedError("formatting_info=True not yet implemented")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(xlrd, "open_workbook", no_formatting)
    got = read_grid(path, "2024-03.xls")
    assert got[GROUP_ROW][:7] == ["收发货人所在地", "进出口", "进出口", "出口", "出口", "进口", "进口"]
    assert got[-1][1] == ""  # a data/footnote row is never filled: a blank there means no value
    _assert_parses_like_csv(got, "2024-03.xls", grid)


def test_html_page_named_xls_picks_the_location_table(tmp_path):
    grid = _csv_grid()
    path = tmp_path / "2024-03.xls"  # what the customs site serves: HTML with an .xls name
    path.write_text(_html_page(grid), encoding="utf-8")
    got = read_grid(path, "2024-03.xls")
    assert got[GROUP_ROW][:7] == ["收发货人所在地", "进出口", "进出口", "出口", "出口", "进口", "进口"]
    _same_cells(grid, got)
    assert not any("\u00a0" in cell for row in got for cell in row)
    _assert_parses_like_csv(got, "2024-03.xls", grid)


def test_html_in_gb18030_without_location_header_takes_the_largest_table(tmp_path):
    page = (
        "<html><body><table><tr><td>导航</td></tr></table>"
        "<table><tr><td>国别</td><td>出口</td></tr><tr><td>美国</td><td>1</td></tr>"
        "<tr><td>日本</td><td>2</td></tr></table></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_bytes(page.encode("gb18030"))
    assert read_grid(path, "page.html") == [["国别", "出口"], ["美国", "1"], ["日本", "2"]]


# --- unreadable files ------------------------------------------------------------------------


def test_corrupt_xlsx_is_rejected(tmp_path):
    good = _write_xlsx([["收发货人所在地", "1"]], tmp_path / "good.xlsx").read_bytes()
    truncated = tmp_path / "2024-03.xlsx"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ReleaseRejected, match="cannot be read as XLSX"):
        read_grid(truncated, "2024-03.xlsx")
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04xl/" + b"\x00garbage" * 100)
    with pytest.raises(ReleaseRejected, match="cannot be read as XLSX"):
        read_grid(garbage, "garbage.xlsx")


def test_zip_without_workbook_is_rejected(tmp_path):
    path = tmp_path / "tables.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("2024-03.csv", "收发货人所在地,进出口\n")
    with pytest.raises(ReleaseRejected, match="not an XLSX workbook"):
        read_grid(path, "tables.zip")


def test_corrupt_xls_is_rejected(tmp_path):
    path = tmp_path / "2024-03.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00garbage" * 200)
    with pytest.raises(ReleaseRejected, match="cannot be read as XLS"):
        read_grid(path, "2024-03.xls")


def test_empty_and_binary_files_are_rejected(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ReleaseRejected, match="empty"):
        read_grid(empty, "empty.csv")
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02" * 50)
    with pytest.raises(ReleaseRejected, match="binary"):
        read_grid(binary, "x.csv")


def test_tab_separated_text_is_split_on_tabs(tmp_path):
    path = tmp_path / "2024-03.xls"
    path.write_text("收发货人所在地\t进出口\n上海市\t1,032\n", encoding="gb18030")
    assert read_grid(path, "2024-03.xls") == [["收发货人所在地", "进出口"], ["上海市", "1,032"]]

