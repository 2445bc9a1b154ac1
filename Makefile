# The two commands a newcomer needs: `make run` and `make test`. Only python3 and make are required.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DBT := ../$(BIN)/dbt

.PHONY: run test test-spark bench bench-faults dev manifest install summary sql docs clean-warehouse

# Create the venv if missing and install the pinned set (requirements.lock holds the whole resolved tree).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The spark extra (pyspark, dbt-spark) and the deploy extra (the integrations deploy/ names), on top of the install.
SPARK_STAMP := $(VENV)/.spark-installed-stamp
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test,spark,deploy]'
	touch $(SPARK_STAMP)

# dbt's manifest, which the Dagster definitions are built from; parsed again only when a file of the
# dbt project (or the install) is newer than it.
MANIFEST := dbt_project/target/manifest.json
DBT_FILES := $(shell find dbt_project -type f -not -path 'dbt_project/target/*' -not -path 'dbt_project/logs/*' \
	-not -path 'dbt_project/dbt_packages/*' -not -name '.user.yml')

# Parsed with the live and work files' paths the pipeline will give dbt: dbt hashes the profile into
# its saved parse, and a different path would make every build of `make run` parse the whole project again.
# --target-path: the manifest goes to dbt_project/target even when DBT_TARGET_PATH is set (the bench sets it).
$(MANIFEST): $(STAMP) $(DBT_FILES)
	cd dbt_project && TRADE_DUCKDB_PATH="$$(../$(BIN)/python -c 'from orchestration.config import warehouse_paths; print(warehouse_paths().live_db)')" \
		TRADE_WORK_DUCKDB_PATH="$$(../$(BIN)/python -c 'from orchestration.config import warehouse_paths; print(warehouse_paths().work_db)')" \
		$(DBT) parse --profiles-dir . --target-path target --quiet
	touch $(MANIFEST)

manifest: $(MANIFEST)

## Run the whole pipeline on the inbox (the bundled sample releases when it is empty) and print the summary.
run: manifest
	$(BIN)/trade run

## The whole test suite.
test: manifest
	$(BIN)/python -m pytest

## Every model built on Spark (pyspark, local[2]) and each mart compared with the DuckDB build (tests/test_spark.py).
## Needs Java 17 besides python3; installs the spark extra into the venv first.
test-spark: manifest $(SPARK_STAMP)
	$(BIN)/python -m pytest -m spark tests/test_spark.py

## Measure against the targets (docs/benchmarks.md, docs/benchmarks.json); ~30 GB free temp disk, 18-30 min on 2 cores.
## BENCH_QUICK=1: small sizes to try it; BENCH_TMPDIR: where the temp data goes; TRADE_FAULT_POINTS=50: also the long fault test.
bench: manifest
	$(BIN)/python bench/run.py

## Only the long fault test (TRADE_FAULT_POINTS, default 50; 25-55 min on 2 cores), recorded on the page the last `make bench` wrote.
bench-faults: manifest
	$(BIN)/python bench/run.py --faults-only

## The Dagster UI and daemon (schedules, sensors) on http://127.0.0.1:3000
dev: manifest
	DAGSTER_HOME="$$($(BIN)/trade dagster-home)" $(BIN)/dagster dev -w workspace.yaml

summary: install
	$(BIN)/trade summary

## A read-only SQL shell on the published snapshot (statements end with ;).
sql: install
	$(BIN)/trade sql

## The dbt docs site, offline, in warehouse/published/docs/index.html.
docs: manifest
	$(BIN)/trade docs

## Delete the built warehouse (inbox, landing archive and snapshot included) under warehouse/.
clean-warehouse:
	rm -rf warehouse/inbox warehouse/landing warehouse/published warehouse/trade.duckdb warehouse/trade.duckdb.wal warehouse/work.duckdb warehouse/work.duckdb.wal warehouse/dagster_home warehouse/logs \
		warehouse/raw_parquet warehouse/spark
