"""Asset checks on the raw release tables (orchestration/checks.py), on real loads of sample releases
with one file's bytes crafted bad.

A failed blocking check (ERROR) must fail the load run, so that `build_after_load_sensor`, which
starts `build_marts` only on a successful load, never starts it and the published snapshot stays
as it was; a failed WARN check is shown and lets the run succeed. Everything runs for real: the
Dagster jobs on a Dagster instance and a DuckDB file in a temporary folder, no mocks."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.definitions.run_status_sensor_definition import RunStatusSensorCursor

from orchestration import checks
from orchestration.config import WarehousePaths
from orchestration.definitions import defs
from orchestration.ingest import raw_store
from orchestration.ingest.assets import RELEASES_KEY
from orchestration.ingest.formats import ALL_RAW_TABLES, parse_release
from orchestration.ingest.release import ParseContext
from orchestration.ingest.steps import load_pending, register_inbox
from orchestration.jobs import build_marts_job, discover_releases_job, load_releases_job
from orchestration.reference import province_codes
from orchestration.samples import write_sample_releases
from orchestration.samples.city_tables import write_city_tables
from orchestration.samples.location_tables import write_location_tables
from orchestration.samples.query_exports import write_query_exports
from orchestration.sensors import load_request_for

from .conftest import run_pipeline_in_process

MY_CHECKS = {(("raw", c.raw_table), c.name) for c in checks.RAW_CHECKS}
BLOCKING = {(("raw", c.raw_table), c.name) for c in checks.RAW_CHECKS if c.blocking}
JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)


# ------------------------------------------------------------------------------------------------
# crafting files from the sample generator's output


def _rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding=encoding))))


def _write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def _location_data_rows(rows: list[list[str]]) -> list[list[str]]:
    """The data rows of a sample location table (总值, provinces, zones), in place."""
    header = next(i for i, row in enumerate(rows) if row and row[0] == "收发货人所在地" and row[1].endswith("月"))
    return [row for row in rows[header + 1:] if len(row) > 6 and row[1].strip().isdigit()]


def _edit_location(path: Path, edit) -> None:
    rows = _rows(path)
    for row in _location_data_rows(rows):
        edit(row)
    _write_rows(path, rows)


def _cell(path: Path, name: str, column: int) -> int:
    return int(next(row for row in _location_data_rows(_rows(path)) if row[0] == name)[column])


# ------------------------------------------------------------------------------------------------
# running the pipeline


def _instance(warehouse) -> dg.DagsterInstance:
    from orchestration.cli import ensure_dagster_home

    ensure_dagster_home(warehouse)
    return dg.DagsterInstance.get()


def _discover_and_load(instance: dg.DagsterInstance, before_load=None) -> dg.ExecuteInProcessResult:
    """discover_releases, then load_releases over the pending months in one run, as the sensors do."""
    discover = defs.resolve_job_def(discover_releases_job.name).execute_in_process(instance=instance)
    assert discover.success
    (event,) = [e for e in discover.get_asset_materialization_events() if e.asset_key == RELEASES_KEY]
    pending = event.step_materialization_data.materialization.metadata["pending_periods"].value
    if before_load:
        before_load()
    request = load_request_for(list(pending), run_key=None)
    return defs.resolve_job_def(load_releases_job.name).execute_in_process(
        instance=instance, tags=request.tags, raise_on_error=False
    )


def _evaluations(instance: dg.DagsterInstance, run_id: str) -> dict[tuple, dg.AssetCheckEvaluation]:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    found = {}
    for event in events:
        evaluation = event.dagster_event.event_specific_data
        key = (tuple(evaluation.asset_key.path), evaluation.check_name)
        if key in MY_CHECKS:
            found[key] = evaluation
    return found


def _build_requests(instance: dg.DagsterInstance) -> list[dg.RunRequest]:
    """What the real build_after_load_sensor asks for over the instance's whole history, tick after tick
    as the daemon runs it (a run status sensor answers one run per tick)."""
    sensor = defs.resolve_sensor_def("build_after_load_sensor")
    cursor, requests = RunStatusSensorCursor(record_id=-1).to_json(), []
    for _ in range(20):
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))
        requests += tick.run_requests
        if tick.cursor == cursor:
            break
        cursor = tick.cursor
    return requests


def _only_failures(evaluations: dict, expected: set[tuple]) -> None:
    failed = {key for key, evaluation in evaluations.items() if not evaluation.passed}
    assert failed == expected, {k: evaluations[k].description for k in failed}


def _assert_blocked(warehouse, instance: dg.DagsterInstance, published_before: bytes | None = None) -> str:
    """The last load run failed on a blocking check; no build ran or is asked for; the snapshot is as before."""
    load = instance.get_run_records(filters=dg.RunsFilter(job_name=load_releases_job.name), limit=1)[0]
    load_run = load.dagster_run
    assert load_run.status == dg.DagsterRunStatus.FAILURE
    failures = instance.all_logs(load_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    assert any("blocking asset check" in e.dagster_event.event_specific_data.error.to_string() for e in failures)
    builds = instance.get_run_records(filters=dg.RunsFilter(job_name=build_marts_job.name))
    assert all(build.create_timestamp < load.create_timestamp for build in builds)
    assert not any(r.run_key == f"after-{load_run.run_id}" for r in _build_requests(instance))
    manifest = warehouse.published_dir / "manifest.json"
    assert (manifest.read_bytes() if manifest.exists() else None) == published_before
    return load_run.run_id


# ------------------------------------------------------------------------------------------------
# the clean sample


def test_the_clean_sample_passes_every_check_and_the_build_follows(warehouse):
    write_sample_releases(warehouse.inbox, "2024-01", "2024-03")
    instance = _instance(warehouse)
    load = _discover_and_load(instance)
    assert load.success
    evaluations = _evaluations(instance, load.run_id)
    assert set(evaluations) == MY_CHECKS  # every check ran: 15 checks on the 5 raw tables
    assert {k for k, e in evaluations.items() if e.blocking} == BLOCKING
    _only_failures(evaluations, set())
    judged = evaluations[(("raw", "location_table_rows"), "months_add_up_to_ytd")].metadata["months_judged"].value
    assert judged == ["2024-01", "2024-02", "2024-03"]
    # The same as the result object has it, and the build is what the sensor asks for next.
    assert len([e for e in load.get_asset_check_evaluations() if e.passed]) >= len(MY_CHECKS)
    assert [r.run_key for r in _build_requests(instance)] == [f"after-{load.run_id}"]


# ------------------------------------------------------------------------------------------------
# 1. ytd_never_decreases


def test_a_province_ytd_going_down_is_caught_by_the_check_on_rows_of_the_real_loader(tmp_path):
    """The ingest rule (consistency.py) already quarantines such a table when it loads; the check judges
    what is in raw whatever the path the rows came by, here the real loader without that rule."""
    paths = WarehousePaths(inbox=tmp_path / "inbox", warehouse_dir=tmp_path / "warehouse")
    paths.warehouse_dir.mkdir(parents=True)
    write_location_tables(paths.inbox, "2024-01", "2024-03")
    march = paths.inbox / "sample-location-2024-03.csv"
    february_ytd = _cell(paths.inbox / "sample-location-2024-02.csv", "江苏省", 2)
    _edit_location(march, lambda row: row.__setitem__(2, str(february_ytd - 1)) if row[0] == "江苏省" else None)

    con = duckdb.connect(str(paths.live_db))
    register_inbox(con, paths)
    result = load_pending(con)
    assert [name for name, _ in result.quarantined] == [march.name]  # the ingest rule's verdict
    assert checks.location_ytd_never_decreases(con, JAN, MAR).passed

    release_id, landing = con.execute(
        "SELECT release_id, landing_path FROM raw.releases WHERE file_name = ?", [march.name]
    ).fetchone()
    context = ParseContext(today=date.today(), province_codes=province_codes())
    raw_store.load_release(con, release_id, parse_release(Path(landing), march.name, context))
    outcome = checks.location_ytd_never_decreases(con, MAR, MAR)
    assert not outcome.passed and outcome.severity == checks.ERROR
    first = outcome.metadata["first_failure"]
    assert (first["file"], first["region"], first["month"], first["column"]) == (
        march.name, "江苏省", "2024-03", "total_ytd_cny")
    assert first["ytd"] == (february_ytd - 1) * 10_000 and first["previous_month"] == "2024-02"
    assert first["row"] > 1 and march.name in outcome.description and "江苏省" in outcome.description
    # February is judged against March too (a pair is judged when either month is in the range) …
    assert not checks.location_ytd_never_decreases(con, FEB, FEB).passed
    # … and January, which neither month of the pair is, is not.
    assert checks.location_ytd_never_decreases(con, JAN, JAN).passed
    con.close()


def test_a_city_ytd_going_down_under_another_label_fails_the_load_and_no_build_follows(warehouse):
    """杭州地区 in February, 杭州市 (the GB name, the same city 330100) in March with a lower YTD: the ingest
    rule matches rows by their label and lets it through; the check matches cities by code."""
    write_city_tables(warehouse.inbox, "2024-01", "2024-03")
    for path in warehouse.inbox.glob("sample-city-*.csv"):
        if "zhejiang" not in path.name:
            path.unlink()
    february = {row[1]: row for row in _rows(warehouse.inbox / "sample-city-zhejiang-2024-02.csv")}
    march = warehouse.inbox / "sample-city-zhejiang-2024-03.csv"
    rows = _rows(march)
    for row in rows:
        if row[1] == "杭州地区":
            row[1] = "杭州市"
            row[2] = str(float(february["杭州地区"][2]) - 1_000_000)
    _write_rows(march, rows)

    assert run_pipeline_in_process() is False  # what `trade run` does: load fails, no build
    instance = dg.DagsterInstance.get()
    run_id = _assert_blocked(warehouse, instance)
    evaluations = _evaluations(instance, run_id)
    _only_failures(evaluations, {(("raw", "city_table_rows"), "ytd_never_decreases")})
    evaluation = evaluations[(("raw", "city_table_rows"), "ytd_never_decreases")]
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR and evaluation.blocking
    first = evaluation.metadata["first_failure"].value
    assert (first["file"], first["region"], first["month"], first["column"]) == (
        march.name, "杭州市", "2024-03", "total_ytd_cny")
    assert first["previous_region_label"] == "杭州地区" and first["previous_month"] == "2024-02"
    # The rows had loaded; the failure withdrew them: the release is quarantined with the check's reason.
    status, error = warehouse.query("SELECT status, error FROM raw.releases WHERE file_name = ?", [march.name], db=warehouse.live_db)[0]
    assert status == "quarantined" and "ytd_never_decreases" in error
    assert warehouse.query(
        "SELECT count(*) FROM raw.city_table_rows c JOIN raw.releases r USING (release_id) WHERE r.file_name = ?",
        [march.name], db=warehouse.live_db,
    ) == [(0,)]


# ------------------------------------------------------------------------------------------------
# 2. months_add_up_to_ytd


def test_a_doubled_month_column_fails_months_add_up_to_ytd_and_no_build_follows(warehouse):
    write_location_tables(warehouse.inbox, "2024-01", "2024-03")
    march = warehouse.inbox / "sample-location-2024-03.csv"
    jiangsu_month = _cell(march, "江苏省", 1)

    def double_months(row):
        for column in (1, 3, 5):  # 3月 of 进出口, 出口, 进口; 1至3月 untouched
            row[column] = str(2 * int(row[column]))

    _edit_location(march, double_months)
    assert run_pipeline_in_process() is False
    instance = dg.DagsterInstance.get()
    run_id = _assert_blocked(warehouse, instance)
    evaluations = _evaluations(instance, run_id)
    # Every row doubled alike: the provinces still add up to 总值, only the months ≠ YTD.
    _only_failures(evaluations, {(("raw", "location_table_rows"), "months_add_up_to_ytd")})
    evaluation = evaluations[(("raw", "location_table_rows"), "months_add_up_to_ytd")]
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    failed = evaluation.metadata["failed_rows"].value
    jiangsu = next(f for f in failed if f["region"] == "江苏省" and f["flow"] == "total")
    assert (jiangsu["file"], jiangsu["month"], jiangsu["severity"]) == (march.name, "2024-03", "ERROR")
    assert jiangsu["sum_of_months"] - jiangsu["ytd"] == jiangsu_month * 10_000
    assert evaluation.metadata["failures"].value == 3 * 32  # China and 31 provinces, three flows


def test_months_add_up_to_ytd_warns_between_one_and_ten_percent_and_skips_incomplete_years(tmp_path):
    paths = WarehousePaths(inbox=tmp_path / "inbox", warehouse_dir=tmp_path / "warehouse")
    paths.warehouse_dir.mkdir(parents=True)
    write_location_tables(paths.inbox, "2024-01", "2024-03")
    march = paths.inbox / "sample-location-2024-03.csv"
    # 上海市's March exports 5 % of its YTD higher, 总值 likewise (so that provinces still match 总值).
    extra = _cell(march, "上海市", 4) // 20
    _edit_location(march, lambda row: row.__setitem__(3, str(int(row[3]) + extra)) if row[0] in ("上海市", "总值") else None)
    (paths.inbox / "sample-location-2024-02.csv").rename(tmp_path / "february-held-back.csv")
    con = duckdb.connect(str(paths.live_db))
    register_inbox(con, paths)
    load_pending(con)
    # February missing: March cannot be judged (a gap is not a wrong figure), and says so.
    outcome = checks.months_add_up_to_ytd(con, JAN, MAR)
    assert outcome.passed and outcome.metadata["months_judged"] == ["2024-01"]
    assert outcome.metadata["months_not_judged"][0]["reason"] == "months not loaded: 2024-02"
    (tmp_path / "february-held-back.csv").rename(paths.inbox / "sample-location-2024-02.csv")
    register_inbox(con, paths)
    load_pending(con)
    outcome = checks.months_add_up_to_ytd(con, FEB, FEB)  # February's range judges March too
    assert not outcome.passed and outcome.severity == checks.WARN
    # 上海市 is 5 % off; 总值, with the same amount on a far larger YTD, stays within 1 %.
    assert {(f["region"], f["flow"]) for f in outcome.metadata["failed_rows"]} == {("上海市", "exports")}
    assert outcome.metadata["failed_rows"][0]["difference_pct"] == pytest.approx(5, abs=0.1)
    assert checks.provinces_match_national_total(con, JAN, MAR).passed
    con.close()


# ------------------------------------------------------------------------------------------------
# 3. provinces_match_national_total (with a published snapshot that must stay as it was)


def test_one_province_off_fails_provinces_match_national_and_the_snapshot_stays(warehouse):
    write_location_tables(warehouse.inbox, "2024-01", "2024-02")
    assert run_pipeline_in_process()  # a first build and publish of January–February
    instance = dg.DagsterInstance.get()
    published = (warehouse.published_dir / "manifest.json").read_bytes()
    digest = warehouse.marts_digest()

    write_location_tables(warehouse.inbox, "2024-03", "2024-03")
    march = warehouse.inbox / "sample-location-2024-03.csv"
    good_march = march.read_bytes()
    # 江苏省 100 亿元 higher in the month and the YTD alike: its own months still add up, 总值 does not.
    _edit_location(march, lambda row: (row.__setitem__(1, str(int(row[1]) + 1_000_000)),
                                       row.__setitem__(2, str(int(row[2]) + 1_000_000))) if row[0] == "江苏省" else None)
    assert run_pipeline_in_process() is False
    run_id = _assert_blocked(warehouse, instance, published_before=published)
    assert warehouse.marts_digest() == digest
    evaluations = _evaluations(instance, run_id)
    _only_failures(evaluations, {(("raw", "location_table_rows"), "provinces_match_national_total")})
    evaluation = evaluations[(("raw", "location_table_rows"), "provinces_match_national_total")]
    first = evaluation.metadata["first_failure"].value
    assert (first["file"], first["month"], first["column"], first["provinces"]) == (
        march.name, "2024-03", "total_month_cny", 31)
    assert first["difference"] == 1_000_000 * 10_000 and first["difference"] > first["tolerance"]
    assert march.name in evaluation.description
    # The bad release is withdrawn: quarantined with the check's reason, its rows out of raw, so no
    # later build (of any months) can pick it up.
    status, error, rows = warehouse.query(
        "SELECT r.status, r.error, (SELECT count(*) FROM raw.location_table_rows l WHERE l.release_id = r.release_id) "
        "FROM raw.releases r WHERE file_name = ?", [march.name], db=warehouse.live_db
    )[0]
    assert (status, rows) == ("quarantined", 0) and "failed check provinces_match_national_total" in error
    assert run_pipeline_in_process()  # nothing pending: the build runs on what is trusted
    assert warehouse.query("SELECT max(period) FROM marts.trade_by_region_month WHERE region_level = 'province'")[0][0].month == 2

    # The fix: a corrected file is a new vintage that supersedes the bad one; its load passes, and the
    # build is what the sensor asks for next.
    (warehouse.inbox / "sample-location-2024-03-corrected.csv").write_bytes(good_march)
    load = _discover_and_load(instance)
    assert load.success
    _only_failures(_evaluations(instance, load.run_id), set())
    assert f"after-{load.run_id}" in [r.run_key for r in _build_requests(instance)]


# ------------------------------------------------------------------------------------------------
# 4. units_and_currency_consistent


def test_a_currency_mismatch_fails_units_and_currency_consistent_and_no_build_follows(warehouse):
    write_query_exports(warehouse.inbox, "2024-01", "2024-03")
    instance = _instance(warehouse)
    name = "sample-query-export-2024-exports.csv"

    def registry_says_usd():
        # The registry disagreeing with the file (as a parser regression or a hand edit would leave it):
        # the header's value column is 人民币, the rows are CNY.
        con = duckdb.connect(str(warehouse.live_db))
        con.execute("UPDATE raw.releases SET currency = 'USD' WHERE file_name = ?", [name])
        con.close()

    load = _discover_and_load(instance, before_load=registry_says_usd)
    assert not load.success
    _assert_blocked(warehouse, instance)
    evaluations = _evaluations(instance, load.run_id)
    _only_failures(evaluations, {(("raw", "query_export_rows"), "units_and_currency_consistent")})
    evaluation = evaluations[(("raw", "query_export_rows"), "units_and_currency_consistent")]
    problems = [f["problem"] for f in evaluation.metadata["failed_rows"].value if f["file"] == name]
    assert any("unit '元' does not match currency USD" in p for p in problems)
    assert any("row(s) in 'CNY'" in p and "registered as 'USD'" in p for p in problems)


def test_units_and_currency_consistent_judges_each_format(tmp_path):
    """On rows the real loader inserted: a location table registered in USD, a city table with two units."""
    paths = WarehousePaths(inbox=tmp_path / "inbox", warehouse_dir=tmp_path / "warehouse")
    paths.warehouse_dir.mkdir(parents=True)
    write_location_tables(paths.inbox, "2024-01", "2024-01")
    write_city_tables(paths.inbox, "2024-01", "2024-01")
    con = duckdb.connect(str(paths.live_db))
    register_inbox(con, paths)
    load_pending(con)
    assert checks.units_and_currency_consistent(con, JAN, JAN).passed
    con.execute("UPDATE raw.releases SET currency = 'USD' WHERE format = 'gacc_location_table'")
    con.execute("UPDATE raw.city_table_rows SET unit_applied = '万元' WHERE city_name = '杭州地区'")
    outcome = checks.units_and_currency_consistent(con, JAN, JAN)
    assert not outcome.passed and outcome.severity == checks.ERROR
    problems = {f["file"]: f["problem"] for f in outcome.metadata["failed_rows"]}
    assert "a gacc_location_table release is CNY" in problems["sample-location-2024-01.csv"]
    assert "one unit per release" in problems["sample-city-zhejiang-2024-01.csv"]
    assert checks.units_and_currency_consistent(con, JAN, JAN, raw_table="comtrade_rows").passed
    con.close()


# ------------------------------------------------------------------------------------------------
# 5. unknown_codes_flagged (a warning: the run succeeds and the build follows)


def test_unknown_codes_warn_without_blocking(warehouse):
    write_query_exports(warehouse.inbox, "2024-01", "2024-03")
    path = warehouse.inbox / "sample-query-export-2024-exports.csv"
    text = path.read_bytes().decode("gb18030")
    assert '"502","美国"' in text and ',"32","江苏省",' in text
    text = text.replace('"502","美国"', '"999","未知伙伴"', 1).replace(',"32","江苏省",', ',"3299","未知城市",', 1)
    path.write_bytes(text.encode("gb18030"))
    instance = _instance(warehouse)
    load = _discover_and_load(instance)
    assert load.success
    evaluations = _evaluations(instance, load.run_id)
    _only_failures(evaluations, {(("raw", "query_export_rows"), "unknown_codes_flagged")})
    evaluation = evaluations[(("raw", "query_export_rows"), "unknown_codes_flagged")]
    assert evaluation.severity == dg.AssetCheckSeverity.WARN and not evaluation.blocking
    codes = {(c["kind"], c["code"]): c for c in evaluation.metadata["codes"].value}
    assert set(codes) == {("partner", "999"), ("registration", "3299")}
    assert codes[("partner", "999")]["file"] == path.name and codes[("partner", "999")]["rows"] == 1
    assert evaluation.metadata["unknown_partner_codes"].value == 1
    # The rows are kept, and the marts build is requested as after any successful load.
    assert warehouse.query("SELECT count(*) FROM raw.query_export_rows WHERE partner_code = '999'",
                           db=warehouse.live_db) == [(1,)]
    assert [r.run_key for r in _build_requests(instance)] == [f"after-{load.run_id}"]


def test_registration_codes_follow_the_seeds():
    assert checks.registration_code_known("32")  # Jiangsu
    assert checks.registration_code_known("3205") and checks.registration_code_known("32059")  # Suzhou, + a zone digit
    assert checks.registration_code_known("3100")  # Shanghai as a city
    assert not checks.registration_code_known("99")
    assert not checks.registration_code_known("4403")  # a city outside the seed
    assert not checks.registration_code_known("320")
    assert not checks.registration_code_known("32A5")


# ------------------------------------------------------------------------------------------------
# 6. row_count_within_band (a warning)


def test_a_month_with_far_fewer_rows_warns_without_blocking(warehouse):
    write_location_tables(warehouse.inbox, "2024-01", "2024-03")
    march = warehouse.inbox / "sample-location-2024-03.csv"
    keep = {"总值", *province_codes()}
    rows = _rows(march)
    data = _location_data_rows(rows)
    zones = [row for row in data if row[0] not in keep]
    assert zones
    _write_rows(march, [row for row in rows if not any(row is zone for zone in zones)])
    instance = _instance(warehouse)
    load = _discover_and_load(instance)
    assert load.success
    evaluations = _evaluations(instance, load.run_id)
    _only_failures(evaluations, {(("raw", "location_table_rows"), "row_count_within_band")})
    evaluation = evaluations[(("raw", "location_table_rows"), "row_count_within_band")]
    assert evaluation.severity == dg.AssetCheckSeverity.WARN and not evaluation.blocking
    first = evaluation.metadata["first_failure"].value
    assert (first["month"], first["rows"], first["previous_month"], first["previous_rows"], first["file"]) == (
        "2024-03", len(data) - len(zones), "2024-02", len(data), march.name)


def test_a_check_that_cannot_run_fails_at_its_own_severity(tmp_path):
    con = duckdb.connect(str(tmp_path / "broken.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.releases (release_id VARCHAR)")  # no columns the checks need
    con.execute("CREATE TABLE raw.location_table_rows (release_id VARCHAR)")
    outcomes = checks.run_all(con, JAN, MAR)
    assert outcomes[("location_table_rows", "provinces_match_national_total")].severity == checks.ERROR
    assert not outcomes[("location_table_rows", "provinces_match_national_total")].passed
    row_count = outcomes[("location_table_rows", "row_count_within_band")]
    assert not row_count.passed and row_count.severity == checks.WARN
    assert "could not run" in row_count.description and "error" in row_count.metadata
    con.close()


@pytest.mark.parametrize("check", checks.RAW_CHECKS, ids=lambda c: f"{c.raw_table}.{c.name}")
def test_every_check_passes_on_an_empty_warehouse(tmp_path, check):
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    raw_store.ensure_raw_schema(con, ALL_RAW_TABLES)
    assert check.fn(con, JAN, MAR).passed
    con.close()
