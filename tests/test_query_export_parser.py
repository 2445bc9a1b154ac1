"""The query-export parser (数据在线查询 exports) on the real files and on synthetic broken ones.

Real files are read from ../shared beside the checkout, never copied into the repo. They carry no
direction (it was a query parameter) so they are parsed under names that give it, as the loader
sees them once a person has named them in the inbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.ingest import query_export
from orchestration.ingest.errors import ReleaseRejected
from orchestration.ingest.periods import Period
from orchestration.ingest.query_export import (
    FORMAT,
    RAW_TABLE,
    SCOPE,
    looks_like_query_export,
    parse_query_export,
)
from orchestration.ingest.release import ParseContext, read_sidecar
from orchestration.ingest.text import decode_text

from .conftest import require_real

from .conftest import REAL  # noqa: E402  (../shared/fixtures/real beside the checkout)
REAL_QUERY = REAL / "gacc_query_export"
TODAY = date(2026, 11, 28)
COLUMNS = [c.name for c in RAW_TABLE.columns]

# Every real file, and the name it is parsed under (the direction — and for files without a month
# column the period — is what the name adds), with its expected row count.
REAL_FILES = {
    "chinese-full-by-province.csv": ("chinese-full-by-province-exports-2024.csv", 184),
    "english-full.csv": ("english-full-exports.csv", 5),
    "english-degenerate.csv": ("english-degenerate-exports-2026-01.csv", 3),
    "soybean-2023-imports.csv": ("soybean-2023-imports.csv", 40),
    "soybean-2024-imports.csv": ("soybean-2024-imports.csv", 36),
    "soybean-2024-exports.csv": ("soybean-2024-exports.csv", 29),
}

CN_HEADER = (
    "数据年月,商品编码,商品名称,贸易伙伴编码,贸易伙伴名称,贸易方式编码,贸易方式名称,"
    "注册地编码,注册地名称,第一数量,第一计量单位,第二数量,第二计量单位,人民币,"
)
CN_ROW = '"202403","29012920","乙炔","110","中国香港","10","一般贸易","44","广东省","214,847","千克","0","?","5,848,714",'


def _context(sidecar: dict | None = None, today: date = TODAY) -> ParseContext:
    return ParseContext(today=today, sidecar=sidecar or {})


def _parse(path: Path, file_name: str | None = None, sidecar: dict | None = None, today: date = TODAY):
    """Parse and read every row; returns (release, rows as dicts keyed by column name)."""
    release = parse_query_export(path, file_name or path.name, _context(sidecar, today))
    rows = [dict(zip(["source_row", *COLUMNS], row, strict=True)) for row in release.rows]
    return release, rows


def _rejected(path: Path, file_name: str | None = None, sidecar: dict | None = None, today: date = TODAY):
    """The ReleaseRejected raised by parsing or by streaming the rows."""
    with pytest.raises(ReleaseRejected) as caught:
        _parse(path, file_name, sidecar, today)
    return caught.value


def _write(folder: Path, name: str, lines: list[str], encoding: str = "gb18030", bom: bytes = b"", eol: str = "\n"):
    path = folder / name
    path.write_bytes(bom + eol.join(lines).encode(encoding) + eol.encode())
    return path


def _real(name: str) -> Path:
    return require_real(REAL_QUERY) / name


# --- the real files ---------------------------------------------------------------------------


def test_every_real_file_is_covered_here():
    present = {p.name for p in require_real(REAL_QUERY).glob("*.csv")}
    assert present == set(REAL_FILES), "a real query export without a test: add it to REAL_FILES"


@pytest.mark.parametrize("real_name", sorted(REAL_FILES))
def test_every_real_file_is_detected_and_loads_every_row(real_name):
    file_name, count = REAL_FILES[real_name]
    path = _real(real_name)
    assert looks_like_query_export(path.read_bytes()[:65536].decode("gb18030"))
    release, rows = _parse(path, file_name)
    assert (release.format, release.scope, release.raw_table) == (FORMAT, SCOPE, RAW_TABLE)
    assert len(rows) == count
    assert release.rejected_rows == []
    assert not release.is_sample
    assert release.title is None
    assert all(len(r["product_code"]) == 8 and r["product_code"].isdigit() for r in rows)
    assert all(isinstance(r["value"], Decimal) and r["value"] >= 0 for r in rows)
    # source_row is the line in the file: the header is line 1, the first data row line 2
    assert [r["source_row"] for r in rows] == list(range(2, count + 2))


def test_chinese_full_by_province_figures():
    release, rows = _parse(_real("chinese-full-by-province.csv"), "chinese-full-by-province-exports-2024.csv")
    assert (release.flow, release.currency, release.unit) == ("export", "CNY", "元")
    # no month column: a plain year in the name means the whole year, and rows carry no month
    assert release.period == Period(2024, 1, 12)
    assert release.observed_period is None
    assert any("no month column" in n for n in release.notes)
    assert rows[0] == {
        "source_row": 2,
        "period": None,
        "flow": "export",
        "currency": "CNY",
        "product_code": "29012920",
        "product_name": "乙炔",
        "partner_code": "110",
        "partner_name": "中国香港",
        "trade_mode_code": "10",
        "trade_mode_name": "一般贸易",
        "registration_code": "44",
        "registration_name": "广东省",
        "quantity_1": Decimal("214847"),
        "unit_1": "千克",
        "quantity_2": Decimal("0"),
        "unit_2": None,
        "value": Decimal("5848714"),
    }
    last = rows[-1]
    assert (last["source_row"], last["product_code"], last["partner_name"]) == (185, "29021100", "澳大利亚")
    assert (last["registration_code"], last["registration_name"]) == ("41", "河南省")
    assert (last["quantity_1"], last["value"]) == (Decimal("12000"), Decimal("87948"))
    assert {r["registration_code"] for r in rows} >= {"31", "32", "33", "34", "44"}


def test_real_file_without_direction_in_its_name_is_rejected_with_how_to():
    error = _rejected(_real("chinese-full-by-province.csv"))
    assert "direction unknown" in error.reason
    assert "出口/进口" in error.reason and "export/import" in error.reason
    assert 'chinese-full-by-province.csv.json' in error.reason and '{"flow": "export"}' in error.reason


def test_real_file_with_a_sidecar_under_its_original_name(tmp_path):
    """As in the inbox: the file as received, and <file>.json beside it."""
    inbox_file = tmp_path / "chinese-full-by-province.csv"
    shutil.copyfile(_real("chinese-full-by-province.csv"), inbox_file)
    (tmp_path / "chinese-full-by-province.csv.json").write_text(
        json.dumps({"flow": "export", "period": "2024-01..2024-12"}), encoding="utf-8"
    )
    release = parse_query_export(inbox_file, inbox_file.name, _context(read_sidecar(inbox_file)))
    rows = list(release.rows)
    assert (release.flow, release.period, len(rows)) == ("export", Period(2024, 1, 12), 184)
    assert any("sidecar" in n for n in release.notes)


def test_real_file_without_period_anywhere_is_rejected_with_how_to():
    error = _rejected(_real("chinese-full-by-province.csv"), "chinese-full-by-province-exports.csv")
    assert "period unknown" in error.reason
    assert "2024-03" in error.reason and '"period"' in error.reason


def test_english_full_figures():
    release, rows = _parse(_real("english-full.csv"), "english-full-exports.csv")
    assert (release.flow, release.currency, release.unit) == ("export", "USD", "美元")
    assert release.period == release.observed_period == Period(2026, 1, 1)
    first = rows[0]
    assert first["period"] == date(2026, 1, 1)
    assert first["value"] == Decimal("315286") and first["currency"] == "USD"
    assert first["partner_name"] == "Hong Kong，China"  # the full-width comma is part of the name
    assert (first["quantity_1"], first["unit_1"], first["unit_2"]) == (Decimal("81782"), "Kilogram", None)
    taiwan = next(r for r in rows if r["partner_code"] == "143")
    assert taiwan["partner_name"] == "Taiwan，China"
    assert (taiwan["trade_mode_code"], taiwan["trade_mode_name"]) == ("15", "Processing with Imported Materials")
    assert (taiwan["registration_code"], taiwan["registration_name"]) == ("61", "Shaanxi Province")
    assert taiwan["value"] == Decimal("234351")
    assert rows[1]["partner_name"] == "Macao,China"  # an ASCII comma inside quotes is not a separator


def test_english_degenerate_has_no_dimension_columns():
    release, rows = _parse(_real("english-degenerate.csv"), "english-degenerate-exports-2026-01.csv")
    assert release.period == Period(2026, 1, 1)
    assert [r["product_code"] for r in rows] == ["29012920", "29012990", "29021100"]
    assert rows[1]["product_name"] == "Unsaturated acyclic hydrocarbons, nes"
    assert rows[1]["value"] == Decimal("17715334")
    for column in ("period", "partner_code", "partner_name", "trade_mode_code", "registration_code"):
        assert {r[column] for r in rows} == {None}


def test_soybean_imports_2023_by_month():
    release, rows = _parse(_real("soybean-2023-imports.csv"))
    assert (release.flow, release.currency) == ("import", "CNY")
    assert release.period == release.observed_period == Period(2023, 1, 12)
    assert {r["period"] for r in rows} == {date(2023, m, 1) for m in range(1, 13)}
    december_us = [r for r in rows if r["period"] == date(2023, 12, 1) and r["partner_code"] == "502"]
    assert len(december_us) == 1
    row = december_us[0]
    assert (row["partner_name"], row["product_code"], row["product_name"]) == ("美国", "12019019", "转基因黄大豆")
    assert (row["quantity_1"], row["value"]) == (Decimal("3848790382"), Decimal("15902135048"))
    assert row["registration_code"] is None and row["trade_mode_code"] is None


def test_soybean_2024_exports_and_imports_take_direction_from_the_name():
    exports, export_rows = _parse(_real("soybean-2024-exports.csv"))
    imports, import_rows = _parse(_real("soybean-2024-imports.csv"))
    assert (exports.flow, imports.flow) == ("export", "import")
    assert exports.observed_period == imports.observed_period == Period(2024, 1, 12)
    black = [r for r in export_rows if r["period"] == date(2024, 12, 1) and r["product_code"] == "12019020"]
    assert black[0]["product_name"] == "黑大豆，种用除外"
    assert black[0]["value"] == Decimal("587518")
    assert import_rows[0]["value"] == Decimal("639240426")


def test_direction_name_and_sidecar_must_agree():
    error = _rejected(_real("soybean-2024-imports.csv"), sidecar={"flow": "export"})
    assert "import" in error.reason and "export" in error.reason
    release, _ = _parse(_real("soybean-2024-imports.csv"), sidecar={"flow": "import"})
    assert release.flow == "import"


def test_detection_rejects_other_layouts():
    location = require_real(REAL / "gacc_location_monthly") / "2024-03.csv"
    assert not looks_like_query_export(decode_text(location.read_bytes(), location.name))
    assert not looks_like_query_export("a,b,c\n1,2,3\n")
    assert not looks_like_query_export("")
    assert looks_like_query_export("\ufeff" + CN_HEADER + "\n" + CN_ROW)
    assert looks_like_query_export("SAMPLE DATA — not official figures\n" + CN_HEADER + "\n")


# --- synthetic files: encodings and layouts ---------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b""), ("gb18030", b"\x84\x31\x95\x33")],
    ids=["utf8", "utf8-bom", "gb18030", "gb18030-bom"],
)
def test_encodings(tmp_path, encoding, bom):
    path = _write(tmp_path, "exports.csv", [CN_HEADER, CN_ROW], encoding, bom)
    release, rows = _parse(path)
    assert len(rows) == 1
    row = rows[0]
    assert (row["partner_name"], row["quantity_1"], row["value"]) == ("中国香港", Decimal("214847"), Decimal("5848714"))
    assert release.period == Period(2024, 3, 3)


def test_crlf_line_endings_and_no_trailing_comma(tmp_path):
    path = _write(tmp_path, "出口.csv", [CN_HEADER.rstrip(","), CN_ROW.rstrip(","), CN_ROW], eol="\r\n")
    release, rows = _parse(path)
    assert release.flow == "export"
    assert [r["source_row"] for r in rows] == [2, 3]
    assert rows[0]["unit_1"] == "千克"


def test_columns_are_mapped_by_name_in_any_order(tmp_path):
    lines = [
        '"美元","第一计量单位","第一数量","贸易伙伴名称","商品编码","贸易伙伴编码","数据年月"',
        '"1,234.5","台","7","越南","01012100","141","202402"',
    ]
    release, rows = _parse(_write(tmp_path, "2024进口.csv", lines))
    row = rows[0]
    assert (release.flow, release.currency, release.unit) == ("import", "USD", "美元")
    assert row["product_code"] == "01012100"  # leading zero kept
    assert (row["partner_code"], row["partner_name"], row["unit_1"]) == ("141", "越南", "台")
    assert (row["quantity_1"], row["value"], row["period"]) == (Decimal("7"), Decimal("1234.5"), date(2024, 2, 1))
    assert row["quantity_2"] is None and row["trade_mode_code"] is None


def test_english_headers_ignore_case_and_spacing(tmp_path):
    lines = [
        '"date of data","COMMODITY CODE","Trading  partner","Quantity","Unit","RMB",',
        '"202401","29012920","Chile","5","?","9",',
    ]
    release, rows = _parse(_write(tmp_path, "Exports.csv", lines))
    assert (release.currency, rows[0]["partner_name"], rows[0]["unit_1"]) == ("CNY", "Chile", None)


def test_missing_units_and_unknown_codes_load(tmp_path):
    lines = [
        CN_HEADER,
        '"202403","29012920","乙炔","999","未知伙伴","99","未知方式","98","未知地","1","？","2","?","3",',
    ]
    _, rows = _parse(_write(tmp_path, "exports.csv", lines))
    row = rows[0]
    assert (row["unit_1"], row["unit_2"]) == (None, None)
    assert (row["partner_code"], row["trade_mode_code"], row["registration_code"]) == ("999", "99", "98")


def test_bad_and_negative_values_are_rejected_rows_and_the_rest_loads(tmp_path):
    lines = [
        CN_HEADER,
        CN_ROW,
        '"202403","29012920","乙炔","110","中国香港","10","一般贸易","44","广东省","214847","千克","0","?","n/a",',
        "",  # an empty line: skipped, but still counted as line 4
        '"202403","29012920","乙炔","110","中国香港","10","一般贸易","44","广东省","-5","千克","0","?","100",',
        '"202403","29012920","乙炔","110","中国香港","10","一般贸易","44","广东省","5","千克","0","?","-100",',
        '"","","","","","","","","","","","","","",',  # all cells empty: skipped
        '"202403","29012920","乙炔","110"',
        '"202403","29012920","乙炔","110","中国香港","10","一般贸易","44","广东省","5","千克","0","?","1","extra"',
        '"202413","29012920","乙炔","110","中国香港","10","一般贸易","44","广东省","5","千克","0","?","1",',
        '"202403","29012920","乙炔","110","中国香港","10","一般贸易","44","广东省","5","千克","0","?","",',
        CN_ROW,
    ]
    release, rows = _parse(_write(tmp_path, "exports.csv", lines))
    assert [r["source_row"] for r in rows] == [2, 12]
    rejected = [(r.source_row, r.column, r.raw_value) for r in release.rejected_rows]
    assert rejected == [
        (3, "14 (人民币)", "n/a"),
        (5, "10 (第一数量)", "-5"),
        (6, "14 (人民币)", "-100"),
        (8, "(whole row)", "202403,29012920,乙炔,110"),
        (9, "(whole row)", "202403,29012920,乙炔,110,中国香港,10,一般贸易,44,广东省,5,千克,0,?,1,extra"),
        (10, "1 (数据年月)", "202413"),
        (11, "14 (人民币)", ""),
    ]
    reasons = [r.reason for r in release.rejected_rows]
    assert "not a number" in reasons[0]
    assert "negative" in reasons[1] and "negative" in reasons[2]
    assert "wrong number of fields" in reasons[3]
    assert "YYYYMM" in reasons[5]


def test_seven_digit_hs_code_is_rejected_with_the_reason(tmp_path):
    lines = [
        CN_HEADER,
        CN_ROW.replace('"29012920"', '"1012100"'),
        CN_ROW.replace('"29012920"', '"2901292X"'),
        CN_ROW.replace('"29012920"', '"01012100"'),
    ]
    release, rows = _parse(_write(tmp_path, "exports.csv", lines))
    assert [r["product_code"] for r in rows] == ["01012100"]
    (seven, letters) = release.rejected_rows
    assert (seven.source_row, seven.column, seven.raw_value) == (2, "2 (商品编码)", "1012100")
    assert "leading zero" in seven.reason and "01012100" in seven.reason and "8-digit" in seven.reason
    assert "2, 4, 6 or 8 digits" in letters.reason


def test_raw_column_is_product_code():
    assert "product_code" in COLUMNS and "hs8" not in COLUMNS
    assert COLUMNS.index("product_code") == COLUMNS.index("currency") + 1  # where hs8 was: inserts are positional


@pytest.mark.parametrize(
    ("code", "name"),
    [("85", "电机、电气设备及其零件"), ("8542", "集成电路"), ("854231", "处理器及控制器"), ("01", "活动物"),
     ("0101", "马、驴、骡"), ("010121", "改良种用马")],
)
def test_chapter_hs4_and_hs6_codes_load_as_text(tmp_path, code, name):
    """The platform also exports at codeLength 2, 4 and 6; leading zeros are kept."""
    lines = [CN_HEADER] + [CN_ROW.replace('"29012920","乙炔"', f'"{code}","{name}"')] * 2
    release, rows = _parse(_write(tmp_path, "exports.csv", lines))
    assert release.rejected_rows == []
    assert [(r["product_code"], r["product_name"]) for r in rows] == [(code, name)] * 2


def test_a_city_by_chapter_export_like_the_sample(tmp_path):
    """注册地 at prefecture level (4 digits) with 2-digit chapters, as the city query exports."""
    lines = [
        '"数据年月","商品编码","商品名称","注册地编码","注册地名称","人民币",',
        '"202403","64","鞋靴、护腿和类似品及其零件","3303","温州市","1,234,567",',
        '"202403","85","电机、电气设备及其零件","3205","苏州市","98,765,432,100",',
        '"202403","85","电机、电气设备及其零件","32","江苏省","5",',
        '"202403","85","电机、电气设备及其零件","32059","苏州工业园区","7",',
    ]
    release, rows = _parse(_write(tmp_path, "sample-query-export-2024-exports-by-city.csv", lines))
    assert (release.flow, release.is_sample, release.rejected_rows) == ("export", True, [])
    assert [(r["product_code"], r["registration_code"], r["registration_name"]) for r in rows] == [
        ("64", "3303", "温州市"), ("85", "3205", "苏州市"), ("85", "32", "江苏省"), ("85", "32059", "苏州工业园区"),
    ]
    assert rows[1]["value"] == Decimal("98765432100")


@pytest.mark.parametrize(
    ("short", "meant"),
    [("1", "01"), ("101", "0101"), ("10121", "010121"), ("1012100", "01012100")],
)
def test_odd_length_codes_are_rejected_with_the_leading_zero_reason(tmp_path, short, meant):
    lines = [CN_HEADER, CN_ROW.replace('"29012920"', f'"{short}"'), CN_ROW.replace('"29012920"', f'"{meant}"')]
    release, rows = _parse(_write(tmp_path, "exports.csv", lines))
    assert [r["product_code"] for r in rows] == [meant]
    (bad,) = release.rejected_rows
    assert (bad.source_row, bad.column, bad.raw_value) == (2, "2 (商品编码)", short)
    assert "leading zero" in bad.reason and f"0{short}" in bad.reason
    assert f"{len(short)}-digit commodity code" in bad.reason and f"{len(meant)}-digit HS code" in bad.reason


@pytest.mark.parametrize("code", ["123456789", "854", "８５", "85.0", "85 42"])
def test_other_codes_are_rejected_rows(tmp_path, code):
    lines = [CN_HEADER, CN_ROW, CN_ROW.replace('"29012920"', f'"{code}"')]
    release, rows = _parse(_write(tmp_path, "exports.csv", lines))
    assert len(rows) == 1
    (bad,) = release.rejected_rows
    assert (bad.source_row, bad.column, bad.raw_value) == (3, "2 (商品编码)", code)
    if code == "854":  # odd: one digit short of HS4
        assert "leading zero" in bad.reason
    else:
        assert "2, 4, 6 or 8 digits" in bad.reason


def test_mixed_code_lengths_reject_the_file_naming_the_row(tmp_path):
    """One query has one codeLength: chapter totals mixed with HS8 rows would count goods twice."""
    lines = [
        CN_HEADER,
        CN_ROW.replace('"29012920"', '"29"'),
        CN_ROW.replace('"29012920"', '"1"'),  # a rejected row does not set or break the length
        CN_ROW.replace('"29012920"', '"85"'),
        CN_ROW,  # 8 digits among 2-digit chapters
    ]
    error = _rejected(_write(tmp_path, "exports.csv", lines))
    assert error.file_name == "exports.csv"
    assert (error.row, error.column) == (5, "2 (商品编码)")
    assert "'29012920' has 8 digits" in error.reason and "have 2" in error.reason and "row 2" in error.reason
    # The first valid code decides, whatever its length: a 2-digit code among HS6 rows.
    lines = [CN_HEADER, CN_ROW.replace('"29012920"', '"290129"'), CN_ROW.replace('"29012920"', '"29"')]
    error = _rejected(_write(tmp_path, "exports.csv", lines))
    assert error.row == 3 and "'29' has 2 digits" in error.reason and "have 6" in error.reason


def test_mixed_code_lengths_far_into_the_file_reject_it_while_streaming(tmp_path):
    path = _write(tmp_path, "exports.csv", _big_lines(5000) + [CN_ROW.replace('"29012920"', '"2901"')])
    release = parse_query_export(path, path.name, _context())
    with pytest.raises(ReleaseRejected) as caught:
        list(release.rows)
    assert caught.value.row == 5002 and "'2901' has 4 digits" in caught.value.reason


@pytest.mark.parametrize("code", ["32", "3205", "32059", "3401"])
def test_registration_codes_of_province_city_and_region_are_kept_as_text(tmp_path, code):
    lines = [CN_HEADER, CN_ROW.replace('"44","广东省"', f'"{code}","某地"')]
    release, rows = _parse(_write(tmp_path, "exports.csv", lines))
    assert release.rejected_rows == []
    assert (rows[0]["registration_code"], rows[0]["registration_name"]) == (code, "某地")


def test_months_spanning_years_are_noted(tmp_path):
    lines = [CN_HEADER, CN_ROW.replace("202403", "202311"), CN_ROW, CN_ROW.replace("202403", "202402")]
    release, rows = _parse(_write(tmp_path, "exports.csv", lines))
    assert len(rows) == 3
    assert release.observed_period == Period(2024, 1, 3)
    assert any("spans 2023-11..2024-03" in n for n in release.notes)


def test_sample_files_say_so(tmp_path):
    release, _ = _parse(_write(tmp_path, "sample-query-export-2024-03-exports.csv", [CN_HEADER, CN_ROW]))
    assert release.is_sample
    banner = ["SAMPLE DATA generated by this project — not official GACC figures", CN_HEADER, CN_ROW]
    release, rows = _parse(_write(tmp_path, "exports.csv", banner))
    assert release.is_sample and rows[0]["source_row"] == 3
    release, _ = _parse(_write(tmp_path, "exports-real.csv", [CN_HEADER, CN_ROW]))
    assert not release.is_sample


# --- synthetic files rejected as a whole ------------------------------------------------------


def test_unknown_header_names_column_and_known_ones(tmp_path):
    lines = ['"数据年月","商品编码","海关口岸","人民币",', '"202403","29012920","上海海关","1",']
    error = _rejected(_write(tmp_path, "exports.csv", lines))
    assert error.row == 1 and error.column == "3"
    assert "海关口岸" in error.reason and "column 3" in error.reason
    assert "商品编码" in error.reason and "US dollar" in error.reason


def test_no_value_column(tmp_path):
    lines = ['"数据年月","商品编码","第一数量",', '"202403","29012920","1",']
    error = _rejected(_write(tmp_path, "exports.csv", lines))
    assert "no value column" in error.reason and "人民币" in error.reason


def test_two_value_columns(tmp_path):
    error = _rejected(_write(tmp_path, "exports.csv", ['"商品编码","人民币","美元"', '"29012920","7","1"']))
    assert "two value columns" in error.reason


def test_future_month_rejects_the_file_naming_the_row(tmp_path):
    lines = [CN_HEADER, CN_ROW, CN_ROW.replace("202403", "202612")]
    error = _rejected(_write(tmp_path, "exports.csv", lines))
    assert (error.row, error.column) == (3, "1 (数据年月)")
    assert "2026-12" in error.reason and "future" in error.reason
    # the current month itself is not in the future
    _, rows = _parse(_write(tmp_path, "exports.csv", [CN_HEADER, CN_ROW.replace("202403", "202611")]))
    assert rows[0]["period"] == date(2026, 11, 1)


def test_a_month_column_contradicting_the_sidecar_period(tmp_path):
    path = _write(tmp_path, "exports.csv", [CN_HEADER, CN_ROW])
    error = _rejected(path, sidecar={"period": "2023-01..2023-12"})
    assert "2024-03" in error.reason and "2023-01..2023-12" in error.reason and error.row == 2


def test_period_without_month_column(tmp_path):
    header = '"商品编码","人民币",'
    lines = [header, '"29012920","5",']
    assert _parse(_write(tmp_path, "exports-2024-03.csv", lines))[0].period == Period(2024, 3, 3)
    assert _parse(_write(tmp_path, "exports-202401..202406.csv", lines))[0].period == Period(2024, 1, 6)
    assert _parse(_write(tmp_path, "2023年出口.csv", lines))[0].period == Period(2023, 1, 12)
    # a year-only name is narrowed by the sidecar to months of that year
    release, _ = _parse(_write(tmp_path, "exports-2024.csv", lines), sidecar={"period": "2024-01..2024-06"})
    assert release.period == Period(2024, 1, 6)
    # the year that is not over yet, as a whole year, is in the future
    error = _rejected(_write(tmp_path, "exports-2026.csv", lines))
    assert "2026-01..2026-12" in error.reason and "not over yet" in error.reason
    # a name and a sidecar naming different months
    error = _rejected(_write(tmp_path, "exports-2024-03.csv", lines), sidecar={"period": "2024-04"})
    assert "2024-03" in error.reason and "2024-04" in error.reason
    error = _rejected(_write(tmp_path, "exports.csv", lines), sidecar={"period": "2023-11..2024-02"})
    assert "spans years" in error.reason
    error = _rejected(_write(tmp_path, "exports.csv", lines), sidecar={"period": "March 2024"})
    assert "sidecar period" in error.reason


def test_direction_clues(tmp_path):
    lines = [CN_HEADER, CN_ROW]
    for name, flow in [("2024年3月出口.csv", "export"), ("进口-202403.csv", "import"), ("IMPORTS_44.csv", "import"),
                       ("x.csv", "export"), ("sample-query-export-2024-imports.csv", "import"),
                       ("gacc_query_export_2024_exports.csv", "export")]:
        sidecar = {"flow": "export"} if name == "x.csv" else None
        assert _parse(_write(tmp_path, name, lines), sidecar=sidecar)[0].flow == flow
    for name in ("进出口-2024.csv", "important-2024.csv", "data.csv", "query-export-2024.csv"):
        error = _rejected(_write(tmp_path, name, lines))
        assert "direction unknown" in error.reason
    error = _rejected(_write(tmp_path, "export-import.csv", lines))
    assert "both export and import" in error.reason
    error = _rejected(_write(tmp_path, "x.csv", lines), sidecar={"flow": "both"})
    assert "'both'" in error.reason


def test_empty_blank_header_only_and_binary_files(tmp_path):
    (tmp_path / "exports-empty.csv").write_bytes(b"")
    assert "empty" in _rejected(tmp_path / "exports-empty.csv").reason
    (tmp_path / "exports-blank.csv").write_bytes(b"\n \r\n\n")
    assert "empty" in _rejected(tmp_path / "exports-blank.csv").reason
    error = _rejected(_write(tmp_path, "exports-2024.csv", [CN_HEADER, "", ""]))
    assert error.reason == "no data rows"
    (tmp_path / "exports-junk.csv").write_bytes(b"PK\x03\x04\x00\x00\xff\xfe" * 100)
    assert "binary" in _rejected(tmp_path / "exports-junk.csv").reason


def test_every_row_rejected_rejects_the_file(tmp_path):
    lines = [CN_HEADER, CN_ROW.replace("5,848,714", "x"), CN_ROW.replace("5,848,714", "y")]
    error = _rejected(_write(tmp_path, "exports.csv", lines))
    assert "no row could be loaded" in error.reason and "row 2" in error.reason


# --- streaming --------------------------------------------------------------------------------


def _big_lines(n: int, row: str = CN_ROW) -> list[str]:
    return [CN_HEADER] + [row] * n


def test_bad_bytes_after_the_first_chunk_name_the_row(tmp_path):
    """The encoding is decided from the head; a later chunk that does not decode rejects the file there."""
    rows = 5000  # well past the 64 KB head
    path = tmp_path / "exports.csv"
    data = "\n".join(_big_lines(rows)).encode("utf-8") + b"\n"
    data += '"202403","29012920","乙炔","110","'.encode() + "中国香港".encode("gb18030") + b'","10"\n'
    path.write_bytes(data)
    release = parse_query_export(path, path.name, _context())  # the head is fine
    with pytest.raises(ReleaseRejected) as caught:
        for _ in release.rows:
            pass
    assert caught.value.row == rows + 2
    assert "utf-8" in caught.value.reason


def test_an_ascii_head_decides_its_encoding_at_the_first_non_ascii_byte(tmp_path):
    """English exports are GB18030, but their first non-ASCII byte may come late (Hong Kong，China)."""
    header = '"Date of data","Commodity code","Trading partner","US dollar",'
    row = '"202601","29012920","Chile","4,137",'
    lines = [header] + [row] * 5000 + ['"202601","29012920","Hong Kong，China","1",']
    _, loaded = _parse(_write(tmp_path, "exports.csv", lines, "gb18030"))
    assert loaded[-1]["partner_name"] == "Hong Kong，China" and len(loaded) == 5001


def test_provisional_period_from_first_and_last_rows_then_observed(tmp_path):
    """ParsedRelease.period is needed before the rows stream: exports are sorted by month, so the
    first and last 64 KB give it; the stream's observed_period is the final word."""
    lines = [CN_HEADER]
    for month in ["202401", "202402", "202412", "202406"]:  # the last block is out of order
        lines += [CN_ROW.replace("202403", month)] * 2000
    release = parse_query_export(_write(tmp_path, "exports.csv", lines), "exports.csv", _context())
    assert release.period == Period(2024, 1, 6)  # January (head) .. June (tail)
    assert sum(1 for _ in release.rows) == 8000
    assert release.observed_period == Period(2024, 1, 12)


def test_future_month_after_the_head_is_rejected_while_streaming(tmp_path):
    path = _write(tmp_path, "exports.csv", _big_lines(5000) + [CN_ROW.replace("202403", "202705")])
    release = parse_query_export(path, path.name, _context())
    assert release.period == Period(2024, 3, 3)  # provisional, from the first rows
    with pytest.raises(ReleaseRejected) as caught:
        list(release.rows)
    assert caught.value.row == 5002 and "2027-05" in caught.value.reason


# Run in a fresh interpreter so that its peak resident memory measures this parse alone.
_MEASURE = """
import resource, sys
from datetime import date
from pathlib import Path
from orchestration.ingest import query_export
from orchestration.ingest.release import ParseContext

query_export.CHUNK_BYTES = int(sys.argv[2])
path = Path(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
release = query_export.parse_query_export(path, path.name, ParseContext(today=date(2026, 11, 28)))
count, total = 0, 0
for row in release.rows:
    count += 1
    total += row[-1]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
print(count, total, release.observed_period.label, (after - before) * scale)
"""


def _peak_growth(path: Path, chunk_bytes: int = query_export.CHUNK_BYTES) -> tuple[int, int, str, int]:
    """(rows, sum of values, observed period, growth of peak RSS in bytes) of parsing `path`."""
    pytest.importorskip("resource")
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(chunk_bytes)],
        cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, text=True, check=True,
    )
    count, total, label, growth = done.stdout.split()
    return int(count), int(total), label, int(growth)


def test_a_50_mb_gb18030_export_streams_in_little_memory(tmp_path):
    path = tmp_path / "exports-2024.csv"
    months = [f"2024{m:02d}" for m in range(1, 13)]
    block = "".join(CN_ROW.replace("202403", m) + "\n" for m in months).encode("gb18030")
    repeats = 50 * 2**20 // len(block) + 1
    with open(path, "wb") as f:
        f.write((CN_HEADER + "\n").encode("gb18030"))
        for _ in range(repeats):
            f.write(block)
    size = path.stat().st_size
    assert size > 50 * 2**20

    count, total, label, growth = _peak_growth(path)
    assert (count, total, label) == (repeats * 12, 5848714 * repeats * 12, "2024-01..2024-12")
    assert growth < 20 * 2**20, f"peak memory grew {growth / 2**20:.1f} MB parsing a {size / 2**20:.0f} MB file"


def test_too_many_rejected_rows_reject_the_file(tmp_path):
    """A file whose rows are nearly all bad is not a query export; the list of rejects stays bounded."""
    bad = CN_ROW.replace('"29012920"', '"2901292"')  # a 7-digit code, as a spreadsheet leaves it
    path = _write(tmp_path, "exports.csv", [CN_HEADER, CN_ROW] + [bad] * (query_export.MAX_REJECTED_ROWS + 5))
    error = _rejected(path)
    assert "more than" in error.reason and "leading zero" in error.reason
    assert error.row == query_export.MAX_REJECTED_ROWS + 3


def test_a_line_longer_than_the_head_right_after_the_header_is_rejected_with_its_row(tmp_path):
    """The head (64 KB) holds the header and no complete row: a clear rejection, not a crash."""
    path = tmp_path / "long-line-exports-2024.csv"
    path.write_bytes((CN_HEADER + "\n").encode("gb18030") + b'"202401","' + b"8" * 200_000 + b'"\n')
    with pytest.raises(ReleaseRejected) as error:
        parse_query_export(path, path.name, _context())
    assert error.value.row == 2
    assert "no complete data row" in error.value.message
