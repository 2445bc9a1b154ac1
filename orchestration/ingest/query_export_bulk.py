"""The bulk reader for clean query exports: DuckDB parses the CSV itself, a hundred times faster
than the row-by-row reader in query_export.py.

A query export of a year by HS8 × partner × trade mode × province is tens of millions of rows. The
streaming reader (query_export._rows) turns each cell into Python objects; that is the reader that
knows how to explain a bad row. This one is for files with nothing to explain, which is nearly all
of them. It accepts a strict SUBSET of what the streaming reader accepts and, on that subset,
produces the same rows (tests/test_query_export_bulk.py compares the two on the real fixtures, the
sample and edge cases). Anything outside the subset — a cell that is not plainly a number or a code,
a note line, a blank line, a cell spanning lines, a byte that is not the file's encoding, a wrong
number of fields — makes it decline (`BulkDeclined`): the caller rolls back and the streaming reader
reads the file, naming the file, row and column of whatever is wrong.

How it is fast:
- DuckDB cannot read GB18030 (the `encodings` extension is a download), and reading the bytes as
  latin-1 costs DuckDB more than transcoding them first. So the rows after the header are cut into
  chunks of whole lines (a line break byte never occurs inside a GB18030 or UTF-8 character),
  each chunk transcoded to UTF-8 by iconv (glibc, C; Python's codec when iconv is missing) into a
  temporary file while DuckDB loads the previous group of chunks: transcoding overlaps loading.
- one INSERT per group of chunks, a UNION ALL of one `read_csv(chunk) WITH ORDINALITY` per chunk:
  DuckDB reads the chunks in parallel, and each chunk's ordinality plus the line its first row was
  on (counted while cutting) is the row's source line, exactly as the streaming reader numbers it.
- validation is SQL inside the same INSERT: a cell that is not clean evaluates `error()`, which
  aborts the statement (and so the release's transaction) at the first such row.
- `preserve_insertion_order=false` for the load (`rows_in_any_order`).
Memory stays bounded (DuckDB streams the INSERT; a chunk is CHUNK_BYTES), and temporary files never
hold more than two groups of chunks: ~2 × GROUP_CHUNKS × CHUNK_BYTES on disk.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import BinaryIO

import duckdb

from .text import NIL_CELLS

# Bytes of the original file per chunk (cut after a line break). A chunk is read by one thread (its
# ordinality numbers the lines) and ends in one partly filled row group. At 64 MiB, a chunk of a
# typical export (~130 bytes a line, ~500,000 lines) fills at least three row groups of 122,880 rows
# between two partial ones, so DuckDB's checkpoint finds no run of row groups it could merge into
# fewer; at 32 MiB it found many and rewrote a third of a 5 M-row release on close (+1.3 s).
CHUNK_BYTES = 64 * 1024 * 1024
GROUP_CHUNKS = 2  # chunks per INSERT statement: one per DuckDB thread on a 2-core machine
MAX_LINE_BYTES = 2 * 1024 * 1024  # DuckDB's default max_line_size; a longer line goes to the streaming reader
LEFTOVER_PREFIX = "bulk-ingest-"  # temporary folders under <warehouse>/tmp; a killed load may leave one

# Python's str.strip() (the streaming reader) removes white space around text cells. A text value
# with some to strip is left to that reader, so the text the bulk reader keeps is already stripped:
# checked in Python once per distinct value after the insert (`_verify`; a few thousand values per
# column), as a per-row test in SQL would cost more than the parse.
_NUMBER = r"[0-9]+(,[0-9]{3})*(\.[0-9]+)?"  # what both readers read alike: 5,848,714 / 214847 / 0.5
_PRODUCT_CODE = "[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{8}"  # the platform's codeLength: HS2/4/6/8


class BulkDeclined(Exception):
    """This file is not for the bulk reader; the streaming reader will read it (and say what is wrong)."""


@dataclass(frozen=True)
class BulkLayout:
    """What the bulk reader needs from the header the streaming reader's parser already read."""

    n_columns: int  # fields per line, the trailing empty one included
    index: Mapping[str, int]  # raw field → 0-based column
    value_index: int
    named: int  # columns up to the last named one; those after must be empty
    encoding: str | None  # 'utf-8', 'gb18030', or None while the head was pure ASCII
    data_offset: int  # byte where the line after the header starts
    first_data_line: int  # its line number (1-based)
    flow: str
    currency: str
    latest_month: date  # months after this are in the future
    stated_first: date | None  # a period a sidecar states: every month must lie inside it
    stated_last: date | None


@dataclass(frozen=True)
class _Chunk:
    path: Path
    first_line: int  # line number of the chunk's first row
    lines: int


@dataclass
class BulkResult:
    rows: int
    first_month: date | None  # of the 数据年月 column (None without one)
    last_month: date | None


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"




def _nil_cells() -> str:
    return ", ".join(_sql_text(c) for c in sorted(NIL_CELLS))


def _number(cell: str, sql_type: str) -> tuple[str, str]:
    """(expression, the condition under which the cell is clean): empty or a nil mark ('-', '…') is
    NULL, as in parse_number; a number is digits with optional thousands separators and decimals."""
    nil = f"{cell} IS NULL OR {cell} IN ({_nil_cells()})"
    clean = f"({nil} OR regexp_full_match({cell}, '{_NUMBER}'))"
    # The expression is evaluated for clean rows only (error() stops the statement at the first other).
    expression = f"CASE WHEN {nil} THEN NULL ELSE CAST(replace({cell}, ',', '') AS {sql_type}) END"
    return expression, clean


def row_select(layout: BulkLayout, raw_columns: list[tuple[str, str]], release_id: str) -> str:
    """SELECT list (release_id, source_row, raw columns in order) over columns c0…cN of one chunk,
    the `first_line` placeholder standing for the chunk's first line; plus the cleanliness test."""
    index = layout.index
    column = {field: f"c{i}" for field, i in index.items()}
    clean: list[str] = []
    expressions = [_sql_text(release_id), "{first_line} + ordinality - 1"]
    for name, sql_type in raw_columns:
        cell = column.get(name)
        if name == "flow":
            expressions.append(_sql_text(layout.flow))
        elif name == "currency":
            expressions.append(_sql_text(layout.currency))
        elif name == "value":  # never empty: the streaming reader rejects a row without a trade value
            value_cell = f"c{layout.value_index}"
            clean.append(f"({value_cell} IS NOT NULL AND regexp_full_match({value_cell}, '{_NUMBER}'))")
            expressions.append(f"CAST(replace({value_cell}, ',', '') AS {sql_type})")
        elif cell is None:
            expressions.append("NULL")  # the file lacks the column (the query did not group by it)
        elif name == "period":
            # Six characters that CAST reads as an integer and make_date as a year and month (else it
            # raises); the range of months is checked on the inserted rows' min and max (`_verify`).
            clean.append(f"length({cell}) = 6")
            month = f"CAST({cell} AS INTEGER)"
            expressions.append(f"make_date({month} // 100, {month} % 100, 1)")
        elif name == "product_code":
            clean.append(f"({cell} IS NOT NULL AND regexp_full_match({cell}, '{_PRODUCT_CODE}'))")
            expressions.append(cell)
        elif name.startswith("quantity"):
            expression, ok = _number(cell, sql_type)
            expressions.append(expression)
            clean.append(ok)
        elif name.startswith("unit"):
            expressions.append(f"CASE WHEN {cell} IN ('', '?', '？') THEN NULL ELSE {cell} END")
        else:  # codes and names kept as text; an empty cell is already NULL (read_csv's allow_quoted_nulls)
            expressions.append(cell)
    # Values past the last named column (beyond the trailing comma) make the streaming reader reject the row.
    clean += [f"c{i} IS NULL" for i in range(layout.named, layout.n_columns)]
    test = " AND ".join(clean) or "true"
    # The value column carries the verdict: error() aborts the INSERT at the first row that is not clean.
    value_at = 2 + [n for n, _ in raw_columns].index("value")
    expressions[value_at] = f"CASE WHEN {test} THEN {expressions[value_at]} ELSE error('not clean') END"
    return ", ".join(expressions)


def _read_chunk_sql(chunk: _Chunk, n_columns: int) -> str:
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns)) + "}"
    return (
        f"read_csv({_sql_text(str(chunk.path))}, header = false, auto_detect = false, columns = {columns}, "
        f"delim = ',', quote = '\"', escape = '\"', strict_mode = true, encoding = 'utf-8', "
        f"max_line_size = {MAX_LINE_BYTES}) WITH ORDINALITY"
    )


# --- chunks -----------------------------------------------------------------------------------


def _transcoder(encoding: str | None) -> Callable[[BinaryIO, int, int, BinaryIO], None]:
    """(source, offset, length, target): that byte range of the source written to the target as
    UTF-8. The bytes go from file to file in the kernel (sendfile), never through Python: copying
    them through pipes and buffers cost more than the transcoding itself."""
    if encoding != "gb18030":
        return _copy_range  # UTF-8 (or ASCII so far): DuckDB checks it is valid UTF-8
    iconv = shutil.which("iconv")
    return partial(_iconv_range, iconv) if iconv else _python_range


def _copy_range(source: BinaryIO, offset: int, length: int, target: BinaryIO) -> None:
    while length > 0:
        sent = os.sendfile(target.fileno(), source.fileno(), offset, length)
        if sent == 0:
            raise BulkDeclined("the file got shorter while it was read")
        offset, length = offset + sent, length - sent


def _iconv_range(iconv: str, source: BinaryIO, offset: int, length: int, target: BinaryIO) -> None:
    """GB18030 through glibc's iconv (C, about 3× Python's codec), fed from the file, writing the file."""
    with subprocess.Popen([iconv, "-f", "GB18030", "-t", "UTF-8"], stdin=subprocess.PIPE, stdout=target,
                          stderr=subprocess.PIPE) as process:  # on leaving, waited for, whatever was raised
        try:
            _copy_range(source, offset, length, process.stdin)
        except BrokenPipeError:
            pass  # iconv stopped at a byte it cannot convert; its message says so
        finally:
            process.stdin.close()
        message = process.stderr.read()
    if process.returncode != 0:
        raise BulkDeclined(f"not valid GB18030 ({message.decode(errors='replace').strip()[:200]})")


def _python_range(source: BinaryIO, offset: int, length: int, target: BinaryIO) -> None:
    source.seek(offset)
    try:
        target.write(source.read(length).decode("gb18030").encode("utf-8"))
    except UnicodeDecodeError as error:
        raise BulkDeclined(f"not valid GB18030 at byte {error.start} of a chunk") from None


def _chunks(path: Path, layout: BulkLayout, folder: Path) -> Iterator[_Chunk]:
    """The rows after the header as UTF-8 chunk files of whole lines, with their first line numbers.
    A chunk ends at the last line break within CHUNK_BYTES of its start. Its bytes are read once, to
    find that break and count the lines; the transcoder takes them from the file again (in the page
    cache), not through Python."""
    transcode = _transcoder(layout.encoding)
    with open(path, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        start, line, number = layout.data_offset, layout.first_data_line, 0
        while start < size:
            data = os.pread(source.fileno(), CHUNK_BYTES, start)
            if not data:
                raise BulkDeclined("the file got shorter while it was read")
            length = len(data)
            if start + length < size:
                length = data.rfind(b"\n") + 1
                if length == 0:
                    raise BulkDeclined(f"no line break in {len(data)} bytes")
            lines = data.count(b"\n", 0, length) + (0 if data[length - 1] == ord("\n") else 1)
            del data
            chunk = _Chunk(folder / f"chunk-{number:05d}.csv", line, lines)
            with open(chunk.path, "wb") as target:
                transcode(source, start, length, target)
            yield chunk
            start, line, number = start + length, line + lines, number + 1


def _groups_ahead(path: Path, layout: BulkLayout, folder: Path) -> Iterator[list[_Chunk]]:
    """Groups of chunks, prepared one group ahead in a thread so that transcoding (iconv, another
    process) overlaps DuckDB loading the group before."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            group: list[_Chunk] = []
            for chunk in _chunks(path, layout, folder):
                if stop.is_set():
                    return
                group.append(chunk)
                if len(group) == GROUP_CHUNKS:
                    ready.put(group)
                    group = []
            if group:
                ready.put(group)
            ready.put(None)
        except BaseException as error:  # handed to the consumer, which raises it
            ready.put(error)

    worker = threading.Thread(target=produce, name="bulk-ingest-chunks", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on the full queue, then let it end
            try:
                ready.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()


# --- the load ---------------------------------------------------------------------------------


def temp_root(con: duckdb.DuckDBPyConnection) -> Path:
    """<folder of the live database>/tmp: same file system as the warehouse, cleaned on every load."""
    (database,) = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return Path(database).resolve().parent / "tmp"


@contextmanager
def rows_in_any_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """preserve_insertion_order off for a bulk load (set outside its transaction, restored after):
    every row carries its source line, so physical order does not matter, and keeping it costs
    DuckDB a serialising step."""
    (setting,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {str(setting).lower()}")


def remove_leftovers(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary chunk folders a killed load left behind (there is one writer, so none is in use)."""
    root = temp_root(con)
    if root.is_dir():
        for folder in root.glob(LEFTOVER_PREFIX + "*"):
            shutil.rmtree(folder, ignore_errors=True)


def bulk_insert(
    con: duckdb.DuckDBPyConnection,
    release_id: str,
    path: Path,
    layout: BulkLayout,
    raw_table: str,
    raw_columns: list[tuple[str, str]],
) -> BulkResult:
    """Insert the release's rows inside the caller's open transaction. Raises BulkDeclined (the
    caller must roll back) when the file is not plainly clean."""
    remove_leftovers(con)
    folder = temp_root(con) / f"{LEFTOVER_PREFIX}{release_id}-{os.getpid()}"
    folder.mkdir(parents=True)
    select = row_select(layout, raw_columns, release_id)
    expected = 0
    try:
        for group in _groups_ahead(path, layout, folder):
            union = " UNION ALL ".join(
                f"SELECT {select.replace('{first_line}', str(chunk.first_line))} FROM {_read_chunk_sql(chunk, layout.n_columns)}"
                for chunk in group
            )
            try:
                con.execute(f"INSERT INTO raw.{raw_table} {union}")
            except duckdb.Error as error:
                raise BulkDeclined(_first_line(error)) from None
            expected += sum(chunk.lines for chunk in group)
            for chunk in group:
                chunk.path.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    text_columns = [n for n, sql_type in raw_columns if sql_type == "VARCHAR" and n in layout.index]
    return _verify(con, release_id, layout, raw_table, text_columns, expected)


def _verify(
    con: duckdb.DuckDBPyConnection,
    release_id: str,
    layout: BulkLayout,
    raw_table: str,
    text_columns: list[str],
    expected: int,
) -> BulkResult:
    """What the SQL did not check row by row, on the inserted rows: one record per line (no blank line
    skipped, no cell spanning lines, so every source_row is right), one commodity-code length per
    file, months from 1900 to today's month and inside a period the sidecar states, no text value
    with white space to strip."""
    # One pass over the release's rows for every figure, instead of one more scan per text column.
    distinct_lists = "".join(f", list(DISTINCT {column})" for column in text_columns)
    rows, code_lengths_differ, first_month, last_month, *distinct_values = con.execute(
        f"""
        SELECT count(*), min(length(product_code)) IS DISTINCT FROM max(length(product_code)), min(period), max(period)
               {distinct_lists}
        FROM raw.{raw_table} WHERE release_id = ?
        """,
        [release_id],
    ).fetchone()
    if rows != expected:
        raise BulkDeclined(f"{rows} records in {expected} lines (a blank line, or a cell spanning lines)")
    if rows == 0:
        raise BulkDeclined("no data rows")
    if code_lengths_differ:
        raise BulkDeclined("commodity codes of more than one length")
    if "period" in layout.index:
        lowest = max(date(1900, 1, 1), layout.stated_first or date.min)
        highest = min(layout.latest_month, layout.stated_last or date.max)
        if not lowest <= first_month <= last_month <= highest:
            raise BulkDeclined(f"months {first_month:%Y-%m}..{last_month:%Y-%m} outside {lowest:%Y-%m}..{highest:%Y-%m}")
    for column, values in zip(text_columns, distinct_values):  # Python's own strip(): the streaming reader's rule
        if any(value != value.strip() for value in values if value is not None):
            raise BulkDeclined(f"a {column} value starts or ends with white space")
    if "period" in layout.index:
        return BulkResult(rows, first_month, last_month)
    return BulkResult(rows, None, None)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
