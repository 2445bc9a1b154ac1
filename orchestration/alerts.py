"""Alerting on failed runs: one JSON line in `<warehouse>/logs/alerts.log`, and a webhook if configured.

`run_failure_alert` is a run-failure sensor over every job of this code location, launched by the
daemon, the UI or in process by `trade run` (see the sensor). For each failed run it builds an
alert (`build_alert`, pure) and delivers it (`deliver_alert`, plain Python):

- appended as one JSON line to `<TRADE_WAREHOUSE_DIR>/logs/alerts.log` (one `write` on a file
  opened for appending, so concurrent writers never interleave within a line);
- POSTed as the same JSON (`Content-Type: application/json`) to `TRADE_ALERT_WEBHOOK` when that
  variable is set: timeout 10 s, two retries with a short backoff on connection errors and 5xx.
  A webhook that is down never fails the sensor: a warning is logged and the line records
  `webhook_error`. A timeout is not retried, so one alert costs at most ~10 s of the sensor's
  evaluation (Dagster abandons a sensor tick after about a minute).

The webhook URL often carries a secret token: it is never written to the log line or the logs.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from .resources import WarehouseResource

WEBHOOK_ENV = "TRADE_ALERT_WEBHOOK"
ALERTS_LOG_NAME = "alerts.log"
MAX_ERROR_CHARS = 2000
WEBHOOK_TIMEOUT_S = 10.0
WEBHOOK_RETRIES = 2  # after the first attempt
WEBHOOK_BACKOFF_S = (0.5, 1.5)  # wait before retry 1, retry 2

PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

logger = logging.getLogger(__name__)


def alerts_log_path(warehouse_dir: Path) -> Path:
    return Path(warehouse_dir) / "logs" / ALERTS_LOG_NAME


def build_alert(
    *,
    job_name: str,
    run_id: str,
    failed_step_keys: Sequence[str],
    error: str | None,
    tags: Mapping[str, str] | None = None,
    failed_at: datetime | None = None,
) -> dict:
    """The alert of one failed run, as a JSON-ready dict (every key always present, null when unknown).

    `error` is the first failing step's error (or the run's, when no step failed), cut to
    MAX_ERROR_CHARS; `failed_at` is made UTC (a naive datetime is taken as UTC; default: now)."""
    tags = tags or {}
    when = failed_at or datetime.now(timezone.utc)
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    if error and len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 1] + "…"
    range_start, range_end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    return {
        "kind": "dagster_run_failure",
        "job_name": job_name,
        "run_id": run_id,
        "failed_steps": list(failed_step_keys),
        "error": error,
        "partition": tags.get(PARTITION_TAG),
        "partition_range": [range_start, range_end] if range_start or range_end else None,
        "failed_at_utc": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "run_url_path": f"/runs/{run_id}",
    }


def post_json(url: str, body: bytes, *, timeout: float = WEBHOOK_TIMEOUT_S, retries: int = WEBHOOK_RETRIES,
              backoff: Sequence[float] = WEBHOOK_BACKOFF_S) -> int:
    """POST `body` as JSON; retries connection errors and 5xx. Returns the HTTP status; raises the last error."""
    attempt = 0
    while True:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            retryable = exc.code >= 500
            error: Exception = exc
        except TimeoutError as exc:  # the endpoint hangs: retrying would only hold the sensor longer
            retryable, error = False, exc
        except urllib.error.URLError as exc:  # refused, unreachable, DNS; a connect timeout is not retried
            retryable, error = not isinstance(exc.reason, TimeoutError), exc
        except (ConnectionError, http.client.HTTPException) as exc:  # dropped mid-response
            retryable, error = True, exc
        if not retryable or attempt >= retries:
            raise error
        time.sleep(backoff[min(attempt, len(backoff) - 1)] if backoff else 0)
        attempt += 1


def append_line(path: Path, record: Mapping) -> None:
    """Append one JSON line with a single write on an O_APPEND descriptor (the folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        while written < len(data):  # only on a full disk or a signal; keep the line whole if we can
            written += os.write(fd, data[written:])
    finally:
        os.close(fd)


def deliver_alert(alert: Mapping, log_path: Path, webhook_url: str | None, *, log: logging.Logger | None = None,
                  backoff: Sequence[float] = WEBHOOK_BACKOFF_S) -> dict:
    """POST the alert to the webhook (if any), then append it to the log; returns the line written.

    The line is the alert itself, plus `webhook_error` when the webhook could not take it. A webhook
    failure is logged as a warning and never raised; a failure to write the log file is raised."""
    log = log or logger
    record = dict(alert)
    if webhook_url:
        body = json.dumps(alert, ensure_ascii=False, sort_keys=True).encode("utf-8")
        try:
            post_json(webhook_url, body, backoff=backoff)
        except Exception as exc:  # noqa: BLE001 - whatever the webhook does, the alert still lands in the log
            record["webhook_error"] = f"{type(exc).__name__}: {exc}"
            log.warning(f"alert webhook ({WEBHOOK_ENV}) failed for run {alert.get('run_id')}: {record['webhook_error']}")
    append_line(Path(log_path), record)
    return record


def _error_text(error) -> str:
    """A SerializableErrorInfo as its messages along the cause chain, plus where the root cause was raised."""
    parts, root, seen = [], error, 0
    while error is not None and seen < 10:
        parts.append(error.message.strip())
        root, error, seen = error, error.cause or error.context, seen + 1
    text = "\nCaused by: ".join(p for p in parts if p)
    if root is not None and root.stack:
        text += "\n" + root.stack[-1].strip().splitlines()[0]
    return text


def alert_from_context(context: dg.RunFailureSensorContext) -> dict:
    """The alert of the run a failure sensor is looking at (step failures read from the instance)."""
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    failure_data = context.failure_event.event_specific_data
    if step_failures:
        error = _error_text(step_failures[0].event_specific_data.error)
    elif getattr(failure_data, "error", None) is not None:
        error = _error_text(failure_data.error)
    else:
        error = context.failure_event.message
    record = context.instance.get_run_record_by_id(run.run_id)
    failed_at = (
        datetime.fromtimestamp(record.end_time, tz=timezone.utc) if record and record.end_time else None
    )
    return build_alert(
        job_name=run.job_name,
        run_id=run.run_id,
        failed_step_keys=[event.step_key for event in step_failures if event.step_key],
        error=error,
        tags=run.tags,
        failed_at=failed_at,
    )


# Why monitor_all_code_locations: by default a run-failure sensor only matches runs whose origin is
# its own code location, and runs executed in process — every run `trade run` / `make run` makes —
# carry no origin, so the daemon would never alert on them. The instance lives in the warehouse
# folder and the workspace has this one code location, so "all code locations" is this location's
# jobs, however they were launched (a DAGSTER_HOME shared with other locations would add theirs).
@dg.run_failure_sensor(
    name="run_failure_alert",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every failed run of this code location: one JSON line in <warehouse>/logs/alerts.log, and a POST "
        f"to ${WEBHOOK_ENV} when set (a webhook that is down never fails the sensor)."
    ),
)
def run_failure_alert(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
    # Returning nothing (not a SkipReason) lets Dagster handle every failed run of the tick and
    # record on each run that the sensor acted on it; a returned value ends the tick after one run.
    alert = alert_from_context(context)
    line = deliver_alert(alert, alerts_log_path(warehouse.paths().warehouse_dir),
                         os.environ.get(WEBHOOK_ENV) or None, log=context.log)
    context.log.info(f"alert for failed run {alert['run_id']} of {alert['job_name']} written"
                     + (" (webhook failed)" if "webhook_error" in line else ""))
