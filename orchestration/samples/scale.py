"""SAMPLE online-query exports at benchmark scale: millions of rows, in the real format, fast.

`python -m orchestration.samples --out DIR --scale --rows N [--months 2018-01..2025-12]` writes one
file of exactly N rows spread evenly over the months; `--scale --months A..B --rows-per-month N`
writes one file per month. The layout is the one of `query_exports.py` (a real 分月展示 export by
commodity × partner × trade mode × 注册地):

- GB18030, LF line ends, every field quoted, a trailing comma on every line;
- header `"数据年月","商品编码","商品名称","贸易伙伴编码","贸易伙伴名称","贸易方式编码","贸易方式名称",
  "注册地编码","注册地名称","第一数量","第一计量单位","第二数量","第二计量单位","人民币",`;
- 人民币 with thousands separators, quantities without, `"0","?"` for a missing second quantity;
- the direction only in the file name, which starts with `sample-`: this is SAMPLE data, not GACC's.

What the rows are made of (nothing official): the HS8 codes and names of the sample catalogue
(`catalogue.products()`, the new three from `dbt_project/seeds/new_three_codes.csv`; the solar cells
switch codes in 2022-01), the partners of `dbt_project/seeds/partners.csv`, the trade modes of
`dbt_project/seeds/trade_modes.csv` (named as the platform prints them), and the 31 provinces of
`dbt_project/seeds/provinces.csv` as 注册地 with their 2-digit codes. Each month's rows are distinct
(month, HS8, partner, trade mode, 注册地) keys, drawn without replacement in proportion to the
product, partner, trade-mode and province weights (Efraimidis–Spirakis: the n smallest of
Exp(1) / weight), and printed in the platform's order (month, commodity, partner, mode, 注册地).
A month holds at most `month_capacity()` rows (about 2.8 million keys have a non-zero weight).
The 人民币 values of a province's rows in a month add up to (a few yuan under) that province's
month figure in the SAMPLE location tables (`location_tables.py`; months outside 2018–2025 take the
same month of the nearest sample year), whatever the density: the detail reconciles with the
location tables when both are loaded, and no product's share of its region exceeds 100 %.

Determinism and speed: numpy's PCG64 seeded with (seed, flow, year, month), so a month's rows do
not depend on the other months generated; integer arithmetic only for values and quantities (no
transcendental function whose last bit could differ between CPUs). The keys and numbers of a batch
of rows are drawn as numpy arrays; the lines are made by one string template per row from
pre-built field texts (the products' and partners' names joined once, not per row) and the batch
is encoded to GB18030 at once. Memory is bounded by one month's key space (a few tens of MB) and
one batch. (A numpy byte-matrix assembly was tried and was half as fast: compacting the padded
matrix costs more than the template.)
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .catalogue import (
    FLOWS,
    SEEDS_DIR,
    TRADE_MODE_WEIGHTS,
    TRADE_MODES,
    load_partners,
    months_between,
    partner_weight,
    products,
)

from .query_exports import ENCODING, HEADER  # the same layout as the bundled sample exports

HEADER_LINE = ('"' + '","'.join(HEADER) + '",\n').encode(ENCODING)
FILE_NAME = "sample-scale-query-export-{first}..{last}-{flow}.csv"
MONTH_FILE_NAME = "sample-scale-query-export-{period}-{flow}.csv"
DEFAULT_MONTHS = ("2018-01", "2025-12")
DEFAULT_SEED = 20180101
BATCH_ROWS = 100_000  # rows made and written at a time: ~15 MB of text

# Rows per 注册地 province: rounded magnitudes of each province's share of China's trade by
# enterprise location (per mille, about 2023), so Guangdong, the YRD, Beijing and Shandong carry
# most rows and Tibet and Qinghai few. Not official figures.
PROVINCE_WEIGHTS: dict[str, int] = {
    "11": 86, "12": 19, "13": 14, "14": 4, "15": 5, "21": 18, "22": 4, "23": 7, "31": 101, "32": 125,
    "33": 118, "34": 19, "35": 47, "36": 14, "37": 74, "41": 19, "42": 15, "43": 14, "44": 198,
    "45": 17, "46": 6, "50": 17, "51": 23, "52": 2, "53": 7, "54": 1, "61": 10, "62": 1, "63": 1,
    "64": 1, "65": 8,
}
OTHER_TRADE_MODE_WEIGHT = 3  # per mille, each trade mode of the seed the sample tables do not weigh
NEW_THREE_EXPORT_WEIGHT = 20  # the catalogue weighs them 0 (their values are calibrated elsewhere)
# Row values: the province-month target (the sample location table's figure) split over its rows in
# proportion to value_scale × U{1..1000} × U{1..1000}, rounded down, at least 1 yuan; first quantity =
# value ÷ (unit price × U{75..125}%); second = first × unit weight × U{90..110}%. Integers, but for
# the split (IEEE multiplications and divisions, the same on every machine; no transcendental).
VALUE_FACTOR_MAX = 1000
VALUE_MAX = 10**13


@dataclass(frozen=True)
class ScaleFile:
    path: Path
    rows: int
    size_bytes: int
    seconds: float


# --------------------------------------------------------------------------------------------
# The dimensions, pre-encoded
# --------------------------------------------------------------------------------------------


def _seed_rows(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / name).open(encoding="utf-8", newline="") as handle:
        return [{k: v.strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _quoted(*cells: str) -> str:
    """Cells as the platform prints them: each quoted, each followed by a comma."""
    return "".join(f'"{c}",' for c in cells)


@dataclass(frozen=True)
class _Dimensions:
    products: tuple  # catalogue.Product, sorted by code
    partners: tuple[tuple[str, str], ...]  # (code, name), sorted by code
    modes: tuple[tuple[str, str], ...]
    regions: tuple[tuple[str, str], ...]  # (2-digit 注册地 code, name)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return len(self.products), len(self.partners), len(self.modes), len(self.regions)


@lru_cache(maxsize=1)
def dimensions() -> _Dimensions:
    partners = load_partners()
    modes = []
    for row in _seed_rows("trade_modes.csv"):
        code = row["trade_mode_code"]
        modes.append((code, TRADE_MODES.get(code, row["name_zh"])))  # the platform's wording where known
    regions = [(row["region_code"][:2], row["region_name_zh"]) for row in _seed_rows("provinces.csv")]
    if sorted(c for c, _ in regions) != sorted(PROVINCE_WEIGHTS):
        raise ValueError("provinces.csv and scale.PROVINCE_WEIGHTS name different provinces")
    return _Dimensions(
        products=tuple(sorted(products(), key=lambda p: p.hs8)),
        partners=tuple(sorted((c, p.name_zh) for c, p in partners.items())),
        modes=tuple(sorted(modes)),
        regions=tuple(sorted(regions)),
    )


@lru_cache(maxsize=4)
def _weights(flow: str, hs2022: bool) -> tuple[np.ndarray, np.ndarray]:
    """(keys, weights) of the (product, partner, mode, region) keys a month can hold: flat indices in
    the platform's sort order, without the codes not valid in the period and the partners a product
    is restricted from (weight 0)."""
    dims = dimensions()
    period = "2022-01" if hs2022 else "2021-12"
    w_product = np.array([
        0 if not p.valid_in(period)
        else max(p.exports_weight if flow == "exports" else p.imports_weight,
                 NEW_THREE_EXPORT_WEIGHT if (p.new_three and flow == "exports") else 1)
        for p in dims.products
    ], dtype=np.float64)
    w_pp = np.empty((len(dims.products), len(dims.partners)), dtype=np.float64)
    general = np.array([max(partner_weight(code, flow), 1) for code, _ in dims.partners], dtype=np.float64)
    for i, product in enumerate(dims.products):
        if product.partners:
            allowed = np.array([code in product.partners for code, _ in dims.partners])
            w_pp[i] = np.where(allowed, general, 0.0)
        else:
            w_pp[i] = general
    w_pp *= w_product[:, None]
    w_mode = np.array([TRADE_MODE_WEIGHTS[flow].get(code, OTHER_TRADE_MODE_WEIGHT) for code, _ in dims.modes],
                      dtype=np.float64)
    w_region = np.array([PROVINCE_WEIGHTS[code] for code, _ in dims.regions], dtype=np.float64)
    weights = (w_pp[:, :, None, None] * w_mode[None, None, :, None] * w_region[None, None, None, :]).ravel()
    keys = np.flatnonzero(weights)
    weights = weights[keys].astype(np.float32)  # float32 draws and partitions four times faster than float64
    keys.setflags(write=False)
    weights.setflags(write=False)
    return keys, weights


def month_capacity(flow: str = "exports", period: str = "2024-01") -> int:
    """How many distinct keys (rows) a month can hold."""
    return len(_weights(flow, period >= "2022-01")[0])


@lru_cache(maxsize=1)
def _location_table_months() -> dict[tuple[str, int, int], np.ndarray]:
    """(flow, year, month) → yuan per 注册地 province (in dimensions().regions order), the month
    figures of the SAMPLE location tables, read back with the csv module."""
    from .location_tables import SAMPLE_FIRST_PERIOD, SAMPLE_LAST_PERIOD, generate_location_tables

    index = {name: i for i, (_, name) in enumerate(dimensions().regions)}
    targets: dict[tuple[str, int, int], np.ndarray] = {}
    for name, data in generate_location_tables(SAMPLE_FIRST_PERIOD, SAMPLE_LAST_PERIOD).items():
        year, month = int(name[-11:-7]), int(name[-6:-4])  # sample-location-YYYY-MM.csv
        grid = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        groups, labels = grid[2], grid[3]  # 进出口/出口/进口, then 'M月' / '1至M月'
        for flow, group in (("exports", "出口"), ("imports", "进口")):
            column = next(i for i, (g, m) in enumerate(zip(groups, labels)) if g == group and m == f"{month}月")
            values = np.zeros(len(index), dtype=np.float64)
            found = 0
            for row in grid[4:]:
                if row and row[0] in index:
                    values[index[row[0]]] = int(row[column]) * 10_000  # 万元 → yuan
                    found += 1
            if found != len(index):
                raise ValueError(f"{name}: {len(index) - found} provinces missing")
            targets[(flow, year, month)] = values
    return targets


def province_targets(flow: str, year: int, month: int) -> np.ndarray:
    """Yuan per 注册地 province for a month: the sample location table's month figure; a month outside
    the sample takes the same month of the nearest sample year."""
    targets = _location_table_months()
    years = sorted({y for _, y, _ in targets})
    return targets[(flow, min(max(year, years[0]), years[-1]), month)]


@dataclass(frozen=True)
class _Encoded:
    """Every field's text, ready for the line template."""

    product_partner: list[str]  # "hs8","name","partner","name",   indexed product * n_partners + partner
    mode_region: list[str]  # "mode","name","注册地","name","      (opening quote of 第一数量 included)
    unit_1: list[str]  # ","unit_1","                           per product
    unit_2: list[str]  # ","unit_2 or ?","                      per product
    value_scale: np.ndarray  # per product
    price_fen: np.ndarray
    grams: np.ndarray  # 0 where the product has no second unit (second quantity 0, unit ?)


@lru_cache(maxsize=1)
def _encoded() -> _Encoded:
    dims = dimensions()
    encoded = _Encoded(
        product_partner=[_quoted(p.hs8, p.name_zh, code, name) for p in dims.products for code, name in dims.partners],
        mode_region=[_quoted(m, m_name, r, r_name) + '"' for m, m_name in dims.modes for r, r_name in dims.regions],
        unit_1=[f'","{p.unit_1}","' for p in dims.products],
        unit_2=[f'","{p.unit_2 if p.has_unit_2 else "?"}","' for p in dims.products],
        value_scale=np.array([p.value_scale for p in dims.products], dtype=np.int64),
        price_fen=np.array([p.price_fen for p in dims.products], dtype=np.int64),
        grams=np.array([p.grams_per_unit if p.has_unit_2 else 0 for p in dims.products], dtype=np.int64),
    )
    for p in dims.products:
        # The largest numbers a row can hold must fit int64 (checked once, exactly, in Python ints),
        # and no name may hold a quote (the platform does not escape them, and neither does this).
        q1 = VALUE_MAX * 10_000 // (p.price_fen * 75)
        if q1 * max(p.grams_per_unit, 1) * 110 >= 2**62:
            raise ValueError(f"scale: quantities of {p.hs8} would overflow 64-bit integers")
    if any('"' in name for _, name in (*dims.partners, *dims.modes, *dims.regions)) or any(
        '"' in p.name_zh for p in dims.products
    ):
        raise ValueError("scale: a name holds a double quote")
    return encoded


# --------------------------------------------------------------------------------------------
# Rows of one month
# --------------------------------------------------------------------------------------------


def _month_rng(seed: int, flow: str, year: int, month: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, FLOWS.index(flow), year, month])))


def _too_many(n: int, period: str, capacity: int) -> str:
    return (f"{n:,} rows in {period} is more than the {capacity:,} distinct (HS8, partner, trade mode, 注册地) "
            "keys a month of the sample can hold: spread the rows over more months")


def _month_keys(rng: np.random.Generator, flow: str, period: str, n: int) -> np.ndarray:
    """n distinct keys (flat indices of product × partner × mode × region), weighted, sorted."""
    keys, weights = _weights(flow, period >= "2022-01")
    if n > len(keys):
        raise ValueError(_too_many(n, period, len(keys)))
    if n == 0:
        return np.empty(0, dtype=np.int64)
    clocks = rng.standard_exponential(len(keys), dtype=np.float32)
    clocks /= weights
    chosen = keys[np.argpartition(clocks, n - 1)[:n]] if n < len(keys) else keys.copy()
    chosen.sort()
    return chosen


def _products_of(keys: np.ndarray) -> np.ndarray:
    _, n_partners, n_modes, n_regions = dimensions().shape
    return keys // (n_modes * n_regions * n_partners)


def _month_values(keys: np.ndarray, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row's yuan: its province's target split over the province's rows in proportion to
    value_scale × U{1..1000} × U{1..1000}, rounded down (so a province never exceeds its target)."""
    n_regions = dimensions().shape[3]
    n = len(keys)
    region = keys % n_regions
    weights = (_encoded().value_scale[_products_of(keys)] * rng.integers(1, VALUE_FACTOR_MAX + 1, n)
               * rng.integers(1, VALUE_FACTOR_MAX + 1, n)).astype(np.float64)  # exact: below 2**53
    per_region = np.bincount(region, weights=weights, minlength=n_regions)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = targets / per_region  # a province without rows this month: not used
    return np.clip(np.floor(weights * rate[region]), 1, VALUE_MAX).astype(np.int64)


def _render_batch(keys: np.ndarray, value: np.ndarray, month_field: str, rng: np.random.Generator) -> bytes:
    """The lines of a batch of keys (sorted) and their values, as GB18030 bytes."""
    enc = _encoded()
    _, n_partners, n_modes, n_regions = dimensions().shape
    n = len(keys)
    mode_region = keys % (n_modes * n_regions)
    product_partner = keys // (n_modes * n_regions)
    product = product_partner // n_partners
    q1 = value * 10_000 // (enc.price_fen[product] * rng.integers(75, 126, n))
    q2 = q1 * enc.grams[product] * rng.integers(90, 111, n) // 100_000
    pp, mr, u1, u2 = enc.product_partner, enc.mode_region, enc.unit_1, enc.unit_2
    text = "".join([
        f'{month_field}{pp[a]}{mr[b]}{c}{u1[p]}{d}{u2[p]}{v:,}",\n'
        for a, b, p, c, d, v in zip(product_partner.tolist(), mode_region.tolist(), product.tolist(),
                                    q1.tolist(), q2.tolist(), value.tolist())
    ])
    return text.encode(ENCODING)


def month_lines(seed: int, flow: str, year: int, month: int, n: int) -> Iterator[bytes]:
    """The n lines of one month, in batches of encoded bytes."""
    rng = _month_rng(seed, flow, year, month)
    keys = _month_keys(rng, flow, f"{year:04d}-{month:02d}", n)
    if n == 0:
        return
    values = _month_values(keys, province_targets(flow, year, month), rng)
    month_field = _quoted(f"{year:04d}{month:02d}")
    for start in range(0, len(keys), BATCH_ROWS):
        end = start + BATCH_ROWS
        yield _render_batch(keys[start:end], values[start:end], month_field, rng)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def parse_months(text: str) -> list[tuple[int, int]]:
    """'2018-01..2025-12' (or one month '2024-03') → [(2018, 1), …]."""
    first, _, last = text.partition("..")
    return months_between(first, last or first)


def split_rows(total: int, n_months: int) -> list[int]:
    """total rows over n months as evenly as possible, the earlier months taking the remainder."""
    base, extra = divmod(total, n_months)
    return [base + (1 if i < extra else 0) for i in range(n_months)]


def _write_atomically(path: Path, chunks: Iterator[bytes]) -> int:
    """Write through a hidden partial file, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    size = 0
    try:
        with open(partial, "wb", buffering=0) as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return size


def _check(flow: str, months: Sequence[tuple[int, int]], counts: Sequence[int]) -> None:
    if flow not in FLOWS:
        raise ValueError(f"flow must be one of {', '.join(FLOWS)}, got {flow!r}")
    if not months:
        raise ValueError("no months")
    for (year, month), n in zip(months, counts):
        if n < 0:
            raise ValueError("row counts cannot be negative")
        period = f"{year:04d}-{month:02d}"
        if n > (capacity := month_capacity(flow, period)):
            raise ValueError(_too_many(n, period, capacity))


def write_scale_file(
    out_dir: Path, rows: int, months: str = "..".join(DEFAULT_MONTHS), flow: str = "exports",
    seed: int = DEFAULT_SEED,
) -> ScaleFile:
    """One file of exactly `rows` rows spread evenly over `months` ('2018-01..2025-12')."""
    span = parse_months(months)
    counts = split_rows(rows, len(span))
    _check(flow, span, counts)
    if rows < 1:
        raise ValueError("a query export needs at least one row")
    first, last = f"{span[0][0]:04d}-{span[0][1]:02d}", f"{span[-1][0]:04d}-{span[-1][1]:02d}"
    path = Path(out_dir) / FILE_NAME.format(first=first, last=last, flow=flow)

    def chunks() -> Iterator[bytes]:
        yield HEADER_LINE
        for (year, month), n in zip(span, counts):
            yield from month_lines(seed, flow, year, month, n)

    started = time.perf_counter()
    size = _write_atomically(path, chunks())
    return ScaleFile(path, rows, size, time.perf_counter() - started)


def write_scale_months(
    out_dir: Path, months: str, rows_per_month: int, flow: str = "exports", seed: int = DEFAULT_SEED,
) -> list[ScaleFile]:
    """One file per month of `rows_per_month` rows each; a month's file does not depend on the others."""
    span = parse_months(months)
    _check(flow, span, [rows_per_month] * len(span))
    if rows_per_month < 1:
        raise ValueError("a query export needs at least one row")
    written = []
    for year, month in span:
        path = Path(out_dir) / MONTH_FILE_NAME.format(period=f"{year:04d}-{month:02d}", flow=flow)
        started = time.perf_counter()
        size = _write_atomically(path, _chain(HEADER_LINE, month_lines(seed, flow, year, month, rows_per_month)))
        written.append(ScaleFile(path, rows_per_month, size, time.perf_counter() - started))
    return written


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
