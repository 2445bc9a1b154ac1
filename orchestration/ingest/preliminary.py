"""GACC English preliminary release, table (4): China's trade by country/region (an HTML page).

The page (english.customs.gov.cn, see ../shared/fixtures/real/gacc_preliminary_html/) is one
<table>: a title row "(4) China's Total Export & Import Values by Country/Region, Mar 2026
(in CNY)", a unit row "Unit: CNY 100 Million" (or "USD1 Million"), two header rows

    Import Source      | Export & Import | Export | Import | 1-to-3 Total Year-on-Year (±%)
    Export Destination | 3 | 1- to-3      | 3 | 1- to-3 | 3 | 1- to-3 | Export & Import | Export | Import

then one row per partner and a "Note: …" row. The partner rows are a hierarchy drawn with
&nbsp; indentation: aggregates (Total, European Union, ASEAN, Latin America, Africa, RCEP,
Belt and Road …) and, under some of them, "of which: Germany" followed by more members.
Aggregates overlap one another and contain their members, so rows are flagged
(`is_group`, `is_member`, `parent_group`) and must never be summed.

The combined January–February release ("…, January-February 2025 (in CNY)") carries the
cumulative only (7 columns: three values and three growth rates). It is stored as ONE
release for months 1..2 with the year-to-date columns filled and the month columns NULL:
splitting it between January and February would invent figures GACC never published.

Values are converted to whole yuan (CNY editions) or whole US dollars (USD editions).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from .errors import ReleaseRejected
from .html_tables import extract_tables, page_text
from .periods import Period, period_from_file_name
from .release import ParseContext, ParsedRelease, RawColumn, RawTable, RejectedRow, is_sample_release
from .text import decode_text, parse_number

FORMAT = "gacc_preliminary_country"
SCOPE = "national"  # China as a whole, by partner; not a province or a port

FLOWS = ("total", "exports", "imports")
VALUE_COLUMNS = ("total_month", "total_ytd", "exports_month", "exports_ytd", "imports_month", "imports_ytd")
YOY_COLUMNS = ("total_ytd_yoy_pct", "exports_ytd_yoy_pct", "imports_ytd_yoy_pct")

RAW_TABLE = RawTable(
    "preliminary_country_rows",
    (
        RawColumn("period_start", "DATE"),
        RawColumn("period_end", "DATE"),
        RawColumn("currency", "VARCHAR"),
        RawColumn("partner_label", "VARCHAR"),  # the cell as printed, whitespace stripped: "of which: Germany"
        RawColumn("partner_name", "VARCHAR"),  # "Germany"
        RawColumn("is_group", "BOOLEAN"),  # an aggregate (Total, EU, ASEAN, RCEP …): never sum it with others
        RawColumn("is_member", "BOOLEAN"),  # listed under a group ("of which: …" and the rows below it)
        RawColumn("parent_group", "VARCHAR"),  # the group a member row belongs to
        *(RawColumn(c, "DECIMAL(20, 2)") for c in VALUE_COLUMNS),  # whole yuan / whole US dollars
        *(RawColumn(c, "DECIMAL(18, 2)") for c in YOY_COLUMNS),  # year-to-date growth, % as printed
    ),
)

NO_TABLE_REASON = "no data table in the page (the release may be an image)"

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)(?![a-z])"
)
# "Mar 2026", "March 2026", "Jan. 2018" (2018 pages), "January-February 2025" (combined release)
_TITLE_PERIOD = re.compile(
    rf"(?<![A-Za-z])(?P<first>{_MONTH})\.?(?:\s*(?:-|–|—|to)\s*(?P<last>{_MONTH})\.?)?"
    rf"\s*,?\s*(?P<year>(?:19|20)\d{{2}})(?!\d)",
    re.IGNORECASE,
)
# "(in CNY)", "(in USD)", 2018: "(in RMB)", "(Only August, in CNY)"
_TITLE_CURRENCY = re.compile(r"\((?:[^()]*,\s*)?in\s+(?P<currency>CNY|RMB|USD)\s*\)", re.IGNORECASE)
_UNIT_CELL = re.compile(r"^\s*Unit\s*[:：]\s*(?P<unit>.+?)\s*$", re.IGNORECASE)
_UNIT_IN_TEXT = re.compile(
    r"Unit\s*[:：]\s*(?P<unit>(?:CNY|RMB|USD|US\$)\s*[\d,]*\s*(?:Million|Thousand|Billion)"
    r"|[\d,]*\s*(?:Million|Thousand|Billion)\s*(?:CNY|RMB|USD|US\$|Yuan))",
    re.IGNORECASE,
)
_MAGNITUDES = {"THOUSAND": 1_000, "MILLION": 1_000_000, "BILLION": 1_000_000_000}
_CURRENCY_WORDS = {"CNY": "CNY", "RMB": "CNY", "YUAN": "CNY", "USD": "USD", "US$": "USD"}
# What GACC prints on table (4); used (with a note) only when a page has no unit row at all.
CANONICAL_UNITS = {"CNY": "CNY 100 Million", "USD": "USD1 Million"}
_OF_WHICH = re.compile(r"^of\s+which\s*[:：]\s*", re.IGNORECASE)
_FOOTNOTE = re.compile(r"^(?:Note|Notes|Source|Remark)s?\b", re.IGNORECASE)
# "1- to-3", "1-to-3", "1-3", "1 to 3", "Jan.-Mar."; a separator is required so that "12" is not read as 1 to 2
_YTD_LABEL = re.compile(
    rf"^(?:1|{_MONTH})\.?\s*(?:-\s*to\s*-?|to\s*-?|[-–—~])\s*(?P<month>\d{{1,2}}|{_MONTH})\.?$", re.IGNORECASE
)
_MONTH_LABEL = re.compile(rf"^(?P<month>\d{{1,2}}|{_MONTH})\.?$", re.IGNORECASE)
_TITLE_TAG = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_ATCL_TITLE = re.compile(r"(?is)class=[\"']?atcl-ttl[\"']?[^>]*>(.*?)</div>")
_ATCL_DATE = re.compile(r"(?is)class=[\"']?atcl-date[\"']?[^>]*>(.*?)</div>")

# Aggregate rows, by name (lower case). A row that has "of which:" members under it is a group
# whatever its name; these are the aggregates GACC prints without members (or may in future).
GROUP_NAMES = frozenset(
    {
        "total", "total value", "world",
        "european union", "eu", "european union (eu)",
        "asean", "association of southeast asian nations", "association of southeast asian nations (asean)",
        "rcep", "regional comprehensive economic partnership", "regional comprehensive economic partnership (rcep)",
        "apec", "asia-pacific economic cooperation", "asia-pacific economic cooperation (apec)",
        "latin america", "africa", "asia", "europe", "north america", "oceania", "middle east",
        "gulf cooperation council", "gcc", "opec", "brics", "central asia", "commonwealth of independent states",
        "shanghai cooperation organisation", "shanghai cooperation organization",
    }
)  # fmt: skip


def _clean(text: str) -> str:
    """Cell text without the &nbsp; indentation and with inner whitespace folded."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def _indent(text: str) -> int:
    """How far a label is indented: the leading (non-breaking) spaces GACC draws the hierarchy with."""
    return len(text) - len(text.lstrip(" \u00a0\t"))


def _is_country_title(text: str) -> bool:
    t = _clean(html_lib.unescape(text)).lower()
    return ("country/region" in t and "export & import" in t) or "by major country (region)" in t


def looks_like_preliminary_country(text_head: str) -> bool:
    """Decoded HTML whose page title is table (4) by country/region.

    The <title> (or the article title div) is checked rather than the whole text: the release
    index page lists "(4) … by Country/Region" as a link and must not be taken for the table.
    """
    titles = [m.group(1) for m in _TITLE_TAG.finditer(text_head)] + [m.group(1) for m in _ATCL_TITLE.finditer(text_head)]
    titles = [re.sub(r"<[^>]+>", " ", t) for t in titles]
    if any(_is_country_title(t) for t in titles):
        return True
    if titles:  # a page with a title, and not this one (e.g. "News - Newsroom - GACC", the index)
        return False
    return _is_country_title(text_head[:3000])  # a bare fragment: a saved <table> only


def _month_number(token: str) -> int:
    return int(token) if token.isdigit() else _MONTHS[token[:3].lower()]


def _period_from_title(title: str) -> Period | None:
    match = _TITLE_PERIOD.search(title)
    if not match:
        return None
    year = int(match["year"])
    first = _month_number(match["first"])
    last = _month_number(match["last"]) if match["last"] else first
    if not 1 <= first <= last <= 12:
        return None
    if first != last and not (first == 1 and last == 2):
        first = last  # "January-March" would be a year-to-date table of March, not a range to load
    return Period(year, first, last)


def _period_from_sidecar(value: object) -> Period | None:
    match = re.fullmatch(r"\s*((?:19|20)\d{2})-(\d{1,2})\s*", str(value or ""))
    if match and 1 <= int(match[2]) <= 12:
        return Period(int(match[1]), int(match[2]), int(match[2]))
    return None


def _unit_meaning(unit: str) -> tuple[str, Decimal] | None:
    """'CNY 100 Million' → ('CNY', 1e8); 'USD1 Million' → ('USD', 1e6); None when not understood."""
    compact = re.sub(r"\s+", "", unit.replace("\u00a0", " ")).upper().rstrip(".")
    match = re.fullmatch(r"(?P<cur>CNY|RMB|USD|US\$)(?P<n>[\d,]*)(?P<mag>THOUSAND|MILLION|BILLION)", compact)
    match = match or re.fullmatch(r"(?P<n>[\d,]*)(?P<mag>THOUSAND|MILLION|BILLION)(?P<cur>CNY|RMB|YUAN|USD|US\$)", compact)
    if not match:
        return None
    count = int(match["n"].replace(",", "") or 1)
    return _CURRENCY_WORDS[match["cur"]], Decimal(count * _MAGNITUDES[match["mag"]])


def _normalise_currency(word: str | None) -> str | None:
    return _CURRENCY_WORDS.get(word.upper()) if word else None


def _distinct(row: Sequence[str]) -> set[str]:
    return {_clean(c) for c in row if _clean(c)}


def _flow_of(text: str) -> str | None:
    t = _clean(text).lower()
    exports, imports = "export" in t, "import" in t
    if exports and imports:
        return "total"
    if exports:
        return "exports"
    if imports:
        return "imports"
    return None


def _is_growth(text: str) -> bool:
    t = _clean(text).lower()
    return "year-on-year" in t or "year on year" in t or "yoy" in t or "%" in t or "growth" in t


def _is_plain_number(text: str) -> bool:
    try:
        parse_number(text)
        return True
    except ValueError:
        return False


@dataclass
class _Layout:
    """Where each figure is in a data row (0-based columns) and how the header named it."""

    first_data_row: int  # 0-based index into the table's rows
    value_columns: dict[str, int]  # VALUE_COLUMNS name → column (month columns absent when cumulative only)
    yoy_columns: dict[str, int]
    headers: dict[int, str]  # column → header text, for rejected-row messages
    cumulative_only: bool
    header_month: int | None  # the month the header names (3 in "1- to-3"), when it names one


@dataclass
class _PartnerRow:
    source_row: int
    label: str
    name: str
    indent: int
    of_which: bool
    cells: list[str]
    is_group: bool = False
    is_member: bool = False
    parent_group: str | None = None


def _find_header(table: list[list[str]]) -> int | None:
    """The row naming the flows (Export & Import | Export | Import …) — not a title row spanning all columns."""
    for i, row in enumerate(table[:12]):
        cells = row[1:]
        if len(_distinct(cells)) >= 3 and {f for f in map(_flow_of, cells) if f} == set(FLOWS):
            return i
    return None


def _label_month(text: str, pattern: re.Pattern) -> int | None:
    match = pattern.match(_clean(text))
    return _month_number(match["month"].rstrip(".")) if match else None


def _layout(table: list[list[str]], header_i: int, file_name: str) -> _Layout:
    group_row = table[header_i]
    # A second header row (month "3" / "1- to-3" under each flow, flows under the growth group)
    # is there unless the next row is already a partner. Header cells are mostly words or ranges,
    # a partner row's mostly numbers (one bad cell in the first partner row must not make it a header).
    sub_row: list[str] | None = None
    if header_i + 1 < len(table):
        candidate = [c for c in table[header_i + 1][1:] if _clean(c)]
        if candidate and sum(not _is_plain_number(c) for c in candidate) * 2 >= len(candidate):
            sub_row = table[header_i + 1]
    width = len(group_row)

    def sub(c: int) -> str:
        return _clean(sub_row[c]) if sub_row is not None and c < len(sub_row) else ""

    by_flow: dict[str, list[int]] = {f: [] for f in FLOWS}
    growth: list[tuple[int, str | None]] = []
    headers: dict[int, str] = {}
    for c in range(1, width):
        group = _clean(group_row[c])
        headers[c] = " ".join(dict.fromkeys(t for t in (group, sub(c)) if t))  # "Export & Import 3"
        if not group and not sub(c):
            continue
        if _is_growth(group) or _is_growth(sub(c)):
            growth.append((c, _flow_of(sub(c)) or _flow_of(group)))
        elif _flow_of(group):
            by_flow[_flow_of(group)].append(c)
        else:
            raise ReleaseRejected(
                file_name, f"header cell {group!r} is not a flow or a growth rate", row=header_i + 1, column=str(c + 1)
            )

    counts = {len(cols) for cols in by_flow.values()}
    if len(counts) != 1 or counts.pop() not in (1, 2):
        found = {f: len(cols) for f, cols in by_flow.items()}
        raise ReleaseRejected(
            file_name,
            f"expected the month and year-to-date columns (or the cumulative only) under each of "
            f"Export & Import, Export, Import; found {found}",
            row=header_i + 1,
        )
    cumulative_only = len(by_flow["total"]) == 1
    value_columns: dict[str, int] = {}
    header_month: int | None = None
    sub_row_number = header_i + 2  # 1-based, for messages
    for flow in FLOWS:
        cols = by_flow[flow]
        ytd_c = cols[-1]
        value_columns[f"{flow}_ytd"] = ytd_c
        if sub_row is not None and sub(ytd_c):
            # January's year-to-date column may be labelled just "1".
            month = _label_month(sub(ytd_c), _YTD_LABEL) or (1 if sub(ytd_c) == "1" else None)
            if month is None:
                raise ReleaseRejected(
                    file_name, f"year-to-date header expected like '1- to-3', found {sub(ytd_c)!r}",
                    row=sub_row_number, column=str(ytd_c + 1),
                )
            if header_month is not None and month != header_month:
                raise ReleaseRejected(
                    file_name, "the year-to-date headers name different months", row=sub_row_number, column=str(ytd_c + 1)
                )
            header_month = month
        if not cumulative_only:
            value_columns[f"{flow}_month"] = cols[0]

    # Growth rates: named by the sub-header (Export & Import / Export / Import), else in that order.
    unnamed = [f for f in FLOWS if f not in {flow for _, flow in growth}]
    yoy_columns: dict[str, int] = {}
    for c, flow in growth:
        flow = flow or (unnamed.pop(0) if unnamed else None)
        if flow is None or f"{flow}_ytd_yoy_pct" in yoy_columns:
            raise ReleaseRejected(
                file_name, f"growth-rate header {headers[c]!r} not understood", row=header_i + 1, column=str(c + 1)
            )
        yoy_columns[f"{flow}_ytd_yoy_pct"] = c

    return _Layout(
        first_data_row=header_i + (2 if sub_row is not None else 1),
        value_columns=value_columns,
        yoy_columns=yoy_columns,
        headers=headers,
        cumulative_only=cumulative_only,
        header_month=header_month,
    )


def _check_month_headers(
    table: list[list[str]], header_i: int, layout: _Layout, period: Period, combined: bool, file_name: str
) -> None:
    """The month the header names must be the title's month (a page is never trusted half-read)."""
    if layout.header_month is not None and layout.header_month != period.last_month:
        raise ReleaseRejected(
            file_name,
            f"the header's year-to-date columns run to month {layout.header_month} but the title says {period.label}",
            row=header_i + 2,
        )
    if layout.cumulative_only or combined or layout.first_data_row == header_i + 1:
        return  # a combined Jan–Feb page labels its columns loosely; nothing more to cross-check
    for flow in FLOWS:
        c = layout.value_columns[f"{flow}_month"]
        cell = table[header_i + 1][c] if c < len(table[header_i + 1]) else ""
        month = _label_month(cell, _MONTH_LABEL)
        if month is None or month != period.last_month:
            raise ReleaseRejected(
                file_name,
                f"month header {_clean(cell)!r} does not name month {period.last_month} of the title ({period.label})",
                row=header_i + 2,
                column=str(c + 1),
            )


def _title(table: list[list[str]], header_i: int, html: str) -> str | None:
    for row in table[:header_i]:
        for cell in row:
            if _is_country_title(cell):
                return _clean(cell)
    for pattern in (_ATCL_TITLE, _TITLE_TAG):
        for match in pattern.finditer(html):
            text = _clean(html_lib.unescape(re.sub(r"<[^>]+>", " ", match.group(1))))
            if _is_country_title(text):
                return text
    return None


def _unit(table: list[list[str]], header_i: int, html: str) -> tuple[str | None, int | None, int | None]:
    """(unit as printed, 1-based row, 1-based column) from the unit row, else from the page text."""
    for i, row in enumerate(table[:header_i]):
        for c, cell in enumerate(row):
            match = _UNIT_CELL.match(_clean(cell))
            if match:
                return match["unit"], i + 1, c + 1
    match = _UNIT_IN_TEXT.search(_clean(page_text(html)))
    return (_clean(match["unit"]), None, None) if match else (None, None, None)


def _publication_date(html: str) -> date | None:
    """'2026/04/08'; 2018 pages print DD/MM/YYYY."""
    match = _ATCL_DATE.search(html)
    if not match:
        return None
    raw = _clean(re.sub(r"<[^>]+>", " ", match.group(1)))
    for fmt in ("%Y/%m/%d", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def _structure(rows: list[_PartnerRow]) -> None:
    """Flag groups and members from the "of which:" markers and the &nbsp; indentation.

    "of which: Germany" starts the member list of the row above it (European Union). The rows
    after it belong to that group while they are indented at least as deep as the "of which"
    row and deeper than the group itself; the first shallower row (United States) ends it.
    """
    last_top: _PartnerRow | None = None  # the latest row that is not a member: a potential group
    open_group: tuple[_PartnerRow, int] | None = None  # (group, indent its members need)
    for row in rows:
        known_group = row.name.lower() in GROUP_NAMES or "belt and road" in row.name.lower()
        if row.of_which and last_top is not None:
            open_group = (last_top, row.indent)
        elif (
            open_group is not None
            and not known_group
            and row.indent >= open_group[1]
            and row.indent > open_group[0].indent
        ):
            pass  # another member of the open group
        else:
            open_group = None
        if open_group is not None:
            group = open_group[0]
            group.is_group = True
            row.is_member, row.parent_group = True, group.name
        else:
            last_top = row
        row.is_group = row.is_group or known_group or row.name.lower().startswith("total")


def parse_preliminary_country(path: Path, file_name: str, context: ParseContext) -> ParsedRelease:
    """Parse one saved page of table (4). Raises ReleaseRejected when the page as a whole cannot
    be trusted; partner rows with a bad number come back in `rejected_rows`."""
    html = decode_text(path.read_bytes(), file_name)
    tables = [t for t in extract_tables(html) if _find_header(t) is not None]
    if not tables:
        raise ReleaseRejected(file_name, NO_TABLE_REASON)
    table = max(tables, key=len)  # the data table, not a layout table that happens to hold a header
    header_i = _find_header(table)
    layout = _layout(table, header_i, file_name)
    notes: list[str] = []

    # Title, period and currency.
    title = _title(table, header_i, html)
    if title is None and not context.sidecar:
        raise ReleaseRejected(file_name, "no title naming table (4) by country/region", row=1)
    period = _period_from_title(title or "")
    combined = period is not None and (period.first_month, period.last_month) == (1, 2)
    if period is None:
        period = _period_from_sidecar(context.sidecar.get("period")) or period_from_file_name(file_name)
        if period is None:
            raise ReleaseRejected(
                file_name,
                f"no period: the title {title!r} names no month and year, and neither the sidecar nor the file name does",
                row=1,
            )
        notes.append(f"period {period.label} taken from the sidecar or file name: the title names none")
    if combined or (layout.cumulative_only and period.last_month == 2):
        # The combined January–February release: one release for months 1..2, cumulative only.
        period, combined = Period(period.year, 1, 2), True
    elif layout.cumulative_only:
        notes.append(f"the table has year-to-date columns only (to month {period.last_month}); month columns left NULL")
    _check_month_headers(table, header_i, layout, period, combined, file_name)
    if period.end > date(context.today.year, context.today.month, 1):
        raise ReleaseRejected(file_name, f"period {period.label} is in the future")

    currency_match = _TITLE_CURRENCY.search(title or "")
    title_currency = _normalise_currency(currency_match["currency"]) if currency_match else None
    unit, unit_row, unit_column = _unit(table, header_i, html)
    if unit is None:
        if title_currency is None:
            title_currency = _normalise_currency(str(context.sidecar.get("currency") or "")) or None
        if title_currency is None:
            raise ReleaseRejected(file_name, "no unit row and no currency in the title: cannot tell CNY from USD")
        unit = CANONICAL_UNITS[title_currency]
        notes.append(f"no unit row on the page; assumed {unit!r}, what GACC prints on table (4) in {title_currency}")
    meaning = _unit_meaning(unit)
    if meaning is None:
        raise ReleaseRejected(
            file_name,
            f"unknown unit {unit!r}; expected like 'CNY 100 Million' or 'USD1 Million'",
            row=unit_row,
            column=str(unit_column) if unit_column else None,
        )
    currency, factor = meaning
    if title_currency is not None and title_currency != currency:
        # Happened in a real release: a page titled (in CNY) carrying the USD edition's figures.
        raise ReleaseRejected(
            file_name,
            f"unit row says {unit!r} ({currency}) but the title says (in {title_currency}); "
            "the figures cannot be trusted in either currency",
            row=unit_row,
            column=str(unit_column) if unit_column else None,
        )
    sidecar_currency = _normalise_currency(str(context.sidecar.get("currency") or ""))
    if sidecar_currency and sidecar_currency != currency:
        raise ReleaseRejected(
            file_name, f"the sidecar says currency {sidecar_currency} but the page is in {currency} ({unit!r})"
        )
    if combined:
        notes.append("combined January–February release: cumulative figures for months 1..2 (month columns left NULL)")
    published = _publication_date(html)
    if published:
        notes.append(f"published {published.isoformat()}")

    # Partner rows. source_row is the row's 1-based index in the page's table (title row = 1),
    # so a reader can count down the printed table to find it.
    partners: list[_PartnerRow] = []
    for i in range(layout.first_data_row, len(table)):
        row = table[i]
        label = _clean(row[0]) if row else ""
        if not label and not any(_clean(c) for c in row):
            continue
        if _FOOTNOTE.match(label) or (len(_distinct(row)) == 1 and len(row) > 1 and not _is_plain_number(row[-1])):
            if label not in notes:
                notes.append(label)  # the Note row (spans every column), a source line
            continue
        if not label:
            partners.append(_PartnerRow(i + 1, "", "", 0, False, row))
            continue
        of_which = bool(_OF_WHICH.match(label))
        name = _OF_WHICH.sub("", label).strip() if of_which else label
        partners.append(_PartnerRow(i + 1, label, name, _indent(row[0]), of_which, row))
    _structure([p for p in partners if p.name])
    if not any(p.name.lower() in ("total", "total value") for p in partners):
        raise ReleaseRejected(file_name, "no Total row: the table is truncated or not table (4)")

    rejected: list[RejectedRow] = []
    rows: list[tuple] = []
    for p in partners:
        if not p.name:
            rejected.append(RejectedRow(p.source_row, "1", "", "a row of values with no partner name"))
            continue
        values, bad = _values(p, layout, factor, combined)
        if bad is not None:
            rejected.append(bad)
            continue
        yoy: dict[str, Decimal | None] = {}
        for column in YOY_COLUMNS:
            c = layout.yoy_columns.get(column)
            cell = p.cells[c] if c is not None and c < len(p.cells) else ""
            try:
                yoy[column] = parse_number(cell)
            except ValueError:
                # Growth rates are informative only; never a reason to drop the money.
                yoy[column] = None
                notes.append(
                    f"row {p.source_row}: growth rate {_clean(cell)!r} ({layout.headers.get(c)}) "
                    "is not a number; loaded as NULL"
                )
        rows.append(
            (
                p.source_row, period.start, period.end, currency, p.label, p.name, p.is_group, p.is_member, p.parent_group,
                *(values[c] for c in VALUE_COLUMNS), *(yoy[c] for c in YOY_COLUMNS),
            )
        )  # fmt: skip

    texts = [title or "", *notes]
    return ParsedRelease(
        file_name=file_name,
        format=FORMAT,
        scope=SCOPE,
        period=period,
        flow="both",
        currency=currency,
        unit=unit,
        raw_table=RAW_TABLE,
        rows=rows,
        rejected_rows=rejected,
        title=title,
        is_sample=is_sample_release(file_name, texts),
        notes=notes,
    )


def _values(
    p: _PartnerRow, layout: _Layout, factor: Decimal, combined: bool
) -> tuple[dict[str, Decimal | None], RejectedRow | None]:
    """The six money figures of a row, converted; or the first cell that makes the row untrustworthy."""
    values: dict[str, Decimal | None] = dict.fromkeys(VALUE_COLUMNS)
    for column in VALUE_COLUMNS:
        c = layout.value_columns.get(column)
        if c is None:
            continue  # cumulative-only page: no month columns
        cell = p.cells[c] if c < len(p.cells) else ""
        where = f"{c + 1} ({layout.headers.get(c, column)})"
        try:
            number = parse_number(cell)
        except ValueError as error:
            return values, RejectedRow(p.source_row, where, _clean(cell), str(error))
        if number is not None and number < 0:
            return values, RejectedRow(p.source_row, where, _clean(cell), "a trade value cannot be negative")
        if combined and column.endswith("_month"):
            continue  # a combined Jan–Feb page repeats the cumulative here: not a month's figure
        values[column] = None if number is None else number * factor
    for flow in FLOWS:
        month_v, ytd_v = values[f"{flow}_month"], values[f"{flow}_ytd"]
        if month_v is not None and ytd_v is not None and ytd_v < month_v:
            c = layout.value_columns[f"{flow}_ytd"]
            return values, RejectedRow(
                p.source_row, f"{c + 1} ({layout.headers.get(c)})", _clean(p.cells[c]),
                f"year-to-date {ytd_v} is below the month's {month_v}",
            )  # fmt: skip
    return values, None
