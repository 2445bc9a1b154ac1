"""The report card (published/report/): built by `trade run` after publishing, from the published snapshot.

Real pipeline runs, real DuckDB, real matplotlib PNGs; the numbers in chart_data.json are compared
with what these tests query from the published snapshot themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import warnings
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
from PIL import Image

from orchestration.serve.report import SAMPLE_BANNER, TITLE, build_report

from .conftest import require_real, run_pipeline_in_process

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHARTS = (
    "yrd_trade_by_year.png",
    "provinces_compared.png",
    "share_of_china.png",
    "new_three_by_category.png",
    "top_city_specializations.png",
    "reconciliation_latest_month.png",
)
PRODUCT_CHARTS = {"new_three_by_category.png", "top_city_specializations.png"}
REPORT_FILES = {"index.html", "chart_data.json", *CHARTS}
PROVINCES = ("310000", "320000", "330000", "340000")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href"):
                self.links.append((tag, name, value or ""))


def links_of(html_text: str) -> list[tuple[str, str, str]]:
    parser = _Links()
    parser.feed(html_text)
    return parser.links


def chart_data(folder: Path) -> dict:
    # Decimals, so the numbers compare exactly with the marts' DECIMAL columns.
    return json.loads((folder / "chart_data.json").read_text(encoding="utf-8"), parse_float=Decimal)


def points(data: dict, chart: str) -> dict[tuple, object]:
    return {(p["x"], p["series"]): p["value"] for p in data["charts"][chart]["points"]}


def assert_png(path: Path) -> None:
    head = path.read_bytes()[:8]
    assert head == PNG_SIGNATURE, path
    assert path.stat().st_size > 5_000, path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width >= 400 and image.height >= 200, (path, image.size)


def assert_self_contained(folder: Path) -> str:
    text = (folder / "index.html").read_text(encoding="utf-8")
    lowered = text.lower()
    for forbidden in ("http:", "https:", "//", "<script", "<link", "@import", "url("):
        assert forbidden not in lowered, forbidden
    links = links_of(text)
    assert links, "no src/href at all"
    for tag, attribute, value in links:
        assert value and "/" not in value and ":" not in value and not value.startswith("."), (tag, attribute, value)
        assert (folder / value).is_file(), (tag, attribute, value)
    return text


# ---------------------------------------------------------------------------------------------
# `trade run` on the bundled sample
# ---------------------------------------------------------------------------------------------


def test_trade_run_writes_a_self_contained_report_card_with_the_sample_banner(sample_run):
    warehouse, _ = sample_run
    folder = warehouse.published_dir / "report"
    assert (folder / "index.html").is_file()
    assert {p.name for p in folder.iterdir()} == REPORT_FILES
    text = assert_self_contained(folder)
    srcs = {value for tag, attribute, value in links_of(text) if tag == "img" and attribute == "src"}
    assert srcs == set(CHARTS)
    for chart in CHARTS:
        assert_png(folder / chart)
    assert TITLE in text
    assert SAMPLE_BANNER.replace("'", "&#x27;") in text
    assert "Data through <strong>2025-12</strong>" in text and "built " in text
    # A caption with its key numbers, as the summary prints them (in 万亿元).
    total, yoy = warehouse.query(
        "SELECT total_cny, total_yoy_pct FROM marts.trade_by_region_year WHERE region_code = 'YRD' AND year = 2025"
    )[0]
    assert f"YRD trade 2025: {total / Decimal(10**12):,.1f} 万亿元, {yoy:+.1f}%" in text
    data = chart_data(folder)
    assert data["is_sample"] is True and data["last_month"] == "2025-12"
    assert not any("skipped" in chart for chart in data["charts"].values())
    # No half-written folder is left beside the report.
    assert not [p.name for p in warehouse.published_dir.iterdir() if p.name.endswith(".building")]


def test_chart_data_equals_the_published_marts(sample_run):
    warehouse, _ = sample_run
    data = chart_data(warehouse.published_dir / "report")

    yrd = warehouse.query(
        "SELECT year, months_covered, total_cny, total_yoy_pct FROM marts.trade_by_region_year "
        "WHERE region_code = 'YRD' ORDER BY year"
    )
    expected = {}
    for year, months, total, yoy in yrd:
        expected[(year, "total_cny")] = total
        expected[(year, "months_covered")] = months
        if yoy is not None:
            expected[(year, "total_yoy_pct")] = yoy
    assert points(data, "yrd_trade_by_year.png") == expected
    assert [y for y, *_ in yrd] == list(range(2018, 2026))

    provinces = warehouse.query(
        "SELECT year, region_code, total_cny FROM marts.trade_by_region_year "
        "WHERE region_level = 'province' AND region_code IN ('310000', '320000', '330000', '340000')"
    )
    assert len(provinces) == 4 * 8
    assert points(data, "provinces_compared.png") == {(year, code): total for year, code, total in provinces}

    share = warehouse.query(
        "SELECT year, share_of_national_pct FROM marts.trade_by_region_year WHERE region_code = 'YRD' "
        "AND share_of_national_pct IS NOT NULL"
    )
    assert len(share) == 8
    assert points(data, "share_of_china.png") == {(year, "share_of_national_pct"): pct for year, pct in share}

    new_three = warehouse.query(
        "SELECT year, category, exports_cny FROM marts.new_three_exports WHERE region_code = 'YRD'"
    )
    assert {c for _, c, _ in new_three} == {"electric_vehicles", "lithium_ion_batteries", "solar_cells"}
    assert points(data, "new_three_by_category.png") == {(year, c): v for year, c, v in new_three}

    top = warehouse.query(
        "SELECT region_code, region_name_en, product_code, location_quotient FROM marts.city_specialization "
        "WHERE year = (SELECT max(year) FROM marts.city_specialization) AND share_of_city_exports_pct >= 1 "
        "ORDER BY location_quotient DESC, region_code, product_code LIMIT 15"
    )
    assert len(top) == 15
    drawn = data["charts"]["top_city_specializations.png"]["points"]
    assert [(p["region_code"], p["product_code"], p["value"]) for p in drawn] == [
        (code, chapter, lq) for code, _, chapter, lq in top
    ]
    assert [p["rank"] for p in drawn] == list(range(1, 16))
    for p, (_, city, chapter, _) in zip(drawn, top):
        assert p["series"] == "location_quotient" and p["year"] == 2025
        assert p["x"].startswith(f"{city} · ch.{chapter} ") and len(p["x"]) < 60, p["x"]
        assert p["share_of_city_exports_pct"] >= 1
    # Ranked highest first, and no eligible chapter above the last one drawn was left out.
    assert [p["value"] for p in drawn] == sorted((p["value"] for p in drawn), reverse=True)

    counts = warehouse.query(
        "SELECT check_name, status, count(*) FROM marts.release_reconciliation "
        "WHERE period = (SELECT max(period) FROM marts.release_reconciliation) GROUP BY ALL"
    )
    drawn_counts = points(data, "reconciliation_latest_month.png")
    checks = {check for check, _, _ in counts}
    assert set(drawn_counts) == {(check, status) for check in checks for status in ("ok", "revised", "mismatch")}
    assert {k: v for k, v in drawn_counts.items() if v} == {(check, status): n for check, status, n in counts}
    assert {p["period"] for p in data["charts"]["reconciliation_latest_month.png"]["points"]} == {"2025-12"}


def test_the_run_records_the_report_card_asset_with_its_metadata(sample_run):
    from orchestration.definitions import defs
    from orchestration.jobs import build_marts_job
    from orchestration.serve.assets import report_card

    warehouse, _ = sample_run
    key = dg.AssetKey(["published", "report_card"])
    assert key in defs.resolve_job_def(build_marts_job.name).asset_layer.executable_asset_keys
    assert report_card.op.pool is None  # reads the published snapshot only: not a writer
    assert dg.AssetKey(["published", "trade_snapshot"]) in report_card.asset_deps[key]

    with dg.DagsterInstance.from_config(str(warehouse.dagster_home)) as instance:
        event = instance.get_latest_materialization_event(key)
    assert event is not None
    metadata = event.asset_materialization.metadata
    assert metadata["index"].value == str(warehouse.published_dir / "report" / "index.html")
    assert metadata["charts"].value == list(CHARTS)
    assert metadata["skipped"].value == {}
    assert metadata["is_sample"].value is True
    assert "YRD trade 2025:" in metadata["preview"].value and "SAMPLE DATA" in metadata["preview"].value


# ---------------------------------------------------------------------------------------------
# build_report directly: the atomic swap, a year in progress, empty marts
# ---------------------------------------------------------------------------------------------


def test_building_twice_into_one_folder_swaps_in_one_complete_report(sample_run, tmp_path):
    warehouse, _ = sample_run
    out = tmp_path / "published" / "report"
    # A folder a killed build left behind (its process is gone) is cleared on the next build.
    stale = tmp_path / "published" / ".report.999999999.dead.building"
    stale.mkdir(parents=True)
    (stale / "index.html").write_text("half", encoding="utf-8")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = build_report(warehouse.published_db, out)
    assert not [w for w in caught if "glyph" in str(w.message).lower()], [str(w.message) for w in caught]
    assert first.out_dir == out and first.is_sample and first.charts == CHARTS and first.skipped == {}
    assert not stale.exists()
    first_inode = out.stat().st_ino
    held = open(out / "index.html", encoding="utf-8")  # a reader holding the previous report

    seen: list[str] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                names = set(os.listdir(out))
            except FileNotFoundError:
                seen.append("absent")
                continue
            seen.append("complete" if names == REPORT_FILES else f"partial {sorted(names)}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        second = build_report(warehouse.published_db, out)
        third = build_report(warehouse.published_db, out)
    finally:
        stop.set()
        thread.join()
        held_text = held.read()
        held.close()

    assert seen and not [s for s in seen if s != "complete"], sorted(set(seen))
    assert second.charts == third.charts == CHARTS
    assert out.stat().st_ino != first_inode  # a new folder was swapped in, not rewritten in place
    assert held_text.rstrip().endswith("</html>")  # the previous report stayed whole for its reader
    # Beside it only the previous report, whole (for a reader that opened it just before the swap),
    # until the next build; no half-written folder.
    beside = sorted(p for p in out.parent.iterdir() if p != out)
    assert len(beside) == 1 and beside[0].name.startswith(".report.") and beside[0].name.endswith(".old"), beside
    assert {p.name for p in beside[0].iterdir()} == REPORT_FILES
    assert {p.name for p in out.iterdir()} == REPORT_FILES
    assert_self_contained(out)
    for chart in CHARTS:
        assert_png(out / chart)
    assert chart_data(out)["charts"].keys() == set(CHARTS)


def test_a_year_in_progress_is_marked_and_an_empty_mart_skips_its_chart(sample_run, tmp_path):
    warehouse, _ = sample_run
    db = tmp_path / "trade.duckdb"
    shutil.copyfile(warehouse.published_db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute("UPDATE marts.trade_by_region_year SET months_covered = 6 WHERE year = 2025")
        con.execute("DELETE FROM marts.city_specialization")
        con.execute("DELETE FROM marts.release_reconciliation")
    finally:
        con.close()

    result = build_report(db, tmp_path / "report")
    assert set(result.skipped) == {"top_city_specializations.png", "reconciliation_latest_month.png"}
    assert "city_specialization has no rows" in result.skipped["top_city_specializations.png"]
    assert "release_reconciliation has no rows" in result.skipped["reconciliation_latest_month.png"]
    text = assert_self_contained(tmp_path / "report")
    assert "YRD trade Jan–Jun 2025:" in text and "Latest complete year 2024:" in text
    assert "not drawn. marts.city_specialization has no rows" in text
    data = chart_data(tmp_path / "report")
    assert points(data, "yrd_trade_by_year.png")[(2025, "months_covered")] == 6
    assert data["charts"]["top_city_specializations.png"]["skipped"] == result.skipped["top_city_specializations.png"]
    assert not (tmp_path / "report" / "top_city_specializations.png").exists()


# ---------------------------------------------------------------------------------------------
# Real GACC location tables only: no product detail, no sample
# ---------------------------------------------------------------------------------------------


def test_real_location_tables_only_skip_the_product_charts_and_show_no_sample_banner(warehouse):
    folder = require_real()
    warehouse.add(*sorted(folder.glob("2024-*.csv")))
    assert run_pipeline_in_process()

    report = warehouse.published_dir / "report"
    text = assert_self_contained(report)
    data = chart_data(report)
    assert data["is_sample"] is False and data["last_month"] == "2024-12"
    assert "SAMPLE DATA" not in text and 'class="sample"' not in text
    skipped = {name for name, chart in data["charts"].items() if "skipped" in chart}
    assert skipped == PRODUCT_CHARTS
    assert "no HS8 product detail" in data["charts"]["new_three_by_category.png"]["skipped"]
    assert "no city × HS chapter detail" in data["charts"]["top_city_specializations.png"]["skipped"]
    for name in PRODUCT_CHARTS:
        assert not (report / name).exists()
        assert f'<section class="skipped" id="{name}">' in text
    for name in set(CHARTS) - PRODUCT_CHARTS:
        assert_png(report / name)
        assert f'src="{name}"' in text
    # The drawn numbers are the real ones.
    yrd = warehouse.query(
        "SELECT total_cny FROM marts.trade_by_region_year WHERE region_code = 'YRD' AND year = 2024"
    )[0][0]
    assert points(data, "yrd_trade_by_year.png") == {(2024, "total_cny"): yrd, (2024, "months_covered"): 12}
    provinces = points(data, "provinces_compared.png")
    assert set(provinces) == {(2024, code) for code in PROVINCES}
    assert sum(provinces.values()) == yrd
