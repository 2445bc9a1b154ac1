"""Documentation built from the dbt project, so it cannot drift from the models:
- `trade docs` (make docs): the dbt docs site as one self-contained page, published/docs/index.html,
  generated offline against a copy of the published snapshot (so the catalog has real column types);
- `python -m orchestration.serve.docs --analysts`: the marts' grain and columns in docs/analysts.md
  (between the MART COLUMNS markers), from the dbt manifest; a test fails when they differ.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..config import DBT_PROJECT_DIR, WarehousePaths
from .publish import PUBLISHED_MARTS

ANALYST_DOCS = DBT_PROJECT_DIR.parent / "docs" / "analysts.md"
BEGIN, END = "<!-- BEGIN MART COLUMNS (generated from the dbt docs: python -m orchestration.serve.docs --analysts) -->", "<!-- END MART COLUMNS -->"
DBT = str(Path(sys.executable).parent / "dbt")


def build_dbt_docs(paths: WarehousePaths) -> Path:
    """dbt docs generate --static against a throwaway copy of the snapshot; returns the page's path."""
    out_dir = paths.published_dir / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "docs.duckdb"
        if paths.published_db.exists():
            shutil.copyfile(paths.published_db, database)  # never open the snapshot read-write
        target = Path(tmp) / "target"
        # The work tables are not in the snapshot: an empty work file leaves their columns out of the
        # catalog (the models are still documented from the manifest).
        env = {**os.environ, "TRADE_DUCKDB_PATH": str(database), "TRADE_WORK_DUCKDB_PATH": str(Path(tmp) / "work.duckdb")}
        subprocess.run(
            [DBT, "docs", "generate", "--static", "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
             "--quiet"],
            cwd=DBT_PROJECT_DIR, env=env, check=True,
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        page = out_dir / "index.html"
        partial = out_dir / f".index.html.{os.getpid()}.partial"
        shutil.copyfile(target / "static_index.html", partial)
        os.replace(partial, page)
    return page


# The contracts say `string` (a type both DuckDB and Spark read); analysts query DuckDB, which calls it varchar.
ANALYST_TYPE_NAMES = {"string": "varchar"}


def mart_columns_markdown(manifest_path: Path) -> str:
    """One section per contract mart: its description (grain) and a table of its columns."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    parts = []
    for name in PUBLISHED_MARTS:
        model = models[name]
        parts.append(f"### `marts.{name}`\n\n{' '.join(model['description'].split())}\n")
        parts.append("| column | type | meaning |\n|---|---|---|")
        for column in model["columns"].values():
            description = " ".join((column.get("description") or "").split()).replace("|", "\\|")
            data_type = column.get("data_type") or ""
            parts.append(f"| `{column['name']}` | {ANALYST_TYPE_NAMES.get(data_type, data_type)} | {description} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def analyst_docs_with_columns(text: str, columns_markdown: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\n{columns_markdown}\n{END}{tail}"


def main() -> int:
    if "--analysts" in sys.argv:
        manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
        text = ANALYST_DOCS.read_text(encoding="utf-8")
        ANALYST_DOCS.write_text(analyst_docs_with_columns(text, mart_columns_markdown(manifest)), encoding="utf-8")
        print(f"updated {ANALYST_DOCS}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
