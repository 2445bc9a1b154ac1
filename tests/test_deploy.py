"""The production configuration under deploy/ (docs/deployment.md), each file validated by the schema
of what reads it: Dagster's instance config and, for every pluggable class it names (Postgres
storage, the K8s run launcher, the run coordinator, the compute log manager), that class's own
config schema; the executor's run config against the warehouse's jobs; the Kubernetes ConfigMap
against the environment variables the pipeline and the dbt profiles really read."""

from __future__ import annotations

import re

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import class_from_code_pointer

from orchestration.definitions import defs
from orchestration.jobs import build_marts_job, discover_releases_job, load_releases_job

from .conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
INSTANCE_FOLDERS = [DEPLOY, DEPLOY / "k8s"]
# Sections of dagster.yaml that name a class (module + class + config). Validated without resolving
# `env:` values (those exist only in the deployment).
CLASS_SECTIONS = ("run_launcher", "run_coordinator", "compute_logs", "run_storage", "event_log_storage",
                  "schedule_storage")


def _class_config_errors(section: dict) -> list[str]:
    # Loaded the way the instance loads it: a module that does not import fails here too.
    cls = class_from_code_pointer(section["module"], section["class"])
    result = validate_config(cls.config_type(), section.get("config") or {})
    return [] if result.success else [error.message for error in result.errors]


@pytest.mark.parametrize("folder", INSTANCE_FOLDERS, ids=lambda folder: str(folder.relative_to(REPO_ROOT)))
def test_instance_config_and_each_class_it_names_validate(folder):
    config, _ = dagster_instance_config(str(folder))  # raises on a key or type the instance schema refuses
    # Production storage is Postgres, validated by dagster-postgres's own schema.
    from dagster_postgres import DagsterPostgresStorage

    storage = validate_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert storage.success, [error.message for error in storage.errors]
    for name in CLASS_SECTIONS:
        if name in config:
            assert _class_config_errors(config[name]) == [], f"{folder}/dagster.yaml: {name}"


def test_kubernetes_instance_launches_runs_as_jobs_with_one_writer():
    config, _ = dagster_instance_config(str(DEPLOY / "k8s"))
    assert (config["run_launcher"]["module"], config["run_launcher"]["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert config["concurrency"]["pools"]["default_limit"] == 1  # DuckDB's single writer


def test_a_wrong_launcher_setting_is_caught():
    """The validation above can fail: a misspelt K8sRunLauncher key is refused by its schema."""
    config, _ = dagster_instance_config(str(DEPLOY / "k8s"))
    launcher = {**config["run_launcher"], "config": {**config["run_launcher"]["config"], "job_namespaces": "x"}}
    assert _class_config_errors(launcher)


@pytest.mark.parametrize("job", [discover_releases_job, load_releases_job, build_marts_job], ids=lambda job: job.name)
def test_multiprocess_run_config_validates_for_every_job(job):
    run_config = yaml.safe_load((DEPLOY / "run_config" / "multiprocess.yaml").read_text(encoding="utf-8"))
    assert "multiprocess" in run_config["execution"]["config"]
    dg.validate_run_config(defs.resolve_job_def(job.name), run_config)  # raises DagsterInvalidConfigError


def test_kubernetes_environment_names_only_variables_the_code_reads():
    config_map = yaml.safe_load((DEPLOY / "k8s" / "trade-env.yaml").read_text(encoding="utf-8"))
    sources = [REPO_ROOT / "dbt_project" / "profiles.yml", REPO_ROOT / "orchestration" / "config.py",
               REPO_ROOT / "dbt_project" / "macros" / "spark_raw_sources.sql"]
    read = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        read |= set(re.findall(r"env_var\('(TRADE_\w+)'", text)) | set(re.findall(r'environ\.get\("(TRADE_\w+)"', text))
    assert set(config_map["data"]) - read == set()
