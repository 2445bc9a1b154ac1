"""UN Comtrade trade data: the second source, to cross-check GACC against partners' mirror figures.

Two layouts are read, both streamed row by row (a bulk file can be many gigabytes):

* the Comtrade+ CSV download (comtradeplus.un.org, comtradeapicall data frames): comma-separated,
  every field quoted, a trailing comma on every line, with *Desc and *ISO label columns, e.g.
  ../shared/fixtures/real/comtrade/TradeData-2022-totals.csv (Latin-1: "Côte d'Ivoire");
* the bulk file (`/bulk/v1/get/…`): gzip-compressed, TAB-separated, no *Desc / *ISO columns, and
  header names capitalised differently (`CIFValue`, `FOBValue`) — columns are matched
  case-insensitively.

A file may hold several reporters (156 China, 276 Germany, 842 USA …): every reporter's rows
are kept, with its code on the row. Values are in US dollars as published (`primaryValue` is
CIF for imports and FOB for exports). Each row keeps its own period (`A` annual rows on January
1st of the year, `M` monthly rows on the month) and its own flow.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .errors import ReleaseRejected
from .periods import Period
from .release import ParseContext, ParsedRelease, RawColumn, RawTable, RejectedRow
from .text import parse_number

FORMAT = "comtrade"
SCOPE = "reporter"  # the reporting country's own declaration, not GACC's

RAW_TABLE = RawTable(
    "comtrade_rows",
    (
        RawColumn("period", "DATE"),  # annual: January 1st of the year; monthly: the month
        RawColumn("freq", "VARCHAR"),  # A | M
        RawColumn("reporter_code", "VARCHAR"),  # M49: 156 China
        RawColumn("flow_code", "VARCHAR"),  # X, M, RX, RM
        RawColumn("partner_code", "VARCHAR"),  # 0 = World
        RawColumn("partner_iso", "VARCHAR"),  # NULL in bulk files
        RawColumn("partner2_code", "VARCHAR"),
        RawColumn("classification_code", "VARCHAR"),  # H6 = HS2022 …
        RawColumn("cmd_code", "VARCHAR"),  # TOTAL or an HS code, as text (leading zeros matter)
        RawColumn("customs_code", "VARCHAR"),
        RawColumn("mot_code", "VARCHAR"),
        RawColumn("qty_unit_code", "VARCHAR"),
        RawColumn("qty", "DECIMAL(24, 4)"),
        RawColumn("net_wgt", "DECIMAL(24, 4)"),
        RawColumn("cif_value_usd", "DECIMAL(20, 2)"),
        RawColumn("fob_value_usd", "DECIMAL(20, 2)"),
        RawColumn("primary_value_usd", "DECIMAL(20, 2)"),
        RawColumn("is_aggregate", "BOOLEAN"),
    ),
)

FLOW_CODES = ("X", "M", "RX", "RM")
REQUIRED = ("refYear", "reporterCode", "flowCode", "partnerCode", "cmdCode", "primaryValue")
# Raw-table column → Comtrade header (looked up case-insensitively).
TEXT_FIELDS = {
    "reporter_code": "reporterCode",
    "partner_code": "partnerCode",
    "partner_iso": "partnerISO",
    "partner2_code": "partner2Code",
    "classification_code": "classificationCode",
    "cmd_code": "cmdCode",
    "customs_code": "customsCode",
    "mot_code": "motCode",
    "qty_unit_code": "qtyUnitCode",
}
QUANTITY_FIELDS = {"qty": "qty", "net_wgt": "netWgt"}
MONEY_FIELDS = {"cif_value_usd": "cifvalue", "fob_value_usd": "fobvalue", "primary_value_usd": "primaryValue"}
_CENT = Decimal("0.01")
_TEN_THOUSANDTH = Decimal("0.0001")
_MAX_MONEY = Decimal(10) ** 18  # DECIMAL(20, 2) holds 18 digits before the point
_MAX_QUANTITY = Decimal(10) ** 20  # DECIMAL(24, 4)

GZIP_MAGIC = b"\x1f\x8b"
MAX_RATIO = 20  # a text table compresses ~10–12×; far beyond that is a decompression bomb
MAX_DECOMPRESSED = 50 * 10**9
MAX_LINE = 1 << 20  # 1 MB: a Comtrade line is < 1 kB; a longer one means this is not a Comtrade table
_TRUE = frozenset({"true", "1", "t", "yes", "y"})
_FALSE = frozenset({"false", "0", "f", "no", "n"})


def _header_fields(line: str) -> list[str]:
    delimiter = "\t" if "\t" in line else ","
    return [f.strip().strip('"').strip().lower() for f in line.strip("\ufeff\r\n").split(delimiter)]


def looks_like_comtrade(text_head: str) -> bool:
    """The first line is a Comtrade+ CSV header (typeCode,freqCode,refPeriodId …) or a bulk TSV header."""
    lines = text_head.lstrip("\ufeff").splitlines()
    if not lines:
        return False
    names = set(_header_fields(lines[0]))
    # Comtrade's own column names, two of which are enough to say so; the parser then names any
    # required column that is missing instead of the file being called an unknown layout.
    signature = {"typecode", "freqcode", "refperiodid", "reportercode", "flowcode", "cmdcode", "primaryvalue"}
    core = {n.lower() for n in REQUIRED} <= names
    return len(signature & names) >= 2 or core


def looks_like_comtrade_file(path: Path) -> bool:
    """The same check on a file on disk, gzip or not (a bulk file's bytes are not text)."""
    try:
        with path.open("rb") as probe:
            gzipped = probe.read(2) == GZIP_MAGIC
        # Only the first line is inflated here (readline is bounded), so no bomb check is needed.
        with gzip.open(path, "rb") if gzipped else path.open("rb") as stream:
            return looks_like_comtrade(stream.readline(MAX_LINE).decode("latin-1"))
    except (OSError, EOFError, zlib.error):
        return False


class _CappedReader(io.RawIOBase):
    """Counts the decompressed bytes and stops at the cap: a small .gz must not fill the disk or memory."""

    def __init__(self, inner: gzip.GzipFile, cap: int, file_name: str):
        self._inner, self._cap, self._file_name, self.count = inner, cap, file_name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._inner.read(len(buffer))
        self.count += len(data)
        if self.count > self._cap:
            raise ReleaseRejected(self._file_name, _bomb_reason(self._cap))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def _bomb_reason(cap: int) -> str:
    return f"decompresses to more than {cap:,} bytes, the cap ({MAX_RATIO}× its compressed size, at most 50 GB) (zip bomb?)"


def _open_binary(path: Path, file_name: str) -> io.BufferedReader:
    """The file's bytes, decompressed on the fly when it is gzip (by its magic bytes, not its name)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic != GZIP_MAGIC:
        if magic == b"PK":
            raise ReleaseRejected(file_name, "a zip archive: unpack it and give the .csv (or the bulk .gz) instead")
        return path.open("rb")
    compressed = path.stat().st_size
    cap = min(MAX_RATIO * compressed, MAX_DECOMPRESSED)
    # The gzip trailer states the (last member's) size modulo 2**32: in a whole file it can only
    # understate the true size, so a stated size over the cap rejects at once, before anything is
    # inflated. In a file cut short the last bytes are not a trailer at all; the reason says so.
    with path.open("rb") as probe:
        probe.seek(-4, io.SEEK_END)
        stated = int.from_bytes(probe.read(4), "little")
    if stated > cap:
        raise ReleaseRejected(
            file_name,
            _bomb_reason(cap) + f": its gzip trailer states {stated:,} bytes, unless the download was truncated",
        )
    return io.BufferedReader(_CappedReader(gzip.open(path, "rb"), cap, file_name), buffer_size=1 << 16)


@dataclass
class _Decoder:
    """Bytes of one line → text. Comtrade+ downloads are UTF-8 or, like the real fixture, Latin-1/
    Windows-1252; deciding per line keeps the stream single-pass."""

    fallback_line: int | None = None

    def __call__(self, raw: bytes, line_number: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            if self.fallback_line is None:
                self.fallback_line = line_number
            try:
                return raw.decode("cp1252")
            except UnicodeDecodeError:
                return raw.decode("latin-1")


def _lines(stream: io.BufferedReader, file_name: str, decoder: _Decoder) -> Iterator[str]:
    for number, raw in enumerate(iter(lambda: stream.readline(MAX_LINE + 1), b""), start=1):
        if len(raw) > MAX_LINE:
            raise ReleaseRejected(
                file_name, f"line {number} is longer than {MAX_LINE:,} bytes: not a Comtrade table", row=number
            )
        if b"\x00" in raw:
            raise ReleaseRejected(file_name, "the file is binary (NUL bytes), not a Comtrade table", row=number)
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        yield decoder(raw, number)


@dataclass
class _Header:
    index: dict[str, int]  # lower-case header name → column
    delimiter: str
    is_bulk: bool  # no *Desc / *ISO columns (partner_iso stays NULL)

    def column(self, name: str) -> int | None:
        return self.index.get(name.lower())


def _read_header(first_line: str, file_name: str) -> _Header:
    delimiter = "\t" if "\t" in first_line else ","
    names = next(csv.reader([first_line], delimiter=delimiter))
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.strip().lower()
        if key and key not in index:  # the trailing comma makes an unnamed last column: ignored
            index[key] = i
    missing = [name for name in REQUIRED if name.lower() not in index]
    if missing:
        raise ReleaseRejected(file_name, f"not a Comtrade table: missing required column(s) {', '.join(missing)}", row=1)
    is_bulk = not any(k.endswith("desc") or k.endswith("iso") for k in index)
    return _Header(index, delimiter, is_bulk)


def _open_table(path: Path, file_name: str) -> tuple[io.BufferedReader, _Header, Iterator[list[str]], _Decoder]:
    stream = _open_binary(path, file_name)
    decoder = _Decoder()
    try:
        lines = _lines(stream, file_name, decoder)
        first = next(lines, None)
        if first is None or not first.strip():
            raise ReleaseRejected(file_name, "the file is empty")
        header = _read_header(first, file_name)
        return stream, header, csv.reader(lines, delimiter=header.delimiter), decoder
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        stream.close()
        raise ReleaseRejected(file_name, f"a damaged gzip file: {error}") from None
    except BaseException:
        stream.close()
        raise


def _cell(row: list[str], header: _Header, name: str) -> str | None:
    i = header.column(name)
    if i is None or i >= len(row):
        return None
    value = row[i].strip()
    return value if value != "" else None


def _row_period(row: list[str], header: _Header) -> tuple[date, str] | tuple[str, str, str]:
    """(period, freq) of a row, or (column, raw value, reason) when it has none."""
    year_text = _cell(row, header, "refYear") or ""
    if not (year_text.isdigit() and 1900 <= int(year_text) <= 2100):
        return "refYear", year_text, f"refYear {year_text!r} is not a year"
    year = int(year_text)
    freq = (_cell(row, header, "freqCode") or "").upper()
    month_text = _cell(row, header, "refMonth") or ""
    if not freq:  # a file without freqCode: a month 1..12 means monthly data (annual rows say 52)
        freq = "M" if month_text.isdigit() and 1 <= int(month_text) <= 12 else "A"
    if freq == "A":
        return date(year, 1, 1), "A"
    if freq == "M":
        if not (month_text.isdigit() and 1 <= int(month_text) <= 12):
            return "refMonth", month_text, f"refMonth {month_text!r} is not a month of a monthly (M) row"
        return date(year, int(month_text), 1), "M"
    return "freqCode", freq, f"freqCode {freq!r} is neither A nor M"


def _number(raw: str | None, quantum: Decimal, limit: Decimal) -> Decimal | None:
    """Raises ValueError with a reason a person can act on."""
    value = parse_number(raw) if raw is not None else None
    if value is None:
        return None
    value = value.quantize(quantum, rounding=ROUND_HALF_UP)  # what DuckDB will hold, decided here
    if abs(value) >= limit:
        raise ValueError(f"{raw!r} is too large for the column")
    return value


def _boolean(raw: str | None) -> bool | None:
    if raw is None:
        return None
    text = raw.lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _convert(row: list[str], header: _Header, source_row: int, today: date) -> tuple | RejectedRow:
    period = _row_period(row, header)
    if len(period) == 3:
        return RejectedRow(source_row, *period)
    if period[0].year > today.year:
        return RejectedRow(source_row, "refYear", str(period[0].year), "a year in the future")
    flow = (_cell(row, header, "flowCode") or "").upper()
    if flow not in FLOW_CODES:
        return RejectedRow(source_row, "flowCode", flow, f"flow code {flow!r} is not one of {', '.join(FLOW_CODES)}")
    texts = {column: _cell(row, header, name) for column, name in TEXT_FIELDS.items()}
    for column, name in (("reporter_code", "reporterCode"), ("partner_code", "partnerCode"), ("cmd_code", "cmdCode")):
        if texts[column] is None:
            return RejectedRow(source_row, name, "", f"{name} is empty")
    numbers: dict[str, Decimal | None] = {}
    for fields, quantum, limit in ((QUANTITY_FIELDS, _TEN_THOUSANDTH, _MAX_QUANTITY), (MONEY_FIELDS, _CENT, _MAX_MONEY)):
        for column, name in fields.items():
            raw = _cell(row, header, name)
            try:
                numbers[column] = _number(raw, quantum, limit)
            except ValueError as error:
                return RejectedRow(source_row, name, raw or "", str(error))
            if column in MONEY_FIELDS and numbers[column] is not None and numbers[column] < 0:
                return RejectedRow(source_row, name, raw or "", "a trade value cannot be negative")
    if numbers["primary_value_usd"] is None:
        return RejectedRow(source_row, "primaryValue", "", "primaryValue is empty: the row has no trade value")
    return (
        source_row, period[0], period[1], texts["reporter_code"], flow, texts["partner_code"],
        texts["partner_iso"], texts["partner2_code"], texts["classification_code"],
        texts["cmd_code"], texts["customs_code"], texts["mot_code"], texts["qty_unit_code"],
        numbers["qty"], numbers["net_wgt"], numbers["cif_value_usd"], numbers["fob_value_usd"], numbers["primary_value_usd"],
        _boolean(_cell(row, header, "isAggregate")),
    )  # fmt: skip


def _release_period(months_by_year: dict[int, set[int]]) -> Period:
    """Period covers one year: the last year seen; an annual row covers all twelve months."""
    year = max(months_by_year)
    months = months_by_year[year]
    return Period(year, min(months), max(months))


def _months(period: date, freq: str) -> set[int]:
    return set(range(1, 13)) if freq == "A" else {period.month}


def parse_comtrade(path: Path, file_name: str, context: ParseContext) -> ParsedRelease:
    """Read the header and the first row now (to reject a wrong file at once and to know the period);
    the rows stream when `rows` is iterated, which may raise ReleaseRejected (a decompression bomb,
    a damaged gzip) and which sets `observed_period` and the notes on reporters and years."""
    stream, header, reader, _ = _open_table(path, file_name)
    first_period: tuple[date, str] | None = None
    try:
        # The first row with a valid period gives the provisional period (bad rows before it are
        # rejected when the rows are read); a file with none is not worth registering.
        for checked, row in enumerate(reader):
            if checked >= 10_000:
                break
            if any(cell.strip() for cell in row):
                period = _row_period(row, header)
                if len(period) == 2:
                    first_period = period
                    break
    except csv.Error as error:
        raise ReleaseRejected(file_name, f"not a readable CSV/TSV table: {error}") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ReleaseRejected(file_name, f"a damaged or truncated gzip file: {error}") from None
    finally:
        stream.close()
    if first_period is None:
        raise ReleaseRejected(file_name, "no data row with a valid refYear (and refMonth) in the first 10,000 rows")
    provisional = _release_period({first_period[0].year: _months(*first_period)})

    release = ParsedRelease(
        file_name=file_name,
        format=FORMAT,
        scope=SCOPE,
        period=provisional,
        flow="both",  # flows are per row (X, M, RX, RM)
        currency="USD",
        unit="US dollars",
        raw_table=RAW_TABLE,
        rows=(),
        title=None,
        notes=["bulk layout (tab-separated, no *Desc/*ISO columns)" if header.is_bulk else "Comtrade+ CSV layout"],
    )
    release.rows = _stream_rows(path, file_name, context, release)
    return release


def _stream_rows(path: Path, file_name: str, context: ParseContext, release: ParsedRelease) -> Iterator[tuple]:
    stream, header, reader, decoder = _open_table(path, file_name)
    reporters: dict[str, int] = {}
    months_by_year: dict[int, set[int]] = {}
    source_row = 1  # the header is row 1; rows count as a spreadsheet would show them
    try:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                raise ReleaseRejected(file_name, f"not a readable CSV/TSV table: {error}", row=source_row + 1) from None
            source_row += 1
            if not any(cell.strip() for cell in row):
                continue
            converted = _convert(row, header, source_row, context.today)
            if isinstance(converted, RejectedRow):
                release.rejected_rows.append(converted)
                continue
            reporters[converted[3]] = reporters.get(converted[3], 0) + 1
            months_by_year.setdefault(converted[1].year, set()).update(_months(converted[1], converted[2]))
            yield converted
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ReleaseRejected(file_name, f"a damaged or truncated gzip file: {error}", row=source_row) from None
    finally:
        stream.close()

    # Set before the iteration ends, so that the loader records them with the release.
    if not months_by_year:
        raise ReleaseRejected(file_name, "no row could be loaded: every data row was rejected")
    release.observed_period = _release_period(months_by_year)
    release.notes.append(
        "reporters (rows kept for every one): " + ", ".join(f"{code} ({n} rows)" for code, n in sorted(reporters.items()))
    )
    if len(months_by_year) > 1:
        years = sorted(months_by_year)
        release.notes.append(
            f"rows span {years[0]}–{years[-1]}; the release's period is the last year, {years[-1]} "
            "(each row keeps its own period)"
        )
    if decoder.fallback_line is not None:
        release.notes.append(f"not UTF-8 (first at line {decoder.fallback_line}): read as Windows-1252/Latin-1")
