"""District city tables: one province's trade by city (e.g. Zhejiang, from the Hangzhou customs district).

The real layout (see ../shared/fixtures/real/README.md, gacc_zhejiang_city_ytd), as pandas
saved it with its index in the first column:

    ,收发货人所在地,当期进出口,当期进口,当期出口,进出口同比,进口同比,出口同比
    ,合计,1206510099416.0,331880971033.0,874629128383.0,7.83,11.25,6.59
    ,杭州地区,188710013441.0,…
    , 单位：人民币，元，%,,,,,,

Three things in it are not what they say:
- the values are YEAR-TO-DATE although the columns say 当期 (a March file holds Jan–Mar);
- the columns run 进出口, 进口, 出口 — imports before exports, the reverse of the location
  table — so columns are found by their header names, never by position;
- the unit footer is wrong in half the year (it says 万元 from July while the values stay
  in 元), so the unit is decided by magnitude and the label is only recorded (see
  `_decide_unit`).

Monthly values are derived from the year-to-date series later, in dbt, not here.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from ..config import SEEDS_DIR
from .errors import ReleaseRejected
from .periods import Period, period_from_file_name, period_from_text, title_with_period
from .release import ParseContext, ParsedRelease, RawColumn, RawTable, RejectedRow, is_sample_release
from .text import parse_number

FORMAT = "gacc_city_table"
SCOPE = "enterprise_location"  # 收发货人所在地: where the trading enterprise is registered

RAW_TABLE = RawTable(
    "city_table_rows",
    (
        # A YTD table: period_start is January 1st and period_end the file's month (first day),
        # so every row says by itself that its values are cumulative.
        RawColumn("period_start", "DATE"),
        RawColumn("period_end", "DATE"),
        RawColumn("row_kind", "VARCHAR"),  # city | province_total
        RawColumn("city_name", "VARCHAR"),  # as printed: 杭州地区
        RawColumn("region_code", "VARCHAR"),  # GB/T 2260 (330100); the province code for 合计; NULL if unknown
        RawColumn("province_code", "VARCHAR"),  # 330000
        RawColumn("total_ytd_cny", "DECIMAL(20, 2)"),
        RawColumn("imports_ytd_cny", "DECIMAL(20, 2)"),
        RawColumn("exports_ytd_cny", "DECIMAL(20, 2)"),
        RawColumn("total_ytd_yoy_pct", "DECIMAL(18, 2)"),
        RawColumn("imports_ytd_yoy_pct", "DECIMAL(18, 2)"),
        RawColumn("exports_ytd_yoy_pct", "DECIMAL(18, 2)"),
        RawColumn("unit_applied", "VARCHAR"),  # 元 | 万元: what the values were read as, after the magnitude check
    ),
)

LOCATION_HEADERS = ("收发货人所在地", "经营单位所在地")
TOTAL_NAMES = frozenset({"合计", "总计", "总值", "全省", "全省合计"})
# Header (after removing 当期/累计 and %-signs) → column. Matched by name: the real files put
# imports before exports.
HEADER_COLUMNS = {
    "进出口": "total_ytd_cny",
    "进口": "imports_ytd_cny",
    "出口": "exports_ytd_cny",
    "进出口同比": "total_ytd_yoy_pct",
    "进口同比": "imports_ytd_yoy_pct",
    "出口同比": "exports_ytd_yoy_pct",
}
MONEY_COLUMNS = ("total_ytd_cny", "imports_ytd_cny", "exports_ytd_cny")
YOY_COLUMNS = ("total_ytd_yoy_pct", "imports_ytd_yoy_pct", "exports_ytd_yoy_pct")
UNIT_FACTORS = {"元": Decimal(1), "万元": Decimal(10_000)}

# The unit threshold, in whatever unit the cells are printed in, for the 合计 (province total).
# A province's year-to-date trade in 元 is ~1e11–1e13 (Anhui, the smallest of the four YRD
# provinces in the seed, already has ~6e10 元 in January; Jiangsu's full year is ~5e12 元).
# The same totals in 万元 are ~6e6–6e8, and even Guangdong's full year is < 1e9 万元. So a
# 合计 above 1e10 can only be 元 (read as 万元 it would be over 100 万亿元, more than all of
# China's yearly trade), and a 合计 below 1e10 is 万元 for every province in the seed.
# Limitation: a very small province (Xizang, Qinghai: under 100 亿元 a year) really has a
# 合计 below 1e10 元; its city table would be misread as 万元, and the note makes that visible.
YUAN_MAGNITUDE_THRESHOLD = Decimal("1e10")
# City totals summing to more than 1% away from 合计 get a note (a dbt check flags it later).
CITY_SUM_TOLERANCE = Decimal("0.01")

_UNIT_CELL = re.compile(r"单位\s*[:：]\s*(?P<label>.+)")
# The location table's month row has a cell that is just '1至3月'. Only a whole cell counts
# (between separators or tags), because a city table's title may well say '2024年1-3月'.
_YTD_GROUP = re.compile(r"(?:^|[,\t>])\s*1\s*[-—–~至]\s*\d{1,2}\s*月\s*(?=$|[,\t<])", re.MULTILINE)
# Header decorations that do not change which column it is: '(元)', a 当期/累计 prefix, '±%'.
_HEADER_NOISE = re.compile(r"[(（][^)）]*[)）]|^(?:当期|本期|累计)|[±%％\s]")
_CITY_SUFFIX = re.compile(r"(?:地区|市)$")
_FOOTNOTE_PREFIXES = ("注", "说明", "资料来源", "数据来源", "样本数据")
_CENT = Decimal("0.01")


@lru_cache(maxsize=1)
def city_codes() -> dict[str, tuple[str, str]]:
    """City name as GACC or GB/T 2260 prints it (杭州地区, 杭州市) → (region_code, province_code)."""
    codes: dict[str, tuple[str, str]] = {}
    with open(SEEDS_DIR / "cities.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            value = (row["region_code"], row["province_code"])
            for name in (row["gacc_city_name"], row["region_name_zh"]):
                if name:
                    codes[name.strip()] = value
    return codes


def looks_like_city_table(text_head: str) -> bool:
    """A location header with 当期进出口 columns, and no '1至N月' group row (that is the location table)."""
    head = text_head[:4000]
    return (
        any(h in head for h in LOCATION_HEADERS)
        and "当期进出口" in head
        and not _YTD_GROUP.search(head)
    )


def _cell(row: Sequence[str], index: int) -> str:
    return row[index].strip() if 0 <= index < len(row) else ""


def _lookup_city(name: str, cities: Mapping[str, tuple[str, str]]) -> tuple[str, str] | None:
    """杭州地区, 杭州市 and 杭州 all find Hangzhou, whichever of them the mapping holds."""
    if name in cities:
        return cities[name]
    base = _CITY_SUFFIX.sub("", name)
    for candidate in (base, base + "市", base + "地区"):
        if candidate in cities:
            return cities[candidate]
    return None


def _find_header(grid: list[list[str]], file_name: str) -> tuple[int, int, dict[str, int]]:
    """(header row index, location column index, value column → index)."""
    for i, row in enumerate(grid[:15]):
        name_col = next((c for c, cell in enumerate(row) if cell.strip() in LOCATION_HEADERS), None)
        if name_col is None:
            continue
        columns: dict[str, int] = {}
        for c, cell in enumerate(row):
            key = _HEADER_NOISE.sub("", cell.strip())
            if key in HEADER_COLUMNS and HEADER_COLUMNS[key] not in columns:
                columns[HEADER_COLUMNS[key]] = c
        missing = [m for m in MONEY_COLUMNS if m not in columns]
        if missing:
            # A renamed column (当期出口 → 出口额) is the usual cause: name the cells not understood.
            not_understood = [
                (c, cell.strip()) for c, cell in enumerate(row)
                if cell.strip() and c != name_col and c not in columns.values()
                and not cell.strip().startswith("Unnamed")
            ]
            shown = "; header cells not understood: " + ", ".join(
                f"column {c + 1} {cell!r}" for c, cell in not_understood
            ) if not_understood else ""
            raise ReleaseRejected(
                file_name,
                "the header names no column for " + ", ".join(missing)
                + " (expected 当期进出口, 当期进口 and 当期出口 beside 收发货人所在地)" + shown,
                row=i + 1,
                column=str(not_understood[0][0] + 1) if not_understood else None,
            )
        return i, name_col, columns
    raise ReleaseRejected(
        file_name,
        "no header row found: expected 收发货人所在地 (or 经营单位所在地) followed by 当期进出口, 当期进口, 当期出口 "
        "within the first 15 rows",
    )


def _unit_label(grid: list[list[str]]) -> tuple[str | None, str | None]:
    """(unit label, currency label) from a cell like ' 单位：人民币，元，%', wherever it is."""
    for row in grid:
        for cell in row:
            match = _UNIT_CELL.search(cell)
            if not match:
                continue
            parts = [p for p in re.split(r"[，,、;；/\s]+", match["label"]) if p and p not in ("%", "％")]
            currency = next((p for p in parts if p in ("人民币", "美元")), None)
            unit = next((p for p in parts if p in ("元", "万元", "亿元", "万人民币", "人民币元", "万美元", "美元")), None)
            return unit, currency
    return None, None


def _decide_unit(label: str | None, total: Decimal, notes: list[str]) -> str:
    """The unit the values are really in, by the 合计's magnitude; the label only when it agrees."""
    magnitude_unit = "元" if total >= YUAN_MAGNITUDE_THRESHOLD else "万元"
    if label is None:
        notes.append(f"no unit label printed; the magnitude of 合计 ({total}) says {magnitude_unit}")
    elif label != magnitude_unit:
        notes.append(
            f"unit label says {label} but the magnitude says {magnitude_unit}: values taken as {magnitude_unit} "
            f"(合计 {total}, threshold {YUAN_MAGNITUDE_THRESHOLD:.0e})"
        )
    return magnitude_unit


def _period(title: str | None, file_name: str, context: ParseContext) -> Period:
    """The statistical month of the file: title row, else the sidecar's 'period', else the file name."""
    period, origin = (period_from_text(title), "title row") if title else (None, "")
    if period is None and context.sidecar.get("period"):
        text = str(context.sidecar["period"])
        period, origin = period_from_text(text) or period_from_file_name(text), "sidecar"
    if period is None:
        period, origin = period_from_file_name(file_name), "file name"
    if period is None:
        raise ReleaseRejected(
            file_name,
            "no period: the table has no title row naming the month and the file name has none; "
            "rename the file like 浙江省-2024-03.csv or zhejiang-2024-03.csv (the month whose "
            'year-to-date values it holds), or put {"period": "2024-03"} in a sidecar '
            f"{file_name.rsplit('/', 1)[-1]}.json beside it",
        )
    # A YTD table of month M is a release OF month M: the registry keys releases by the month they
    # describe, so it is Period(year, M, M) even though the values cover January..M (rows say that
    # with period_start = January 1st). A title '2024年1-2月' is therefore simply month 2.
    period = Period(period.year, period.last_month, period.last_month)
    if period.end > date(context.today.year, context.today.month, 1):
        raise ReleaseRejected(file_name, f"period {period.label} ({origin}) is in the future")
    return period


def _province(
    found: set[str], title: str | None, file_name: str, context: ParseContext
) -> str:
    """The province the table is about: from its known cities, else a province named in the
    title, sidecar or file name (浙江省 or 浙江)."""
    if len(found) > 1:
        raise ReleaseRejected(
            file_name,
            f"cities of several provinces ({', '.join(sorted(found))}) under one 合计: not a province city table",
        )
    if found:
        return next(iter(found))
    sidecar = str(context.sidecar.get("province", ""))
    texts = [sidecar, title or "", file_name.replace("\\", "/").rsplit("/", 1)[-1]]
    codes = dict(context.province_codes)
    for text in texts:
        if text in codes.values():
            return text
        for name, code in codes.items():
            short = re.sub(r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", name)
            if name in text or (len(short) >= 2 and short in text):
                return code
    raise ReleaseRejected(
        file_name,
        "cannot tell which province this city table is about: none of its cities is in the city seed "
        "and no province is named; rename the file like 浙江省-2024-03.csv or put "
        '{"province": "浙江省"} in a sidecar .json beside it',
    )


def parse_city_grid(
    grid: list[list[str]],
    file_name: str,
    context: ParseContext,
    cities: Mapping[str, tuple[str, str]],
) -> ParsedRelease:
    """Interpret a city table. Raises ReleaseRejected when the file as a whole cannot be trusted;
    rows with bad numbers come back in `rejected_rows` and the rest loads."""
    header_i, name_col, columns = _find_header(grid, file_name)
    title = title_with_period(grid[:header_i])
    period = _period(title, file_name, context)
    unit_label, currency_label = _unit_label(grid)
    if currency_label == "美元" or (unit_label or "").endswith("美元"):
        raise ReleaseRejected(file_name, "the unit footer says US dollars; this reader takes city tables in 人民币 only")
    unit_label = {"万人民币": "万元", "人民币元": "元"}.get(unit_label, unit_label)
    if unit_label == "亿元":
        raise ReleaseRejected(file_name, "unit 亿元 is not a unit city tables are published in; check the file")

    notes: list[str] = []
    rejected: list[RejectedRow] = []
    parsed: list[dict] = []  # rows in printed units, converted once the unit is decided
    seen: dict[str, dict] = {}
    for i in range(header_i + 1, len(grid)):
        row, source_row = grid[i], i + 1
        name = _cell(row, name_col)
        values_text = {column: _cell(row, c) for column, c in columns.items()}
        if _UNIT_CELL.search(" ".join(row)):
            notes.append(" ".join(cell.strip() for cell in row if cell.strip()))
            continue
        if not name and not any(values_text.values()):
            continue
        if name.startswith(_FOOTNOTE_PREFIXES) and not any(values_text[m] for m in MONEY_COLUMNS):
            notes.append(name)
            continue
        if not name:
            rejected.append(RejectedRow(source_row, str(name_col + 1), "", "a row of values with no city name"))
            continue

        money: dict[str, Decimal | None] = {}
        bad = None
        for column in MONEY_COLUMNS:
            text = values_text[column]
            where = f"{columns[column] + 1} ({column})"
            try:
                number = parse_number(text)
            except ValueError as error:
                bad = RejectedRow(source_row, where, text, str(error))
                break
            if number is not None and number < 0:
                bad = RejectedRow(source_row, where, text, "a trade value cannot be negative")
                break
            money[column] = number
        if bad is not None:
            rejected.append(bad)
            continue
        yoy: dict[str, Decimal | None] = {}
        for column in YOY_COLUMNS:
            try:
                number = parse_number(values_text.get(column, ""))
            except ValueError:
                number = None  # growth rates are informative only; never a reason to drop money
            # The files print float noise (26.029999999999998); the column holds 2 decimals.
            yoy[column] = None if number is None else number.quantize(_CENT, ROUND_HALF_UP)

        kind = "province_total" if name in TOTAL_NAMES else "city"
        key = "合计" if kind == "province_total" else name
        if key in seen:
            first = seen[key]
            if first["money"] != money:
                raise ReleaseRejected(
                    file_name,
                    f"{name} appears twice with different values (rows {first['source_row']} and {source_row})",
                    row=source_row,
                    column=str(name_col + 1),
                )
            rejected.append(
                RejectedRow(source_row, str(name_col + 1), name, f"an identical repeat of row {first['source_row']}")
            )
            continue
        entry = {"source_row": source_row, "kind": kind, "name": name, "money": money, "yoy": yoy,
                 "codes": None if kind == "province_total" else _lookup_city(name, cities)}
        seen[key] = entry
        parsed.append(entry)

    total_row = seen.get("合计")
    if total_row is None:
        raise ReleaseRejected(
            file_name,
            "no 合计 (province total) row with valid numbers: the table is truncated, or its total row "
            "could not be read (see the rejected rows)",
        )
    if total_row["money"]["total_ytd_cny"] is None:
        raise ReleaseRejected(
            file_name, "the 合计 row has no 进出口 value, so the unit cannot be checked",
            row=total_row["source_row"], column=str(columns["total_ytd_cny"] + 1),
        )
    unit_applied = _decide_unit(unit_label, total_row["money"]["total_ytd_cny"], notes)
    factor = UNIT_FACTORS[unit_applied]

    province_code = _province(
        {e["codes"][1] for e in parsed if e["codes"]}, title, file_name, context
    )
    city_rows = [e for e in parsed if e["kind"] == "city"]
    unknown = [e["name"] for e in city_rows if e["codes"] is None]
    if unknown:
        notes.append(f"cities not in the city seed, loaded with no region code: {', '.join(unknown)}")
    city_sum = sum((e["money"]["total_ytd_cny"] or Decimal(0)) for e in city_rows)
    total = total_row["money"]["total_ytd_cny"]
    if total and abs(city_sum - total) > CITY_SUM_TOLERANCE * total:
        notes.append(
            f"the cities' 进出口 sum to {city_sum * factor} 元 but 合计 says {total * factor} 元 "
            f"({(city_sum - total) / total:.2%} apart)"
        )

    period_start, period_end = date(period.year, 1, 1), period.end
    rows = []
    for e in parsed:
        if e["kind"] == "province_total":
            region_code = province_code
        else:
            region_code = e["codes"][0] if e["codes"] else None
        money = [None if e["money"][c] is None else (e["money"][c] * factor).quantize(_CENT, ROUND_HALF_UP)
                 for c in MONEY_COLUMNS]
        rows.append((
            e["source_row"], period_start, period_end, e["kind"], e["name"], region_code, province_code,
            *money, *(e["yoy"][c] for c in YOY_COLUMNS), unit_applied,
        ))

    return ParsedRelease(
        file_name=file_name,
        format=FORMAT,
        scope=SCOPE,
        period=period,
        flow="both",
        currency="CNY",
        unit=unit_label or unit_applied,  # the label as printed; without one, what the magnitude says
        raw_table=RAW_TABLE,
        rows=rows,
        rejected_rows=rejected,
        title=title,
        is_sample=is_sample_release(file_name, [title or "", *notes]),
        notes=notes,
        # Zhejiang's and Jiangsu's tables of the same month are two releases, not two vintages of one.
        variant=province_code,
    )
