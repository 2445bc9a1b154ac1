"""Which format a release is, decided from its content (never from the file name alone), and its parser.

Order matters only where two layouts could both match: binary containers first (gzip, XLSX,
XLS), then the HTML preliminary page, then the text layouts by their headers.
"""

from __future__ import annotations

from pathlib import Path

from ..reference import province_codes
from . import city_table, comtrade, location_table, preliminary, query_export
from .city_table import city_codes, looks_like_city_table, parse_city_grid
from .comtrade import looks_like_comtrade, parse_comtrade
from .errors import ReleaseRejected
from .grids import read_grid, sniff_kind
from .location_table import looks_like_location_table, parse_location_grid, to_release
from .preliminary import looks_like_preliminary_country, parse_preliminary_country
from .query_export import looks_like_query_export, parse_query_export
from .release import ParseContext, ParsedRelease
from .text import foreign_encoding_reason, utf16_reason

# Every raw table a format loads into; all are created up front so dbt always finds its sources.
ALL_RAW_TABLES = (
    location_table.RAW_TABLE,
    city_table.RAW_TABLE,
    query_export.RAW_TABLE,
    preliminary.RAW_TABLE,
    comtrade.RAW_TABLE,
)
SNIFF_BYTES = 65_536
GZIP_MAGIC = b"\x1f\x8b"
SUPPORTED = (
    "GACC location table (进出口商品收发货人所在地总值表; CSV, XLS, XLSX, HTML), GACC district city table, "
    "GACC online-query export (数据在线查询), GACC English preliminary release (4) by country/region (HTML), "
    "UN Comtrade (Comtrade+ CSV, bulk TSV .gz)"
)


def sniff_text(head: bytes) -> str | None:
    """The first bytes as text, for recognising a layout; None when they are neither UTF-8 nor GB18030.
    A multi-byte character cut by the end of the sample is not an error."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError as error:
            if error.start >= len(head) - 4:
                return head[: error.start].decode(encoding)
    return None


def _parse_grid(path: Path, file_name: str, context: ParseContext) -> ParsedRelease:
    grid = read_grid(path, file_name)
    header = "\n".join(",".join(row) for row in grid[:15])
    # City first: its 当期进出口 header would also satisfy the location table's looser test.
    if looks_like_city_table(header):
        return parse_city_grid(grid, file_name, context, city_codes())
    if looks_like_location_table(header):
        return to_release(parse_location_grid(grid, file_name, context.province_codes, context.today))
    first_line = next((",".join(c for c in row if c)[:80] for row in grid if any(row)), "")
    raise ReleaseRejected(
        file_name, f"unknown layout (first row {first_line!r}); this warehouse reads: {SUPPORTED}", row=1
    )


def parse_release(path: Path, file_name: str, context: ParseContext) -> ParsedRelease:
    """Parse a release file. Raises ReleaseRejected with a reason a person can act on."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise ReleaseRejected(file_name, "the file is empty")
    if not context.province_codes:
        context = ParseContext(today=context.today, sidecar=context.sidecar, province_codes=province_codes())
    if head.startswith(GZIP_MAGIC):
        return parse_comtrade(path, file_name, context)
    kind = sniff_kind(head, file_name)
    if kind in ("xlsx", "xls", "zip"):
        return _parse_grid(path, file_name, context)
    if kind == "html" and head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _parse_grid(path, file_name, context)  # Excel's "web page" export; the HTML reader decodes UTF-16
    if b"\x00" in head:
        raise ReleaseRejected(
            file_name, utf16_reason(head) or "the file is binary (NUL bytes), not a table this warehouse reads"
        )
    text = sniff_text(head)
    if text is None:
        _refuse_foreign_encoding(head, file_name)
        raise ReleaseRejected(file_name, "not UTF-8 or GB18030 text, nor a spreadsheet or gzip file")
    if kind == "html":
        if looks_like_preliminary_country(text):
            return parse_preliminary_country(path, file_name, context)
        return _parse_grid(path, file_name, context)
    if looks_like_query_export(text):
        return parse_query_export(path, file_name, context)
    if looks_like_comtrade(text):
        return parse_comtrade(path, file_name, context)
    if looks_like_location_table(text) or looks_like_city_table(text):
        return _parse_grid(path, file_name, context)
    _refuse_foreign_encoding(head, file_name)
    first_line = text.strip().splitlines()[0][:80] if text.strip() else ""
    raise ReleaseRejected(
        file_name, f"unknown layout (first line {first_line!r}); this warehouse reads: {SUPPORTED}", row=1
    )


def _refuse_foreign_encoding(head: bytes, file_name: str) -> None:
    """A table saved in Big5, Shift_JIS or EUC-KR is no unknown layout: say which encoding it is in."""
    foreign = foreign_encoding_reason(head)
    if foreign:
        reason, line = foreign
        raise ReleaseRejected(file_name, reason, row=line)
