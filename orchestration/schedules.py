"""Look for new releases every day: GACC publishes a month's tables around the 7th–20th of the next."""

import dagster as dg

from .jobs import discover_releases_job

daily_release_poll = dg.ScheduleDefinition(
    name="daily_release_poll",
    job=discover_releases_job,
    cron_schedule="0 9 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Polls the release sources and scans the inbox daily at 09:00 Beijing time; the sensors take it "
    "from there.",
)
