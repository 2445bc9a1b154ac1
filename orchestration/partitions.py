"""Releases are monthly: one partition per statistical month."""

from datetime import date

import dagster as dg

from .config import EARLIEST_PERIOD

# GACC publishes a month's tables in the following month, so the newest partition is last month.
monthly_release_partitions = dg.MonthlyPartitionsDefinition(
    start_date=EARLIEST_PERIOD.isoformat(), end_offset=0
)


def last_month_of_window(window: dg.TimeWindow) -> date:
    """The last month inside a partition time window (its end is the exclusive first day after it)."""
    end = window.end.date()
    return date(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1)
