"""Which month(s) a release covers, read from its title row or its file name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# 2024年3月 ; 2024年1-2月 / 2024年1—2月 / 2024年1至2月 (a combined January–February table)
_ZH_MONTH = re.compile(r"(?P<year>(?:19|20)\d{2})\s*年\s*(?:(?P<first>\d{1,2})\s*[-—–~至]\s*)?(?P<month>\d{1,2})\s*月")
# 2024-03, 2024_03, 2024.03, 202403 — not part of a longer number
_NUMERIC_MONTH = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})[-_.]?(?P<month>0[1-9]|1[0-2])(?!\d)")


@dataclass(frozen=True)
class Period:
    """Months first..last of one year. A single month has first == last."""

    year: int
    first_month: int
    last_month: int

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.last_month, 1)

    @property
    def label(self) -> str:
        if self.first_month == self.last_month:
            return f"{self.year}-{self.last_month:02d}"
        return f"{self.year}-{self.first_month:02d}..{self.year}-{self.last_month:02d}"


def _valid(year: int, first: int, last: int) -> Period | None:
    if 1 <= first <= last <= 12:
        return Period(year, first, last)
    return None


def period_from_text(text: str) -> Period | None:
    """A title such as '2024年3月进出口商品…' or a name such as '2024年3月.xls'."""
    for match in _ZH_MONTH.finditer(text):
        last = int(match["month"])
        first = int(match["first"]) if match["first"] else last
        # '1至3月' in a title means a year-to-date table of month 3, not a range to load.
        if match["first"] and not (first == 1 and last == 2):
            first = last
        period = _valid(int(match["year"]), first, last)
        if period:
            return period
    return None


def period_from_file_name(file_name: str) -> Period | None:
    """`2024-03.csv`, `202403.csv`, `2024年3月.csv` (the folder part is ignored)."""
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    period = period_from_text(name)
    if period:
        return period
    match = _NUMERIC_MONTH.search(name)
    if match:
        return _valid(int(match["year"]), int(match["month"]), int(match["month"]))
    return None


def title_with_period(rows: list[list[str]]) -> str | None:
    """The first cell above a table's header that names a month (a GACC title row), if any."""
    for row in rows:
        for cell in row:
            if "年" in cell and "月" in cell and period_from_text(cell):
                return cell.strip()
    return None
