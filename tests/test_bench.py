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
    text = out_md.read_text(encoding="utf-8")
    assert "QUICK" in text and "## Machine" in text and "## Method" in text
    for key in KEYS:
        assert f"`{key}`" in text
    # The temp data is cleaned up.
    assert not any((tmp_path / "tmp").iterdir())


def test_a_rerun_page_shows_the_previous_figures_beside_the_new(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", REPO_ROOT / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    out_json = tmp_path / "benchmarks.json"
    assert bench.previous_run(out_json, "full") is None  # no earlier run
    out_json.write_text(json.dumps({"mode": "quick", "date": "d", "git": {"commit": "c"}, "p2_ratio": 1.5}))
    assert bench.previous_run(out_json, "full") is None  # a quick run is no reference for a full one
    previous = bench.previous_run(out_json, "quick")
    assert previous["figures"]["p2_ratio"] == 1.5 and previous["figures"]["p1_vs_duckdb"] is None
    assert bench._change(1.65, 1.5) == "+10 %" and bench._change(None, 1.5) == "—"
