"""`make bench` in its quick mode writes both result files with every key. Performance itself is
never asserted here: the figures are measured by `make bench` and judged in docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import REPO_ROOT

KEYS = ("p1_vs_duckdb", "p1_vs_pandas", "p2_ratio", "p3_peak_rss_mb", "p3_file_mb", "p4_p95_ms", "p4_p50_ms",
        "p5_make_run_s")


def test_quick_bench_writes_markdown_and_json_with_every_key(tmp_path):
    out_md, out_json = tmp_path / "out" / "benchmarks.md", tmp_path / "out" / "benchmarks.json"
    env = {**os.environ, "BENCH_QUICK": "1"}
    for name in ("TRADE_FAULT_POINTS", "DAGSTER_HOME", "TRADE_WAREHOUSE_DIR", "TRADE_INBOX"):
        env.pop(name, None)
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "run.py"), "--out-md", str(out_md), "--out-json", str(out_json),
         "--tmp", str(tmp_path / "tmp")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads(out_json.read_text(encoding="utf-8"))
    assert results["mode"] == "quick"
    assert results["errors"] == {}, results["errors"]
    for key in KEYS:
        assert isinstance(results[key], (int, float)) and results[key] > 0, key
    assert set(results["met"]) >= {"p1_vs_duckdb", "p2_ratio", "p4_p95_ms", "p5_make_run_s"}
    for key in ("cores", "ram_gib", "cpu", "os", "python", "duckdb", "dbt_core", "dagster"):
        assert results["machine"][key], key
    # A host probe before every pass, p4 included, each a real timing.
    assert [p["label"] for p in results["host_probes"]] == ["p5", "p1", "p2", "p3", "p4"]
    assert all(p["seconds"] > 0 for p in results["host_probes"])
    text = out_md.read_text(encoding="utf-8")
    assert "QUICK" in text and "## Machine" in text and "## Method" in text and "host probe" in text
    for key in KEYS:
        assert f"`{key}`" in text
    # The temp data is cleaned up.
    assert not any((tmp_path / "tmp").iterdir())


def _bench_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", REPO_ROOT / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench


def test_a_rerun_page_shows_the_previous_figures_beside_the_new(tmp_path):
    bench = _bench_module()
    out_json = tmp_path / "benchmarks.json"
    assert bench.previous_run(out_json, "full") is None  # no earlier run
    out_json.write_text(json.dumps({"mode": "quick", "date": "d", "git": {"commit": "c"}, "p2_ratio": 1.5,
                                    "host_probes": [{"label": "p5", "seconds": 2.0}, {"label": "p1", "seconds": 1.5}]}))
    assert bench.previous_run(out_json, "full") is None  # a quick run is no reference for a full one
    previous = bench.previous_run(out_json, "quick")
    assert previous["figures"]["p2_ratio"] == 1.5 and previous["figures"]["p1_vs_duckdb"] is None
    assert previous["fastest_probe_s"] == 1.5
    assert bench._change(1.65, 1.5) == "+10 %" and bench._change(None, 1.5) == "—"


def test_a_figure_whose_method_changed_is_not_compared_with_the_previous_run():
    bench = _bench_module()
    figures = {key: None for key in bench.KEYS} | {"p2_ratio": 1.22, "p5_make_run_s": 56.0}
    results = {"p2_ratio": 1.11, "p5_make_run_s": 59.7, "method_revisions": {"p2_ratio": 2, "p5_make_run_s": 1}}
    rows = bench.comparison_rows(results | {"previous": {"figures": figures,
                                                         "method_revisions": {"p2_ratio": 1, "p5_make_run_s": 1}}})
    assert "| `p2_ratio` | 1.22 | 1.11 | method changed: not comparable |" in rows
    assert "| `p5_make_run_s` | 56.0 | 59.7 | +7 % |" in rows
    # A page from before the revisions were kept: no mark (nothing says what changed)
    rows = bench.comparison_rows(results | {"previous": {"figures": figures, "method_revisions": None}})
    assert "| `p2_ratio` | 1.22 | 1.11 | -9 % |" in rows


def test_the_fault_test_recorded_later_says_what_it_ran_on(tmp_path):
    """--faults-only records the long fault test on the committed page; the page says it ran on other code."""
    bench = _bench_module()
    results = json.loads((REPO_ROOT / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
    results["fault_test"] = {"date": "2026-11-30 03:00 UTC", "git": {"commit": "f" * 40}, "passed": True,
                             "command": "TRADE_FAULT_POINTS=50 .venv/bin/pytest -q tests/test_crash_recovery.py",
                             "seconds": 3120.0, "summary": "53 passed in 3120.00s", "tail": ""}
    page = bench.markdown(results)
    assert "**passed** in 52.0 min (53 passed in 3120.00s)" in page and "at commit ffffffffffff," in page
    results["fault_test"] |= {"passed": False, "tail": "E   AssertionError: marts differ"}
    assert "**FAILED**" in bench.markdown(results) and "marts differ" in bench.markdown(results)
    # A full run that does not repeat the test keeps the page's last one, dated before its figures
    page_json = tmp_path / "benchmarks.json"
    page_json.write_text(json.dumps(results | {"fault_test": results["fault_test"] | {"passed": True}}), encoding="utf-8")
    assert bench.previous_fault_test(page_json, "quick") is None
    kept = bench.previous_fault_test(page_json, results["mode"])
    assert kept["passed"] and kept["git"]["commit"] == "f" * 40
    later = results | {"date": "2027-01-01 00:00 UTC", "fault_test": kept}
    assert "before the figures above: the last long run, kept from an earlier page" in bench.markdown(later)


def test_a_pass_whose_host_probe_ran_slow_is_named_on_the_page():
    bench = _bench_module()
    probes = [{"label": "p5", "seconds": 1.0}, {"label": "p2", "seconds": 1.2}, {"label": "p4", "seconds": 1.9}]
    assert bench.slow_passes(probes, 1.0) == ["p4"]
    assert bench.slow_passes(probes, 0.85) == ["p2", "p4"]  # against a faster probe of the previous run
    assert bench.slow_passes(probes, None) == []
    line = bench._probe_line({"host_probes": probes, "slow_passes": ["p4"], "previous": {"fastest_probe_s": 0.9}})
    assert "Slow passes" in line and "p4 1.90 s" in line and "previous run's fastest: 0.90 s" in line
    other_cpu = {"host_probes": probes, "slow_passes": [], "machine": {"cpu": "A"},
                 "previous": {"fastest_probe_s": 0.9, "cpu": "B"}}
    assert bench.previous_yardstick(other_cpu) is None and "previous run" not in bench._probe_line(other_cpu)
    results = {"p4_p95_ms": 80.0, "p4_queries": [{"query": 1, "first_line": "SELECT", "median_ms": 80.0}],
               "host_probes": probes, "slow_passes": ["p4"], "fastest_probe_s": 1.0}
    assert "the machine itself ran slow" in bench.explain(results)["p4"]


def test_the_page_is_written_again_from_its_json_and_names_a_change_of_machine(tmp_path):
    """--page-only rewrites the page from the last run's json (measuring nothing); a previous run on
    another CPU model is named above the comparison."""
    bench = _bench_module()
    results = json.loads((REPO_ROOT / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
    results["previous"] = (results.get("previous") or {"date": "d", "commit": "c", "figures": {}}) | {"cpu": "Another CPU"}
    out_json, out_md = tmp_path / "benchmarks.json", tmp_path / "benchmarks.md"
    out_json.write_text(json.dumps(results), encoding="utf-8")
    assert bench.main(["--page-only", "--out-md", str(out_md), "--out-json", str(out_json)]) == 0
    page = out_md.read_text(encoding="utf-8")
    assert "It ran on another CPU model (Another CPU; this run: " in page
    assert f"| `p5_make_run_s` | {results['p5_make_run_s']:.1f} |" in page
    rewritten = json.loads(out_json.read_text(encoding="utf-8"))
    assert {k: rewritten[k] for k in bench.KEYS} == {k: results[k] for k in bench.KEYS}


def test_a_missed_p2_says_how_much_the_history_added():
    bench = _bench_module()
    run = {"steps": {"trade_dbt_models": 15.0, "published__trade_snapshot": 0.2}, "live_db_bytes": 2 ** 27}
    full = run | {"steps": {"trade_dbt_models": 20.0, "published__trade_snapshot": 1.2}, "live_db_bytes": 2 ** 30}
    why = bench.explain({"p2_ratio": 24.9 / 18.0, "p2_full_s": 24.9, "p2_empty_s": 18.0, "p2_new_month": "2026-01",
                         "p2_months": 96, "p2_history_rows": 9_600_000, "p2_runs": {"full": [full], "empty": [run]}})
    assert "trade_dbt_models 15.0 s → 20.0 s" in why["p2"] and "cost 6.9 s more with the history" in why["p2"]
