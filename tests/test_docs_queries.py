"""Every example query in docs/analysts.md runs against a published snapshot."""

from __future__ import annotations

import re

import pytest

from orchestration.samples import write_sample_releases

from .conftest import REPO_ROOT, run_pipeline_in_process

QUERIES = re.findall(r"```sql\n(.*?)```", (REPO_ROOT / "docs" / "analysts.md").read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def snapshot(module_warehouse):
    # Four sample years of every kind: growth rates, city figures and the 2022 HS switch exist.
    write_sample_releases(module_warehouse.inbox, "2021-01", "2024-12")
    assert run_pipeline_in_process()
    return module_warehouse


def test_the_docs_have_example_queries():
    assert len(QUERIES) >= 10


@pytest.mark.parametrize("sql", QUERIES, ids=[f"query{i + 1}" for i in range(len(QUERIES))])
def test_example_query_runs_and_returns_rows(snapshot, sql):
    rows = snapshot.query(sql)
    if "may return no rows" not in sql:
        assert rows, sql
