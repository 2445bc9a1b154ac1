"""SAMPLE exports of the GACC online query platform (数据在线查询), 2018-01 … 2025-12.

One file per year and flow, `sample-query-export-YYYY-exports.csv` / `…-imports.csv`, in the
layout of a real 分月展示 export by commodity × partner × trade mode × 注册地 (see
../shared/fixtures/real/gacc_query_export/ and ../shared/fixtures/real/README.md):

- GB18030, LF line ends, every field quoted, a trailing comma on every line;
- header `"数据年月","商品编码","商品名称","贸易伙伴编码","贸易伙伴名称","贸易方式编码","贸易方式名称",
  "注册地编码","注册地名称","第一数量","第一计量单位","第二数量","第二计量单位","人民币",`;
- 人民币 in yuan with thousands separators (`"5,848,714"`); the quantities are printed WITHOUT
  separators (`"214847"`), as in every real export we have, although some write-ups say both are;
- `"0","?"` for a missing second quantity and unit;
- the direction (exports/imports) is only in the file name: it was a query parameter.
The SAMPLE label is the `sample-` file-name prefix: the real layout has no title or footer row
to carry it, and adding one would make the sample unlike the files it stands in for.

How the numbers are made (integers only, `random.Random(<stable string>)`, never `hash()`):
- For every province, month and flow the 人民币 values add up EXACTLY to the SAMPLE location
  table's month value (万元 × 10000), read back from `generate_location_tables()` with the csv
  module. Largest-remainder allocation keeps the integer sum exact.
- The new three (electric passenger vehicles, lithium-ion batteries, solar cells) are exported
  at calibrated annual values per province (NEW_THREE_EXPORTS below), spread over the months in
  proportion to the province's monthly exports; the rest of the month goes to ordinary products.
- Each province-month-flow has 160–240 rows: the new-three rows, then commodity × partner × trade
  mode combinations drawn with the catalogue's weights (a province's tilt towards its industries).
- Solar cells are 85414020 (HS2017 854140) through 2021-12 and 85414200 / 85414300 (HS2022
  854142 / 854143) from 2022-01, never both in one month.
- Quantities are value ÷ a typical unit price with ±25% noise; the second quantity is in 千克
  for the few codes that have one.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from .catalogue import (
    FLOWS,
    HS2022_FIRST_PERIOD,
    NEW_THREE,
    TRADE_MODE_WEIGHTS,
    TRADE_MODES,
    YRD_PROVINCES,
    Product,
    allocate,
    load_partners,
    months_between,
    partner_weight,
    product_weight,
    products,
    province_months,
)
from .location_tables import SAMPLE_FIRST_PERIOD, SAMPLE_LAST_PERIOD

FILE_NAME = "sample-query-export-{year:04d}-{flow}.csv"
HEADER = (
    "数据年月", "商品编码", "商品名称", "贸易伙伴编码", "贸易伙伴名称", "贸易方式编码", "贸易方式名称",
    "注册地编码", "注册地名称", "第一数量", "第一计量单位", "第二数量", "第二计量单位", "人民币",
)
ENCODING = "gb18030"
ROWS_PER_MONTH = (160, 240)  # rows per province, month and flow (new three included)

# "New three" exports by province and year, 亿元: (electric vehicles, lithium-ion batteries, solar cells).
# Calibrated to the figures in ../shared/reference/customs-facts.md §3 ("New three" export figures):
# - Shanghai: 2022 new-energy vehicles ≈840 (+130.1%, so 2021 ≈365) and lithium batteries 254.1
#   (+360.8%, so 2021 ≈55); 2025 the three combined 1,566.7 (exact here).
# - Jiangsu: 2022 solar 988.8 and lithium-ion 722.2 (exact here); 2025 combined 1,849.8 (exact),
#   +14.5%, so 2024 = 1,615.5 (exact): the 2024 dip of solar prices shows.
# - Zhejiang: Q1 2023 414 and Jan–Sep 2023 1,115.7, so 2023 ≈1,500.
# - Anhui: 2023 390.6 and 2024 490.1 (both exact).
# - China 2023: 1.06万亿元 (+29.9%); the YRD here is 4,980.6亿 in 2023, about half of it.
# Everything else is this project's interpolation: small in 2018, Tesla's Shanghai exports from
# late 2020, the 2021–2022 surge, and a YRD total that grows every year (937 → 5,636.5亿).
NEW_THREE_EXPORTS: dict[str, dict[int, tuple[str, str, str]]] = {
    "310000": {
        2018: ("5", "10", "40"), 2019: ("10", "15", "45"), 2020: ("120", "30", "45"),
        2021: ("365", "55", "50"), 2022: ("840", "254.1", "60"), 2023: ("1000", "330", "60"),
        2024: ("1010", "370", "60"), 2025: ("1080", "420", "66.7"),
    },
    "320000": {
        2018: ("2", "90", "420"), 2019: ("5", "120", "500"), 2020: ("10", "170", "480"),
        2021: ("25", "330", "620"), 2022: ("60", "722.2", "988.8"), 2023: ("80", "720", "900"),
        2024: ("105", "760", "750.5"), 2025: ("150", "900", "799.8"),
    },
    "330000": {
        2018: ("10", "40", "280"), 2019: ("15", "55", "330"), 2020: ("20", "70", "360"),
        2021: ("60", "120", "540"), 2022: ("130", "220", "800"), 2023: ("250", "300", "950"),
        2024: ("330", "380", "890"), 2025: ("380", "440", "800"),
    },
    "340000": {
        2018: ("5", "12", "23"), 2019: ("8", "17", "25"), 2020: ("15", "25", "30"),
        2021: ("40", "40", "50"), 2022: ("95", "75", "80"), 2023: ("180", "110", "100.6"),
        2024: ("240", "140", "110.1"), 2025: ("320", "170", "110"),
    },
}
YUAN_PER_100M = 100_000_000

# Where each category goes (export partner weights) and how a category's value splits over its codes.
NEW_THREE_PARTNERS: dict[str, dict[str, int]] = {
    "electric_vehicles": {"301": 100, "303": 90, "136": 60, "601": 50, "304": 40, "115": 30, "312": 30,
                          "305": 25, "410": 30, "429": 20, "129": 15, "132": 10, "110": 10, "309": 25, "330": 10},
    "lithium_ion_batteries": {"502": 100, "304": 70, "133": 40, "141": 40, "309": 30, "116": 30, "321": 25,
                              "110": 20, "122": 20, "303": 15, "601": 15, "429": 10, "111": 20},
    "solar_cells": {"309": 100, "410": 50, "111": 40, "127": 30, "312": 35, "131": 25, "244": 20, "304": 25,
                    "601": 20, "138": 20, "429": 15, "116": 15, "136": 10, "112": 10, "502": 10},
}
NEW_THREE_CODE_SHARE = {"87038010": 95, "87038090": 5, "85076000": 100, "85414020": 100,
                        "85414200": 20, "85414300": 80}
NEW_THREE_MODES = {"10": 80, "15": 12, "34": 8}
# Rows always present (so every year's exports carry a name with a full-width comma, 黑大豆，种用除外,
# as the real soybean export does): (province, flow) -> [(hs8, partner, trade mode)].
PINNED_ROWS = {("340000", "exports"): [("12019020", "502", "10")], ("320000", "exports"): [("12019020", "116", "10")]}

_Row = tuple[str, str, str, str]  # (hs8, partner code, trade mode code, registration code)


def _yuan(text_100m: str) -> int:
    return int(Decimal(text_100m) * YUAN_PER_100M)


def new_three_annual_yuan(province_code: str, year: int) -> dict[str, int]:
    """category -> the calibrated annual export value in yuan."""
    try:
        figures = NEW_THREE_EXPORTS[province_code][year]
    except KeyError:
        raise ValueError(f"no new-three calibration for {province_code} in {year}") from None
    return {category: _yuan(value) for category, value in zip(NEW_THREE, figures)}


def _weighted_pick(rng: random.Random, weights: dict[str, int], k: int) -> list[str]:
    """k distinct keys, drawn in proportion to their weights (deterministic for a given rng)."""
    pool = dict(weights)
    chosen: list[str] = []
    while pool and len(chosen) < k:
        key = rng.choices(list(pool), weights=list(pool.values()))[0]
        chosen.append(key)
        del pool[key]
    return chosen


class _Sampler:
    """Per province and flow: the products by weight, and each product's partners by weight."""

    def __init__(self, province_code: str, flow: str) -> None:
        partners = load_partners()
        general = {code: partner_weight(code, flow) for code in partners}
        general = {code: w for code, w in general.items() if w > 0}
        self.by_period: dict[bool, tuple[list[Product], list[int]]] = {}
        self.partners: dict[str, tuple[list[str], list[int]]] = {}
        for hs2022 in (False, True):
            period = HS2022_FIRST_PERIOD if hs2022 else "2021-12"
            pool = [p for p in products() if p.valid_in(period) and not (flow == "exports" and p.new_three)]
            weights = [product_weight(p, province_code, flow) for p in pool]
            kept = [(p, w) for p, w in zip(pool, weights) if w > 0]
            self.by_period[hs2022] = ([p for p, _ in kept], [w for _, w in kept])
        for product in products():
            if product.partners:
                table = {c: max(partner_weight(c, flow), 1) for c in product.partners}
            else:
                table = general
            self.partners[product.hs8] = (list(table), list(table.values()))
        self.modes = (list(TRADE_MODE_WEIGHTS[flow]), list(TRADE_MODE_WEIGHTS[flow].values()))


def _month_rows(
    province_code: str, flow: str, year: int, month: int, target: int,
    new_three: dict[str, int], sampler: _Sampler,
) -> list[tuple[str, str, str, int]]:
    """(hs8, partner, trade mode, yuan) rows of one province, month and flow; values sum to `target`."""
    rng = random.Random(f"sample-query-export/{province_code}/{flow}/{year:04d}-{month:02d}")
    period = f"{year:04d}-{month:02d}"
    n_rows = rng.randint(*ROWS_PER_MONTH)
    catalogue = {p.hs8: p for p in products()}

    rows: list[tuple[str, str, str, int]] = []
    seen: set[tuple[str, str, str]] = set()
    # 1. The new three (exports only): calibrated value, split over a few partners and codes.
    for category, value in new_three.items():
        codes = [p.hs8 for p in catalogue.values() if p.new_three == category and p.valid_in(period)]
        keys, weights = [], []
        for partner in _weighted_pick(rng, NEW_THREE_PARTNERS[category], rng.randint(3, 6)):
            mode = rng.choices(list(NEW_THREE_MODES), weights=list(NEW_THREE_MODES.values()))[0]
            share = NEW_THREE_PARTNERS[category][partner] * rng.randint(50, 150)
            for hs8 in codes:
                keys.append((hs8, partner, mode))
                weights.append(share * NEW_THREE_CODE_SHARE[hs8])
        for key, part in zip(keys, allocate(value, weights)):
            rows.append((*key, part))
            seen.add(key)
    remaining = target - sum(new_three.values())
    if remaining < 0:
        raise ValueError(f"{province_code} {period} {flow}: the new three exceed the month's exports")

    # 2. Ordinary products: pinned rows, then weighted draws of commodity × partner × trade mode.
    keys, weights = [], []

    def add(key: tuple[str, str, str]) -> None:
        seen.add(key)
        keys.append(key)
        weights.append(catalogue[key[0]].value_scale * (partner_weight(key[1], flow) + 1)
                       * TRADE_MODE_WEIGHTS[flow][key[2]])

    for key in PINNED_ROWS.get((province_code, flow), ()):
        if key not in seen:
            add(key)
    pool, pool_weights = sampler.by_period[period >= HS2022_FIRST_PERIOD]
    modes, mode_weights = sampler.modes
    attempts = 0
    while len(rows) + len(keys) < n_rows and attempts < 50 * n_rows:
        attempts += 1
        product = rng.choices(pool, weights=pool_weights)[0]
        partners, partner_weights = sampler.partners[product.hs8]
        key = (product.hs8, rng.choices(partners, weights=partner_weights)[0],
               rng.choices(modes, weights=mode_weights)[0])
        if key not in seen:
            add(key)
    # Row values: the product's value scale × partner and trade-mode weight × a wide deterministic
    # noise (a few big rows, many small ones).
    weights = [w * rng.randint(5, 40) * rng.randint(5, 40) for w in weights]
    for key, part in zip(keys, allocate(remaining, weights)):
        rows.append((*key, part))
    return rows


def _quantities(product: Product, value: int, rng: random.Random) -> tuple[int, int]:
    """First and second quantity from the value: value ÷ (unit price ± 25%); kg for the second."""
    first = value * 10_000 // (product.price_fen * rng.randint(75, 125))
    second = first * product.grams_per_unit * rng.randint(90, 110) // 100_000 if product.has_unit_2 else 0
    return first, second


def _render(lines: list[tuple]) -> bytes:
    out = ['"' + '","'.join(HEADER) + '",']
    for fields in lines:
        out.append('"' + '","'.join(fields) + '",')
    return ("\n".join(out) + "\n").encode(ENCODING)


def generate_query_exports(first: str = SAMPLE_FIRST_PERIOD, last: str = SAMPLE_LAST_PERIOD) -> dict[str, bytes]:
    """file name -> file bytes (GB18030), deterministic: the same bytes on every call and machine,
    and a month's rows do not depend on which other months are generated."""
    months = months_between(first, last)
    targets = province_months(months[0][0], months[-1][0])
    catalogue = {p.hs8: p for p in products()}
    partners = load_partners()
    files: dict[tuple[int, str], list[tuple]] = {}
    for flow in FLOWS:
        samplers = {p.code: _Sampler(p.code, flow) for p in YRD_PROVINCES}
        for year in sorted({y for y, _ in months}):
            year_months = [m for y, m in months if y == year]
            lines: list[tuple] = []
            for province in YRD_PROVINCES:
                month_targets = [targets[(province.code, year, m)][flow] * 10_000 for m in range(1, 13)]
                new_three_months: dict[str, list[int]] = {}
                if flow == "exports":
                    for category, annual in new_three_annual_yuan(province.code, year).items():
                        new_three_months[category] = allocate(annual, month_targets)
                for month in year_months:
                    new_three = {c: v[month - 1] for c, v in new_three_months.items()}
                    rows = _month_rows(province.code, flow, year, month, month_targets[month - 1],
                                       new_three, samplers[province.code])
                    qrng = random.Random(f"sample-query-export-quantity/{province.code}/{flow}/{year:04d}-{month:02d}")
                    for hs8, partner, mode, value in rows:
                        product = catalogue[hs8]
                        q1, q2 = _quantities(product, value, qrng)
                        lines.append((
                            f"{year:04d}{month:02d}", hs8, product.name_zh, partner, partners[partner].name_zh,
                            mode, TRADE_MODES[mode], province.registration_code, province.name_zh,
                            str(q1), product.unit_1, str(q2), product.unit_2 if product.has_unit_2 else "?",
                            f"{value:,}",
                        ))
            # As the platform sorts: month, then commodity code, partner, trade mode, 注册地.
            lines.sort(key=lambda f: (f[0], f[1], f[3], f[5], f[7]))
            files[(year, flow)] = lines
    return {
        FILE_NAME.format(year=year, flow=flow): _render(lines)
        for (year, flow), lines in sorted(files.items())
    }


def write_query_exports(
    out_dir: Path, first: str = SAMPLE_FIRST_PERIOD, last: str = SAMPLE_LAST_PERIOD
) -> list[Path]:
    """Writes the files into out_dir; returns their paths."""
    from . import write_files

    return write_files(out_dir, generate_query_exports(first, last))
