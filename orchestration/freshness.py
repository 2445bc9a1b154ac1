"""Freshness from GACC's release calendar: is the latest month's location table in?

GACC publishes a month's tables around the 7th–20th of the next month, so month M is due by the
25th of month M+1 (Beijing time), inclusive: on 25 April only February must be in, from 26 April
00:00 Asia/Shanghai March must be in too; on 10 April, February.

`release_calendar_freshness` is an asset check on `raw/location_table_rows` (the location table is
the release every month has): it reads the newest loaded location table from `raw.releases` and
fails with severity WARN when a month is overdue. The job `freshness_checks` runs only that check,
the schedule `daily_freshness_check` runs the job daily at 10:00 Beijing time, so an overdue month
shows as a failed check in the UI without materializing anything.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from .resources import WarehouseResource

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE_DAY = 25  # month M is due by the 25th of month M+1 (inclusive), Beijing time
LOCATION_TABLE_ROWS_KEY = dg.AssetKey(["raw", "location_table_rows"])
CHECK_NAME = "release_calendar_freshness"
FRESHNESS_CHECK_KEY = dg.AssetCheckKey(LOCATION_TABLE_ROWS_KEY, CHECK_NAME)


def now_utc() -> datetime:
    """The check's clock; tests monkeypatch this function."""
    return datetime.now(timezone.utc)


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _in_shanghai(now: datetime) -> datetime:
    """`now` in Beijing time; a naive datetime is taken as UTC (the project's convention)."""
    return (now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now).astimezone(SHANGHAI)


def _shanghai_date(now: datetime) -> date:
    return _in_shanghai(now).date()


def due_date_of(period: date, due_day: int = DUE_DAY) -> date:
    """The last day month `period` may still be missing: the `due_day`-th of the following month."""
    return _add_months(_month_start(period), 1).replace(day=due_day)


def expected_latest_period(now: datetime, due_day: int = DUE_DAY) -> date:
    """The first day of the latest month whose data must be in by `now` (Asia/Shanghai calendar).

    Month M is due on the `due_day`-th of M+1 and overdue from the next day: on 2024-04-25 (any
    time that day, Beijing) this is 2024-02-01; on 2024-04-26 it is 2024-03-01."""
    if not 1 <= due_day <= 28:
        raise ValueError(f"due_day must be 1..28, got {due_day}")
    today = _shanghai_date(now)
    return _add_months(_month_start(today), -1 if today.day > due_day else -2)


def freshness_status(
    latest_loaded_period: date | None, now: datetime, due_day: int = DUE_DAY
) -> tuple[bool, date | None, date, str]:
    """(passed, overdue_period, due_date, description).

    The month the warehouse waits for is the one after the newest loaded month (or, with nothing
    loaded, the expected latest month); `due_date` is that month's due date — in the past and
    `overdue_period` set when the check fails, today or later when it passes. Gaps below the newest
    loaded month are not this check's business (the registry and dbt tests see those)."""
    expected = expected_latest_period(now, due_day)
    today = _shanghai_date(now)
    if latest_loaded_period is None:
        due = due_date_of(expected, due_day)
        return (False, expected, due,
                f"No GACC location table is loaded at all; {expected:%Y-%m} was due by {due.isoformat()} "
                f"({(today - due).days} days overdue).")
    latest = _month_start(latest_loaded_period)
    waiting_for = _add_months(latest, 1)
    due = due_date_of(waiting_for, due_day)
    if latest >= expected:
        return (True, None, due,
                f"Latest location table {latest:%Y-%m} is in (expected at least {expected:%Y-%m}); "
                f"{waiting_for:%Y-%m} is due by {due.isoformat()}.")
    missing = (expected.year - waiting_for.year) * 12 + expected.month - waiting_for.month + 1
    return (False, waiting_for, due,
            f"{waiting_for:%Y-%m} is overdue: due by {due.isoformat()}, {(today - due).days} days ago; "
            f"latest loaded location table is {latest:%Y-%m}, expected {expected:%Y-%m} "
            f"({missing} month{'s' if missing > 1 else ''} missing).")


LATEST_LOCATION_TABLE_SQL = """
SELECT max(coalesce(period_end, period_start)) FROM raw.releases
WHERE format = 'gacc_location_table' AND status IN ('loaded', 'superseded')
"""


def latest_loaded_location_period(warehouse: WarehouseResource) -> date | None:
    """The newest month with a location table in the published snapshot (what analysts can query),
    or None (nothing published yet)."""
    published = warehouse.paths().published_db
    if not published.exists():
        return None
    # Read-only on the snapshot: a check that only reads never waits for, nor blocks, a writer.
    with duckdb.connect(str(published), read_only=True) as con:
        has_registry = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = 'releases'"
        ).fetchone()[0]
        if not has_registry:
            return None
        (latest,) = con.execute(LATEST_LOCATION_TABLE_SQL).fetchone()
    return latest


@dg.asset_check(
    asset=LOCATION_TABLE_ROWS_KEY,
    name=CHECK_NAME,
    description=(
        "GACC's release calendar: month M's location table is due by the 25th of M+1 (Beijing time). "
        "Warns when the newest location table in the published snapshot is older."
    ),
)
def release_calendar_freshness(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    now = now_utc()
    latest = latest_loaded_location_period(warehouse)
    passed, overdue, due, description = freshness_status(latest, now)
    today = _shanghai_date(now)
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "latest_loaded_period": latest.strftime("%Y-%m") if latest else "none",
            "expected_period": expected_latest_period(now).strftime("%Y-%m"),
            "overdue_period": overdue.strftime("%Y-%m") if overdue else "none",
            "due_date": due.isoformat(),
            "days_overdue": 0 if passed else (today - due).days,
            "checked_at_shanghai": _in_shanghai(now).isoformat(timespec="minutes"),
        },
    )


freshness_checks_job = dg.define_asset_job(
    "freshness_checks",
    selection=dg.AssetSelection.checks(FRESHNESS_CHECK_KEY),
    description="Only the release-calendar freshness check (no materialization).",
)

daily_freshness_check = dg.ScheduleDefinition(
    name="daily_freshness_check",
    job=freshness_checks_job,
    cron_schedule="0 10 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Checks every day at 10:00 Beijing time that the latest month's location table is in.",
)
