"""The bad-input corpus: each broken file is quarantined with its own specific reason (naming the
file, and the row and column where there is one), bad rows inside good files are rejected with
theirs, and nothing else is lost. Runs the ingest steps on a real DuckDB file."""

from __future__ import annotations

import csv
import gzip
import io
import json

import duckdb
import pytest

from orchestration.config import WarehousePaths
from orchestration.ingest.steps import load_pending, register_inbox
from orchestration.samples.city_tables import generate_city_tables
from orchestration.samples.location_tables import generate_location_tables
from orchestration.samples.query_exports import generate_query_exports

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


def _corpus() -> dict[str, bytes | str]:
    """file name → content, with the reason each must be quarantined for."""
    jan = _location("2024-01")
    query = _query_export()
    header, *lines = query.splitlines()
    city = generate_city_tables("2024-03", "2024-03")["sample-city-zhejiang-2024-03.csv"].decode("utf-8-sig")
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
        "jan-for-good-2024-01.csv": jan.encode("utf-8"),
    }


EXPECTED = {
    "empty.csv": "empty",
    "blank-lines.csv": "empty",
    "binary-junk.csv": "binary",
    "wrong-encoding.csv": "binary",  # UTF-16 carries NUL bytes
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
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    paths = WarehousePaths(inbox=base / "inbox", warehouse_dir=base / "warehouse")
    paths.inbox.mkdir(parents=True)
    paths.warehouse_dir.mkdir()
    for name, content in _corpus().items():
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


def test_the_corpus_has_at_least_fifteen_kinds():
    assert len(EXPECTED) >= 15


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


def test_row_and_column_are_named_where_there_is_one(loaded):
    error = _release(loaded, "broken-header-2024-06.csv")[1]
    assert "row 3" in error and "column 3" in error
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
