"""Reference data the Python side needs, read from the dbt seeds so there is one copy of each fact."""

from __future__ import annotations

import csv
from functools import lru_cache

from .config import SEEDS_DIR


@lru_cache(maxsize=1)
def province_codes() -> dict[str, str]:
    """Province name as GACC prints it (上海市, 内蒙古自治区 …) → GB/T 2260 code (310000 …)."""
    with open(SEEDS_DIR / "provinces.csv", encoding="utf-8", newline="") as f:
        return {row["region_name_zh"]: row["region_code"] for row in csv.DictReader(f)}
