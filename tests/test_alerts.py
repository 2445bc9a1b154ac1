"""Alerts on failed runs: the JSON line in <warehouse>/logs/alerts.log and the webhook POST, against a
real local HTTP server, and the real run-failure sensor on a real failed Dagster run."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from dagster._core.remote_origin import RegisteredCodeLocationOrigin

from orchestration.alerts import (
    ALERTS_LOG_NAME,
    MAX_ERROR_CHARS,
    WEBHOOK_ENV,
    build_alert,
    deliver_alert,
    run_failure_alert,
)
from orchestration.definitions import defs
from orchestration.resources import WarehouseResource

FAST = (0.05, 0.05)  # retry backoff in the tests


class Webhook:
    """A real HTTP server on 127.0.0.1 (a free port) that records every POST and answers with the
    queued statuses (then 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append({"path": self.path, "content_type": self.headers.get("Content-Type"), "body": body})
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/trade"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"].decode("utf-8")) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/trade"  # nothing listens there any more: connection refused


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sample_alert(**overrides) -> dict:
    args = dict(job_name="load_releases", run_id="r-1", failed_step_keys=["raw_release_rows"],
                error="ValueError: 进口 column missing",
                tags={"dagster/asset_partition_range_start": "2024-01-01",
                      "dagster/asset_partition_range_end": "2024-03-01"})
    return build_alert(**{**args, **overrides})


def test_build_alert_fields_tags_and_truncation():
    alert = sample_alert()
    assert alert["job_name"] == "load_releases" and alert["run_id"] == "r-1"
    assert alert["failed_steps"] == ["raw_release_rows"]
    assert alert["partition"] is None and alert["partition_range"] == ["2024-01-01", "2024-03-01"]
    assert alert["run_url_path"] == "/runs/r-1"
    assert alert["failed_at_utc"].endswith("Z")
    single = sample_alert(tags={"dagster/partition": "2024-02-01"}, error="x" * 5000)
    assert single["partition"] == "2024-02-01" and single["partition_range"] is None
    assert len(single["error"]) == MAX_ERROR_CHARS and single["error"].endswith("…")
    json.dumps(alert)  # JSON-ready as it is


def test_deliver_alert_writes_the_line_and_posts_it(tmp_path, webhook):
    log_path = tmp_path / "wh" / "logs" / ALERTS_LOG_NAME  # the folder does not exist yet
    alert = sample_alert()
    line = deliver_alert(alert, log_path, webhook.url, backoff=FAST)
    assert line == alert
    assert read_lines(log_path) == [alert]
    assert webhook.bodies() == [alert]
    assert webhook.requests[0]["path"] == "/hooks/trade"
    assert webhook.requests[0]["content_type"].startswith("application/json")
    # A second alert is a second line, the first one untouched.
    second = sample_alert(run_id="r-2")
    deliver_alert(second, log_path, webhook.url, backoff=FAST)
    assert read_lines(log_path) == [alert, second]


def test_a_5xx_is_retried_until_delivered(tmp_path, webhook):
    webhook.statuses = [500, 200]
    alert = sample_alert()
    line = deliver_alert(alert, tmp_path / ALERTS_LOG_NAME, webhook.url, backoff=FAST)
    assert len(webhook.requests) == 2 and webhook.bodies() == [alert, alert]
    assert "webhook_error" not in line
    assert read_lines(tmp_path / ALERTS_LOG_NAME) == [alert]


def test_a_webhook_that_keeps_failing_is_recorded_not_raised(tmp_path, webhook, caplog):
    webhook.statuses = [503, 502, 500, 500]
    with caplog.at_level(logging.WARNING):
        line = deliver_alert(sample_alert(), tmp_path / ALERTS_LOG_NAME, webhook.url, backoff=FAST)
    assert len(webhook.requests) == 3  # the first attempt and two retries
    assert "500" in line["webhook_error"]
    assert read_lines(tmp_path / ALERTS_LOG_NAME)[0]["webhook_error"] == line["webhook_error"]
    assert "alert webhook" in caplog.text


def test_a_4xx_is_not_retried(tmp_path, webhook):
    webhook.statuses = [404]
    line = deliver_alert(sample_alert(), tmp_path / ALERTS_LOG_NAME, webhook.url, backoff=FAST)
    assert len(webhook.requests) == 1 and "404" in line["webhook_error"]


def test_an_unreachable_webhook_still_writes_the_line(tmp_path, caplog):
    alert = sample_alert()
    url = closed_port_url()
    with caplog.at_level(logging.WARNING):
        line = deliver_alert(alert, tmp_path / ALERTS_LOG_NAME, url, backoff=FAST)
    assert "refused" in line["webhook_error"].lower()
    written = read_lines(tmp_path / ALERTS_LOG_NAME)
    assert written == [line] and {k: v for k, v in written[0].items() if k != "webhook_error"} == alert
    assert "alert webhook" in caplog.text
    assert url not in line["webhook_error"]  # the URL (it may carry a token) is never logged


ERROR_TEXT = "customs feed broke: 进口 column missing in 2024-03.csv"


@dg.op
def load_the_month():
    raise ValueError(ERROR_TEXT)


@dg.job
def failing_load():
    load_the_month()


PARTITION_TAGS = {"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-03-01"}


def test_the_sensor_alerts_on_a_real_failed_run(tmp_path, monkeypatch, webhook):
    warehouse_dir = tmp_path / "wh"
    monkeypatch.setenv("TRADE_WAREHOUSE_DIR", str(warehouse_dir))
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)
    log_path = warehouse_dir / "logs" / ALERTS_LOG_NAME

    with dg.instance_for_test() as instance:
        result = failing_load.execute_in_process(instance=instance, raise_on_error=False, tags=PARTITION_TAGS)
        assert not result.success

        # Invoked directly, as the Dagster docs show for testing run-failure sensors.
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
            resources={"warehouse": WarehouseResource()},
        )
        assert run_failure_alert(context) is None

    (line,) = read_lines(log_path)
    assert line["job_name"] == "failing_load" and line["run_id"] == result.run_id
    assert line["failed_steps"] == ["load_the_month"]
    assert ERROR_TEXT in line["error"]
    assert line["partition_range"] == ["2024-01-01", "2024-03-01"]
    assert line["run_url_path"] == f"/runs/{result.run_id}"
    assert "webhook_error" not in line
    assert webhook.bodies() == [line]


def test_the_registered_sensor_evaluates_ticks_like_the_daemon(tmp_path, monkeypatch, webhook):
    """The sensor as the code location defines it (its warehouse resource from the Definitions),
    evaluated tick by tick with its cursor and its code location's origin, as the daemon does: runs
    executed in process (as `trade run` makes them) are alerted; a dead webhook does not fail the tick."""
    warehouse_dir = tmp_path / "wh"
    monkeypatch.setenv("TRADE_WAREHOUSE_DIR", str(warehouse_dir))
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)
    log_path = warehouse_dir / "logs" / ALERTS_LOG_NAME
    sensor = defs.resolve_sensor_def("run_failure_alert")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    # The daemon hands a sensor the code location's resources; build_sensor_context(definitions=…) does not.
    resources = defs.get_repository_def().get_top_level_resources()

    def tick_context(instance, cursor=None):
        # build_sensor_context sets no code location origin; the daemon does, and a run executed in
        # process has none, so only the daemon's context tells whether such runs are matched.
        return dg.SensorEvaluationContext(
            instance_ref=None, instance=instance, cursor=cursor, sensor_name="run_failure_alert",
            repository_name="__repository__", definitions=defs, resources=resources,
            code_location_origin=RegisteredCodeLocationOrigin("yrd_trade"),
        )

    with dg.instance_for_test() as instance:
        # The first tick only sets the cursor: failures from before the sensor started are not alerted.
        first = sensor.evaluate_tick(tick_context(instance))
        assert first.cursor and not first.dagster_run_reactions

        failed = failing_load.execute_in_process(instance=instance, raise_on_error=False)
        also_failed = failing_load.execute_in_process(instance=instance, raise_on_error=False, tags=PARTITION_TAGS)
        webhook.statuses = [500, 200]  # the first POST is retried
        tick = sensor.evaluate_tick(tick_context(instance, first.cursor))
        reactions = tick.dagster_run_reactions
        assert [r.dagster_run.run_id for r in reactions] == [failed.run_id, also_failed.run_id]
        assert all(r.error is None for r in reactions), [r.error for r in reactions]

        lines = read_lines(log_path)
        assert [line["run_id"] for line in lines] == [failed.run_id, also_failed.run_id]
        assert all(ERROR_TEXT in line["error"] for line in lines)
        assert webhook.bodies() == [lines[0], *lines]  # the retried POST arrived twice, the same JSON

        # Nothing new: the next tick alerts nothing again.
        again = sensor.evaluate_tick(tick_context(instance, tick.cursor))
        assert not again.dagster_run_reactions
        assert len(read_lines(log_path)) == 2

        # With the webhook down, the tick still succeeds and the line records why.
        monkeypatch.setenv(WEBHOOK_ENV, closed_port_url())
        third = failing_load.execute_in_process(instance=instance, raise_on_error=False)
        down = sensor.evaluate_tick(tick_context(instance, again.cursor))
        assert [r.error for r in down.dagster_run_reactions] == [None]
        last = read_lines(log_path)[-1]
        assert last["run_id"] == third.run_id and "webhook_error" in last
