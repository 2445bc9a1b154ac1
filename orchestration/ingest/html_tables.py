"""Tables out of an HTML page, with the standard library only.

Cells come back as their text with whitespace runs folded, except that non-breaking spaces
(&nbsp;, U+00A0) are kept: GACC indents member rows ("of which: Germany") with them, and
the callers need to see that. A cell spanning N columns (colspan) is repeated N times and a
cell spanning rows (rowspan) is repeated below, so every row of a table lines up on a grid,
as pandas.read_html would give it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[dict] = []  # open tables (nested tables are collected separately)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self._stack.append({"rows": [], "row": None, "cell": None, "spans": {}})
        elif not self._stack:
            return
        elif tag == "tr":
            self._close_row()
            self._stack[-1]["row"] = []
        elif tag in ("td", "th"):
            table = self._stack[-1]
            self._close_cell()
            if table["row"] is None:
                table["row"] = []
            table["cell"] = {
                "text": [],
                "colspan": _span(attributes.get("colspan")),
                "rowspan": _span(attributes.get("rowspan")),
            }
        elif tag == "br" and self._stack[-1]["cell"] is not None:
            self._stack[-1]["cell"]["text"].append(" ")

    def handle_endtag(self, tag):
        if not self._stack:
            return
        if tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_row()
        elif tag == "table":
            self._close_row()
            table = self._stack.pop()
            self.tables.append(table["rows"])

    def handle_data(self, data):
        if self._stack and self._stack[-1]["cell"] is not None:
            self._stack[-1]["cell"]["text"].append(data)

    def _close_cell(self):
        table = self._stack[-1]
        cell = table["cell"]
        if cell is None:
            return
        text = _SPACES.sub(" ", "".join(cell["text"])).strip(" ")
        row = table["row"]
        # Skip the columns that cells from rows above still occupy.
        while len(row) in table["spans"]:
            self._fill_span(table, row)
        for _ in range(cell["colspan"]):
            if cell["rowspan"] > 1:
                table["spans"][len(row)] = [text, cell["rowspan"] - 1]
            row.append(text)
        table["cell"] = None

    @staticmethod
    def _fill_span(table, row):
        column = len(row)
        text, remaining = table["spans"][column]
        row.append(text)
        if remaining <= 1:
            del table["spans"][column]
        else:
            table["spans"][column][1] = remaining - 1

    def _close_row(self):
        table = self._stack[-1]
        self._close_cell()
        row = table["row"]
        if row is None:
            return
        while len(row) in table["spans"]:
            self._fill_span(table, row)
        table["rows"].append(row)
        table["row"] = None


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def extract_tables(html: str) -> list[list[list[str]]]:
    """Every <table> in the page, innermost first, each as a list of rows of cell texts."""
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    return parser.tables


def page_text(html: str) -> str:
    """The visible text of a page, for titles and unit lines outside the table."""
    without_scripts = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return _SPACES.sub(" ", re.sub(r"(?s)<[^>]+>", " ", without_scripts).replace("&nbsp;", "\u00a0"))
