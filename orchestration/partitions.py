"""Releases are monthly: one partition per statistical month."""

import dagster as dg

from .config import EARLIEST_PERIOD

# GACC publishes a month's tables in the following month, so the newest partition is last month.
monthly_release_partitions = dg.MonthlyPartitionsDefinition(
    start_date=EARLIEST_PERIOD.isoformat(), end_offset=0
)
