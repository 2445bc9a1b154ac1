"""Sensors that carry a refresh from one step to the next.

a new file in the inbox → discover_releases (archive + register)
discover_releases → (pending months) → load_releases for exactly those months, in one run
load_releases succeeded → build_marts (dbt build of the same months + publish)
"""


import hashlib
import json
from pathlib import Path

import dagster as dg

from .ingest.assets import RELEASES_KEY
from .ingest.landing import inbox_files
from .jobs import build_marts_job, discover_releases_job, load_releases_job
from .partitions import monthly_release_partitions
from .resources import WarehouseResource

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"


def load_request_for(pending_periods: list[str], run_key: str | None) -> dg.RunRequest | None:
    """One single-run backfill over the months that have pending releases."""
    keys = set(monthly_release_partitions.get_partition_keys())
    months = sorted(p for p in pending_periods if p in keys)
    if not months:
        return None
    return dg.RunRequest(
        run_key=run_key,
        job_name=load_releases_job.name,
        tags={PARTITION_RANGE_START: months[0], PARTITION_RANGE_END: months[-1]},
    )


@dg.asset_sensor(
    asset_key=RELEASES_KEY,
    job=load_releases_job,
    name="pending_releases_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When the registry records pending releases, loads their months in one run.",
)
def pending_releases_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    materialization = asset_event.asset_materialization
    pending = materialization.metadata.get("pending_periods") if materialization else None
    request = load_request_for(list(pending.value) if pending else [], run_key=f"registry-{asset_event.run_id}")
    if request is None:
        return dg.SkipReason("no pending releases")
    return request


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[load_releases_job],
    request_job=build_marts_job,
    name="build_after_load_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After releases load, rebuilds the marts and publishes the snapshot.",
)
def build_after_load_sensor(context: dg.RunStatusSensorContext):
    # The marts are monthly too: rebuild the months the load run covered.
    tags = context.dagster_run.tags
    return dg.RunRequest(
        run_key=f"after-{context.dagster_run.run_id}",
        tags={key: tags[key] for key in (PARTITION_RANGE_START, PARTITION_RANGE_END) if key in tags}
        or {"dagster/partition": tags.get("dagster/partition", monthly_release_partitions.get_last_partition_key())},
    )




def inbox_fingerprints(inbox: Path) -> dict[str, str]:
    """Each release file below the inbox (sidecars included, they can change a verdict) → size and
    modification time: a file is new to the sensor when it appears or its fingerprint changes."""
    fingerprints = {}
    for path in inbox_files(inbox):
        for file in (path, path.with_name(path.name + ".json")):
            if file.exists():
                stat = file.stat()
                fingerprints[str(file.relative_to(inbox))] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return fingerprints


def new_inbox_files(cursor: str | None, current: dict[str, str]) -> list[str]:
    seen = json.loads(cursor) if cursor else {}
    return sorted(name for name, fingerprint in current.items() if seen.get(name) != fingerprint)


@dg.sensor(
    job=discover_releases_job,
    name="inbox_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the inbox; a file it has not seen (or a changed one) requests one discover run. "
    "Its cursor holds the fingerprints of the files already seen, so nothing is requested twice.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    # Only the file system is read: the sensor never opens the DuckDB file (a run may hold it).
    current = inbox_fingerprints(warehouse.paths().inbox)
    new = new_inbox_files(context.cursor, current)
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not new:
        return dg.SkipReason("no new files in the inbox")
    digest = hashlib.sha256("\n".join(f"{n}={current[n]}" for n in new).encode()).hexdigest()[:16]
    preview = ", ".join(new[:5]) + (f" … ({len(new)} files)" if len(new) > 5 else "")
    return dg.RunRequest(run_key=f"inbox-{digest}", tags={"trade/new_files": preview[:200]})
