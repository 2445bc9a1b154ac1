"""The embedded instance's event log (orchestration/instance_storage.py): Dagster's SQLite files, with
engines kept; events stored by one instance are read back by another, as the UI reads a run's."""

import dagster as dg

from orchestration.cli import EARLIER_DAGSTER_YAMLS, dagster_yaml, ensure_dagster_home
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
    assert config.read_text(encoding="utf-8") == dagster_yaml(paths.dagster_home.resolve())
    edited = EARLIER_DAGSTER_YAMLS[0] + "run_retries:\n  enabled: true\n"
    config.write_text(edited, encoding="utf-8")
    ensure_dagster_home(paths)
    assert config.read_text(encoding="utf-8") == edited


def test_a_copied_warehouse_keeps_its_own_run_history(tmp_path, monkeypatch):
    """The file names its folder: a copy of the warehouse must not write into the original's history."""
    import shutil

    original = _home(tmp_path / "a", monkeypatch)
    with dg.DagsterInstance.get() as instance:
        assert dg.materialize([lettered], instance=instance, partition_key="a").success
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    monkeypatch.delenv("DAGSTER_HOME")
    copy = _home(tmp_path / "b", monkeypatch)
    with dg.DagsterInstance.get() as instance:
        assert dg.materialize([lettered], instance=instance, partition_key="b").success
    for paths, partitions in ((original, ["a"]), (copy, ["a", "b"])):
        with dg.DagsterInstance.from_config(str(paths.dagster_home)) as reader:
            records = reader.fetch_materializations(dg.AssetKey("lettered"), limit=10).records
            assert sorted(r.partition_key for r in records) == partitions
