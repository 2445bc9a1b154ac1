"""Any table file → a grid of cell strings, so every format parser reads one shape.

Customs tables arrive as CSV (scraped with pandas), XLSX, real XLS (OLE2/BIFF) and HTML —
including `.xls` files that are really HTML pages, which is what the customs site serves.
The file name's extension is therefore never trusted: `sniff_kind` looks at the bytes.

What the grid promises, whatever the source:
- every cell is a `str` ('' for an empty cell); rows keep the sheet's column positions;
- numbers come back as text without float noise: an integral number is written without
  '.0' (426808654.0 → '426808654', so money keeps all its digits) and any other float as
  its shortest round-tripping repr (0.1 + 0.2 → '0.30000000000000004', never rounded);
  a cell formatted as a percentage (value 0.05 shown as 5.0%) is given as shown, '5';
- a merged cell's value is repeated over its whole range (what pandas and the HTML reader
  do), so a group header reads 进出口, 进出口, 出口, 出口, 进口, 进口;
- trailing empty rows are dropped.
A file that cannot be read raises `ReleaseRejected` naming the file and the reader's error.

What is refused before it can cost memory: a ZIP (an XLSX is one) whose members declare more than
a table could hold — judged from its central directory before a byte is inflated — and a CSV
line far longer than any table row (a file with no line breaks).
"""

from __future__ import annotations

import csv
import io
import math
import posixpath
import re
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

from .errors import ReleaseRejected
from .html_tables import extract_tables
from .text import decode_text

SNIFF_BYTES = 65536  # enough for a zip's first member names, an HTML <head>, a CSV header
# The grid is held in memory whole, and a customs workbook unzips to a few MB: a ZIP declaring
# more than this is not a table a person downloaded.
MAX_UNZIPPED_BYTES = 256 * 2**20
# Spreadsheet XML compresses 5–30×; a large member far beyond that is built to inflate (a zip bomb).
MAX_MEMBER_RATIO = 200
RATIO_CHECKED_FROM_BYTES = 16 * 2**20  # a small member may compress further (a blank sheet), harmlessly
# A location or city table row is well under 1 KB; a 'line' of a megabyte means no line breaks.
MAX_LINE_BYTES = 2**20
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File Binary: real .xls (BIFF)
ZIP_MAGIC = b"PK\x03\x04"
LOCATION_HEADERS = ("收发货人所在地", "经营单位所在地")  # the header that marks the data table on a page
_HTML_START = re.compile(r"<\s*(?:html|table)\b", re.IGNORECASE)
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


# --- which kind of file ---------------------------------------------------------------------


def _head_text(head: bytes) -> str:
    """The head as text, for sniffing only (a multi-byte character may be cut at the end)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return head.decode("gb18030", errors="ignore")


def sniff_kind(head: bytes, file_name: str) -> str:
    """'xlsx', 'xls', 'html', 'csv' — or 'zip' for a ZIP archive that does not look like a workbook.

    Decided from the bytes: a `.xls` from the customs site is usually an HTML page, and a CSV
    may be named anything. The name only helps for a ZIP whose first members (the head) do not
    yet show the `xl/` folder, which a workbook written by Excel may put late in the archive.
    """
    if head.startswith(ZIP_MAGIC):
        if b"xl/" in head or file_name.lower().endswith((".xlsx", ".xlsm")):
            return "xlsx"
        return "zip"
    if head.startswith(OLE2_MAGIC):
        return "xls"
    if _HTML_START.search(_head_text(head)):
        return "html"
    return "csv"


def read_grid(path: Path, file_name: str) -> list[list[str]]:
    """The table in the file as rows of cell strings. Raises ReleaseRejected when unreadable."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as error:
        raise ReleaseRejected(file_name, f"cannot be opened: {error}") from None
    if not head.strip():
        raise ReleaseRejected(file_name, "the file is empty")
    kind = sniff_kind(head, file_name)
    if kind in ("zip", "xlsx"):
        refuse_zip_bomb(path, file_name)
    if kind == "zip":
        kind = _zip_kind(path, file_name)
    if kind == "xlsx":
        grid = _read_xlsx(path, file_name)
    elif kind == "xls":
        grid = _read_xls(path, file_name)
    elif kind == "html":
        grid = _read_html(path.read_bytes(), file_name)
    else:
        grid = _read_csv(path.read_bytes(), file_name)
    while grid and not any(cell.strip() for cell in grid[-1]):
        grid.pop()
    if not grid:
        raise ReleaseRejected(file_name, f"the {kind.upper()} file holds no table (every cell is empty)")
    return grid


def refuse_zip_bomb(path: Path, file_name: str) -> None:
    """Refuse a ZIP whose members would inflate beyond what a table needs, from the sizes its central
    directory declares, before any member is opened. Declared sizes bound what reading can cost:
    Python's zipfile (which openpyxl reads through) never inflates a member past its declared size,
    and fails the member's CRC when the data says otherwise."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ReleaseRejected(file_name, f"cannot be read as XLSX: {error}") from None
    if not members:
        raise ReleaseRejected(file_name, "cannot be read as XLSX: an empty ZIP archive")
    largest = max(members, key=lambda m: m.file_size)
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        raise ReleaseRejected(
            file_name,
            f"a ZIP whose {len(members)} member(s) declare {total:,} bytes uncompressed (the largest, "
            f"{largest.filename!r}, {largest.file_size:,} bytes from {largest.compress_size:,}); a table is never "
            f"more than {MAX_UNZIPPED_BYTES:,}: refused without unpacking it (zip bomb?)",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_CHECKED_FROM_BYTES and ratio > MAX_MEMBER_RATIO:
            raise ReleaseRejected(
                file_name,
                f"ZIP member {member.filename!r} declares {member.file_size:,} bytes from {member.compress_size:,} "
                f"compressed ({ratio:,.0f}×; spreadsheets compress less than {MAX_MEMBER_RATIO}×): "
                "refused without unpacking it (zip bomb?)",
            )


def _zip_kind(path: Path, file_name: str) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ReleaseRejected(file_name, f"cannot be read as XLSX: {error}") from None
    if any(name.startswith("xl/") for name in names):
        return "xlsx"
    raise ReleaseRejected(
        file_name,
        "a ZIP archive that is not an XLSX workbook (no xl/ folder); unpack it and put the table files in the inbox",
    )


# --- cell values → text ---------------------------------------------------------------------


def number_text(value: float | int | Decimal, percent: bool = False) -> str:
    """A spreadsheet number as text: 426808654.0 → '426808654', 7.83 → '7.83'; 'nan' for NaN.

    `percent`: the cell is formatted as a percentage, so the sheet shows 100 × the stored value.
    The scaling is done in Decimal on the repr, so 0.0783 becomes '7.83', not 7.829999….
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        exact = Decimal(repr(value))  # the shortest decimal that round-trips to this float
    else:
        exact = Decimal(value)
    if percent:
        exact *= 100
    if exact == exact.to_integral_value():
        return str(int(exact))
    return format(exact.normalize(), "f")


def _value_text(value: object, percent: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return number_text(value, percent)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _is_percent_format(number_format: str | None) -> bool:
    # '0.0%' or '0.00%;[Red]-0.00%'; a literal "%" in quotes is text, not a scaling.
    return bool(number_format) and "%" in re.sub(r'"[^"]*"|\\.', "", number_format)


def _fill_merged(grid: list[list[str]], ranges: list[tuple[int, int, int, int]]) -> None:
    """Repeat each merged range's top-left value over the range (0-based, inclusive bounds)."""
    for first_row, first_col, last_row, last_col in ranges:
        if first_row >= len(grid):
            continue
        top_left = grid[first_row][first_col] if first_col < len(grid[first_row]) else ""
        for r in range(first_row, min(last_row, len(grid) - 1) + 1):
            row = grid[r]
            if len(row) <= last_col:
                row.extend([""] * (last_col + 1 - len(row)))
            for c in range(first_col, last_col + 1):
                row[c] = top_left


# --- CSV --------------------------------------------------------------------------------------


def _refuse_gigantic_line(data: bytes, file_name: str) -> None:
    """Before decoding: a line longer than MAX_LINE_BYTES is no table row (and would be copied
    several times over by decoding and the CSV reader)."""
    start, number = 0, 1
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        if end - start > MAX_LINE_BYTES:
            raise ReleaseRejected(
                file_name,
                f"line {number} is {end - start:,} bytes long, more than any table row ({MAX_LINE_BYTES:,} at most): "
                "a file without line breaks, or not a table",
                row=number,
            )
        start, number = end + 1, number + 1


def _read_csv(data: bytes, file_name: str) -> list[list[str]]:
    _refuse_gigantic_line(data, file_name)
    text = decode_text(data, file_name)
    # Tab-separated text saved with a .xls/.csv name is common in spreadsheet downloads.
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [list(row) for row in reader]
    except csv.Error as error:
        raise ReleaseRejected(file_name, f"cannot be read as CSV: {error}", row=reader.line_num) from None
    _refuse_truncated(rows, data, reader.line_num, file_name)
    return rows


def _refuse_truncated(rows: list[list[str]], data: bytes, last_line: int, file_name: str) -> None:
    """A download cut short ends in the middle of a row: no line break at the end, and a last row of
    values with fewer cells than the table is wide. Its last number may be cut too (89012345 → 89),
    so the file is refused rather than loaded with a wrong figure. (A one-cell footnote without a
    final line break is fine.)"""
    if not rows or data.rstrip(b" \t").endswith((b"\n", b"\r")):
        return
    width = max(len(row) for row in rows)
    last = rows[-1]
    filled = sum(1 for cell in last if cell.strip())
    if filled >= 2 and len(last) < width:
        raise ReleaseRejected(
            file_name,
            f"the file ends in the middle of a row ({len(last)} of {width} cells, no line break after the last): "
            "it is truncated; download it again",
            row=last_line,
            column=str(len(last)),
        )


# --- HTML -------------------------------------------------------------------------------------


def _read_html(data: bytes, file_name: str) -> list[list[str]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "web page" export can be UTF-16
        text = data.decode("utf-16", errors="replace")
    else:
        text = decode_text(data, file_name)
    tables = [t for t in extract_tables(text) if any(any(cell.strip() for cell in row) for row in t)]
    if not tables:
        raise ReleaseRejected(file_name, "an HTML page with no table in it")
    # The data table names the location column; otherwise (other layouts) take the largest table.
    with_header = [t for t in tables if any(h in cell for row in t for cell in row for h in LOCATION_HEADERS)]
    chosen = max(with_header or tables, key=lambda t: sum(len(row) for row in t))
    # extract_tables keeps U+00A0 (indentation that marks member rows in other tables); the grid
    # readers compare names exactly, so here it is folded like any space and trimmed.
    return [[cell.replace("\u00a0", " ").strip() for cell in row] for row in chosen]


# --- XLSX -------------------------------------------------------------------------------------


def _read_xlsx(path: Path, file_name: str) -> list[list[str]]:
    import openpyxl  # imported here so CSV-only use does not pay for it

    # A file object, not the path: openpyxl refuses a path by its extension, and a workbook may
    # arrive named .xls (or under an archive name). It stays open while read-only mode reads.
    handle = open(path, "rb")
    try:
        # read_only streams the sheet (query exports can be large); data_only gives the cached
        # results of formulas instead of the formula text.
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types (BadZipFile, KeyError, XML errors …)
        handle.close()
        raise ReleaseRejected(file_name, f"cannot be read as XLSX: {type(error).__name__}: {error}") from None
    try:
        for sheet in workbook.worksheets:
            # Some writers record a wrong <dimension> (often just "A1"), and read-only mode would
            # then return only that cell: forget it and read every cell actually present.
            sheet.reset_dimensions()
            grid: list[list[str]] = []
            for row in sheet.iter_rows():
                grid.append([
                    _value_text(getattr(cell, "value", None), _is_percent_format(getattr(cell, "number_format", None)))
                    for cell in row
                ])
            if any(any(cell.strip() for cell in row) for row in grid):
                width = max(len(row) for row in grid)
                for row in grid:
                    row.extend([""] * (width - len(row)))
                _fill_merged(grid, _xlsx_merged_ranges(path, sheet.title))
                return grid
        return []
    except ReleaseRejected:
        raise
    except Exception as error:
        raise ReleaseRejected(file_name, f"cannot be read as XLSX: {type(error).__name__}: {error}") from None
    finally:
        workbook.close()
        handle.close()


def _xlsx_merged_ranges(path: Path, sheet_title: str) -> list[tuple[int, int, int, int]]:
    """Merged ranges of the sheet named sheet_title, read from the workbook XML.

    openpyxl's read-only mode does not expose merged cells, and loading the whole workbook in
    normal mode costs ~50× the memory, so the <mergeCells> element is read directly: the
    workbook lists its sheets in order, and workbook.xml.rels says which part holds each one.
    """
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        sheets = workbook.findall(f"{_SHEET_NS}sheets/{_SHEET_NS}sheet")
        rel_id = next((s.get(f"{_REL_NS}id") for s in sheets if s.get("name") == sheet_title), None)
        if rel_id is None:
            return []
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        target = next((r.get("Target") for r in rels.findall(f"{_PKG_REL_NS}Relationship") if r.get("Id") == rel_id), None)
        if not target:
            return []
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        ranges = []
        with archive.open(part) as source:
            for _, element in ElementTree.iterparse(source):
                if element.tag == f"{_SHEET_NS}mergeCell":
                    bounds = _range_bounds(element.get("ref", ""))
                    if bounds:
                        ranges.append(bounds)
                elif element.tag == f"{_SHEET_NS}row":
                    element.clear()  # keep memory flat on a large sheet
        return ranges


def _range_bounds(ref: str) -> tuple[int, int, int, int] | None:
    """'B2:C3' → (1, 1, 2, 2): first row, first column, last row, last column, 0-based."""
    from openpyxl.utils import column_index_from_string

    parts = ref.upper().split(":")
    cells = [_CELL_REF.match(p) for p in parts]
    if not all(cells) or len(cells) not in (1, 2):
        return None
    (c1, r1), (c2, r2) = (cells[0].groups(), cells[-1].groups())
    return int(r1) - 1, column_index_from_string(c1) - 1, int(r2) - 1, column_index_from_string(c2) - 1


# --- XLS --------------------------------------------------------------------------------------


def _read_xls(path: Path, file_name: str) -> list[list[str]]:
    import xlrd

    data = path.read_bytes()
    try:
        # formatting_info=True is what gives merged ranges and number formats (percentages);
        # some old or odd BIFF writers make it fail, and then the values alone are read.
        book, has_formatting = xlrd.open_workbook(file_contents=data, formatting_info=True), True
    except Exception:
        try:
            book, has_formatting = xlrd.open_workbook(file_contents=data), False
        except Exception as error:
            raise ReleaseRejected(file_name, f"cannot be read as XLS: {type(error).__name__}: {error}") from None
    try:
        for sheet in book.sheets():
            grid = [[_xls_cell_text(book, sheet.cell(r, c), has_formatting) for c in range(sheet.ncols)]
                    for r in range(sheet.nrows)]
            if not any(any(cell.strip() for cell in row) for row in grid):
                continue
            if has_formatting:
                # xlrd's (rlo, rhi, clo, chi) are half-open; _fill_merged takes inclusive bounds.
                _fill_merged(grid, [(rlo, clo, rhi - 1, chi - 1) for rlo, rhi, clo, chi in sheet.merged_cells])
            else:
                _fill_header_from_left(grid, [[sheet.cell_type(r, c) for c in range(sheet.ncols)]
                                              for r in range(sheet.nrows)])
            return grid
        return []
    except Exception as error:
        raise ReleaseRejected(file_name, f"cannot be read as XLS: {type(error).__name__}: {error}") from None
    finally:
        book.release_resources()


def _xls_cell_text(book, cell, has_formatting: bool) -> str:
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        percent = False
        if has_formatting:
            xf = book.xf_list[cell.xf_index]
            fmt = book.format_map.get(xf.format_key)
            percent = _is_percent_format(fmt.format_str if fmt else None)
        return number_text(cell.value, percent)
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return _value_text(xlrd.xldate_as_datetime(cell.value, book.datemode))
        except Exception:
            return number_text(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if cell.ctype == xlrd.XL_CELL_ERROR:
        # '#N/A', '#DIV/0!' …: kept visible so a parser rejects the row instead of reading NULL.
        return xlrd.error_text_from_code.get(cell.value, "#ERROR")
    return str(cell.value)


def _fill_header_from_left(grid: list[list[str]], types: list[list[int]]) -> None:
    """Without formatting info xlrd cannot say which cells are merged: they read as blanks.

    Header rows are the rows above the first row holding a number. In them a blank cell takes
    the value of its left neighbour, which restores horizontally merged group headers
    (进出口, '', 出口, '' → 进出口, 进出口, 出口, 出口). Data rows are never filled — a blank
    there means no value — and vertical merges stay blank below their first row.
    """
    import xlrd

    for r, row in enumerate(grid):
        if any(t == xlrd.XL_CELL_NUMBER for t in types[r]):
            break
        for c in range(1, len(row)):
            if not row[c].strip() and row[c - 1].strip():
                row[c] = row[c - 1]
