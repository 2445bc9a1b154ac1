"""GACC online-query-platform exports (数据在线查询, stats.customs.gov.cn), parsed as a stream.

The platform exports one CSV per query (see ../shared/reference/customs-facts.md §1b and
../shared/fixtures/real/README.md, gacc_query_export). The layout:

- line 1 is the header. Only the dimensions the user grouped by appear, in any order:
  `数据年月` (only with 分月展示), `商品编码, 商品名称`, `贸易伙伴编码, 贸易伙伴名称`,
  `贸易方式编码, 贸易方式名称`, `注册地编码, 注册地名称`, the quantities
  `第一数量, 第一计量单位, 第二数量, 第二计量单位`, and one value column whose header is the
  currency (`人民币` = yuan, `美元` = US dollars). The English site writes `Date of data`,
  `Commodity code`, …, `US dollar` instead. Every line ends with a comma (an empty last column).
- every field is quoted, numbers have thousands separators (`"5,848,714"`), `?` means no unit,
  names may hold full-width commas (`Hong Kong，China`), the encoding is GB18030.
- the trade direction (export/import) is NOT in the file: it was a query parameter, so it comes
  from the file name or from a sidecar `<file>.json`. So does the period when the query was not
  split by month.

Exports of a whole year by HS8 × partner × trade mode × province run to gigabytes, so the file is
read in chunks and rows are yielded one at a time; nothing but the first and last 64 KB (the header,
the encoding, a provisional period) and one 1 MB chunk is held in memory at a time.

Decisions a reader may look for:
- the period of a file with a 数据年月 column comes from its rows: `period` is provisional (the months
  in the first and last 64 KB), `observed_period` is set when the stream ends. Period holds one year,
  so a file spanning years is recorded as January..last month of its last year, with a note.
- without a month column it comes from a sidecar `{"period": "2024-03" | "2024-01..2024-12" | "2024"}`
  or the file name (`2024-03`, `202403`, `2024年3月`, `202401..202406`, or a plain year `2024`
  meaning 2024-01..2024-12); a name giving only the year may be narrowed by the sidecar, any other
  disagreement is rejected. So is a disagreement on the direction.
- a month after context.today's month rejects the whole file (it is not a typo in one row).
- 商品编码 is kept as text in `product_code`: 2, 4, 6 or 8 digits, the platform's codeLength (HS
  chapter, HS4, HS6, HS8). One file holds one length (a query has one codeLength): a code of another
  length rejects the file. A code one digit short of a valid length (1/3/5/7 digits) is a row
  rejected as a spreadsheet's dropped leading zero.
- 注册地编码 is kept as text, unmapped: 2 digits (province, 32), 4 (prefecture city, the first four
  digits of its GB/T 2260 code, 3205) or 5 (GACC domestic region: prefecture + a zone-type digit).
  The dbt staging model maps it.
- rows that cannot be trusted are rejected one by one; a file with no loadable row, or with more
  than MAX_REJECTED_ROWS rejects, is rejected as a whole.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from .errors import ReleaseRejected
from .periods import Period, period_from_file_name
from .query_export_bulk import BulkLayout, bulk_insert
from .release import ParseContext, ParsedRelease, RawColumn, RawTable, RejectedRow, is_sample_release
from .text import decode_text, parse_number

FORMAT = "gacc_query_export"
SCOPE = "registration_place"  # 注册地: the province where the trading enterprise is registered

RAW_TABLE = RawTable(
    "query_export_rows",
    (
        RawColumn("period", "DATE"),  # first day of the month; NULL when the file has no month column
        RawColumn("flow", "VARCHAR"),  # export | import
        RawColumn("currency", "VARCHAR"),  # CNY | USD
        RawColumn("product_code", "VARCHAR"),  # HS chapter, HS4, HS6 or HS8: the query's codeLength (2/4/6/8)
        RawColumn("product_name", "VARCHAR"),
        RawColumn("partner_code", "VARCHAR"),
        RawColumn("partner_name", "VARCHAR"),
        RawColumn("trade_mode_code", "VARCHAR"),
        RawColumn("trade_mode_name", "VARCHAR"),
        RawColumn("registration_code", "VARCHAR"),
        RawColumn("registration_name", "VARCHAR"),
        RawColumn("quantity_1", "DECIMAL(24, 4)"),
        RawColumn("unit_1", "VARCHAR"),
        RawColumn("quantity_2", "DECIMAL(24, 4)"),
        RawColumn("unit_2", "VARCHAR"),
        RawColumn("value", "DECIMAL(20, 2)"),  # whole yuan (CNY) or whole US dollars (USD)
    ),
)

# Header spellings of every column but the value, Chinese and English site. Any subset, any order.
COLUMN_HEADERS: Mapping[str, tuple[str, ...]] = {
    "period": ("数据年月", "Date of data"),
    "product_code": ("商品编码", "Commodity code"),
    "product_name": ("商品名称", "Commodity"),
    "partner_code": ("贸易伙伴编码", "Trading partner code"),
    "partner_name": ("贸易伙伴名称", "Trading partner"),
    "trade_mode_code": ("贸易方式编码", "Customs Regime code"),
    "trade_mode_name": ("贸易方式名称", "Customs Regime"),
    "registration_code": ("注册地编码", "Locations of importers and exporters code"),
    "registration_name": ("注册地名称", "Locations of importers and exporters"),
    "quantity_1": ("第一数量", "Quantity"),
    "unit_1": ("第一计量单位", "Unit"),
    "quantity_2": ("第二数量", "Supplementary Quantity"),
    "unit_2": ("第二计量单位", "Supplementary Unit"),
}
# The value column is named after its currency; the figures are whole yuan / whole dollars.
VALUE_HEADERS: Mapping[str, str] = {
    "人民币": "CNY",
    "人民币元": "CNY",
    "RMB": "CNY",
    "Renminbi": "CNY",
    "CNY": "CNY",
    "美元": "USD",
    "US dollar": "USD",
    "US dollars": "USD",
    "USD": "USD",
}
UNIT_LABELS = {"CNY": "元", "USD": "美元"}
# 商品编码 lengths the platform exports (its codeLength): HS chapter, HS4, HS6, HS8 (the national tariff line).
PRODUCT_CODE_LENGTHS = frozenset({2, 4, 6, 8})
HEAD_BYTES = 64 * 1024  # what is read up front: header, sniffing, a provisional period
CHUNK_BYTES = 1024 * 1024  # what is read at a time while streaming rows
MAX_LINE_BYTES = 16 * 1024 * 1024  # a 'line' longer than this means the file has no line breaks
MAX_REJECTED_ROWS = 10_000  # beyond this the file is not what it claims to be (and the list would grow unbounded)

_NO_UNIT = frozenset({"", "?", "？"})
_MONTH_CELL = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})$")  # 数据年月: YYYYMM
# A note row at the end of a file (or the banner of a SAMPLE file): one cell, starting like this.
_NOTE_PREFIXES = ("注", "说明", "数据来源", "资料来源", "样本数据", "note", "source", "sample")
# File-name clues. 进出口 (both directions) contains 出口, and "query export" (this format's own name,
# as in the sample generator's sample-query-export-2024-imports.csv) contains "export": both are
# removed before looking for a direction.
_FLOW_WORD = re.compile(r"(?<![a-z])(?P<word>exports?|imports?)(?![a-z])", re.IGNORECASE)
_NOT_A_FLOW = re.compile(r"进出口|query[-_. ]?exports?", re.IGNORECASE)
_NAME_RANGE = re.compile(
    r"(?<!\d)(?P<y1>(?:19|20)\d{2})[-_.]?(?P<m1>0[1-9]|1[0-2])"
    r"\s*(?:\.\.|~|to|--|-|_)\s*"
    r"(?P<y2>(?:19|20)\d{2})[-_.]?(?P<m2>0[1-9]|1[0-2])(?!\d)",
    re.IGNORECASE,
)
_NAME_YEAR = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})(?!\d)")
_SIDECAR_PERIOD = re.compile(
    r"^(?P<y1>\d{4})(?:-(?P<m1>\d{1,2}))?(?:\s*\.\.\s*(?P<y2>\d{4})-(?P<m2>\d{1,2}))?$"
)

HOW_TO_FLOW = (
    "name the file with 出口/进口 or export/import (e.g. exports-2024.csv), "
    'or put a sidecar {name}.json beside it containing {{"flow": "export"}} (or "import")'
)
HOW_TO_PERIOD = (
    "name the file with the month or year it covers (2024-03, 202403, 2024年3月, "
    "2024-01..2024-06, or a plain 2024 meaning 2024-01..2024-12), "
    'or put a sidecar {name}.json beside it containing {{"period": "2024-03"}} or {{"period": "2024-01..2024-12"}}'
)


# --- the header -------------------------------------------------------------------------------


def _normalize(cell: str) -> str:
    """Header cells compare without BOM, surrounding/inner whitespace runs, or case."""
    return " ".join(cell.replace("\ufeff", "").split()).casefold()


_FIELD_BY_HEADER = {_normalize(h): field for field, names in COLUMN_HEADERS.items() for h in names}
_CURRENCY_BY_HEADER = {_normalize(h): currency for h, currency in VALUE_HEADERS.items()}


@dataclass(frozen=True)
class _Layout:
    """Where each column sits in this file's header."""

    headers: tuple[str, ...]  # the header cells as printed (for messages)
    index: Mapping[str, int]  # field → 0-based column; absent fields are not in the file
    value_index: int
    currency: str
    n_named: int  # columns up to the last named one; anything after must be empty (the trailing comma)

    def label(self, i: int) -> str:
        """A column as a person finds it: '13 (人民币)'."""
        return f"{i + 1} ({self.headers[i]})"


def _known_headers() -> str:
    names = [h for names in COLUMN_HEADERS.values() for h in names] + list(VALUE_HEADERS)
    return ", ".join(names)


def _is_header(cells: Sequence[str]) -> bool:
    """A value column and at least one other known column, or three known columns without a value
    column (so that the parser can say the value column is missing): this is a query export."""
    normalized = [_normalize(c) for c in cells]
    fields = sum(n in _FIELD_BY_HEADER for n in normalized)
    return (any(n in _CURRENCY_BY_HEADER for n in normalized) and fields >= 1) or fields >= 3


def _read_header(cells: Sequence[str], line: int, file_name: str) -> _Layout:
    headers = tuple(c.strip().replace("\ufeff", "") for c in cells)
    n_named = len(headers)
    while n_named and not headers[n_named - 1]:
        n_named -= 1  # the empty column every line ends with
    index: dict[str, int] = {}
    value: tuple[int, str] | None = None
    for i, header in enumerate(headers[:n_named]):
        key = _normalize(header)
        if key in _CURRENCY_BY_HEADER:
            if value is not None:
                raise ReleaseRejected(
                    file_name,
                    f"two value columns ({headers[value[0]]!r} in column {value[0] + 1} and {header!r}): "
                    "export one currency per file",
                    row=line, column=str(i + 1),
                )
            value = (i, _CURRENCY_BY_HEADER[key])
        elif key in _FIELD_BY_HEADER:
            field = _FIELD_BY_HEADER[key]
            if field in index:
                raise ReleaseRejected(
                    file_name, f"column {header!r} appears twice (columns {index[field] + 1} and {i + 1})",
                    row=line, column=str(i + 1),
                )
            index[field] = i
        else:
            raise ReleaseRejected(
                file_name,
                f"unknown column {i + 1} {header or '(empty header)'!r}; "
                f"a query export's columns are: {_known_headers()}",
                row=line, column=str(i + 1),
            )
    if value is None:
        raise ReleaseRejected(
            file_name,
            f"no value column: the header needs one of {', '.join(VALUE_HEADERS)} (the currency the values are in)",
            row=line,
        )
    return _Layout(headers, index, value[0], value[1], n_named)


def _is_note(cells: Sequence[str]) -> bool:
    """A one-cell line such as '注：…' or a SAMPLE DATA banner, not a data row.
    (Checked on every row, so the cheap test of the first cell comes first.)"""
    return (
        bool(cells)
        and cells[0].strip().casefold().startswith(_NOTE_PREFIXES)
        and not any(c.strip() for c in cells[1:])
    )


def looks_like_query_export(text_head: str) -> bool:
    """Content detection on the decoded first ~64 KB: line 1 (or line 2 under a one-cell banner)
    is a header naming a currency value column and at least one other query-export column."""
    lines = text_head.lstrip("\ufeff").split("\n", 2)[:2]
    try:
        rows = list(csv.reader(lines))
    except csv.Error:
        return False
    for i, cells in enumerate(rows):
        if _is_header(cells):
            return True
        if i == 0 and not _is_note(cells):
            return False
    return False


# --- reading the file -------------------------------------------------------------------------


def _read_head(path: Path, file_name: str) -> tuple[bytes, bool]:
    """The first ≤64 KB, cut after its last line break so no character or line is split.
    Returns (bytes, whether that is the whole file)."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        whole = not f.read(1)
    if whole:
        return head, True
    cut = head.rfind(b"\n")
    if cut < 0:
        raise ReleaseRejected(file_name, f"no line break in the first {HEAD_BYTES // 1024} KB: not a CSV table", row=1)
    return head[: cut + 1], False


def _tail_months(path: Path, encoding: str | None, layout: _Layout, today_month: int) -> list[int]:
    """Month numbers in the last ≤64 KB of a file longer than its head. Exports are sorted by
    数据年月, so head and tail together usually give the whole span before the rows stream (the
    stream has the last word: observed_period). Only a peek: undecodable bytes, broken quotes and
    future months are left for the stream to report with their row numbers."""
    column = layout.index["period"]
    with open(path, "rb") as f:
        f.seek(0, 2)
        f.seek(max(HEAD_BYTES, f.tell() - HEAD_BYTES))
        tail = f.read(HEAD_BYTES)
    tail = tail[tail.find(b"\n") + 1:]  # drop the partial line the seek landed in
    if encoding is None and not tail.isascii():
        encoding = _sniff_encoding(tail)
    months = []
    try:
        for _, cells in _records(_split_lines(tail.decode(encoding or "ascii", errors="replace")), ""):
            if len(cells) >= layout.n_named and (month := _parse_month(cells[column])) is not None:
                if _month_number(month) <= today_month:
                    months.append(_month_number(month))
    except ReleaseRejected:  # a broken CSV record: the stream will say where
        pass
    return months


def _sniff_encoding(head: bytes) -> str | None:
    """decode_text's rule (UTF-8 first, else GB18030) applied to the head. None while the head is pure
    ASCII: both encodings read ASCII alike, and an English export may show its first GB18030 byte
    (a full-width comma in 'Hong Kong，China') only gigabytes later; the stream decides then."""
    if head.isascii():
        return None
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _split_lines(text: str) -> Iterator[str]:
    """Lines with their '\\n', for csv.reader (which wants one physical line per item). Not
    str.splitlines: that also splits on \\x1c, \\u2028 … which may sit inside a cell."""
    lines = text.split("\n")
    last = lines.pop()
    for line in lines:
        yield line + "\n"
    if last:
        yield last


def _decoded_lines(path: Path, file_name: str, encoding: str | None) -> Iterator[str]:
    """The file's lines, decoded chunk by chunk. Chunks are cut after a '\\n' byte, which never occurs
    inside a multi-byte UTF-8 or GB18030 character, so each chunk decodes on its own."""
    lines_before = 0  # physical lines in the chunks already yielded, to name the row of a bad byte
    pending = b""
    first = True
    with open(path, "rb") as f:
        while True:
            block = f.read(CHUNK_BYTES)
            data = pending + block
            if block:
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # a line longer than a chunk: keep reading, within reason
                    if len(data) > MAX_LINE_BYTES:
                        raise ReleaseRejected(
                            file_name, f"a line longer than {MAX_LINE_BYTES // 2**20} MB: not a CSV table",
                            row=lines_before + 1,
                        )
                    pending = data
                    continue
                data, pending = data[:cut], data[cut:]
            elif not data:
                return
            if encoding is None and not data.isascii():
                encoding = _sniff_encoding(data)
            try:
                text = data.decode(encoding or "ascii")
            except UnicodeDecodeError as error:
                row = lines_before + data.count(b"\n", 0, error.start) + 1
                raise ReleaseRejected(
                    file_name,
                    f"bytes {data[error.start:error.start + 4]!r} are not valid {encoding} "
                    f"(the file reads as {encoding} before this line)",
                    row=row,
                ) from None
            if first:
                text = text.lstrip("\ufeff")  # a BOM, UTF-8 or GB18030 (which decodes 84 31 95 33 to U+FEFF)
                first = False
            yield from _split_lines(text)
            lines_before += data.count(b"\n")
            if not block:
                return


def _records(lines: Iterator[str] | Sequence[str], file_name: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells). A quoted cell may span lines."""
    reader = csv.reader(lines)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. an unclosed quote swallowing the rest of the file
            raise ReleaseRejected(file_name, f"broken CSV: {error}", row=start) from None
        yield start, cells


# --- direction and period from outside the file -----------------------------------------------


def _base_name(file_name: str) -> str:
    return file_name.replace("\\", "/").rsplit("/", 1)[-1]


def _flow_from_name(file_name: str) -> str | None:
    name = _base_name(file_name)
    found: set[str] = set()
    clues = _NOT_A_FLOW.sub(" ", name)
    if "出口" in clues:
        found.add("export")
    if "进口" in clues:
        found.add("import")
    for match in _FLOW_WORD.finditer(clues):
        found.add("export" if match["word"].lower().startswith("export") else "import")
    if len(found) > 1:
        raise ReleaseRejected(
            file_name, "the file name says both export and import; a query export holds one direction: "
            + HOW_TO_FLOW.format(name=name)
        )
    return found.pop() if found else None


def _flow(file_name: str, sidecar: Mapping[str, Any]) -> tuple[str, str]:
    """(flow, where it came from). The sidecar and the name must agree when both say it."""
    name = _base_name(file_name)
    from_name = _flow_from_name(file_name)
    from_sidecar = None
    if sidecar.get("flow") is not None:
        raw = str(sidecar["flow"]).strip().lower()
        from_sidecar = {"export": "export", "exports": "export", "出口": "export",
                        "import": "import", "imports": "import", "进口": "import"}.get(raw)
        if from_sidecar is None:
            raise ReleaseRejected(
                file_name, f"sidecar {name}.json has flow {sidecar['flow']!r}; expected \"export\" or \"import\""
            )
    if from_name and from_sidecar and from_name != from_sidecar:
        raise ReleaseRejected(
            file_name,
            f"the file name says {from_name} but sidecar {name}.json says {from_sidecar}: correct one of them",
        )
    if from_sidecar:
        return from_sidecar, "sidecar"
    if from_name:
        return from_name, "file name"
    raise ReleaseRejected(file_name, "direction unknown: " + HOW_TO_FLOW.format(name=name))


def _one_year(file_name: str, y1: int, m1: int, y2: int, m2: int, origin: str) -> Period:
    if y1 != y2:
        raise ReleaseRejected(
            file_name, f"{origin} gives {y1}-{m1:02d}..{y2}-{m2:02d}, which spans years; a release without a "
            "month column covers months of one year: split the query by year, or export it with 分月展示",
        )
    if not 1 <= m1 <= m2 <= 12:
        raise ReleaseRejected(file_name, f"{origin} gives months {m1}..{m2}, which is not a range of months")
    return Period(y1, m1, m2)


def _period_from_sidecar(file_name: str, sidecar: Mapping[str, Any]) -> Period | None:
    """"2024-03", "2024-01..2024-12", or "2024" (the whole year)."""
    if sidecar.get("period") is None:
        return None
    raw = str(sidecar["period"]).strip()
    match = _SIDECAR_PERIOD.match(raw)
    if not match:
        raise ReleaseRejected(
            file_name, f"sidecar period {raw!r} is not like \"2024-03\", \"2024-01..2024-12\" or \"2024\""
        )
    y1 = int(match["y1"])
    if match["m1"] is None:
        if match["y2"]:
            raise ReleaseRejected(file_name, f"sidecar period {raw!r} is not like \"2024-01..2024-12\"")
        return Period(y1, 1, 12)
    m1 = int(match["m1"])
    y2, m2 = (int(match["y2"]), int(match["m2"])) if match["y2"] else (y1, m1)
    return _one_year(file_name, y1, m1, y2, m2, f"sidecar period {raw!r}")


def _period_from_name(file_name: str) -> tuple[Period, bool] | None:
    """(period, whether the name gave only a year). A plain year (`exports-2024.csv`) means all of it:
    2024-01..2024-12 — the platform's query for a year without 分月展示."""
    name = _base_name(file_name)
    match = _NAME_RANGE.search(name)
    if match:
        period = _one_year(
            file_name, int(match["y1"]), int(match["m1"]), int(match["y2"]), int(match["m2"]), "the file name"
        )
        return period, False
    period = period_from_file_name(name)
    if period:
        return period, False
    years = {int(m["year"]) for m in _NAME_YEAR.finditer(name)}
    if len(years) == 1:
        return Period(years.pop(), 1, 12), True
    return None  # no year, or several: do not guess


def _declared_period(file_name: str, sidecar: Mapping[str, Any]) -> tuple[Period, str]:
    """The period of a file without a month column, and where it came from."""
    name = _base_name(file_name)
    from_sidecar = _period_from_sidecar(file_name, sidecar)
    from_name = _period_from_name(file_name)
    if from_sidecar and from_name:
        named, year_only = from_name
        # A name with only the year agrees with any months of that year the sidecar narrows it to.
        if named != from_sidecar and not (year_only and named.year == from_sidecar.year):
            raise ReleaseRejected(
                file_name,
                f"the file name says {named.label} but sidecar {name}.json says {from_sidecar.label}: "
                "correct one of them",
            )
        return from_sidecar, "sidecar"
    if from_sidecar:
        return from_sidecar, "sidecar"
    if from_name:
        return from_name[0], "file name (a plain year means January..December)" if from_name[1] else "file name"
    raise ReleaseRejected(
        file_name, "period unknown: the file has no 数据年月 column; " + HOW_TO_PERIOD.format(name=name)
    )


# --- months -----------------------------------------------------------------------------------


def _month_number(d: date) -> int:
    return d.year * 12 + d.month - 1


def _month_date(number: int) -> date:
    return date(number // 12, number % 12 + 1, 1)


@lru_cache(maxsize=4096)  # a file repeats a handful of month cells millions of times
def _parse_month(cell: str) -> date | None:
    match = _MONTH_CELL.match(cell.strip())
    if not match or not 1 <= int(match["month"]) <= 12 or int(match["year"]) < 1900:
        return None
    return date(int(match["year"]), int(match["month"]), 1)


def _span(first: int, last: int) -> tuple[Period, str | None]:
    """The Period of months first..last (month numbers). Period holds one year only, so a file whose
    months span years is recorded as January..last month of its LAST year, with a note giving the
    true span; the rows keep their own months, so nothing is lost in raw."""
    lo, hi = _month_date(first), _month_date(last)
    if lo.year == hi.year:
        return Period(hi.year, lo.month, hi.month), None
    note = f"spans {lo:%Y-%m}..{hi:%Y-%m}: the release period is recorded as {hi.year}-01..{hi:%Y-%m}"
    return Period(hi.year, 1, hi.month), note


# --- rows -------------------------------------------------------------------------------------


class _BadCell(Exception):
    def __init__(self, column: int, raw: str, reason: str):
        super().__init__(reason)
        self.column, self.raw, self.reason = column, raw, reason


def _text(cells: Sequence[str], i: int | None) -> str | None:
    if i is None:
        return None
    value = cells[i].strip()
    return value or None


def _unit(cells: Sequence[str], i: int | None) -> str | None:
    if i is None:
        return None
    value = cells[i].strip()
    return None if value in _NO_UNIT else value


def _number(cells: Sequence[str], i: int | None, what: str) -> Decimal | None:
    if i is None:
        return None
    try:
        number = parse_number(cells[i])
    except ValueError as error:
        raise _BadCell(i, cells[i], str(error)) from None
    if number is not None and number < 0:
        raise _BadCell(i, cells[i], f"a {what} cannot be negative")
    return number


def _product_code(cells: Sequence[str], i: int | None) -> str | None:
    """The commodity code as text (01012100 keeps its leading zero): 2, 4, 6 or 8 ASCII digits, the
    platform's codeLength (HS chapter, HS4, HS6, HS8). That one file holds one length is the reader's check."""
    if i is None:
        return None
    code = cells[i].strip()
    digits = code.isascii() and code.isdigit()
    if digits and len(code) in PRODUCT_CODE_LENGTHS:
        return code
    if not code:
        reason = "no commodity code"
    elif digits and len(code) + 1 in PRODUCT_CODE_LENGTHS:
        reason = (
            f"a {len(code)}-digit commodity code: a spreadsheet probably dropped the leading zero of a "
            f"{len(code) + 1}-digit HS code (0{code}?); re-export the file without opening it in a spreadsheet, "
            "or keep the column as text"
        )
    else:
        reason = "a commodity code must be 2, 4, 6 or 8 digits (HS chapter, HS4, HS6 or HS8)"
    raise _BadCell(i, cells[i], reason)


@dataclass
class _Reader:
    """Turns the records after the header into raw rows, filling the release's rejected rows."""

    file_name: str
    layout: _Layout
    flow: str
    today_month: int  # month number of context.today: later months are in the future
    stated: Period | None  # a period the sidecar states for a file with a month column: rows must agree
    release: ParsedRelease
    code_length: int | None = None  # digits of the file's commodity codes, set by the first valid one
    code_length_row: int | None = None  # the row that set it (for messages)

    def __post_init__(self) -> None:
        # Column positions looked up once, not per row (None: the file lacks the column).
        index = self.layout.index
        self.period_i, self.product_code_i = index.get("period"), index.get("product_code")
        self.quantity_i = (index.get("quantity_1"), index.get("quantity_2"))
        self.unit_i = (index.get("unit_1"), index.get("unit_2"))
        self.text_i = tuple(
            index.get(f)
            for f in ("product_name", "partner_code", "partner_name", "trade_mode_code",
                      "trade_mode_name", "registration_code", "registration_name")
        )

    def row(self, line: int, cells: list[str]) -> tuple | None:
        """The raw row, or None (a rejected row, a note, or an empty line)."""
        layout = self.layout
        if not any(c.strip() for c in cells):
            return None  # a completely empty line
        if _is_note(cells):
            self.release.notes.append(cells[0].strip())
            return None
        # Fewer cells than named columns, or values past them (beyond the trailing empty column).
        if len(cells) < layout.n_named or any(c.strip() for c in cells[layout.n_named:]):
            self.reject(RejectedRow(
                line, "(whole row)", ",".join(cells)[:200],
                f"wrong number of fields: {len(cells)} where the header has {layout.n_named} columns",
            ))
            return None
        try:
            month = self.month(line, cells, self.period_i)
            product_code = self.product_code(line, cells)
            quantity_1 = _number(cells, self.quantity_i[0], "quantity")
            quantity_2 = _number(cells, self.quantity_i[1], "quantity")
            value = _number(cells, layout.value_index, "trade value")
            if value is None:
                raise _BadCell(layout.value_index, cells[layout.value_index], "no trade value")
        except _BadCell as bad:
            self.reject(RejectedRow(line, layout.label(bad.column), bad.raw, bad.reason))
            return None
        # In RAW_TABLE order, source_row first.
        return (
            line,
            month,
            self.flow,
            layout.currency,
            product_code,
            *(_text(cells, i) for i in self.text_i),  # product_name … registration_name
            quantity_1,
            _unit(cells, self.unit_i[0]),
            quantity_2,
            _unit(cells, self.unit_i[1]),
            value,
        )

    def product_code(self, line: int, cells: Sequence[str]) -> str | None:
        """The row's commodity code. The first valid code sets the file's code length; a code of
        another valid length rejects the whole file: the platform exports one codeLength per query,
        so mixed lengths mean files were pasted together and sums would count goods twice."""
        code = _product_code(cells, self.product_code_i)
        if code is None:
            return None
        if self.code_length is None:
            self.code_length, self.code_length_row = len(code), line
        elif len(code) != self.code_length:
            raise ReleaseRejected(
                self.file_name,
                f"commodity code {code!r} has {len(code)} digits but the file's codes have {self.code_length} "
                f"(from row {self.code_length_row}): one query export holds one code length (HS chapter, HS4, "
                "HS6 or HS8); export each code length to its own file",
                row=line, column=self.layout.label(self.product_code_i),
            )
        return code

    def month(self, line: int, cells: Sequence[str], i: int | None) -> date | None:
        if i is None:
            return None  # the release's period applies
        month = _parse_month(cells[i])
        if month is None:
            raise _BadCell(i, cells[i], "数据年月 must be a month as YYYYMM, e.g. 202403")
        number = _month_number(month)
        # A future month is not a typo in one row: the file is not what it claims to be.
        if number > self.today_month:
            raise ReleaseRejected(
                self.file_name, f"month {month:%Y-%m} is in the future", row=line, column=self.layout.label(i)
            )
        if self.stated and not self.stated.start <= month <= self.stated.end:
            raise ReleaseRejected(
                self.file_name,
                f"month {month:%Y-%m} is outside the period {self.stated.label} the sidecar states",
                row=line, column=self.layout.label(i),
            )
        return month

    def reject(self, rejected: RejectedRow) -> None:
        self.release.rejected_rows.append(rejected)
        if len(self.release.rejected_rows) > MAX_REJECTED_ROWS:
            raise ReleaseRejected(
                self.file_name,
                f"more than {MAX_REJECTED_ROWS} rows rejected: the file is not a query export as it claims "
                f"(first: row {self.release.rejected_rows[0].source_row}, column "
                f"{self.release.rejected_rows[0].column}: {self.release.rejected_rows[0].reason})",
                row=rejected.source_row,
            )


def _rows(path: Path, encoding: str | None, header_line: int, reader: _Reader) -> Iterator[tuple]:
    """The streamed rows. On exhaustion, records the months seen as the release's observed period."""
    release, has_month = reader.release, "period" in reader.layout.index
    first_month = last_month = None
    loaded = 0
    for line, cells in _records(_decoded_lines(path, reader.file_name, encoding), reader.file_name):
        if line <= header_line:
            continue  # the header (and a banner above it), read already by parse_query_export
        row = reader.row(line, cells)
        if row is None:
            continue
        if has_month:
            number = _month_number(row[1])
            first_month = number if first_month is None else min(first_month, number)
            last_month = number if last_month is None else max(last_month, number)
        loaded += 1
        yield row
    if loaded == 0:
        if release.rejected_rows:
            first = release.rejected_rows[0]
            raise ReleaseRejected(
                reader.file_name,
                f"no row could be loaded: all {len(release.rejected_rows)} data rows were rejected "
                f"(first: row {first.source_row}, column {first.column}: {first.reason})",
            )
        raise ReleaseRejected(reader.file_name, "no data rows")
    if has_month:
        release.observed_period, note = _span(first_month, last_month)
        if note:
            release.notes.append(note)


# --- the parser -------------------------------------------------------------------------------


def parse_query_export(path: Path, file_name: str, context: ParseContext) -> ParsedRelease:
    """Read the header and the first rows of a query export; the rows themselves stream from
    `release.rows`. Raises ReleaseRejected when the file as a whole cannot be trusted — here, or
    while the rows are iterated (a bad byte, a future month, a broken quote further down)."""
    head, whole = _read_head(Path(path), file_name)
    decode_text(head, file_name)  # the shared rules: empty, binary, neither UTF-8 nor GB18030
    encoding = _sniff_encoding(head)
    head_text = head.decode(encoding or "ascii").lstrip("\ufeff")
    head_records = list(_records(_split_lines(head_text), file_name))
    if not whole and len(head_records) > 1:
        head_records.pop()  # may be cut at 64 KB (a quoted cell spanning lines); the stream reads it whole

    # The header is line 1, or line 2 under a one-cell banner (the SAMPLE DATA line of sample files).
    notes: list[str] = []
    records = [r for r in head_records if any(c.strip() for c in r[1])]
    if not records:
        raise ReleaseRejected(file_name, "the file is empty")
    header_at = 0
    if _is_note(records[0][1]) and len(records) > 1 and _is_header(records[1][1]):
        notes.append(records[0][1][0].strip())
        header_at = 1
    header_line, header_cells = records[header_at]
    layout = _read_header(header_cells, header_line, file_name)
    data = [r for r in records[header_at + 1:] if not _is_note(r[1])]
    if whole and not data:
        raise ReleaseRejected(file_name, "no data rows", row=header_line)

    name = _base_name(file_name)
    first_lines = " ".join(",".join(cells) for _, cells in records[: header_at + 1])
    is_sample = is_sample_release(name, [first_lines])
    flow, flow_origin = _flow(file_name, context.sidecar)
    notes.append(f"flow ({flow}) from the {flow_origin}")
    currency = layout.currency
    if context.sidecar.get("currency") is not None:
        stated = _CURRENCY_BY_HEADER.get(_normalize(str(context.sidecar["currency"])))
        if stated != currency:
            raise ReleaseRejected(
                file_name,
                f"sidecar {name}.json says currency {context.sidecar['currency']!r} but the value column "
                f"{layout.headers[layout.value_index]!r} is {currency}",
            )

    today_month = _month_number(context.today)
    stated_period = None
    if "period" in layout.index:
        # Months come from the rows; the first rows give a provisional period, the stream the true one.
        stated_period = _period_from_sidecar(file_name, context.sidecar)
        column = layout.index["period"]
        months = [
            (line, m) for line, cells in data
            if len(cells) > column and (m := _parse_month(cells[column])) is not None
        ]
        if not data:  # the head holds no complete row: the line after the header is longer than the head
            raise ReleaseRejected(
                file_name, f"no complete data row in the first {HEAD_BYTES // 1024} KB after the header",
                row=header_line + 1,
            )
        if not months:
            # No provisional period can be had (ParsedRelease needs one before the rows stream).
            line, cells = data[0]
            where = "no row" if whole else f"no row in the first {HEAD_BYTES // 1024} KB"
            first_cell = cells[column] if len(cells) > column else ""
            raise ReleaseRejected(
                file_name, f"{where} has a valid 数据年月 (YYYYMM); row {line} has {first_cell!r}",
                column=layout.label(column),
            )
        for line, month in months:
            if _month_number(month) > today_month:
                raise ReleaseRejected(
                    file_name, f"month {month:%Y-%m} is in the future", row=line, column=layout.label(column)
                )
        numbers = [_month_number(m) for _, m in months]
        if not whole:
            numbers += _tail_months(Path(path), encoding, layout, today_month)
        period, _ = _span(min(numbers), max(numbers))  # the span note is added once all rows are read
        notes.append("period from the 数据年月 column (provisional from the first and last rows until all are read)")
    else:
        period, origin = _declared_period(file_name, context.sidecar)
        if _month_number(period.end) > today_month:
            raise ReleaseRejected(
                file_name,
                f"period {period.label} (from the {origin}) ends after {context.today:%Y-%m}: it is in the "
                "future or not over yet; name the months it covers: "
                + HOW_TO_PERIOD.format(name=name),
            )
        notes.append(f"no month column: period {period.label} from the {origin}")

    release = ParsedRelease(
        file_name=file_name,
        format=FORMAT,
        scope=SCOPE,
        period=period,
        flow=flow,
        currency=currency,
        unit=UNIT_LABELS[currency],
        raw_table=RAW_TABLE,
        rows=(),
        title=None,
        is_sample=is_sample,
        notes=notes,
    )
    reader = _Reader(file_name, layout, flow, today_month, stated_period, release)
    release.rows = _rows(Path(path), encoding, header_line, reader)
    data_offset = _offset_after_line(head, header_line)
    if data_offset is not None:
        bulk_layout = BulkLayout(
            n_columns=len(layout.headers),
            index=layout.index,
            value_index=layout.value_index,
            named=layout.n_named,
            encoding=encoding,
            data_offset=data_offset,
            first_data_line=header_line + 1,
            flow=flow,
            currency=currency,
            latest_month=_month_date(today_month),
            stated_first=stated_period.start if stated_period else None,
            stated_last=stated_period.end if stated_period else None,
        )
        release.bulk_load = partial(_bulk_load, path=Path(path), layout=bulk_layout, release=release)
    return release


def _offset_after_line(head: bytes, line: int) -> int | None:
    """The byte where line `line + 1` starts, when the head holds it."""
    offset = 0
    for _ in range(line):
        found = head.find(b"\n", offset)
        if found < 0:
            return None
        offset = found + 1
    return offset


def _bulk_load(con, release_id: str, *, path: Path, layout: BulkLayout, release: ParsedRelease) -> int:
    """The rows through DuckDB's own CSV reader (query_export_bulk), when the file is plainly clean;
    BulkDeclined hands it back to the streaming reader. Sets what the stream would have set."""
    columns = [(c.name, c.sql_type) for c in RAW_TABLE.columns]
    result = bulk_insert(con, release_id, path, layout, RAW_TABLE.name, columns)
    if result.first_month is not None:
        release.observed_period, note = _span(_month_number(result.first_month), _month_number(result.last_month))
        if note:
            release.notes.append(note)
    return result.rows
