"""The bad-input corpus: each broken file is quarantined with its own specific reason (naming the
file, and the row and column where there is one), bad rows inside good files are rejected with
theirs, files whose header drifted in a way the parsers can place load correctly, and nothing else
is lost. Runs the ingest steps on a real DuckDB file. A file that parses fine but lies — a query
export of imports named as exports — is caught by the reconciliation against the location table,
in a real pipeline run."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import struct
import tracemalloc
import zipfile
import zlib
from datetime import date
from functools import lru_cache

import duckdb
import pytest

from orchestration.config import WarehousePaths
from orchestration.ingest.formats import parse_release
from orchestration.ingest.errors import ReleaseRejected
from orchestration.ingest.release import ParseContext
from orchestration.ingest.steps import load_pending, register_inbox
from orchestration.samples.city_tables import generate_city_tables
from orchestration.samples.location_tables import generate_location_tables, write_location_tables
from orchestration.samples.query_exports import generate_query_exports

from .conftest import run_pipeline_in_process

PRELIMINARY_PAGE = """<html><head><title>(4) China's Total Export & Import Values by Country/Region, Mar 2025 (in CNY)</title></head>
<body><div class="atcl-cnt"><table>
<tr><td colspan="10">(4) China's Total Export &amp; Import Values by Country/Region, Mar 2025 (in CNY)</td></tr>
<tr><td colspan="10">Unit: {unit}</td></tr>
<tr><td>Import Source</td><td colspan="2">Export &amp; Import</td><td colspan="2">Export</td><td colspan="2">Import</td><td colspan="3">1-to-3 Total Year-on-Year (±%)</td></tr>
<tr><td>Export Destination</td><td>3</td><td>1- to-3</td><td>3</td><td>1- to-3</td><td>3</td><td>1- to-3</td><td>Export &amp; Import</td><td>Export</td><td>Import</td></tr>
<tr><td>Total</td><td>38,000.0</td><td>103,000.0</td><td>21,000.0</td><td>60,000.0</td><td>17,000.0</td><td>43,000.0</td><td>1.3</td><td>6.9</td><td>-7.3</td></tr>
</table></div></body></html>"""


def _location(period: str) -> str:
    return generate_location_tables(period, period)[f"sample-location-{period}.csv"].decode("utf-8-sig")


def _replace_cell(text: str, row_start: str, column: int, value: str) -> str:
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(row_start))
    cells = lines[i].split(",")
    cells[column] = value
    lines[i] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _cells(text: str, row_start: str) -> list[str]:
    return next(line for line in text.splitlines() if line.startswith(row_start)).split(",")


def _total_line_with_ytd_plus_one(period: str) -> str:
    """A second 总值 row whose year-to-date differs by 1 万元 from the first."""
    cells = _cells(_location(period), "总值,")
    cells[2] = str(int(cells[2]) + 1)
    return ",".join(cells) + "\n"


def _ytd_just_above_month(period: str, row_start: str) -> str:
    """The row's YTD set to its month value + 1: valid on its own, below the previous month's YTD."""
    text = _location(period)
    month = _cells(text, row_start)[1]
    return _replace_cell(text, row_start, 2, str(int(month) + 1))


def _without_column(text: str, header: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    at = rows[0].index(header)
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([r[:at] + r[at + 1:] for r in rows if r])
    return out.getvalue()


def _query_export() -> str:
    data = generate_query_exports("2024-01", "2024-01")["sample-query-export-2024-exports.csv"]
    return data.decode("gb18030")


def _city(province: str) -> str:
    return generate_city_tables("2024-03", "2024-03")[f"sample-city-{province}-2024-03.csv"].decode("utf-8-sig")


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _with_columns(text: str, order: list[int]) -> str:
    """The table with its columns in `order` (0-based source positions): reordered, or some dropped."""
    return _csv([[row[c] if c < len(row) else "" for c in order] for row in _rows(text)])


def _location_with_balance_column(period: str) -> str:
    """A 差额 (balance) column inserted before the growth rates, as a re-exported table may have."""
    rows = _rows(_location(period))
    extra = {1: "Unnamed: 7_level_0", 2: "差额", 3: "差额"}
    out = []
    for i, row in enumerate(rows):
        if i in extra:
            cell = extra[i]
        elif i > 3 and row[1].strip():
            cell = str(int(row[3]) - int(row[5])) if row[3].isdigit() and row[5].isdigit() else ""
        else:
            cell = row[7] if len(row) > 7 else ""
        out.append(row[:7] + [cell] + row[7:])
    return _csv(out)


# Simplified characters of the location table's header and title that Big5 / Shift_JIS spell otherwise:
# what a colleague in Taipei or Tokyo gets when re-saving the file in their own encoding.
_TRADITIONAL = str.maketrans("发货进总单万币计样数据内区门", "發貨進總單萬幣計樣數據內區門")
_JAPANESE = str.maketrans("发货进总单币计样数据区", "発貨進総単幣計様数拠区")


def _location_in(encoding: str, table: dict[int, int]) -> bytes:
    return _location("2024-04").translate(table).encode(encoding, errors="replace")


def _truncated_location(period: str) -> bytes:
    """A download cut short in the middle of 江苏省's third figure."""
    data = _location(period).encode("utf-8")
    row = data.index("江苏省,".encode())
    third = data.index(b",", data.index(b",", data.index(b",", row) + 1) + 1) + 3
    return data[:third]


def _gigantic_location_line(period: str) -> bytes:
    """河北省's row as one 50 MB line with no line break in it."""
    text = _location(period)
    row = next(line for line in text.splitlines() if line.startswith("河北省,"))
    return text.replace(row, "河北省," + "1" * (50 * 2**20)).encode("utf-8")


def _zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A ZIP archive from (name, compressed data, method, CRC-32, uncompressed size) members, written
    by hand so that a member's compressed data can be made rather than compressed (see _zip_bomb)."""
    out, central = bytearray(), bytearray()
    for name, data, method, crc, size in members:
        encoded = name.encode()
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded),
            0, 0, 0, 0, 0, len(out),
        ) + encoded
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out += encoded + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


BOMB_GIB = 2


@lru_cache(maxsize=1)
def _zip_bomb() -> bytes:
    """An .xlsx (a valid ZIP with a workbook's parts) whose sheet inflates to 2 GiB from ~2 MB: one
    deflate block of 1 MiB of zeros, ended by a full flush so that it stands alone, repeated."""
    mib = b"\0" * 2**20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    crc = 0
    for _ in range(BOMB_GIB * 1024):
        crc = zlib.crc32(mib, crc)
    small = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
    }
    members = [(name, data, 0, zlib.crc32(data), len(data)) for name, data in small.items()]
    members.append(("xl/worksheets/sheet1.xml", block * (BOMB_GIB * 1024) + final, 8, crc, BOMB_GIB * 2**30))
    return _zip(members)


def _corpus() -> dict[str, bytes | str]:
    """file name → content, with the reason each must be quarantined for."""
    jan = _location("2024-01")
    query = _query_export()
    header, *lines = query.splitlines()
    city = _city("zhejiang")
    april = _location("2024-04")
    noise = random.Random("bad-inputs")
    return {
        "empty.csv": b"",
        "blank-lines.csv": b"\n\n  \n",
        "binary-junk.csv": bytes(range(256)) * 40,
        "wrong-encoding.csv": "收发货人所在地,进出口".encode("utf-16"),
        "unknown-layout.csv": "日期,城市,温度\n2024-01-01,上海,5\n".encode(),
        "header-only-2024-05.csv": "\n".join(_location("2024-05").splitlines()[:4]).encode(),
        "broken-header-2024-06.csv": _location("2024-06").replace("收发货人所在地,进出口,进出口,出口", "收发货人所在地,进出口,出口,出口", 1).encode(),
        "month-header-contradicts-2024-08.csv": _location("2024-07").split("\n", 1)[1].encode(),
        "no-period.csv": _location("2024-09").split("\n", 1)[1].encode(),
        "future-2027-01.csv": _location("2024-10").replace("2024年10月", "2027年1月").replace("10月,1至10月", "1月,1至1月").encode(),
        "unknown-unit-2024-11.csv": _location("2024-11").replace("单位：万人民币", "单位：千美元").encode(),
        "contradictory-total.csv": (_location("2024-12") + _total_line_with_ytd_plus_one("2024-12")).encode(),
        # February's YTD below January's (already loaded): a shifted or mislabelled table.
        "ytd-goes-down-2024-02.csv": _ytd_just_above_month("2024-02", "上海市,").encode(),
        "query-no-direction-2024.csv": query.encode("gb18030"),
        "query-unknown-column-exports-2024.csv": query.replace('"数据年月"', '"统计口径"', 1).encode("gb18030"),
        "query-no-value-column-exports-2024.csv": _without_column(query, "人民币").encode("gb18030"),
        "query-header-only-exports-2024.csv": (header + "\n").encode("gb18030"),
        "preliminary-unit-contradicts-title.html": PRELIMINARY_PAGE.format(unit="USD1 Million").encode(),
        "preliminary-image-only.html": b"<html><head><title>(4) China's Total Export & Import Values by Country/Region, Mar 2025 (in CNY)</title></head><body><img src='table.png'></body></html>",
        "comtrade-missing-columns.csv": b"typeCode,freqCode,refYear,flowCode\nC,A,2022,X\n",
        "comtrade-bomb.txt.gz": gzip.compress(b"0" * 200_000_000, compresslevel=9),
        "corrupt.xlsx": b"PK\x03\x04" + b"\x00" * 64 + b"not really a workbook",
        "bad-sidecar-exports-2024.csv": "\n".join([header, lines[0]]).encode("gb18030"),
        "city-no-total-2024-03.csv": "\n".join(line for line in city.splitlines() if ",合计," not in line).encode("utf-8-sig"),
        # A decompression bomb dressed as a workbook: refused from the sizes its ZIP directory declares.
        "xlsx-zip-bomb-2024-04.xlsx": _zip_bomb(),
        # Gigantic lines: no line break for 50 MB in a location table, for 20 MB in a query export.
        "location-gigantic-line-2024-04.csv": _gigantic_location_line("2024-04"),
        "query-gigantic-line-exports-2024.csv": "\n".join([header, *lines[:300], '"202401","' + "8" * (20 * 2**20)]).encode("gb18030"),
        # Binary junk, named like a workbook, with no name at all, and without a single NUL byte.
        "random-bytes-2024-04.xlsx": noise.randbytes(300_000),
        "random-bytes": noise.randbytes(300_000),
        "random-high-bytes.csv": bytes(noise.randrange(0x80, 0x100) for _ in range(100_000)),
        # Wrong encodings: Excel's "Unicode text" (UTF-16, tab-separated), UTF-16 without a byte-order
        # mark, and the table re-saved in Big5 and in Shift_JIS.
        "location-utf16-2024-04.txt": april.replace(",", "\t").encode("utf-16"),
        "location-utf16be-no-bom-2024-04.csv": april.encode("utf-16-be"),
        "location-big5-2024-04.csv": _location_in("big5", _TRADITIONAL),
        "location-shift-jis-2024-04.csv": _location_in("cp932", _JAPANESE),
        # Header drift no parser can place (location table, query export, city table): flows reordered,
        # a column missing, a column renamed, an unknown column added.
        "location-reordered-flows-2024-04.csv": _with_columns(april, [0, 1, 2, 5, 6, 3, 4, 7, 9, 8]).encode(),
        "location-missing-column-2024-04.csv": _with_columns(april, [0, 1, 2, 3, 5, 6, 7, 8, 9]).encode(),
        "location-renamed-month-2024-04.csv": april.replace("4月,1至4月", "本月,1至4月").encode(),
        "query-extra-column-exports-2024.csv": _csv(
            [row[:-1] + (["备注"] if i == 0 else [""]) + row[-1:] for i, row in enumerate(_rows(query))]
        ).encode("gb18030"),
        "city-renamed-column-2024-03.csv": city.replace("当期出口", "当期出口额", 1).encode("utf-8-sig"),
        "city-missing-column-2024-03.csv": _with_columns(city, [0, 1, 2, 4, 5, 6, 7]).encode("utf-8-sig"),
        # A download cut short in the middle of a row.
        "location-truncated-2024-04.csv": _truncated_location("2024-04"),
        "jan-for-good-2024-01.csv": jan.encode("utf-8"),
    }


def _handled_with_originals() -> dict[str, tuple[bytes, bytes]]:
    """Header drift the parsers place by name: file name → (the drifted file, the file it was made from)."""
    query = _query_export()
    query_rows = _rows(query)
    width = len(query_rows[0]) - 1  # the empty column of the trailing comma stays last
    reversed_columns = list(range(width - 1, -1, -1)) + [width]
    jiangsu, anhui = _city("jiangsu"), _city("anhui")
    return {
        # A 差额 column before the growth rates: they are found by their names, not shifted.
        "location-balance-column-2024-03.csv": (
            _location_with_balance_column("2024-03").encode(), _location("2024-03").encode()
        ),
        "city-exports-before-imports-jiangsu-2024-03.csv": (
            _with_columns(jiangsu, [0, 1, 2, 4, 3, 5, 7, 6]).encode("utf-8-sig"), jiangsu.encode("utf-8-sig")
        ),
        "city-extra-column-anhui-2024-03.csv": (
            _csv([row + (["备注"] if i == 0 else ["—"]) for i, row in enumerate(_rows(anhui))]).encode("utf-8-sig"),
            anhui.encode("utf-8-sig"),
        ),
        "query-reordered-columns-exports-2024.csv": (
            _csv([[row[c] for c in reversed_columns] for row in query_rows]).encode("gb18030"), query.encode("gb18030")
        ),
    }


def _handled() -> dict[str, bytes]:
    return {name: drifted for name, (drifted, _) in _handled_with_originals().items()}


EXPECTED = {
    "empty.csv": "empty",
    "blank-lines.csv": "empty",
    "binary-junk.csv": "binary",
    "wrong-encoding.csv": "UTF-16 text (byte-order mark FF FE)",
    "unknown-layout.csv": "unknown layout",
    "header-only-2024-05.csv": "总值",
    "broken-header-2024-06.csv": "header expected",
    "month-header-contradicts-2024-08.csv": "month header says 7月",
    "no-period.csv": "no period",
    "future-2027-01.csv": "future",
    "unknown-unit-2024-11.csv": "unknown unit",
    "contradictory-total.csv": "appears twice",
    "ytd-goes-down-2024-02.csv": "year-to-date goes down",
    "query-no-direction-2024.csv": "direction",
    "query-unknown-column-exports-2024.csv": "统计口径",
    "query-no-value-column-exports-2024.csv": "value column",
    "query-header-only-exports-2024.csv": "no data rows",
    "preliminary-unit-contradicts-title.html": "title says",
    "preliminary-image-only.html": "image",
    "comtrade-missing-columns.csv": "reporterCode",
    "comtrade-bomb.txt.gz": "bomb",
    "corrupt.xlsx": "XLSX",
    "bad-sidecar-exports-2024.csv": "sidecar",
    "city-no-total-2024-03.csv": "合计",
    "xlsx-zip-bomb-2024-04.xlsx": "zip bomb",
    "location-gigantic-line-2024-04.csv": "bytes long, more than any table row",
    "query-gigantic-line-exports-2024.csv": "a line longer than 16 MB",
    "random-bytes-2024-04.xlsx": "binary",
    "random-bytes": "binary",
    "random-high-bytes.csv": "not UTF-8 or GB18030",
    "location-utf16-2024-04.txt": "UTF-16 text (byte-order mark FF FE)",
    "location-utf16be-no-bom-2024-04.csv": "UTF-16 text (big-endian, no byte-order mark)",
    "location-big5-2024-04.csv": "Big5 text",
    "location-shift-jis-2024-04.csv": "Shift_JIS text",
    "location-reordered-flows-2024-04.csv": "header expected '出口', found '进口'",
    "location-missing-column-2024-04.csv": "header expected '出口', found '进口'",
    "location-renamed-month-2024-04.csv": "month header expected like '3月'",
    "query-extra-column-exports-2024.csv": "unknown column 15 '备注'",
    "city-renamed-column-2024-03.csv": "header cells not understood: column 5 '当期出口额'",
    "city-missing-column-2024-03.csv": "no column for imports_ytd_cny",
    "location-truncated-2024-04.csv": "truncated",
}
# Where the reason must name the row and the column (beyond the file every reason names).
WHERE = {
    "broken-header-2024-06.csv": ("row 3", "column 3"),
    "location-gigantic-line-2024-04.csv": ("row 8",),
    "query-gigantic-line-exports-2024.csv": ("row 302",),
    "location-big5-2024-04.csv": ("row 1",),
    "location-reordered-flows-2024-04.csv": ("row 3", "column 4"),
    "location-missing-column-2024-04.csv": ("row 3", "column 5"),
    "location-renamed-month-2024-04.csv": ("row 4", "column 2"),
    "query-unknown-column-exports-2024.csv": ("row 1", "column 1"),
    "query-extra-column-exports-2024.csv": ("row 1", "column 15"),
    "city-renamed-column-2024-03.csv": ("row 1", "column 5"),
    "city-missing-column-2024-03.csv": ("row 1",),
    "location-truncated-2024-04.csv": ("row 19", "column 4"),
}
HANDLED = (
    "location-balance-column-2024-03.csv",
    "city-exports-before-imports-jiangsu-2024-03.csv",
    "city-extra-column-anhui-2024-03.csv",
    "query-reordered-columns-exports-2024.csv",
)
# Kinds beyond the quarantined files: bad rows inside a good file (rejected one by one), and a query
# export whose name says exports while its values are imports (caught by reconciliation).
OTHER_KINDS = ("bad rows in a good file", "export/import labels swapped")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    paths = WarehousePaths(inbox=base / "inbox", warehouse_dir=base / "warehouse")
    paths.inbox.mkdir(parents=True)
    paths.warehouse_dir.mkdir()
    for name, content in {**_corpus(), **_handled()}.items():
        (paths.inbox / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    (paths.inbox / "bad-sidecar-exports-2024.csv.json").write_text("{flow: export", encoding="utf-8")
    # Good rows and bad rows in one good file: February with a non-numeric and a negative cell.
    feb = _replace_cell(_replace_cell(_location("2024-02"), "河北省,", 2, "abc"), "山西省,", 3, "-5")
    (paths.inbox / "feb-with-bad-rows-2024-02.csv").write_text(feb, encoding="utf-8")
    con = duckdb.connect(str(paths.live_db))
    # January first, so that the YTD check has a neighbour to compare with.
    (paths.inbox / "jan-for-good-2024-01.csv").rename(paths.inbox / "0-jan-for-good-2024-01.csv")
    register_inbox(con, paths)
    load_pending(con)
    yield con
    con.close()


def _release(con, name):
    return con.execute("SELECT status, error, row_count FROM raw.releases WHERE file_name = ?", [name]).fetchone()


def test_the_corpus_has_at_least_twenty_five_kinds():
    # Each kind is a file in the inbox with its release: test_nothing_in_the_inbox_is_lost holds them equal.
    assert len(EXPECTED) >= 25
    assert len(EXPECTED) + len(HANDLED) + len(OTHER_KINDS) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_is_quarantined_with_its_specific_reason(loaded, name):
    status, error, rows = _release(loaded, name)
    assert status == "quarantined", (name, error)
    assert name in error, error
    assert EXPECTED[name] in error, error
    assert rows is None
    assert loaded.execute(
        "SELECT count(*) FROM raw.location_table_rows WHERE release_id = (SELECT release_id FROM raw.releases WHERE file_name = ?)",
        [name],
    ).fetchone()[0] == 0


@pytest.mark.parametrize("name", sorted(WHERE))
def test_row_and_column_are_named_where_there_is_one(loaded, name):
    error = _release(loaded, name)[1]
    for where in WHERE[name]:
        assert where in error, error


def test_a_ytd_going_down_names_the_row_and_column(loaded):
    error = _release(loaded, "ytd-goes-down-2024-02.csv")[1]
    assert "column total_ytd_cny" in error and "上海市" in error


def test_good_files_load_and_bad_rows_are_rejected_with_their_reason(loaded):
    assert _release(loaded, "0-jan-for-good-2024-01.csv")[0] == "loaded"
    status, error, rows = _release(loaded, "feb-with-bad-rows-2024-02.csv")
    assert status == "loaded" and "2 row(s) rejected" in error
    rejected = loaded.execute(
        "SELECT column_name, raw_value, reason FROM raw.rejected_rows ORDER BY source_row"
    ).fetchall()
    assert [(c[:1], v) for c, v, _ in rejected] == [("3", "abc"), ("4", "-5")]
    assert "not a number" in rejected[0][2] and "negative" in rejected[1][2]
    provinces = loaded.execute(
        "SELECT count(*) FROM raw.location_table_rows r JOIN raw.releases USING (release_id) "
        "WHERE file_name = 'feb-with-bad-rows-2024-02.csv' AND row_kind = 'province'"
    ).fetchone()[0]
    assert provinces == 29


def test_a_sidecar_fixes_a_quarantined_query_export(tmp_path):
    paths = WarehousePaths(inbox=tmp_path / "inbox", warehouse_dir=tmp_path / "warehouse")
    paths.inbox.mkdir()
    paths.warehouse_dir.mkdir()
    (paths.inbox / "query-2024.csv").write_bytes(_query_export().encode("gb18030"))
    con = duckdb.connect(str(paths.live_db))
    register_inbox(con, paths)
    assert _release(con, "query-2024.csv")[0] == "quarantined"
    (paths.inbox / "query-2024.csv.json").write_text(json.dumps({"flow": "export"}), encoding="utf-8")
    again = register_inbox(con, paths)
    assert again.new_pending and _release(con, "query-2024.csv")[0] == "pending"
    load_pending(con)
    assert _release(con, "query-2024.csv")[0] == "loaded"
    con.close()


def test_nothing_in_the_inbox_is_lost(loaded):
    """Every file has its release; only the good ones (and the drift placed by name) loaded."""
    statuses = dict(loaded.execute("SELECT file_name, status FROM raw.releases").fetchall())
    good = {"0-jan-for-good-2024-01.csv", "feb-with-bad-rows-2024-02.csv", *HANDLED}
    assert set(statuses) == set(EXPECTED) | good
    assert {name for name, status in statuses.items() if status != "quarantined"} == good


@pytest.mark.parametrize("name", HANDLED)
def test_header_drift_placed_by_name_loads_the_figures_of_the_file_before_the_drift(loaded, tmp_path, name):
    drifted, original = _handled_with_originals()[name]
    status, error, _ = _release(loaded, name)
    assert status == "loaded", error
    path = tmp_path / name
    path.write_bytes(original)
    parsed = parse_release(path, name, ParseContext(today=date.today(), sidecar={}, province_codes={}))
    expected = sorted((tuple(row) for row in parsed.rows), key=lambda row: row[0])
    columns = ", ".join(["source_row", *(c.name for c in parsed.raw_table.columns)])
    got = loaded.execute(
        f"SELECT {columns} FROM raw.{parsed.raw_table.name} "
        "WHERE release_id = (SELECT release_id FROM raw.releases WHERE file_name = ?) ORDER BY source_row",
        [name],
    ).fetchall()
    assert len(got) == len(expected) > 10
    assert got == expected
    if name.startswith("location"):  # the growth rates really were read (not left NULL)
        assert all(row[-3:] != (None, None, None) for row in got)


def test_a_zip_bomb_is_refused_from_its_directory_without_inflating_it(tmp_path):
    path = tmp_path / "sheet-2024-04.xlsx"
    path.write_bytes(_zip_bomb())
    # A real bomb: about 2 MB that a ZIP reader would inflate to 2 GiB of zeros.
    assert path.stat().st_size < 4 * 2**20
    with zipfile.ZipFile(path) as archive, archive.open("xl/worksheets/sheet1.xml") as sheet:
        assert sheet.read(4 * 2**20) == b"\0" * (4 * 2**20)
    tracemalloc.start()
    try:
        with pytest.raises(ReleaseRejected) as caught:
            parse_release(path, path.name, ParseContext(today=date.today(), sidecar={}, province_codes={}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"'xl/worksheets/sheet1.xml', {BOMB_GIB * 2**30:,} bytes" in caught.value.message
    assert "refused without unpacking it" in caught.value.message
    assert peak < 8 * 2**20, f"{peak:,} bytes allocated while refusing a zip bomb"


# ------------------------------------------------------------------------------------------------
# Export/import labels swapped: the file parses fine; only the published totals can tell.

ZHEJIANG = "330000"
SWAPPED = "query-zhejiang-2024-02-exports.csv"


def _write_inbox_with_swapped_labels(inbox) -> None:
    """Three months of location tables; the query exports of the same months, except that Zhejiang's
    February exports come in a file of their own whose name says exports and whose rows are
    Zhejiang's February imports (the direction was a query parameter: the wrong one was ticked)."""
    write_location_tables(inbox, "2024-01", "2024-03")
    files = generate_query_exports("2024-01", "2024-03")
    exports = files["sample-query-export-2024-exports.csv"].decode("gb18030").splitlines()
    imports = files["sample-query-export-2024-imports.csv"].decode("gb18030").splitlines()

    def zhejiang_february(line: str) -> bool:
        return line.startswith('"202402",') and ',"33","浙江省",' in line

    swapped = [line for line in imports[1:] if zhejiang_february(line)]
    assert len(swapped) > 100
    kept = [line for line in exports if not zhejiang_february(line)]
    assert len(kept) < len(exports)
    (inbox / "sample-query-export-2024-exports.csv").write_bytes(("\n".join(kept) + "\n").encode("gb18030"))
    (inbox / "sample-query-export-2024-imports.csv").write_bytes(files["sample-query-export-2024-imports.csv"])
    (inbox / SWAPPED).write_bytes(("\n".join([imports[0], *swapped]) + "\n").encode("gb18030"))


def test_export_and_import_labels_swapped_are_caught_by_reconciliation(warehouse):
    _write_inbox_with_swapped_labels(warehouse.inbox)
    assert run_pipeline_in_process()
    assert warehouse.query("SELECT status, flow FROM marts.releases WHERE file_name = ?", [SWAPPED]) == [
        ("loaded", "export")
    ]  # nothing in the file itself is wrong
    checks = warehouse.query(
        "SELECT file_name, check_name, period, region_code, flow, status, derived_cny, published_cny "
        "FROM marts.release_reconciliation"
    )
    not_ok = [row[:6] for row in checks if row[5] != "ok"]
    assert not_ok == [(SWAPPED, "detail_vs_location_table", date(2024, 2, 1), ZHEJIANG, "export", "mismatch")]
    (derived, published), = [row[6:] for row in checks if row[0] == SWAPPED]
    (exports, imports), = warehouse.query(
        "SELECT exports_cny, imports_cny FROM marts.trade_by_region_month "
        "WHERE region_code = ? AND period = DATE '2024-02-01'", [ZHEJIANG]
    )
    assert (published, derived) == (exports, imports)  # the export figure it was held to; the imports it holds
    # ok elsewhere, and the elsewhere is real: every other province, month and flow of the detail was checked.
    detail = {(row[0], row[2].month, row[3], row[4]) for row in checks if row[1] == "detail_vs_location_table"}
    assert len(detail) == 4 * 3 * 2
