"""UN Comtrade: the real Comtrade+ CSV, a bulk gzip TSV made from it, and broken files.

The real CSV is read from ../shared (never copied here); the bulk variants are written to tmp_path.
"""

from __future__ import annotations

import csv
import gzip
import io
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.ingest.comtrade import (
    FORMAT,
    RAW_TABLE,
    SCOPE,
    looks_like_comtrade,
    looks_like_comtrade_file,
    parse_comtrade,
)
from orchestration.ingest.errors import ReleaseRejected
from orchestration.ingest.periods import Period
from orchestration.ingest.release import ParseContext

from .conftest import REAL  # noqa: E402  (../shared/fixtures/real beside the checkout)
CSV_PATH = REAL / "comtrade" / "TradeData-2022-totals.csv"
CONTEXT = ParseContext(today=date(2026, 11, 28))
COLUMNS = ("source_row", *(c.name for c in RAW_TABLE.columns))


@pytest.fixture
def real_csv() -> Path:
    if not CSV_PATH.exists():
        pytest.skip(f"real Comtrade file not found at {CSV_PATH} (../shared is absent outside this workplace)")
    return CSV_PATH


def _file_rows(path: Path) -> list[dict[str, str]]:
    """The real file read independently of the parser (it is Latin-1: "Côte d'Ivoire")."""
    with path.open(encoding="latin-1", newline="") as handle:
        return list(csv.DictReader(handle))


def _load(path: Path, context: ParseContext = CONTEXT):
    release = parse_comtrade(path, path.name, context)
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in release.rows]
    return release, rows


def _find(rows, reporter: str, flow: str, partner: str) -> dict:
    (row,) = [r for r in rows if (r["reporter_code"], r["flow_code"], r["partner_code"]) == (reporter, flow, partner)]
    return row


def _bulk_from_real(real: Path, target: Path) -> Path:
    """The real rows in the bulk layout: no *Desc / *ISO columns, TAB-separated, CIFValue/FOBValue
    capitalised, gzip-compressed, no trailing empty column."""
    source = _file_rows(real)
    keep = [c for c in source[0] if c and not c.lower().endswith(("desc", "iso"))]
    rename = {"cifvalue": "CIFValue", "fobvalue": "FOBValue"}
    with gzip.open(target, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow([rename.get(c, c) for c in keep])
        for row in source:
            writer.writerow([row[c] for c in keep])
    return target


# --- the real Comtrade+ CSV -------------------------------------------------------------------


def test_real_csv_is_recognised(real_csv):
    assert looks_like_comtrade(real_csv.read_text(encoding="latin-1")[:2000])
    assert looks_like_comtrade_file(real_csv)
    assert not looks_like_comtrade("收发货人所在地,进出口,进出口,出口,出口,进口,进口\n")


def test_real_csv_keeps_every_reporter_and_every_row(real_csv):
    expected = _file_rows(real_csv)
    release, rows = _load(real_csv)
    assert (release.format, release.scope, release.flow, release.currency) == (FORMAT, SCOPE, "both", "USD")
    assert release.unit == "US dollars"
    assert len(rows) == len(expected) == 1352
    assert release.rejected_rows == []
    assert {r["reporter_code"] for r in rows} == {"156", "276", "842"}
    assert any("156" in n and "276" in n and "842" in n for n in release.notes)
    assert release.period.year == 2022
    assert release.observed_period == Period(2022, 1, 12)
    assert {(r["period"], r["freq"]) for r in rows} == {(date(2022, 1, 1), "A")}
    assert {r["flow_code"] for r in rows} == {"X", "M"}


def test_real_csv_china_figures_as_in_the_file(real_csv):
    source = _file_rows(real_csv)
    _, rows = _load(real_csv)
    for flow in ("X", "M"):
        (line,) = [r for r in source if (r["reporterCode"], r["flowCode"], r["partnerCode"]) == ("156", flow, "0")]
        row = _find(rows, "156", flow, "0")
        assert row["primary_value_usd"] == Decimal(line["primaryValue"])
        assert (row["partner_iso"], row["cmd_code"], row["classification_code"]) == ("W00", "TOTAL", "H6")
        assert row["is_aggregate"] is True
    exports = _find(rows, "156", "X", "0")
    assert exports["primary_value_usd"] == Decimal(3_593_601_435_602)  # China's 2022 exports to the World, US$
    assert exports["fob_value_usd"] == exports["primary_value_usd"] and exports["cif_value_usd"] is None
    assert _find(rows, "156", "M", "0")["primary_value_usd"] == Decimal(2_715_997_517_261)
    # source_row: the file's line number (the header is line 1)
    assert rows[0]["source_row"] == 2
    # Latin-1 partner names do not break the rows around them; their ISO codes load.
    assert _find(rows, "156", "X", "384")["partner_iso"] == "CIV"


def test_real_csv_values_with_fractions_of_a_dollar(real_csv):
    _, rows = _load(real_csv)
    germany = _find(rows, "276", "M", "0")
    assert germany["primary_value_usd"] == Decimal("1588852981506.72")  # 1588852981506.719 to the cent


# --- the bulk layout --------------------------------------------------------------------------


def test_bulk_gzip_tsv_gives_the_same_figures(tmp_path, real_csv):
    bulk = _bulk_from_real(real_csv, tmp_path / "COMTRADE-FINAL-CA156202200H6[2023-01-03].gz")
    assert bulk.read_bytes()[:2] == b"\x1f\x8b"
    assert looks_like_comtrade_file(bulk)
    release, rows = _load(bulk)
    _, csv_rows = _load(real_csv)
    assert len(rows) == len(csv_rows) == 1352
    assert {r["partner_iso"] for r in rows} == {None}  # the bulk file has no ISO columns
    assert any("bulk" in n for n in release.notes)
    for reporter, flow in (("156", "X"), ("156", "M"), ("842", "M"), ("276", "M")):
        bulk_row, csv_row = _find(rows, reporter, flow, "0"), _find(csv_rows, reporter, flow, "0")
        for column in ("primary_value_usd", "cif_value_usd", "fob_value_usd", "period", "freq", "cmd_code"):
            assert bulk_row[column] == csv_row[column], (reporter, flow, column)
    assert _find(rows, "156", "X", "0")["primary_value_usd"] == Decimal(3_593_601_435_602)
    assert release.observed_period == Period(2022, 1, 12)


def _tsv(*lines: str) -> str:
    return "\n".join("\t".join(line.split("|")) for line in lines) + "\n"


BULK_HEADER = "typeCode|freqCode|refYear|refMonth|reporterCode|flowCode|partnerCode|cmdCode|qty|netWgt|CIFValue|FOBValue|primaryValue|isAggregate"


def test_bulk_monthly_hs_codes_keep_leading_zeros_and_bad_rows_are_rejected(tmp_path):
    path = tmp_path / "bulk.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(
            _tsv(
                BULK_HEADER,
                "C|M|2023|3|156|X|0|010121|12|3400.5|||98765.4|false",
                "C|M|2023|4|156|M|842|010121|1|2||1000|1000|false",
                "C|M|2023|4|156|DX|842|010121|1|2||1000|1000|false",  # not a flow this warehouse takes
                "C|M|2023|4|156|M|842|010121|1|2|||n/a|false",  # not a number
                "C|M|2023|13|156|M|842|010121|1|2|||5|false",  # not a month
            )
        )
    release, rows = _load(path)
    assert [r["cmd_code"] for r in rows] == ["010121", "010121"]
    first = rows[0]
    assert (first["period"], first["freq"], first["qty"], first["net_wgt"]) == (date(2023, 3, 1), "M", Decimal(12), Decimal("3400.5"))
    assert first["primary_value_usd"] == Decimal("98765.40") and first["is_aggregate"] is False
    assert release.observed_period == Period(2023, 3, 4)
    rejected = {r.source_row: r for r in release.rejected_rows}
    assert sorted(rejected) == [4, 5, 6]
    assert rejected[4].column == "flowCode" and "'DX'" in rejected[4].reason
    assert (rejected[5].column, rejected[5].raw_value) == ("primaryValue", "n/a")
    assert rejected[6].column == "refMonth"


def test_multi_year_file_uses_the_last_year_and_says_so(tmp_path):
    path = tmp_path / "two-years.tsv"
    path.write_text(_tsv(BULK_HEADER, "C|A|2021|52|156|X|0|TOTAL|0|0||1|1|true", "C|A|2022|52|156|X|0|TOTAL|0|0||2|2|true"))
    release, rows = _load(path)
    assert len(rows) == 2
    assert release.period.year == 2021  # provisional, from the first row
    assert release.observed_period == Period(2022, 1, 12)
    assert any("2021–2022" in n for n in release.notes)


def test_gzip_bomb_is_rejected_quickly(tmp_path):
    path = tmp_path / "bomb.gz"
    chunk = b"\0" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as handle:
        for _ in range(200):  # 200 MB of zeros → ~200 kB on disk
            handle.write(chunk)
    assert path.stat().st_size < 1_000_000
    started = time.monotonic()
    with pytest.raises(ReleaseRejected) as caught:
        release = parse_comtrade(path, path.name, CONTEXT)
        list(release.rows)
    assert "zip bomb?" in caught.value.reason and "decompresses to more than" in caught.value.reason
    assert time.monotonic() - started < 5


def test_gzip_bomb_hiding_its_size_is_stopped_while_streaming(tmp_path):
    """A multi-member gzip whose trailer states a tiny size: the byte count while reading stops it."""
    row = "C\tA\t2022\t52\t156\tX\t0\tTOTAL\t0\t0\t\t1\t1\ttrue\n"
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as handle:
        handle.write(_tsv(BULK_HEADER).encode())
        block = (row * 4096).encode()
        for _ in range(50_000_000 // len(block)):  # ~50 MB of rows
            handle.write(block)
    buffer.write(gzip.compress(b""))  # a last, empty member: the trailer the pre-check reads says 0 bytes
    path = tmp_path / "hidden-bomb.gz"
    path.write_bytes(buffer.getvalue())
    started = time.monotonic()
    release = parse_comtrade(path, path.name, CONTEXT)  # header and first row are fine
    with pytest.raises(ReleaseRejected) as caught:
        for _ in release.rows:
            pass
    assert "zip bomb?" in caught.value.reason
    assert time.monotonic() - started < 10


def test_missing_required_columns_are_named(tmp_path):
    path = tmp_path / "no-value.csv"
    path.write_text("typeCode,freqCode,refPeriodId,refYear,refMonth,reporterCode,flowCode,partnerCode,cmdCode,cifvalue\n"
                    "C,A,20220101,2022,52,156,X,0,TOTAL,1\n")  # fmt: skip
    with pytest.raises(ReleaseRejected) as caught:
        parse_comtrade(path, path.name, CONTEXT)
    assert "primaryValue" in caught.value.reason and caught.value.row == 1
    path.write_text("refYear,flowCode,partnerCode,cmdCode\n2022,X,0,TOTAL\n")
    with pytest.raises(ReleaseRejected) as caught:
        parse_comtrade(path, path.name, CONTEXT)
    assert "reporterCode, primaryValue" in caught.value.reason


def test_header_only_file_is_rejected(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text(_tsv(BULK_HEADER))
    with pytest.raises(ReleaseRejected, match="no data row"):
        parse_comtrade(path, path.name, CONTEXT)


def test_truncated_gzip_is_rejected_not_half_loaded(tmp_path, real_csv):
    data = _bulk_from_real(real_csv, tmp_path / "bulk.gz").read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(data[: len(data) // 2])
    # Either at once (the last bytes, read as a gzip trailer, state an absurd size) or while streaming.
    with pytest.raises(ReleaseRejected, match="truncated"):
        list(parse_comtrade(cut, cut.name, CONTEXT).rows)
    # A cut that leaves a plausible "trailer" is caught when the stream ends early.
    size = next(n for n in range(len(data) // 2, len(data)) if int.from_bytes(data[n - 4 : n], "little") <= 20 * n)
    cut.write_bytes(data[:size])
    release = parse_comtrade(cut, cut.name, CONTEXT)
    with pytest.raises(ReleaseRejected, match="damaged or truncated gzip"):
        list(release.rows)
