"""The location-table parser (a pure function) on the real GACC files and on broken ones."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import csv
import io

from orchestration.ingest.errors import ReleaseRejected
from orchestration.ingest.formats import parse_release
from orchestration.ingest.location_table import parse_location_grid
from orchestration.ingest.release import ParseContext
from orchestration.ingest.text import decode_text
from orchestration.reference import province_codes
from orchestration.samples.location_tables import generate_location_tables

from .conftest import require_real

TODAY = date(2026, 11, 28)


def _real(name: str) -> bytes:
    return (require_real() / name).read_bytes()


def _sample(period: str = "2024-03") -> str:
    return generate_location_tables(period, period)[f"sample-location-{period}.csv"].decode("utf-8-sig")


def _table(data: bytes, file_name: str, today: date = TODAY):
    """The location-table parser on a CSV file's bytes (the grid reader the pipeline uses for CSV)."""
    grid = [list(r) for r in csv.reader(io.StringIO(decode_text(data, file_name), newline=""))]
    return parse_location_grid(grid, file_name, province_codes(), today)


def _row(table, name):
    return next(r for r in table.rows if r.location_name == name)


# --- real files -------------------------------------------------------------------------------


def test_all_twelve_real_months_parse_with_period_from_file_name():
    folder = require_real()
    for month in range(1, 13):
        table = _table((folder / f"2024-{month:02d}.csv").read_bytes(), f"2024-{month:02d}.csv")
        assert (table.period.year, table.period.last_month) == (2024, month)
        assert table.unit == "万人民币"
        assert sum(r.row_kind == "province" for r in table.rows) == 31
        assert [r.row_kind for r in table.rows].count("nation") == 1
        assert table.rejected_rows == []


def test_real_figures_converted_from_wanyuan_to_yuan():
    table = _table(_real("2024-12.csv"), "2024-12.csv")
    shanghai = _row(table, "上海市")
    assert shanghai.values_cny["total_ytd"] == Decimal(426_808_654) * 10_000
    assert shanghai.values_cny["total_month"] == Decimal(39_290_069) * 10_000
    assert shanghai.yoy_pct["total_ytd_yoy_pct"] == Decimal("1.3")
    nation = _row(table, "总值")
    assert nation.province_code == "CN"
    assert nation.values_cny["total_ytd"] == Decimal(4_384_679_258) * 10_000


def test_zone_rows_belong_to_the_province_above_and_are_not_provinces():
    table = _table(_real("2024-12.csv"), "2024-12.csv")
    pudong = _row(table, "上海浦东新区")
    assert (pudong.row_kind, pudong.province_code) == ("zone", "310000")
    suzhou_park = _row(table, "苏州工业园")
    assert (suzhou_park.row_kind, suzhou_park.province_code) == ("zone", "320000")
    provinces = sum(r.values_cny["total_ytd"] for r in table.rows if r.row_kind == "province")
    nation = _row(table, "总值").values_cny["total_ytd"]
    # The provinces add up to China within GACC's rounding (1 万元 in 2024); zones added would not.
    assert abs(provinces - nation) <= 10_000 * 31
    zones = sum(r.values_cny["total_ytd"] or 0 for r in table.rows if r.row_kind == "zone")
    assert provinces + zones > nation * Decimal("1.3")


def test_rows_of_dashes_load_as_nulls_not_zeros():
    table = _table(_real("2024-12.csv"), "2024-12.csv")
    empty = _row(table, "佛山高新技术产业开发区")
    assert all(v is None for v in empty.values_cny.values())


def test_source_rows_are_file_line_numbers():
    table = _table(_real("2024-03.csv"), "2024-03.csv")
    # line 1–3 are headers; 总值 is line 4 of the real file
    assert _row(table, "总值").source_row == 4


def test_the_footer_note_is_not_a_location():
    table = _table(_real("2024-12.csv"), "2024-12.csv")
    assert any(n.startswith("注") for n in table.notes)
    assert all(not r.location_name.startswith("注") for r in table.rows)


# --- sample files (the generator's real layout, with a title row) -------------------------------


def test_sample_period_comes_from_the_title_row_even_under_another_name():
    table = _table(_sample("2024-03").encode("utf-8-sig"), "renamed.csv")
    assert table.period.label == "2024-03"
    assert table.is_sample


def test_gb18030_encoded_copy_parses_the_same():
    text = _sample()
    assert _table(text.encode("gb18030"), "2024-03.csv").rows == _table(text.encode("utf-8"), "2024-03.csv").rows


def test_identical_duplicated_total_row_is_kept_but_marked():
    lines = _sample().splitlines()
    total_line = next(line for line in lines if line.startswith("总值,"))
    lines.insert(lines.index(total_line) + 40, total_line)
    table = _table("\n".join(lines).encode(), "2024-03.csv")
    totals = [r for r in table.rows if r.location_name == "总值"]
    assert [r.is_duplicate for r in totals] == [False, True]


# --- broken files: each quarantined with a reason that names file, row, column ----------------


def _rejection(data: bytes, name: str = "2024-03.csv") -> ReleaseRejected:
    with pytest.raises(ReleaseRejected) as caught:
        _table(data, name)
    return caught.value


def _file_rejection(tmp_path, data: bytes, name: str = "2024-03.csv") -> ReleaseRejected:
    """Through format detection, as the pipeline sees a file."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ReleaseRejected) as caught:
        parse_release(path, name, ParseContext(today=TODAY))
    return caught.value


def test_broken_header_names_file_row_column_and_expectation():
    text = _sample().replace("收发货人所在地,进出口,进出口,出口,出口,进口,进口", "收发货人所在地,进出口,进出口,进口,出口,进口,进口", 1)
    error = _rejection(text.encode(), "2024-03.csv")
    assert "2024-03.csv" in error.message
    assert error.row == 3 and error.column == "4"
    assert "expected '出口'" in error.message


def test_real_file_with_broken_month_header():
    text = _real("2024-03.csv").decode("utf-8-sig").replace("1至3月", "1至4月", 1)
    error = _rejection(text.encode(), "2024-03.csv")
    assert error.row == 3 and "1至3月" in error.reason


def test_month_header_contradicting_file_name():
    data = _real("2024-03.csv")
    error = _rejection(data, "2024-04.csv")
    assert "2024-04" in error.reason and "3月" in error.reason


def test_no_period_anywhere():
    error = _rejection(_real("2024-03.csv"), "location-table.csv")
    assert "no period" in error.reason and "2024-03.csv" in error.reason


def test_future_period():
    text = _sample().replace("2024年3月", "2027年3月")
    assert "future" in _rejection(text.encode(), "x.csv").reason


def test_empty_binary_and_undecodable_files(tmp_path):
    assert "empty" in _file_rejection(tmp_path, b"  \n").reason
    assert "binary" in _file_rejection(tmp_path, b"\x00\x01junk\x00" * 10).reason
    assert "not UTF-8 or GB18030" in _file_rejection(tmp_path, b"\xff\xfe\x81\x30\xff\xff" * 10).reason


def test_unknown_layout(tmp_path):
    error = _file_rejection(tmp_path, "日期,城市,温度\n2024-01-01,上海,5\n".encode(), "weather.csv")
    assert "unknown layout" in error.reason and error.row == 1


def test_truncated_table_without_total_row():
    text = "\n".join(_sample().splitlines()[:4])  # title + three header rows, no data
    assert "总值" in _rejection(text.encode()).reason


def test_two_different_total_rows_contradict():
    lines = _sample().splitlines()
    total_line = next(line for line in lines if line.startswith("总值,"))
    cells = total_line.split(",")
    cells[2] = str(int(cells[2]) + 1)  # the YTD differs by 1 万元
    lines.append(",".join(cells))
    assert "appears twice" in _rejection("\n".join(lines).encode()).reason


def test_unknown_unit_label():
    text = _sample().replace("单位：万人民币", "单位：千美元")
    assert "unknown unit" in _rejection(text.encode()).reason


# --- bad rows inside a good file: rejected, the rest loads -----------------------------------


def test_bad_rows_are_rejected_with_row_and_column_and_others_load():
    lines = _sample().splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("河北省,"))
    cells = lines[i].split(",")
    cells[2] = "abc"
    lines[i] = ",".join(cells)
    j = next(i for i, line in enumerate(lines) if line.startswith("山西省,"))
    cells = lines[j].split(",")
    cells[3] = "-5"
    lines[j] = ",".join(cells)
    table = _table("\n".join(lines).encode(), "2024-03.csv")
    rejected = {r.source_row: r for r in table.rejected_rows}
    assert rejected[i + 1].column.startswith("3") and "not a number" in rejected[i + 1].reason
    assert rejected[j + 1].column.startswith("4") and "negative" in rejected[j + 1].reason
    assert sum(r.row_kind == "province" for r in table.rows) == 29


def test_unit_in_yi_yuan_is_converted():
    text = _sample().replace("单位：万人民币", "单位：亿元")
    table = _table(text.encode(), "2024-03.csv")
    reference = _table(_sample().encode(), "2024-03.csv")
    assert _row(table, "总值").values_cny["total_ytd"] == _row(reference, "总值").values_cny["total_ytd"] * 10_000
