"""GACC monthly location table (进出口商品收发货人所在地总值表), parsed by pure functions.

The real layout (see ../shared/fixtures/real/gacc_location_monthly/README): an
optional title row, header rows as pandas flattened them (`Unnamed: N_level_0`,
`单位：万人民币`), a group row `收发货人所在地, 进出口, 进出口, 出口, 出口, 进口, 进口, …`,
a month row `收发货人所在地, 3月, 1至3月, …`, then one row per location:
总值 (China), each province, and under a province its development zones.
A zone is a part of the province above it, never an extra province.

`parse_location_grid` works on a grid of cells so that the CSV reader here and
the XLS/HTML readers share one interpretation of the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .errors import ReleaseRejected
from .periods import Period, period_from_file_name, period_from_text, title_with_period
from .release import ParsedRelease, RawColumn, RawTable, RejectedRow, is_sample_release
from .text import parse_number

FORMAT = "gacc_location_table"
SCOPE = "enterprise_location"  # 收发货人所在地: where the trading enterprise is registered
NATION_NAMES = frozenset({"总值", "全国", "总计"})
LOCATION_HEADERS = ("收发货人所在地", "经营单位所在地")
FLOW_GROUPS = ("进出口", "进出口", "出口", "出口", "进口", "进口")
VALUE_COLUMNS = (
    "total_month",
    "total_ytd",
    "exports_month",
    "exports_ytd",
    "imports_month",
    "imports_ytd",
)
YOY_COLUMNS = ("total_ytd_yoy_pct", "exports_ytd_yoy_pct", "imports_ytd_yoy_pct")
# The month row names the growth-rate columns (under 累计比去年同期±％) by flow.
YOY_HEADERS = {"进出口": "total_ytd_yoy_pct", "出口": "exports_ytd_yoy_pct", "进口": "imports_ytd_yoy_pct"}
FIRST_YOY_COLUMN = 7  # 0-based: after the location and the six money columns
# Unit labels seen on these tables, and yuan per unit.
UNIT_FACTORS = {
    "万人民币": Decimal(10_000),
    "万元": Decimal(10_000),
    "亿元": Decimal(100_000_000),
    "亿人民币": Decimal(100_000_000),
    "人民币元": Decimal(1),
    "元": Decimal(1),
}
DEFAULT_UNIT = "万元"  # what GACC's location table has always used
_UNIT_CELL = re.compile(r"单位\s*[:：]\s*(?P<unit>[^\s,，;；%]+)")
_MONTH_CELL = re.compile(r"^(?:(?P<first>\d{1,2})\s*[-—–~至]\s*)?(?P<month>\d{1,2})\s*月$")
_YTD_CELL = re.compile(r"^1\s*[-—–~至]\s*(?P<month>\d{1,2})\s*月$")
_FOOTNOTE_PREFIXES = ("注", "说明", "资料来源", "数据来源", "样本数据", "单位")

RAW_TABLE = RawTable(
    "location_table_rows",
    (
        RawColumn("period_start", "DATE"),
        RawColumn("period_end", "DATE"),
        RawColumn("row_kind", "VARCHAR"),  # nation | province | zone
        RawColumn("location_name", "VARCHAR"),
        RawColumn("province_code", "VARCHAR"),  # CN, or the province (a zone's parent province)
        RawColumn("is_duplicate", "BOOLEAN"),
        *(RawColumn(f"{c}_cny", "DECIMAL(20, 2)") for c in VALUE_COLUMNS),
        *(RawColumn(c, "DECIMAL(18, 2)") for c in YOY_COLUMNS),
    ),
)


@dataclass(frozen=True)
class LocationRow:
    source_row: int  # 1-based line/row number in the file as received
    row_kind: str  # nation | province | zone
    location_name: str
    province_code: str  # 'CN' for the nation row; the province (or the zone's parent province)
    is_duplicate: bool  # a repeat of an earlier identical row (kept for provenance, never counted)
    values_cny: Mapping[str, Decimal | None]  # VALUE_COLUMNS, in yuan
    yoy_pct: Mapping[str, Decimal | None]  # YOY_COLUMNS, as printed


@dataclass
class ParsedLocationTable:
    file_name: str
    period: Period
    unit: str
    title: str | None
    rows: list[LocationRow] = field(default_factory=list)
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    format = FORMAT
    scope = SCOPE

    @property
    def is_sample(self) -> bool:
        """Files made by this project's sample generator say so in their title or footnote."""
        return is_sample_release(self.file_name, [self.title or "", *self.notes])


def looks_like_location_table(text: str) -> bool:
    """Content-based detection: the header names the location column."""
    head = text[:4000]
    return any(h in head for h in LOCATION_HEADERS) and "进出口" in head


def _cell(row: Sequence[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _find_header(grid: list[list[str]], file_name: str) -> tuple[int, int]:
    """Index of the group row (进出口/出口/进口) and of the month row below it."""
    for i, row in enumerate(grid[:15]):
        if _cell(row, 0) in LOCATION_HEADERS and any(_cell(row, c) in FLOW_GROUPS for c in range(1, 7)):
            return i, i + 1
    raise ReleaseRejected(
        file_name,
        "no header row found: expected a row starting with 收发货人所在地 (or 经营单位所在地) "
        "followed by 进出口, 进出口, 出口, 出口, 进口, 进口 within the first 15 rows",
    )


def _check_header(grid: list[list[str]], group_i: int, month_i: int, file_name: str) -> tuple[int, int]:
    """Validate the header cells; return (first_month, month) that the month row states."""
    group_row = grid[group_i]
    for c, expected in enumerate(FLOW_GROUPS, start=1):
        found = _cell(group_row, c)
        if found != expected:
            raise ReleaseRejected(
                file_name, f"header expected {expected!r}, found {found!r}", row=group_i + 1, column=str(c + 1)
            )
    if month_i >= len(grid):
        raise ReleaseRejected(file_name, "the file ends after the header: no month row and no data", row=group_i + 1)
    month_row = grid[month_i]
    first_month = month = None
    for c in (1, 3, 5):
        match = _MONTH_CELL.match(_cell(month_row, c))
        if not match:
            raise ReleaseRejected(
                file_name,
                f"month header expected like '3月' (or '1-2月'), found {_cell(month_row, c)!r}",
                row=month_i + 1,
                column=str(c + 1),
            )
        this_month = int(match["month"])
        this_first = int(match["first"]) if match["first"] else this_month
        ytd = _YTD_CELL.match(_cell(month_row, c + 1))
        if not ytd or int(ytd["month"]) != this_month:
            raise ReleaseRejected(
                file_name,
                f"year-to-date header expected '1至{this_month}月', found {_cell(month_row, c + 1)!r}",
                row=month_i + 1,
                column=str(c + 2),
            )
        if month is not None and (this_month, this_first) != (month, first_month):
            raise ReleaseRejected(
                file_name, "the three month headers name different months", row=month_i + 1, column=str(c + 1)
            )
        first_month, month = this_first, this_month
    return first_month, month


def _yoy_columns(month_row: Sequence[str], month_i: int) -> tuple[dict[str, int], str | None]:
    """Where the growth rates are, found by their names in the month row, so that a column added
    before them (a balance, a note) does not shift them; a table without those names has them in
    columns 8–10 if anywhere. Returns (column → index, a note when they cannot be placed)."""
    found: dict[str, int] = {}
    for c in range(FIRST_YOY_COLUMN, len(month_row)):
        column = YOY_HEADERS.get(_cell(month_row, c))
        if column and column not in found:
            found[column] = c
    if len(found) == len(YOY_COLUMNS):
        return found, None
    positional = range(FIRST_YOY_COLUMN, FIRST_YOY_COLUMN + len(YOY_COLUMNS))
    if not any(_cell(month_row, c) for c in positional):
        return dict(zip(YOY_COLUMNS, positional)), None
    cells = [_cell(month_row, c) for c in range(FIRST_YOY_COLUMN, len(month_row))]
    return {}, (
        f"growth-rate headers not recognised (row {month_i + 1}, columns {FIRST_YOY_COLUMN + 1}–{len(month_row)}: "
        f"{cells}); growth rates not loaded, trade values are"
    )


def _unit(grid: list[list[str]], header_end: int, file_name: str) -> str:
    for i, row in enumerate(grid[: header_end + 1]):
        for c, cell in enumerate(row):
            match = _UNIT_CELL.search(cell)
            if match:
                unit = match["unit"]
                if unit not in UNIT_FACTORS:
                    raise ReleaseRejected(
                        file_name, f"unknown unit {unit!r}; expected one of {sorted(UNIT_FACTORS)}",
                        row=i + 1, column=str(c + 1),
                    )
                return unit
    return DEFAULT_UNIT


def _period(title: str | None, file_name: str, header_first: int, header_month: int, today: date) -> Period:
    period = period_from_text(title) if title else None
    origin = "title row"
    if period is None:
        period = period_from_file_name(file_name)
        origin = "file name"
    if period is None:
        raise ReleaseRejected(
            file_name,
            "no period: the table has no title row naming the month and the file name has none; "
            "rename the file like 2024-03.csv, 202403.csv or 2024年3月.csv",
        )
    if (period.first_month, period.last_month) != (header_first, header_month):
        if header_first == header_month and period.first_month == period.last_month:
            raise ReleaseRejected(
                file_name,
                f"the {origin} says {period.label} but the month header says {header_month}月",
            )
        # A combined Jan–Feb header with a file name naming February (or the reverse) is still one release.
        period = Period(period.year, header_first, header_month)
    if period.end > date(today.year, today.month, 1):
        raise ReleaseRejected(file_name, f"period {period.label} ({origin}) is in the future")
    return period


def parse_location_grid(
    grid: list[list[str]], file_name: str, province_codes: Mapping[str, str], today: date | None = None
) -> ParsedLocationTable:
    """Interpret a location table. Raises ReleaseRejected when the file as a whole cannot be trusted;
    rows that cannot be trusted inside a good file come back in `rejected_rows`."""
    today = today or date.today()
    group_i, month_i = _find_header(grid, file_name)
    header_first, header_month = _check_header(grid, group_i, month_i, file_name)
    unit = _unit(grid, month_i, file_name)
    factor = UNIT_FACTORS[unit]
    title = title_with_period(grid[:group_i])
    period = _period(title, file_name, header_first, header_month, today)
    table = ParsedLocationTable(file_name=file_name, period=period, unit=unit, title=title)
    yoy_columns, yoy_note = _yoy_columns(grid[month_i], month_i)
    if yoy_note:
        table.notes.append(yoy_note)

    province: tuple[str, str] | None = None  # (name, code) of the province the next zones belong to
    seen: dict[str, LocationRow] = {}
    for i in range(month_i + 1, len(grid)):
        row, source_row = grid[i], i + 1
        name = _cell(row, 0)
        cells = [_cell(row, c) for c in range(1, max(10, len(row)))]
        if not name and not any(cells):
            continue
        if name.startswith(_FOOTNOTE_PREFIXES):
            table.notes.append(name)
            continue
        if not name:
            table.rejected_rows.append(RejectedRow(source_row, "1", "", "a row of values with no location name"))
            continue

        values: dict[str, Decimal | None] = {}
        bad = None
        for c, column in enumerate(VALUE_COLUMNS, start=1):
            try:
                number = parse_number(_cell(row, c))
            except ValueError as error:
                bad = RejectedRow(source_row, f"{c + 1} ({column})", _cell(row, c), str(error))
                break
            if number is not None and number < 0:
                bad = RejectedRow(source_row, f"{c + 1} ({column})", _cell(row, c), "a trade value cannot be negative")
                break
            values[column] = None if number is None else number * factor
        if bad is None:
            for flow in ("total", "exports", "imports"):
                month_v, ytd_v = values[f"{flow}_month"], values[f"{flow}_ytd"]
                if month_v is not None and ytd_v is not None and ytd_v < month_v:
                    bad = RejectedRow(
                        source_row, f"{flow}_ytd", _cell(row, VALUE_COLUMNS.index(f"{flow}_ytd") + 1),
                        f"year-to-date {ytd_v} is below the month's {month_v}",
                    )
                    break
        yoy: dict[str, Decimal | None] = {}
        for column in YOY_COLUMNS:
            try:
                yoy[column] = parse_number(_cell(row, yoy_columns[column])) if column in yoy_columns else None
            except ValueError:
                yoy[column] = None  # growth rates are informative only; never a reason to drop money

        if name in NATION_NAMES:
            kind, code = "nation", "CN"
        elif name in province_codes:
            kind, code = "province", province_codes[name]
            province = (name, code)
        elif province is not None:
            kind, code = "zone", province[1]
        else:
            table.rejected_rows.append(
                RejectedRow(source_row, "1", name, "a location that is neither 总值, a province, nor under a province")
            )
            continue
        if bad is not None:
            table.rejected_rows.append(bad)
            continue

        # The same location twice: an identical repeat (GACC tables sometimes print 总值 twice)
        # is kept for provenance but marked so it is never counted; a differing one is a contradiction.
        key = f"{kind}:{code}:{name}"
        is_duplicate = False
        if key in seen:
            first = seen[key]
            if dict(first.values_cny) != values:
                raise ReleaseRejected(
                    file_name,
                    f"{name} appears twice with different values (rows {first.source_row} and {source_row})",
                    row=source_row,
                    column="1",
                )
            is_duplicate = True
        parsed = LocationRow(source_row, kind, name, code, is_duplicate, values, yoy)
        seen.setdefault(key, parsed)
        table.rows.append(parsed)

    if not any(r.row_kind == "nation" for r in table.rows):
        raise ReleaseRejected(file_name, "no 总值 (China total) row: the table is truncated or not a location table")
    if not any(r.row_kind == "province" for r in table.rows):
        raise ReleaseRejected(file_name, "no province rows: the table is truncated or not a location table")
    return table


def to_release(table: ParsedLocationTable) -> ParsedRelease:
    """The location table in the shape every format shares, for the registry and the loader."""
    rows = [
        (
            row.source_row,
            table.period.start,
            table.period.end,
            row.row_kind,
            row.location_name,
            row.province_code,
            row.is_duplicate,
            *(row.values_cny[c] for c in VALUE_COLUMNS),
            *(row.yoy_pct[c] for c in YOY_COLUMNS),
        )
        for row in table.rows
    ]
    return ParsedRelease(
        file_name=table.file_name,
        format=FORMAT,
        scope=SCOPE,
        period=table.period,
        flow="both",
        currency="CNY",
        unit=table.unit,
        raw_table=RAW_TABLE,
        rows=rows,
        rejected_rows=list(table.rejected_rows),
        title=table.title,
        is_sample=table.is_sample,
        notes=list(table.notes),
    )
