"""Read-only SQL on the published snapshot: `trade query "SELECT …"` and the `trade sql` shell.

Both open published/trade.duckdb read-only, so a query never waits for the pipeline nor blocks it,
and any statement that would write is refused by DuckDB itself; the message says so plainly.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TextIO

import duckdb

MAX_TABLE_ROWS = 200  # the table view; --csv prints everything


def _connect(published_db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(published_db), read_only=True)


def _explain(error: duckdb.Error) -> str:
    text = str(error)
    if "read-only" in text.lower() or "read only" in text.lower():
        return "refused: the published snapshot is read-only (analysts query it; the pipeline writes the live file)"
    return text


def print_result(con: duckdb.DuckDBPyConnection, sql: str, out: TextIO, as_csv: bool = False) -> None:
    cursor = con.execute(sql)
    if cursor.description is None:
        return
    columns = [d[0] for d in cursor.description]
    if as_csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        while rows := cursor.fetchmany(10_000):
            writer.writerows(rows)
        return
    rows = cursor.fetchmany(MAX_TABLE_ROWS + 1)
    shown = [["" if v is None else str(v) for v in row] for row in rows[:MAX_TABLE_ROWS]]
    widths = [max([len(c), *(len(r[i]) for r in shown)]) for i, c in enumerate(columns)]
    out.write(" | ".join(c.ljust(w) for c, w in zip(columns, widths)) + "\n")
    out.write("-+-".join("-" * w for w in widths) + "\n")
    for row in shown:
        out.write(" | ".join(v.ljust(w) for v, w in zip(row, widths)) + "\n")
    more = " (first 200 shown; --csv prints all)" if len(rows) > MAX_TABLE_ROWS else ""
    out.write(f"({min(len(rows), MAX_TABLE_ROWS)} rows{more})\n")


def run_query(published_db: Path, sql: str, as_csv: bool = False, out: TextIO = sys.stdout) -> int:
    with _connect(published_db) as con:
        try:
            print_result(con, sql, out, as_csv)
        except duckdb.Error as error:
            print(_explain(error), file=sys.stderr)
            return 1
    return 0


def split_statements(buffer: str) -> tuple[list[str], str]:
    """Complete statements (ending with ;) and the unfinished rest; a ; inside quotes does not end one."""
    statements, current, quote = [], [], None
    for char in buffer:
        current.append(char)
        if quote:
            quote = None if char == quote else quote
        elif char in ("'", '"'):
            quote = char
        elif char == ";":
            statement = "".join(current).strip().rstrip(";").strip()
            if statement:
                statements.append(statement)
            current = []
    return statements, "".join(current)


def interactive_shell(published_db: Path, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Statements end with ';'. Reads a script from a pipe too: `trade sql < queries.sql`."""
    interactive = stdin.isatty()
    if interactive:
        import importlib.util

        if importlib.util.find_spec("readline"):
            __import__("readline")  # line editing and history in input()
        out.write(f"read-only SQL on {published_db} — statements end with ';', quit with Ctrl-D or .quit\n")
    failures = 0
    with _connect(published_db) as con:
        pending = ""
        while True:
            if interactive:
                try:
                    line = input("trade> " if not pending.strip() else "  ...> ")
                except EOFError:
                    out.write("\n")
                    break
            else:
                line = stdin.readline()
                if not line:
                    break
            if not pending.strip() and line.strip() in (".quit", ".exit", "quit", "exit"):
                break
            statements, pending = split_statements(pending + line + "\n")
            for statement in statements:
                try:
                    print_result(con, statement, out)
                except duckdb.Error as error:
                    failures += 1
                    out.write(_explain(error) + "\n")
    return 1 if failures and not interactive else 0
