"""The embedded instance's event log (orchestration/instance_storage.py): Dagster's SQLite files, with
engines kept; events stored by one instance are read back by another, as the UI reads a run's."""

import dagster as dg

from orchestration.cli import DAGSTER_YAML, EARLIER_DAGSTER_YAMLS, ensure_dagster_home
from orchestration.config import WarehousePaths
from orchestration.instance_storage import EngineCachingSqliteEventLogStorage


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a", "b", "c"]))
def lettered(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partition": context.partition_key})


def _home(tmp_path, monkeypatch) -> WarehousePaths:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    paths = WarehousePaths(inbox=tmp_path / "inbox", warehouse_dir=tmp_path / "warehouse")
    ensure_dagster_home(paths)
    return paths


def test_events_stored_through_kept_engines_are_read_back_by_a_fresh_instance(tmp_path, monkeypatch):
    paths = _home(tmp_path, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, EngineCachingSqliteEventLogStorage)
        for key in ("a", "b", "c"):
            assert dg.materialize([lettered], instance=instance, partition_key=key).success
    assert (paths.dagster_home / "history" / "runs" / "index.db").is_file()  # Dagster's own layout
    with dg.DagsterInstance.get() as reader:
        records = reader.fetch_materializations(dg.AssetKey("lettered"), limit=10).records
        assert sorted(r.partition_key for r in records) == ["a", "b", "c"]
        assert len(reader.get_runs()) == 3


def test_an_instance_file_of_an_earlier_version_is_updated_and_an_edited_one_kept(tmp_path, monkeypatch):
    paths = _home(tmp_path, monkeypatch)
    config = paths.dagster_home / "dagster.yaml"
    config.write_text(EARLIER_DAGSTER_YAMLS[0], encoding="utf-8")
    ensure_dagster_home(paths)
    assert config.read_text(encoding="utf-8") == DAGSTER_YAML
    edited = EARLIER_DAGSTER_YAMLS[0] + "run_retries:\n  enabled: true\n"
    config.write_text(edited, encoding="utf-8")
    ensure_dagster_home(paths)
    assert config.read_text(encoding="utf-8") == edited
