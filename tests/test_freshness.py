"""Freshness from GACC's release calendar: month M is due by the 25th of M+1, Beijing time.

Decided here: the due day is inclusive. On 25 April (until 23:59 Beijing) March may still be
missing and only February must be in; from 26 April 00:00 Beijing March must be in. On 10 April,
February. A naive datetime is UTC."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration import freshness
from orchestration.definitions import defs
from orchestration.freshness import (
    FRESHNESS_CHECK_KEY,
    due_date_of,
    expected_latest_period,
    freshness_status,
)
from orchestration.jobs import build_marts_job, discover_releases_job, load_releases_job
from orchestration.samples.location_tables import write_location_tables
from orchestration.sensors import PARTITION_RANGE_END, PARTITION_RANGE_START

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (sh(2024, 4, 10, 12, 0), date(2024, 2, 1)),
        (sh(2024, 4, 25, 0, 0), date(2024, 2, 1)),
        (sh(2024, 4, 25, 23, 59, 59), date(2024, 2, 1)),  # the due day itself: March may still come
        (sh(2024, 4, 26, 0, 0), date(2024, 3, 1)),  # from the next day on, March must be in
        (sh(2024, 4, 30, 23, 59), date(2024, 3, 1)),
        (sh(2024, 1, 10), date(2023, 11, 1)),  # across the year
        (sh(2024, 1, 26), date(2023, 12, 1)),
        (sh(2024, 2, 26), date(2024, 1, 1)),
        (sh(2024, 3, 1), date(2024, 1, 1)),
        # The calendar is Beijing's whatever the clock's zone: 25 Apr 16:00 UTC is 26 Apr 00:00 in Beijing.
        (datetime(2024, 4, 25, 15, 59, tzinfo=timezone.utc), date(2024, 2, 1)),
        (datetime(2024, 4, 25, 16, 0, tzinfo=timezone.utc), date(2024, 3, 1)),
        (datetime(2024, 4, 25, 16, 0), date(2024, 3, 1)),  # naive = UTC
    ],
)
def test_expected_latest_period_at_the_edges(now, expected):
    assert expected_latest_period(now) == expected


def test_expected_latest_period_with_another_due_day():
    assert expected_latest_period(sh(2024, 4, 20), due_day=20) == date(2024, 2, 1)
    assert expected_latest_period(sh(2024, 4, 21), due_day=20) == date(2024, 3, 1)
    with pytest.raises(ValueError):
        expected_latest_period(sh(2024, 4, 21), due_day=31)


def test_due_date_of():
    assert due_date_of(date(2024, 3, 1)) == date(2024, 4, 25)
    assert due_date_of(date(2024, 3, 17)) == date(2024, 4, 25)
    assert due_date_of(date(2023, 12, 1)) == date(2024, 1, 25)


def test_freshness_status():
    # March due by 25 April: on the 26th, with February the newest, March is one day overdue.
    passed, overdue, due, text = freshness_status(date(2024, 2, 1), sh(2024, 4, 26, 9))
    assert (passed, overdue, due) == (False, date(2024, 3, 1), date(2024, 4, 25))
    assert "2024-03 is overdue" in text and "1 days ago" in text
    # On the 25th it is not yet: passes, and says what comes next and when.
    passed, overdue, due, text = freshness_status(date(2024, 2, 1), sh(2024, 4, 25, 23, 59))
    assert (passed, overdue, due) == (True, None, date(2024, 4, 25))
    # Ahead of the calendar (March already in on 10 April) passes; the next due is April's.
    assert freshness_status(date(2024, 3, 1), sh(2024, 4, 10))[:3] == (True, None, date(2024, 5, 25))
    # Two months behind: the oldest missing month is the overdue one, with its own due date.
    passed, overdue, due, text = freshness_status(date(2024, 1, 1), sh(2024, 4, 26))
    assert (passed, overdue, due) == (False, date(2024, 2, 1), date(2024, 3, 25))
    assert "2 months missing" in text
    # Nothing loaded at all: the expected month is overdue.
    passed, overdue, due, text = freshness_status(None, sh(2024, 4, 26))
    assert (passed, overdue, due) == (False, date(2024, 3, 1), date(2024, 4, 25))
    assert "No GACC location table" in text
    # A mid-month date stands for its month.
    assert freshness_status(date(2024, 3, 31), sh(2024, 4, 26))[0] is True


def set_now(monkeypatch, now: datetime) -> None:
    monkeypatch.setattr(freshness, "now_utc", lambda: now.astimezone(timezone.utc))


def run_check(instance) -> dg.AssetCheckEvaluation:
    result = defs.resolve_job_def("freshness_checks").execute_in_process(instance=instance)
    assert result.success  # a failed WARN check is a result, not a failed run
    assert result.get_asset_materialization_events() == []  # the job materializes nothing
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.asset_check_key == FRESHNESS_CHECK_KEY
    return evaluation


def metadata(evaluation: dg.AssetCheckEvaluation) -> dict:
    return {key: value.value for key, value in evaluation.metadata.items()}


def test_the_check_on_a_loaded_warehouse(warehouse, monkeypatch):
    """Location tables for 2024-01 and 2024-02 loaded by the real jobs; the check run by its job."""
    write_location_tables(warehouse.inbox, "2024-01", "2024-02")
    with dg.instance_for_test() as instance:
        # Loaded the way the sensors do it: discover, then one run over the pending months.
        set_now(monkeypatch, sh(2024, 3, 20, 10))
        assert defs.resolve_job_def(discover_releases_job.name).execute_in_process(instance=instance).success
        load = defs.resolve_job_def(load_releases_job.name).execute_in_process(
            instance=instance, tags={PARTITION_RANGE_START: "2024-01-01", PARTITION_RANGE_END: "2024-02-01"}
        )
        assert load.success
        # … and built and published: the check reads the snapshot analysts see, never the live file.
        build = defs.resolve_job_def(build_marts_job.name).execute_in_process(instance=instance, tags={PARTITION_RANGE_START: "2024-01-01", PARTITION_RANGE_END: "2024-02-01"})
        assert build.success
        assert warehouse.query(
            "SELECT strftime(period_end, '%Y-%m'), status FROM raw.releases ORDER BY 1"
        ) == [("2024-01", "loaded"), ("2024-02", "loaded")]

        # 26 April, Beijing: March was due yesterday and is not there.
        set_now(monkeypatch, sh(2024, 4, 26, 10))
        overdue = run_check(instance)
        assert overdue.passed is False
        assert overdue.severity == dg.AssetCheckSeverity.WARN
        assert metadata(overdue) | {"checked_at_shanghai": None} == {
            "latest_loaded_period": "2024-02",
            "expected_period": "2024-03",
            "overdue_period": "2024-03",
            "due_date": "2024-04-25",
            "days_overdue": 1,
            "checked_at_shanghai": None,
        }
        assert "2024-03 is overdue" in overdue.description

        # 20 March: only January must be in, February is too: passes, April 25 is the next due date.
        set_now(monkeypatch, sh(2024, 3, 20, 10))
        fresh = run_check(instance)
        assert fresh.passed is True
        assert metadata(fresh)["expected_period"] == "2024-01"
        assert metadata(fresh)["due_date"] == "2024-04-25"
        assert metadata(fresh)["days_overdue"] == 0

        # The UI reads the latest evaluation from the instance: the check shows as passed now.
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([FRESHNESS_CHECK_KEY])
        assert record[FRESHNESS_CHECK_KEY].status.value == "SUCCEEDED"


def test_the_check_without_a_warehouse_warns_and_creates_nothing(warehouse, monkeypatch):
    set_now(monkeypatch, sh(2024, 4, 26, 10))
    with dg.instance_for_test() as instance:
        evaluation = run_check(instance)
    assert evaluation.passed is False
    assert metadata(evaluation)["latest_loaded_period"] == "none"
    assert not warehouse.live_db.exists()


def test_the_job_and_the_schedule_are_registered():
    job = defs.resolve_job_def("freshness_checks")
    assert [node.name for node in job.graph.node_defs] == ["raw__location_table_rows_release_calendar_freshness"]
    schedule = defs.resolve_schedule_def("daily_freshness_check")
    assert schedule.job_name == "freshness_checks"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 10 * * *", "Asia/Shanghai")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        requests = schedule.evaluate_tick(dg.build_schedule_context(instance=instance)).run_requests
    assert len(requests) == 1
