"""The bulk reader (query_export_bulk) loads exactly what the streaming reader loads.

Each file is loaded twice into fresh DuckDB files through the real loader (raw_store.load_release):
once as the pipeline does it (the bulk reader first, the streaming reader when it declines) and once
with the streaming reader alone. Rows, rejected rows, period and notes must be identical. Where the
bulk reader must take the file (the real GACC export, the sample files, clean variants) the test
says so, so a bulk reader that declined everything could not pass; where it must decline (anything
the streaming reader would reject or strip), the streaming reader's verdict is what lands.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import raw_store
from orchestration.ingest.errors import ReleaseRejected
from orchestration.ingest.formats import ALL_RAW_TABLES, parse_release
from orchestration.ingest.query_export_bulk import LEFTOVER_PREFIX, BulkDeclined
from orchestration.ingest.release import ParseContext
from orchestration.reference import province_codes

from .conftest import REAL, require_real

REAL_QUERY = REAL / "gacc_query_export"
TODAY = date(2026, 11, 28)
HEADER = (
    '"数据年月","商品编码","商品名称","贸易伙伴编码","贸易伙伴名称","贸易方式编码","贸易方式名称",'
    '"注册地编码","注册地名称","第一数量","第一计量单位","第二数量","第二计量单位","人民币",'
)


def _row(month="202403", code="29012920", name="乙炔", quantity="214847", unit="千克", value="5,848,714", partner="中国香港"):
    return f'"{month}","{code}","{name}","110","{partner}","10","一般贸易","31","上海市","{quantity}","{unit}","0","?","{value}",'


def _write(folder: Path, name: str, lines: list[str], newline: str = "\n", encoding: str = "gb18030") -> Path:
    path = folder / name
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def _load(path: Path, file_name: str, folder: Path, *, bulk: bool) -> dict:
    """Load one file into a fresh warehouse file; what landed, and whether the bulk reader took it."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(folder / "trade.duckdb"))
    try:
        raw_store.ensure_raw_schema(con, ALL_RAW_TABLES)  # as load_pending does before any release
        con.execute(
            "INSERT INTO raw.releases (release_id, sha256, file_name, landing_path, received_at, status) "
            "VALUES ('r1', 'sha', ?, ?, now(), 'pending')",
            [file_name, str(path)],
        )
        context = ParseContext(today=TODAY, province_codes=province_codes())
        took_bulk = None
        if bulk:  # would the bulk reader take it? (tried on its own parse, then rolled back)
            try:
                probe = parse_release(path, file_name, context)
            except ReleaseRejected:  # rejected from its head: no reader gets the rows
                probe = None
                took_bulk = False
            if probe is not None and probe.bulk_load is not None:
                con.execute("BEGIN TRANSACTION")
                try:
                    probe.bulk_load(con, "probe")
                    took_bulk = True
                except BulkDeclined:
                    took_bulk = False
                finally:
                    con.execute("ROLLBACK")
        try:
            parsed = parse_release(path, file_name, context)
            if not bulk:
                parsed.bulk_load = None
            raw_store.load_release(con, "r1", parsed)
        except ReleaseRejected as error:
            return {"rejected": error.message, "took_bulk": took_bulk}
        rows = con.execute("SELECT * FROM raw.query_export_rows ORDER BY source_row").fetchall()
        rejected = con.execute("SELECT * FROM raw.rejected_rows ORDER BY source_row, column_name").fetchall()
        release = con.execute(
            "SELECT status, period_start, period_end, notes, row_count, rejected_row_count FROM raw.releases"
        ).fetchall()
        return {"rows": rows, "rejected_rows": rejected, "release": release, "took_bulk": took_bulk}
    finally:
        con.close()


def _both(tmp_path: Path, path: Path, file_name: str) -> tuple[dict, dict]:
    bulk = _load(path, file_name, tmp_path / "with-bulk", bulk=True)
    stream = _load(path, file_name, tmp_path / "stream-only", bulk=False)
    assert {k: v for k, v in bulk.items() if k != "took_bulk"} == {k: v for k, v in stream.items() if k != "took_bulk"}
    assert not list((tmp_path / "with-bulk").glob(f"tmp/{LEFTOVER_PREFIX}*")), "chunk files left behind"
    return bulk, stream


@pytest.mark.parametrize(
    "real_name, file_name, bulk_expected",
    [
        # GB18030, every field quoted, thousands separators, trailing comma, no month column.
        ("chinese-full-by-province.csv", "chinese-full-by-province-exports-2024.csv", True),
        # Monthly, HS8 × partner, no 注册地 column; its rows are clean.
        ("soybean-2024-imports.csv", "soybean-2024-imports.csv", True),
        ("soybean-2023-imports.csv", "soybean-2023-imports.csv", True),
        ("soybean-2024-exports.csv", "soybean-2024-exports.csv", True),
        # English headers; what the bulk reader does with them is checked against the stream either way.
        ("english-full.csv", "english-full-exports.csv", None),
        ("english-degenerate.csv", "english-degenerate-exports-2026-01.csv", None),
    ],
)
def test_real_exports_load_the_same_through_both_readers(tmp_path, real_name, file_name, bulk_expected):
    path = require_real(REAL_QUERY) / real_name
    bulk, _ = _both(tmp_path, path, file_name)
    assert "rows" in bulk and bulk["rows"]
    if bulk_expected is not None:
        assert bulk["took_bulk"] is bulk_expected


def test_the_sample_exports_go_through_the_bulk_reader(tmp_path):
    from orchestration.samples.city_query_exports import write_city_query_exports
    from orchestration.samples.query_exports import write_query_exports

    files = write_query_exports(tmp_path / "inbox", "2024-01", "2024-03")
    files += write_city_query_exports(tmp_path / "inbox", "2024-01", "2024-03")
    for number, path in enumerate(files[:2] + files[-1:]):
        bulk, _ = _both(tmp_path / str(number), path, path.name)
        assert bulk["took_bulk"] is True, path.name
        assert len(bulk["rows"]) > 1000


_which = shutil.which  # the real one, for the fixture's stand-in to call


@pytest.fixture(params=["iconv", "python"])
def transcoder(request, monkeypatch):
    """GB18030 → UTF-8 by glibc's iconv, and by Python's codec as on a machine without iconv."""
    if request.param == "iconv" and not shutil.which("iconv"):
        pytest.skip("no iconv on this machine: the bulk reader transcodes with Python's codec")
    if request.param == "python":
        monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None if name == "iconv" else _which(name))
    return request.param


def test_many_chunks_number_their_rows_like_the_stream(tmp_path, monkeypatch, transcoder):
    """Rows across chunk and group boundaries keep their line numbers (tiny chunks force many)."""
    from orchestration.ingest import query_export_bulk

    monkeypatch.setattr(query_export_bulk, "CHUNK_BYTES", 4096)
    lines = [HEADER] + [_row(code=f"{29010000 + i:08d}", value=f"{1000 + i:,}") for i in range(3000)]
    path = _write(tmp_path, "many-exports-2024.csv", lines)
    bulk, _ = _both(tmp_path, path, path.name)
    assert bulk["took_bulk"] is True
    assert [r[1] for r in bulk["rows"]] == list(range(2, 3002))


# Variants of a clean file: (name, lines, newline, whether the bulk reader must take it).
CLEAN = [HEADER, _row(), _row(month="202404", value="12"), _row(month="202405", value="1,000,000.50")]
VARIANTS = {
    "clean": (CLEAN, "\n", True),
    "crlf line ends": (CLEAN, "\r\n", True),
    "nil quantity": ([HEADER, _row(quantity="-"), _row(quantity="")], "\n", True),
    "full-width question mark unit": ([HEADER, _row(unit="？")], "\n", True),
    "blank line in the middle": ([HEADER, _row(), "", _row(month="202404")], "\n", False),
    "note line at the end": ([HEADER, _row(), '"注：数据来源于海关统计"'], "\n", False),
    "empty name": ([HEADER, _row(name=""), _row(month="202404")], "\n", True),
    "name of spaces only": ([HEADER, _row(name="  "), _row(month="202404")], "\n", False),
    "leading space in a name": ([HEADER, _row(name=" 乙炔")], "\n", False),
    "ideographic space ending a name": ([HEADER, _row(name="乙炔\u3000")], "\n", False),
    "badly grouped number": ([HEADER, _row(value="12,34"), _row(month="202404")], "\n", False),
    "negative value": ([HEADER, _row(value="-5"), _row(month="202404")], "\n", False),
    "no value": ([HEADER, _row(value=""), _row(month="202404")], "\n", False),
    "seven-digit code": ([HEADER, _row(code="2901292"), _row(month="202404")], "\n", False),
    "mixed code lengths": ([HEADER, _row(code="290129"), _row(code="29012920")], "\n", False),
    "future month": ([HEADER, _row(month="202712")], "\n", False),
    "month thirteen": ([HEADER, _row(month="202413"), _row(month="202404")], "\n", False),
    "cell spanning lines": ([HEADER, _row(name="乙\n炔"), _row(month="202404")], "\n", False),
    "too few fields": ([HEADER, _row(), '"202404","29012920"'], "\n", False),
    "value past the trailing comma": ([HEADER, _row() + '"9"', _row(month="202404")], "\n", False),
}


@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_edge_cases_land_as_the_streaming_reader_decides(tmp_path, case):
    lines, newline, bulk_expected = VARIANTS[case]
    path = _write(tmp_path, "variant-exports-2024.csv", lines, newline)
    bulk, _ = _both(tmp_path, path, path.name)
    assert bulk["took_bulk"] is bulk_expected


def test_a_byte_that_is_not_gb18030_is_left_to_the_stream(tmp_path):
    path = tmp_path / "broken-exports-2024.csv"
    good = "\n".join([HEADER, _row(), _row(month="202404")]).encode("gb18030")
    path.write_bytes(good + b'\n"202405","29012920","\x81\x20","110","x","10","y","31","z","1","t","0","?","5",\n')
    bulk, stream = _both(tmp_path, path, path.name)
    assert bulk["took_bulk"] is False
    assert "rejected" in stream and "GB18030" in stream["rejected"].upper()


def test_a_byte_that_is_not_gb18030_past_the_head_stops_the_transcoder(tmp_path, monkeypatch, transcoder):
    """Far below the part of the file the parser reads first, so the bulk reader is under way when
    the transcoder (iconv or Python's codec) meets the byte: it declines, the stream rejects the file."""
    from orchestration.ingest import query_export_bulk

    monkeypatch.setattr(query_export_bulk, "CHUNK_BYTES", 8192)  # the bad byte in a later chunk
    rows = [_row(code=f"{29010000 + i:08d}") for i in range(2000)]
    good = "\n".join([HEADER, *rows]).encode("gb18030")
    path = tmp_path / "broken-late-exports-2024.csv"
    path.write_bytes(good + b'\n"202405","29012920","\x81\x20","110","x","10","y","31","z","1","t","0","?","5",\n')
    bulk, stream = _both(tmp_path, path, path.name)
    assert bulk["took_bulk"] is False
    assert "rejected" in stream and "GB18030" in stream["rejected"].upper()


def test_a_utf8_export_is_read_as_is(tmp_path):
    path = _write(tmp_path, "utf8-exports-2024.csv", CLEAN, encoding="utf-8")
    bulk, _ = _both(tmp_path, path, path.name)
    assert bulk["took_bulk"] is True
    assert bulk["rows"][0][6] == "乙炔"


def test_a_killed_load_leaves_no_chunk_files_after_the_next(tmp_path):
    path = _write(tmp_path, "again-exports-2024.csv", CLEAN)
    leftover = tmp_path / "with-bulk" / "tmp" / f"{LEFTOVER_PREFIX}dead-1"
    leftover.mkdir(parents=True)
    (leftover / "chunk-00000.csv").write_text("half a chunk")
    _both(tmp_path, path, path.name)
    assert not leftover.exists()
    shutil.rmtree(tmp_path / "with-bulk")
