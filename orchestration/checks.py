"""Asset checks on the raw release tables, judged on the months a load run covers.

Each check is a pure function `(con, first_month, last_month) -> CheckOutcome` over the live DuckDB
file, so it can be run and tested without Dagster; `raw_check_results` turns the outcomes into
Dagster `AssetCheckResult`s inside the load step (`raw_release_rows`, which declares
`RAW_CHECK_SPECS`).

Blocking, as Dagster 1.13 implements it (dagster/_core/execution/plan/execute_step.py): when a
step yields a failed check result with ERROR severity whose spec is `blocking=True`, the step
raises `DagsterAssetCheckFailedError` after all its events are recorded, so the step and the run
fail. The load run then never succeeds, and `build_after_load_sensor` (RUN_SUCCESS of
`load_releases`) never starts `build_marts`: bad raw data does not reach the marts. A failed check
with WARN severity, or one whose spec is not blocking, is recorded and shown but lets the run
succeed. The rows themselves stay loaded (they are committed release by release before the checks
run); the run fails again when re-executed until the release is fixed by a new vintage.

Which releases are judged: the current ones (status `loaded`, not `superseded`) whose last month is
in [first_month, last_month], the same rule by which the load run picks the pending releases.
Comparisons with neighbouring months reach outside the range where the run's months are involved.
"""

from __future__ import annotations

import csv
import traceback
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any

import dagster as dg
import duckdb

from .config import SEEDS_DIR
from .ingest import city_table, location_table, query_export

ERROR = "ERROR"
WARN = "WARN"
MAX_LISTED = 20  # failures in a check's Markdown table; the count says how many there are in all
MAX_IN_JSON = 200  # failures in its JSON list

# months_add_up_to_ytd: GACC revises earlier months inside later year-to-date figures, so the sum of
# a year's month figures drifts from the YTD. On the real 2024 location tables the largest drift of
# a province is 5.8 % (青海省 exports, Jan–Dec), 广西 reaches 3.7 %; a doubled or missing month or
# swapped columns is tens of percent.
MONTHS_WARN_RATIO = Decimal("0.01")
MONTHS_ERROR_RATIO = Decimal("0.10")
# provinces_match_national_total: on the real 2024 tables the 31 provinces add up to the national
# 总值 within 3 万元 (printed figures are rounded to 1 万元 each), at most 1.9e-8 of the national figure.
# Tolerance: 0.001 % of the national figure (≥ 1,284 万元 on the smallest national figure of 2024,
# imports in February; over 400× the largest real gap, yet below the smallest province figure, 西藏
# imports 3,428 万元 in a month), and never below the rounding of the 32 printed figures (16 units).
PROVINCES_TOLERANCE_RATIO = Decimal("0.00001")
# row_count_within_band: rows of a month / rows of the month before, per format.
ROW_COUNT_BANDS = {
    "location_table_rows": (0.9, 1.1),  # 总值 + 31 provinces + zones: the real 2024 tables go 338 → 351
    "city_table_rows": (0.9, 1.1),  # per province: its cities are a fixed list
    "query_export_rows": (0.5, 2.0),  # a query picks products and partners; months vary more
    "preliminary_country_rows": (0.8, 1.25),  # per currency edition: ~30 partner rows
    "comtrade_rows": (0.5, 2.0),  # per frequency; previous month (M) or year (A)
}
FORMAT_OF_TABLE = {
    "location_table_rows": "gacc_location_table",
    "city_table_rows": "gacc_city_table",
    "query_export_rows": "gacc_query_export",
    "preliminary_country_rows": "gacc_preliminary_country",
    "comtrade_rows": "comtrade",
}
FORMAT_TABLE = {fmt: table for table, fmt in FORMAT_OF_TABLE.items()}
RAW_TABLES = tuple(FORMAT_OF_TABLE)


class Markdown(str):
    """A metadata text to show as Markdown in the Dagster UI."""


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: str  # ERROR | WARN: how bad a failure is (blocking checks stop the run only on ERROR)
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[[duckdb.DuckDBPyConnection, date, date], CheckOutcome]


# ---------------------------------------------------------------------------------------------
# helpers


def _month_label(month: date | None) -> str | None:
    return f"{month:%Y-%m}" if month else None


def _range_label(first: date, last: date) -> str:
    return f"{first:%Y-%m} … {last:%Y-%m}"


def _month_index(month: date) -> int:
    return month.year * 12 + month.month - 1


def _shift(month: date, delta: int) -> date:
    index = _month_index(month) + delta
    return date(index // 12, index % 12 + 1, 1)


def _number(value) -> int | float | None:
    """A DECIMAL from DuckDB as a JSON-friendly number (whole yuan stay integers)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = ?", [name]
    ).fetchone()[0])


def _has_raw(con: duckdb.DuckDBPyConnection, *tables: str) -> bool:
    return _table_exists(con, "releases") and all(_table_exists(con, t) for t in tables)


def _md_table(rows: list[dict[str, Any]], columns: list[str], total: int | None = None) -> Markdown:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows[:MAX_LISTED]:
        lines.append("| " + " | ".join("" if row.get(c) is None else str(row.get(c)) for c in columns) + " |")
    total = len(rows) if total is None else total
    if total > MAX_LISTED:
        lines.append(f"\n… and {total - MAX_LISTED} more")
    return Markdown("\n".join(lines))


def _no_data(name: str, first: date, last: date, what: str) -> CheckOutcome:
    return CheckOutcome(True, ERROR, f"{name}: no {what} in {_range_label(first, last)}", {
        "months": _range_label(first, last), "releases_judged": 0,
    })


def _releases_in_range(con, first: date, last: date, fmt: str) -> list[tuple]:
    return con.execute(
        """
        SELECT release_id, file_name, period_start, period_end, currency, unit, coalesce(variant, '')
        FROM raw.releases WHERE status = 'loaded' AND format = ? AND period_end BETWEEN ? AND ?
        ORDER BY period_end, file_name
        """,
        [fmt, first, last],
    ).fetchall()


# ---------------------------------------------------------------------------------------------
# 1. ytd_never_decreases (blocking, ERROR)

# Per raw table: rows checked, the key naming a region across months, the name shown.
_YTD_SOURCES = {
    "location_table_rows": (
        "gacc_location_table",
        # Zones are exempt: GACC revises small zones by more than a month's trade (see consistency.py).
        "r.row_kind IN ('nation', 'province') AND NOT coalesce(r.is_duplicate, false)",
        "r.province_code",  # CN for the nation row
        "r.location_name",
    ),
    "city_table_rows": (
        "gacc_city_table",
        "r.row_kind IN ('city', 'province_total')",
        # The city code, so that 杭州地区 in one month and 杭州市 in the next are one city.
        "r.row_kind || ':' || coalesce(r.region_code, r.province_code || '/' || r.city_name)",
        "r.city_name",
    ),
}
YTD_COLUMNS = ("total_ytd_cny", "exports_ytd_cny", "imports_ytd_cny")


def _ytd_never_decreases(con: duckdb.DuckDBPyConnection, first: date, last: date, raw_table: str) -> CheckOutcome:
    name = "ytd_never_decreases"
    if not _has_raw(con, raw_table):
        return _no_data(name, first, last, f"raw.{raw_table}")
    fmt, where, key, label = _YTD_SOURCES[raw_table]
    judged = con.execute(
        "SELECT count(*) FROM raw.releases WHERE status = 'loaded' AND format = ? AND period_end BETWEEN ? AND ?",
        [fmt, first, last],
    ).fetchone()[0]
    if not judged:
        return _no_data(name, first, last, f"loaded {fmt} release")
    # Each region's YTD against the nearest earlier month of the same year (a combined Jan–Feb table
    # included); a pair is judged when either month is in the range.
    rows = con.execute(
        f"""
        WITH current_rows AS (
            SELECT rel.file_name, rel.period_end AS month, rel.received_at, r.source_row, {key} AS region_key,
                   {label} AS region, {", ".join(f"r.{c}" for c in YTD_COLUMNS)}
            FROM raw.{raw_table} AS r JOIN raw.releases AS rel ON r.release_id = rel.release_id
            WHERE rel.status = 'loaded' AND rel.format = ? AND {where}
              AND year(rel.period_end) BETWEEN ? AND ?
        ),
        long AS (
            UNPIVOT current_rows ON {", ".join(YTD_COLUMNS)} INTO NAME column_name VALUE ytd
        ),
        paired AS (
            SELECT *,
                lag(month) OVER w AS previous_month, lag(ytd) OVER w AS previous_ytd,
                lag(file_name) OVER w AS previous_file, lag(source_row) OVER w AS previous_row,
                lag(region) OVER w AS previous_region
            FROM long
            WINDOW w AS (PARTITION BY region_key, column_name, year(month) ORDER BY month, received_at)
        )
        SELECT file_name, source_row, region, month, column_name, ytd,
               previous_file, previous_row, previous_region, previous_month, previous_ytd
        FROM paired
        WHERE previous_month IS NOT NULL AND ytd < previous_ytd
          AND (month BETWEEN ? AND ? OR previous_month BETWEEN ? AND ?)
        ORDER BY month, region_key, column_name
        """,
        [fmt, first.year, last.year, first, last, first, last],
    ).fetchall()
    failures = [
        {
            "file": file_name, "row": source_row, "region": region, "month": _month_label(month), "column": column,
            "ytd": _number(ytd), "previous_month": _month_label(previous_month), "previous_ytd": _number(previous_ytd),
            "previous_file": previous_file, "previous_row": previous_row,
            **({"previous_region_label": previous_region} if previous_region != region else {}),
        }
        for (file_name, source_row, region, month, column, ytd, previous_file, previous_row, previous_region,
             previous_month, previous_ytd) in rows
    ]
    metadata: dict[str, Any] = {"months": _range_label(first, last), "releases_judged": judged, "failures": len(failures)}
    if not failures:
        return CheckOutcome(True, ERROR, f"no year-to-date figure of raw.{raw_table} goes down within a year", metadata)
    worst = failures[0]
    metadata["first_failure"] = worst
    metadata["details"] = _md_table(failures, ["file", "row", "region", "month", "column", "ytd", "previous_month",
                                               "previous_ytd", "previous_file"])
    metadata["failed_rows"] = failures[:MAX_IN_JSON]
    return CheckOutcome(
        False, ERROR,
        f"{len(failures)} year-to-date figure(s) go down within a year; first: {worst['region']} {worst['column']} "
        f"is {worst['ytd']} in {worst['month']} (file '{worst['file']}', row {worst['row']}) but "
        f"{worst['previous_ytd']} in {worst['previous_month']} (file '{worst['previous_file']}')",
        metadata,
    )


def location_ytd_never_decreases(con: duckdb.DuckDBPyConnection, first_month: date, last_month: date) -> CheckOutcome:
    """China's and every province's YTD (location table) never goes down within a year; zones exempt."""
    return _ytd_never_decreases(con, first_month, last_month, "location_table_rows")


def city_ytd_never_decreases(con: duckdb.DuckDBPyConnection, first_month: date, last_month: date) -> CheckOutcome:
    """Every city's and province total's YTD (district city tables) never goes down within a year."""
    return _ytd_never_decreases(con, first_month, last_month, "city_table_rows")


# ---------------------------------------------------------------------------------------------
# location-table rows for checks 2 and 3

FLOWS = ("total", "exports", "imports")
LOCATION_VALUE_COLUMNS = tuple(f"{flow}_{kind}_cny" for flow in FLOWS for kind in ("month", "ytd"))


@dataclass(frozen=True)
class _LocationRelease:
    release_id: str
    file_name: str
    period_start: date
    period_end: date
    unit: str | None
    rejected_rows: int


def _location_releases(con, first_year: int, last_year: int) -> list[_LocationRelease]:
    rows = con.execute(
        """
        SELECT release_id, file_name, period_start, period_end, unit, coalesce(rejected_row_count, 0)
        FROM raw.releases WHERE status = 'loaded' AND format = 'gacc_location_table'
          AND year(period_end) BETWEEN ? AND ?
        ORDER BY period_end, received_at
        """,
        [first_year, last_year],
    ).fetchall()
    return [_LocationRelease(*row) for row in rows]


def _location_rows(con, release_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """release id → its nation and province rows (duplicates left out), values in yuan."""
    if not release_ids:
        return {}
    result = con.execute(
        f"""
        SELECT release_id, source_row, row_kind, location_name, province_code, {", ".join(LOCATION_VALUE_COLUMNS)}
        FROM raw.location_table_rows
        WHERE release_id IN (SELECT unnest(?)) AND row_kind IN ('nation', 'province') AND NOT coalesce(is_duplicate, false)
        ORDER BY release_id, source_row
        """,
        [release_ids],
    )
    names = [d[0] for d in result.description]
    by_release: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in result.fetchall():
        record = dict(zip(names, row))
        by_release[record["release_id"]].append(record)
    return by_release


def _unit_factor(unit: str | None) -> Decimal:
    return location_table.UNIT_FACTORS.get(unit or "", location_table.UNIT_FACTORS[location_table.DEFAULT_UNIT])


# ---------------------------------------------------------------------------------------------
# 2. months_add_up_to_ytd (blocking: ERROR beyond 10 %, WARN beyond 1 %)


def months_add_up_to_ytd(con: duckdb.DuckDBPyConnection, first_month: date, last_month: date) -> CheckOutcome:
    """For China and each province (location table): Σ of the year's month figures up to M vs the YTD of M.

    Judged: every month M in the range, and the later months of the same years already loaded (their
    sums contain the range's months). A month is judged only when the year's loaded tables cover
    January … M exactly once; otherwise it is listed as not judged (a gap in the series is not a
    wrong figure). Differences within the rounding of the printed figures never count."""
    name = "months_add_up_to_ytd"
    if not _has_raw(con, "location_table_rows"):
        return _no_data(name, first_month, last_month, "raw.location_table_rows")
    releases = _location_releases(con, first_month.year, last_month.year)
    in_range = [r for r in releases if first_month <= r.period_end <= last_month]
    if not in_range:
        return _no_data(name, first_month, last_month, "loaded location table")
    rows = _location_rows(con, [r.release_id for r in releases])
    by_year: dict[int, list[_LocationRelease]] = defaultdict(list)
    for release in releases:
        by_year[release.period_end.year].append(release)

    judged, not_judged, failures = [], [], []
    for year, year_releases in sorted(by_year.items()):
        for target in year_releases:
            if target.period_end < first_month:
                continue  # an earlier month: not touched by this run's months
            if target.period_end > last_month and not any(r.period_end.year == year for r in in_range):
                continue
            parts = [r for r in year_releases if r.period_end <= target.period_end]
            covered = [m for r in parts for m in range(r.period_start.month, r.period_end.month + 1)]
            if sorted(covered) != list(range(1, target.period_end.month + 1)):
                missing = sorted(set(range(1, target.period_end.month + 1)) - set(covered))
                twice = sorted({m for m in covered if covered.count(m) > 1})
                reasons = []
                if missing:
                    reasons.append(f"months not loaded: {', '.join(f'{year}-{m:02d}' for m in missing)}")
                if twice:
                    reasons.append(f"months in two current tables: {', '.join(f'{year}-{m:02d}' for m in twice)}")
                not_judged.append({"month": _month_label(target.period_end), "file": target.file_name,
                                   "reason": "; ".join(reasons)})
                continue
            judged.append(_month_label(target.period_end))
            sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
            for part in parts:
                for row in rows.get(part.release_id, []):
                    for flow in FLOWS:
                        value = row[f"{flow}_month_cny"]
                        if value is not None:
                            sums[(row["province_code"], flow)] += value
            for row in rows.get(target.release_id, []):
                for flow in FLOWS:
                    ytd = row[f"{flow}_ytd_cny"]
                    if ytd is None:
                        continue
                    total = sums[(row["province_code"], flow)]
                    difference = total - ytd
                    # Each printed figure is rounded to half a unit: M months and the YTD.
                    rounding = (Decimal(len(parts)) + 1) / 2 * _unit_factor(target.unit)
                    if abs(difference) <= rounding:
                        continue
                    ratio = abs(difference) / ytd if ytd else Decimal("Infinity")
                    if ratio <= MONTHS_WARN_RATIO:
                        continue
                    failures.append({
                        "file": target.file_name, "row": row["source_row"], "region": row["location_name"],
                        "month": _month_label(target.period_end), "flow": flow,
                        "sum_of_months": _number(total), "ytd": _number(ytd), "difference": _number(difference),
                        "difference_pct": round(float(ratio) * 100, 2) if ytd else None,
                        "severity": ERROR if ratio > MONTHS_ERROR_RATIO else WARN,
                    })
    failures.sort(key=lambda f: (f["severity"] != ERROR, -(f["difference_pct"] or float("inf"))))
    metadata: dict[str, Any] = {
        "months": _range_label(first_month, last_month),
        "months_judged": judged,
        "months_not_judged": not_judged,
        "warn_beyond_pct": float(MONTHS_WARN_RATIO * 100),
        "error_beyond_pct": float(MONTHS_ERROR_RATIO * 100),
        "failures": len(failures),
    }
    if not failures:
        note = f"; not judged: {len(not_judged)} month(s) whose earlier months are not all loaded" if not_judged else ""
        return CheckOutcome(
            True, ERROR,
            f"for China and every province, the months add up to the YTD within {MONTHS_WARN_RATIO:.0%} "
            f"({len(judged)} month(s) judged{note})",
            metadata,
        )
    severity = ERROR if any(f["severity"] == ERROR for f in failures) else WARN
    worst = failures[0]
    metadata["first_failure"] = worst
    metadata["details"] = _md_table(failures, ["file", "row", "region", "month", "flow", "sum_of_months", "ytd",
                                               "difference_pct", "severity"])
    metadata["failed_rows"] = failures[:MAX_IN_JSON]
    errors = sum(f["severity"] == ERROR for f in failures)
    return CheckOutcome(
        False, severity,
        f"{errors} figure(s) off by more than {MONTHS_ERROR_RATIO:.0%} and {len(failures) - errors} by more than "
        f"{MONTHS_WARN_RATIO:.0%}; worst: {worst['region']} {worst['flow']} {worst['month']}: Σ months "
        f"{worst['sum_of_months']} vs YTD {worst['ytd']} ({worst['difference_pct']} %) in '{worst['file']}'",
        metadata,
    )


# ---------------------------------------------------------------------------------------------
# 3. provinces_match_national_total (blocking, ERROR)


def provinces_match_national_total(con: duckdb.DuckDBPyConnection, first_month: date, last_month: date) -> CheckOutcome:
    """Σ of the provinces vs the national 总值 row of the same location table, month and YTD, each flow."""
    name = "provinces_match_national_total"
    if not _has_raw(con, "location_table_rows"):
        return _no_data(name, first_month, last_month, "raw.location_table_rows")
    releases = [r for r in _location_releases(con, first_month.year, last_month.year)
                if first_month <= r.period_end <= last_month]
    if not releases:
        return _no_data(name, first_month, last_month, "loaded location table")
    rows = _location_rows(con, [r.release_id for r in releases])
    failures, worst_ratio = [], Decimal(0)
    for release in releases:
        release_rows = rows.get(release.release_id, [])
        nation = next((r for r in release_rows if r["row_kind"] == "nation"), None)
        provinces = [r for r in release_rows if r["row_kind"] == "province"]
        if nation is None:
            failures.append({"file": release.file_name, "month": _month_label(release.period_end),
                             "column": None, "problem": "no 总值 row loaded"})
            continue
        rounding = (Decimal(len(provinces)) + 1) / 2 * _unit_factor(release.unit)
        for column in LOCATION_VALUE_COLUMNS:
            national = nation[column]
            if national is None:
                continue
            total = sum((p[column] for p in provinces if p[column] is not None), Decimal(0))
            difference = total - national
            tolerance = max(abs(national) * PROVINCES_TOLERANCE_RATIO, rounding)
            if national:
                worst_ratio = max(worst_ratio, abs(difference) / abs(national))
            if abs(difference) > tolerance:
                failures.append({
                    "file": release.file_name, "row": nation["source_row"], "month": _month_label(release.period_end),
                    "column": column, "provinces": len(provinces), "sum_of_provinces": _number(total),
                    "national": _number(national), "difference": _number(difference),
                    "tolerance": _number(tolerance.quantize(Decimal(1))),
                    "rejected_rows_in_file": release.rejected_rows,
                })
    metadata: dict[str, Any] = {
        "months": _range_label(first_month, last_month),
        "releases_judged": len(releases),
        "tolerance": f"max({PROVINCES_TOLERANCE_RATIO * 100} % of the national figure, rounding of the printed figures)",
        "largest_gap_ratio": float(worst_ratio),
        "failures": len(failures),
    }
    if not failures:
        return CheckOutcome(True, ERROR, f"the provinces add up to 总值 in {len(releases)} location table(s)", metadata)
    worst = failures[0]
    metadata["first_failure"] = worst
    metadata["details"] = _md_table(failures, ["file", "month", "column", "provinces", "sum_of_provinces", "national",
                                               "difference", "tolerance", "rejected_rows_in_file"])
    metadata["failed_rows"] = failures[:MAX_IN_JSON]
    hint = ""
    if worst.get("rejected_rows_in_file"):
        hint = f" (the file has {worst['rejected_rows_in_file']} rejected row(s): see raw.rejected_rows)"
    return CheckOutcome(
        False, ERROR,
        f"{len(failures)} figure(s) where the provinces do not add up to 总值; first: '{worst['file']}' "
        f"{worst['month']} {worst['column']}: Σ {worst.get('provinces')} provinces {worst.get('sum_of_provinces')} vs "
        f"总值 {worst.get('national')} (row {worst.get('row')}){hint}",
        metadata,
    )


# ---------------------------------------------------------------------------------------------
# 4. units_and_currency_consistent (blocking, ERROR)

_CURRENCIES_BY_FORMAT = {
    "gacc_location_table": {"CNY"},
    "gacc_city_table": {"CNY"},
    "gacc_query_export": {"CNY", "USD"},  # as the value column's header says
    "gacc_preliminary_country": {"CNY", "USD"},  # the edition
    "comtrade": {"USD"},
}


def _unit_currency_words(unit: str) -> set[str]:
    """The currency a preliminary release's unit label names ('CNY 100 Million', 'USD1 Million')."""
    text = unit.upper()
    found = set()
    if any(word in text for word in ("CNY", "RMB", "YUAN")):
        found.add("CNY")
    if "USD" in text or "US$" in text or "DOLLAR" in text:
        found.add("USD")
    return found


def _unit_problem(fmt: str, currency: str | None, unit: str | None) -> str | None:
    if not unit:
        return "no unit registered"
    if fmt == "gacc_location_table" and unit not in location_table.UNIT_FACTORS:
        return f"unit {unit!r} is not a location-table unit ({', '.join(location_table.UNIT_FACTORS)})"
    if fmt == "gacc_city_table" and unit not in city_table.UNIT_FACTORS:
        return f"unit {unit!r} is not a city-table unit ({', '.join(city_table.UNIT_FACTORS)})"
    if fmt == "gacc_query_export" and currency in query_export.UNIT_LABELS and unit != query_export.UNIT_LABELS[currency]:
        return f"unit {unit!r} does not match currency {currency} (expected {query_export.UNIT_LABELS[currency]!r})"
    if fmt == "gacc_preliminary_country" and _unit_currency_words(unit) != {currency}:
        return f"unit {unit!r} does not name the edition's currency {currency}"
    if fmt == "comtrade" and unit != "US dollars":
        return f"unit {unit!r}: UN Comtrade values are US dollars"
    return None


# Raw tables that carry a currency or a unit per row: (column, what it must agree with).
_ROW_CURRENCY_COLUMN = {"query_export_rows": "currency", "preliminary_country_rows": "currency"}


def units_and_currency_consistent(
    con: duckdb.DuckDBPyConnection, first_month: date, last_month: date, raw_table: str | None = None
) -> CheckOutcome:
    """Every loaded release in the range has one currency and one unit, consistent with its format, and
    no raw row disagrees with its release's currency (or, for city tables, with one unit per release)."""
    name = "units_and_currency_consistent"
    tables = [raw_table] if raw_table else list(RAW_TABLES)
    if not _table_exists(con, "releases"):
        return _no_data(name, first_month, last_month, "raw.releases")
    formats = [FORMAT_OF_TABLE[t] for t in tables]
    releases = con.execute(
        """
        SELECT release_id, file_name, format, period_end, currency, unit, raw_table
        FROM raw.releases WHERE status = 'loaded' AND format IN (SELECT unnest(?)) AND period_end BETWEEN ? AND ?
        ORDER BY period_end, file_name
        """,
        [formats, first_month, last_month],
    ).fetchall()
    failures: list[dict[str, Any]] = []
    for release_id, file_name, fmt, period_end, currency, unit, table in releases:
        base = {"file": file_name, "release_id": release_id, "month": _month_label(period_end), "format": fmt}
        allowed = _CURRENCIES_BY_FORMAT.get(fmt, set())
        if currency not in allowed:
            failures.append({**base, "problem": f"registered currency {currency!r}; a {fmt} release is "
                                                f"{' or '.join(sorted(allowed))}"})
        problem = _unit_problem(fmt, currency, unit)
        if problem:
            failures.append({**base, "problem": problem})
        if table and table != FORMAT_TABLE.get(fmt):
            failures.append({**base, "problem": f"registered in raw.{table}, but a {fmt} loads into raw.{FORMAT_TABLE[fmt]}"})
    release_ids = [r[0] for r in releases]
    for table in tables:
        if not release_ids or not _table_exists(con, table):
            continue
        column = _ROW_CURRENCY_COLUMN.get(table)
        if column:
            for file_name, release_id, registered, row_currency, rows, first_row in con.execute(
                f"""
                SELECT rel.file_name, rel.release_id, rel.currency, r.{column}, count(*), min(r.source_row)
                FROM raw.{table} AS r JOIN raw.releases AS rel ON r.release_id = rel.release_id
                WHERE r.release_id IN (SELECT unnest(?)) AND r.{column} IS DISTINCT FROM rel.currency
                GROUP BY ALL ORDER BY ALL
                """,
                [release_ids],
            ).fetchall():
                failures.append({
                    "file": file_name, "release_id": release_id, "row": first_row,
                    "problem": f"{rows} row(s) in {row_currency!r} (first: row {first_row}) in a release registered "
                               f"as {registered!r}",
                })
        if table == "city_table_rows":
            for file_name, release_id, units, first_row in con.execute(
                """
                SELECT rel.file_name, rel.release_id, list(DISTINCT r.unit_applied ORDER BY r.unit_applied),
                       min(r.source_row)
                FROM raw.city_table_rows AS r JOIN raw.releases AS rel ON r.release_id = rel.release_id
                WHERE r.release_id IN (SELECT unnest(?))
                GROUP BY ALL
                HAVING count(DISTINCT r.unit_applied) <> 1 OR count(r.unit_applied) <> count(*)
                    OR bool_or(r.unit_applied NOT IN (SELECT unnest(?)))
                """,
                [release_ids, list(city_table.UNIT_FACTORS)],
            ).fetchall():
                failures.append({
                    "file": file_name, "release_id": release_id, "row": first_row,
                    "problem": f"values read in {units}: one unit per release, 元 or 万元",
                })
    metadata: dict[str, Any] = {
        "months": _range_label(first_month, last_month),
        "releases_judged": len(releases),
        "currencies": sorted({str(r[4]) for r in releases}),
        "units": sorted({str(r[5]) for r in releases}),
        "failures": len(failures),
    }
    scope = f"raw.{raw_table}" if raw_table else "every raw table"
    if not failures:
        return CheckOutcome(True, ERROR, f"{len(releases)} release(s) of {scope}: one currency and unit each, "
                                         "consistent with the format and the rows", metadata)
    worst = failures[0]
    metadata["first_failure"] = worst
    metadata["details"] = _md_table(failures, ["file", "month", "format", "row", "problem"])
    metadata["failed_rows"] = failures[:MAX_IN_JSON]
    return CheckOutcome(False, ERROR, f"{len(failures)} currency/unit problem(s); first: '{worst['file']}': "
                                      f"{worst['problem']}", metadata)



# ---------------------------------------------------------------------------------------------
# 5. unknown_codes_flagged (WARN, not blocking)


@lru_cache(maxsize=1)
def _seed_codes() -> dict[str, frozenset[str]]:
    def column(file: str, name: str) -> frozenset[str]:
        with open(SEEDS_DIR / file, encoding="utf-8", newline="") as f:
            return frozenset(row[name].strip() for row in csv.DictReader(f) if row[name].strip())

    return {
        "partner": column("partners.csv", "gacc_code"),
        "trade_mode": column("trade_modes.csv", "trade_mode_code"),
        "province": column("provinces.csv", "region_code"),
        "city": column("cities.csv", "region_code"),
    }


def registration_code_known(code: str, seeds: Mapping[str, frozenset[str]] | None = None) -> bool:
    """注册地 codes: 2 digits = a province (+0000), 4 digits = a city's first four digits, 5 digits = a
    city's first four digits + GACC's zone-type digit."""
    seeds = seeds or _seed_codes()
    if not code.isdigit():
        return False
    if len(code) == 2:
        return code + "0000" in seeds["province"]
    if len(code) in (4, 5):
        return code[:4] + "00" in seeds["city"]
    return False


def unknown_codes_flagged(con: duckdb.DuckDBPyConnection, first_month: date, last_month: date) -> CheckOutcome:
    """Partner, trade-mode and registration codes in the range's query exports that the seeds do not know
    (kept and loaded, never dropped: this lists them so the seeds can be extended)."""
    name = "unknown_codes_flagged"
    if not _has_raw(con, "query_export_rows"):
        return _no_data(name, first_month, last_month, "raw.query_export_rows")
    release_ids = [r[0] for r in _releases_in_range(con, first_month, last_month, "gacc_query_export")]
    if not release_ids:
        return CheckOutcome(True, WARN, f"no loaded query export in {_range_label(first_month, last_month)}",
                            {"months": _range_label(first_month, last_month), "releases_judged": 0})
    seeds = _seed_codes()
    unknown: list[dict[str, Any]] = []
    for kind, code_column, name_column in (
        ("partner", "partner_code", "partner_name"),
        ("trade_mode", "trade_mode_code", "trade_mode_name"),
        ("registration", "registration_code", "registration_name"),
    ):
        for code, code_name, rows, file_name, first_row in con.execute(
            f"""
            SELECT r.{code_column}, any_value(r.{name_column}), count(*), min(rel.file_name), min(r.source_row)
            FROM raw.query_export_rows AS r JOIN raw.releases AS rel ON r.release_id = rel.release_id
            WHERE r.release_id IN (SELECT unnest(?)) AND r.{code_column} IS NOT NULL
            GROUP BY r.{code_column} ORDER BY r.{code_column}
            """,
            [release_ids],
        ).fetchall():
            known = (
                code in seeds["partner"] if kind == "partner"
                else code in seeds["trade_mode"] if kind == "trade_mode"
                else registration_code_known(code, seeds)
            )
            if not known:
                unknown.append({"kind": kind, "code": code, "name": code_name, "rows": rows,
                                "file": file_name, "row": first_row})
    counts = {kind: sum(1 for u in unknown if u["kind"] == kind) for kind in ("partner", "trade_mode", "registration")}
    metadata: dict[str, Any] = {
        "months": _range_label(first_month, last_month),
        "releases_judged": len(release_ids),
        **{f"unknown_{kind}_codes": n for kind, n in counts.items()},
        "unknown_rows": sum(u["rows"] for u in unknown),
    }
    if not unknown:
        return CheckOutcome(True, WARN, f"every partner, trade-mode and registration code of {len(release_ids)} query "
                                        "export(s) is in the seeds", metadata)
    metadata["codes"] = unknown[:MAX_IN_JSON]
    metadata["details"] = _md_table(unknown, ["kind", "code", "name", "rows", "file", "row"])
    listed = ", ".join(f"{u['kind']} {u['code']}" for u in unknown[:10])
    return CheckOutcome(
        False, WARN,
        f"{len(unknown)} code(s) the seeds do not know ({listed}{' …' if len(unknown) > 10 else ''}); the rows are "
        "loaded: add the codes to dbt_project/seeds",
        metadata,
    )


# ---------------------------------------------------------------------------------------------
# 6. row_count_within_band (WARN, not blocking)

# Per raw table: the month a row belongs to, what splits a format into comparable series, and
# the previous period of a series (a month earlier; a year for annual Comtrade rows).
_ROW_COUNT_SERIES = {
    "location_table_rows": ("rel.period_end", "''"),
    "city_table_rows": ("rel.period_end", "coalesce(rel.variant, '')"),
    "query_export_rows": ("coalesce(r.period, rel.period_end)", "''"),
    "preliminary_country_rows": ("rel.period_end", "coalesce(rel.currency, '')"),
    "comtrade_rows": ("r.period", "coalesce(r.freq, '')"),
}


def _row_counts_of_table(con, first: date, last: date, table: str) -> tuple[list[dict[str, Any]], int]:
    month_expr, series_expr = _ROW_COUNT_SERIES[table]
    fmt = FORMAT_OF_TABLE[table]
    counts = con.execute(
        f"""
        SELECT {series_expr} AS series, {month_expr} AS month, count(*) AS n,
               bool_or(rel.period_end BETWEEN ? AND ?) AS in_range,
               string_agg(DISTINCT rel.file_name, ', ' ORDER BY rel.file_name) AS files
        FROM raw.{table} AS r JOIN raw.releases AS rel ON r.release_id = rel.release_id
        WHERE rel.status = 'loaded' AND rel.format = ?
        GROUP BY ALL
        """,
        [first, last, fmt],
    ).fetchall()
    by_key = {(series, month): (n, in_range, files) for series, month, n, in_range, files in counts}
    low, high = ROW_COUNT_BANDS[table]
    failures, judged = [], 0
    for (series, month), (n, in_range, files) in sorted(by_key.items()):
        if not in_range or month is None:
            continue
        step = 12 if table == "comtrade_rows" and series == "A" else 1
        previous = by_key.get((series, _shift(month, -step)))
        if previous is None:
            continue  # no previous month: nothing to compare with
        judged += 1
        ratio = n / previous[0]
        if not low <= ratio <= high:
            failures.append({
                "table": table, "series": series or None, "month": _month_label(month), "rows": n,
                "previous_month": _month_label(_shift(month, -step)), "previous_rows": previous[0],
                "ratio": round(ratio, 3), "band": f"{low}–{high}", "file": files,
            })
    return failures, judged


def row_count_within_band(
    con: duckdb.DuckDBPyConnection, first_month: date, last_month: date, raw_table: str | None = None
) -> CheckOutcome:
    """Rows per format loaded for each month of the range vs the month before (a month with no previous
    month passes): location and city tables 0.9–1.1×, preliminary pages 0.8–1.25×, query exports and
    Comtrade 0.5–2×."""
    tables = [raw_table] if raw_table else list(RAW_TABLES)
    failures: list[dict[str, Any]] = []
    judged = 0
    for table in tables:
        if _has_raw(con, table):
            table_failures, table_judged = _row_counts_of_table(con, first_month, last_month, table)
            failures += table_failures
            judged += table_judged
    metadata: dict[str, Any] = {
        "months": _range_label(first_month, last_month),
        "months_compared": judged,
        "bands": {t: f"{ROW_COUNT_BANDS[t][0]}–{ROW_COUNT_BANDS[t][1]}" for t in tables},
        "failures": len(failures),
    }
    if not failures:
        return CheckOutcome(True, WARN, f"rows per month within the band of the month before ({judged} month(s) "
                                        "compared)", metadata)
    worst = min(failures, key=lambda f: min(f["ratio"], 1 / f["ratio"]) if f["ratio"] else 0)
    metadata["first_failure"] = worst
    metadata["details"] = _md_table(failures, ["table", "series", "month", "rows", "previous_month", "previous_rows",
                                               "ratio", "band", "file"])
    metadata["failed_rows"] = failures[:MAX_IN_JSON]
    return CheckOutcome(
        False, WARN,
        f"{len(failures)} month(s) outside the row-count band; e.g. raw.{worst['table']} {worst['month']}: "
        f"{worst['rows']} rows vs {worst['previous_rows']} in {worst['previous_month']} (×{worst['ratio']}, "
        f"band {worst['band']}) from {worst['file']}",
        metadata,
    )


# ---------------------------------------------------------------------------------------------
# The checks as Dagster sees them


@dataclass(frozen=True)
class RawCheck:
    name: str
    raw_table: str  # the asset raw/<raw_table> the check is attached to
    blocking: bool
    fn: CheckFn
    description: str


def _checks() -> tuple[RawCheck, ...]:
    checks = [
        RawCheck("ytd_never_decreases", "location_table_rows", True, location_ytd_never_decreases,
                 "Blocking. Within a year, China's and each province's year-to-date figures never go down from one "
                 "month to the next (development zones exempt: GACC revises small zones)."),
        RawCheck("ytd_never_decreases", "city_table_rows", True, city_ytd_never_decreases,
                 "Blocking. Within a year, each city's and province total's year-to-date figures never go down "
                 "(a city matched by its code, whatever label it is printed with)."),
        RawCheck("months_add_up_to_ytd", "location_table_rows", True, months_add_up_to_ytd,
                 "Blocking beyond 10 %, warning beyond 1 %. For China and each province, the year's month figures "
                 "up to M add up to the year-to-date figure of M (GACC's revisions explain small differences)."),
        RawCheck("provinces_match_national_total", "location_table_rows", True, provinces_match_national_total,
                 "Blocking. The 31 provinces add up to the national 总值 row of the same table, month and "
                 "year-to-date, within 0.001 % (the real 2024 tables: within 3 万元)."),
        RawCheck("unknown_codes_flagged", "query_export_rows", False, unknown_codes_flagged,
                 "Warning. Partner, trade-mode and registration (注册地) codes the reference seeds do not know; "
                 "the rows are kept."),
    ]
    for table in RAW_TABLES:
        checks.append(RawCheck(
            "units_and_currency_consistent", table, True, partial(units_and_currency_consistent, raw_table=table),
            "Blocking. Each release has one currency and one unit, consistent with its format, and no row "
            "disagrees with its release's currency.",
        ))
        checks.append(RawCheck(
            "row_count_within_band", table, False, partial(row_count_within_band, raw_table=table),
            f"Warning. Rows per month within {ROW_COUNT_BANDS[table][0]}–{ROW_COUNT_BANDS[table][1]}× the month "
            "before.",
        ))
    return tuple(checks)


RAW_CHECKS = _checks()


def run_all(con: duckdb.DuckDBPyConnection, first_month: date, last_month: date) -> dict[tuple[str, str], CheckOutcome]:
    """Every check's outcome, by (raw table, check name), without Dagster."""
    return {(c.raw_table, c.name): _evaluate(c, con, first_month, last_month) for c in RAW_CHECKS}


def _evaluate(check: RawCheck, con, first_month: date, last_month: date) -> CheckOutcome:
    try:
        return check.fn(con, first_month, last_month)
    except Exception as error:  # a check that cannot run judges nothing: blocking ones must not pass silently
        return CheckOutcome(
            False, ERROR if check.blocking else WARN, f"the check could not run: {type(error).__name__}: {error}",
            {"months": _range_label(first_month, last_month), "error": Markdown(f"```\n{traceback.format_exc()}\n```")},
        )


def _asset_key(raw_table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", raw_table])


RAW_CHECK_SPECS = [
    dg.AssetCheckSpec(check.name, asset=_asset_key(check.raw_table), blocking=check.blocking,
                      description=check.description)
    for check in RAW_CHECKS
]


def _metadata_value(value: Any):
    if isinstance(value, Markdown):
        return dg.MetadataValue.md(value)
    if isinstance(value, (list, dict)):
        return dg.MetadataValue.json(value)
    return value


def to_check_result(check: RawCheck, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=_asset_key(check.raw_table),
        check_name=check.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.severity == ERROR else dg.AssetCheckSeverity.WARN,
        description=outcome.description,
        metadata={key: _metadata_value(value) for key, value in outcome.metadata.items()},
    )


def files_named(value: Any) -> set[str]:
    """Every file a check's metadata names (its failure records carry a "file" key)."""
    if isinstance(value, dict):
        named = {value["file"]} if isinstance(value.get("file"), str) else set()
        return named.union(*(files_named(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(files_named(v) for v in value))
    return set()


@dataclass
class BlockingFailure:
    check_name: str
    raw_table: str
    description: str
    files: set[str]


def raw_check_results(
    context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection, first_month: date, last_month: date
) -> tuple[list[dg.AssetCheckResult], list[BlockingFailure]]:
    """The selected raw checks of a load run, as AssetCheckResults, evaluated now on the open connection,
    and the blocking failures among them with the files they name (the loader withdraws those).
    Yield the results after the materializations: a failed blocking ERROR check then fails the step."""
    selected = context.selected_asset_check_keys
    results, blocking = [], []
    for check in RAW_CHECKS:
        if dg.AssetCheckKey(_asset_key(check.raw_table), check.name) not in selected:
            continue
        outcome = _evaluate(check, con, first_month, last_month)
        if not outcome.passed:
            blocks = check.blocking and outcome.severity == ERROR
            log = context.log.error if blocks else context.log.warning
            log(f"check {check.name} on raw/{check.raw_table} failed ({outcome.severity}"
                f"{', blocking the build' if blocks else ''}): {outcome.description}")
            if blocks:
                blocking.append(BlockingFailure(check.name, check.raw_table, outcome.description, files_named(outcome.metadata)))
        results.append(to_check_result(check, outcome))
    return results, blocking
