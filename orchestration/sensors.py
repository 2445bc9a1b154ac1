"""Sensors that carry a refresh from one step to the next.

discover_releases → (pending months) → load_releases for exactly those months, in one run
load_releases succeeded → build_marts (dbt build + publish)
"""


import dagster as dg

from .ingest.assets import RELEASES_KEY
from .jobs import build_marts_job, load_releases_job
from .partitions import monthly_release_partitions

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
    return dg.RunRequest(run_key=f"after-{context.dagster_run.run_id}")


