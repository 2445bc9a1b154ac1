"""SAMPLE monthly location tables (进出口商品收发货人所在地总值表), 2018-01 … 2025-12.

Why this exists: the pipeline needs a full, realistic release history to run
end to end, and the real GACC files cannot be redistributed in the repo. This
module writes look-alike files in the real CSV layout (as scraped from the
customs site; see ../shared/fixtures/real/gacc_location_monthly/), every one
clearly labelled SAMPLE DATA in its title row and in its last row.

How the numbers are made:
- `dbt_project/seeds/published_annual_totals.csv` is the single source of truth:
  for China (CN) and the four YRD provinces the twelve months of each year add
  up exactly to the seed's annual exports and imports (亿元 × 10000 → 万元).
- Each annual flow is spread over the months with the typical seasonality of the
  real series (February lowest, December highest) and a little noise drawn from
  `random.Random(<stable string>)`; integer largest-remainder rounding keeps
  the sum exact. No floats and no `hash()`, so the bytes are the same on every
  call and every machine.
- The other 27 provinces share "China minus the YRD" month by month with fixed
  weights (nudged by a seeded ±4% per year), so provinces always add up to 总值
  exactly.
- Development-zone rows under each YRD province are fixed fractions of it and
  add up to less than it: a zone is a part of its province, never an extra.

Only the standard library is used, so the generator runs anywhere.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

SAMPLE_FIRST_PERIOD = "2018-01"
SAMPLE_LAST_PERIOD = "2025-12"

REPO_ROOT = Path(__file__).resolve().parents[2]
SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"
PROVINCES_SEED = SEEDS_DIR / "provinces.csv"
ANNUAL_TOTALS_SEED = SEEDS_DIR / "published_annual_totals.csv"

NATION_CODE = "CN"
NATION_ROW_NAME = "总值"
FLOWS = ("exports", "imports")
FILE_NAME = "sample-location-{year:04d}-{month:02d}.csv"
FIELDS_PER_ROW = 10

# Share of the year's trade in each month (percent × 10), as in the real GACC series:
# Chinese New Year makes February the lowest month, year-end shipments make December the highest.
SEASONALITY = (84, 63, 82, 83, 85, 84, 87, 87, 88, 81, 87, 99)
# Monthly noise of up to ±3% (in basis points), so the sample does not look machine-flat.
NOISE_BP = 300

# The other 27 provinces split "China minus YRD" with these fixed (exports, imports) weights.
# They are rounded magnitudes (亿元) of a recent year, so Guangdong leads, Beijing is
# import-heavy (head offices of energy importers) and Tibet/Qinghai are tiny.
REST_OF_CHINA_WEIGHTS: dict[str, tuple[int, int]] = {
    "110000": (6065, 30018),  # 北京市
    "120000": (3914, 4202),  # 天津市
    "130000": (3725, 2425),  # 河北省
    "140000": (1066, 678),  # 山西省
    "150000": (853, 1220),  # 内蒙古自治区
    "210000": (3777, 3854),  # 辽宁省
    "220000": (677, 1087),  # 吉林省
    "230000": (870, 2253),  # 黑龙江省
    "350000": (12386, 7512),  # 福建省
    "360000": (3046, 1662),  # 江西省
    "370000": (20812, 12995),  # 山东省
    "410000": (5227, 2975),  # 河南省
    "420000": (4863, 2195),  # 湖北省
    "430000": (3345, 2292),  # 湖南省
    "440000": (58916, 32211),  # 广东省
    "450000": (4428, 3136),  # 广西壮族自治区
    "460000": (1062, 1714),  # 海南省
    "500000": (5074, 2081),  # 重庆市
    "510000": (6178, 4279),  # 四川省
    "520000": (579, 283),  # 贵州省
    "530000": (925, 1563),  # 云南省
    "540000": (113, 13),  # 西藏自治区
    "610000": (3063, 1477),  # 陕西省
    "620000": (127, 488),  # 甘肃省
    "630000": (44, 16),  # 青海省
    "640000": (151, 55),  # 宁夏回族自治区
    "650000": (3700, 651),  # 新疆维吾尔自治区
}

# Year-to-year wobble of those weights, in per mille (see _rest_weight).
REST_DRIFT_PERMILLE = 40

# Sub-rows printed under each YRD province, with real names and the fraction (parts per
# million) of the province's exports and imports they carry, close to the real table.
# The real table nests zones under cities (苏州工业园 is inside 苏州市), so its sub-rows can
# add up to more than the province; here a subset is kept whose fractions stay well below
# the whole, so "zones sum to less than their province" holds in every month and flow.
ZONES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "310000": (
        ("漕河泾新兴技术开发区", 18130, 13463),
        ("虹桥经济技术开发区", 4, 1),
        ("闵行经济技术开发区", 3345, 1623),
        ("上海浦东新区", 551030, 655415),
    ),
    "320000": (
        ("南京市", 94788, 101623),
        ("无锡市", 137877, 136042),
        ("苏州市", 448077, 500074),
        ("苏州工业园", 96053, 173340),
    ),
    "330000": (
        ("杭州市", 152328, 191394),
        ("杭州经济技术开发区", 14080, 20012),
        ("杭州高新技术产业开发区", 5264, 7649),
        ("宁波市", 242087, 349475),
        ("宁波及宁波大榭经济技术开发区", 20320, 68119),
        ("宁波高新技术产业开发区", 7304, 9398),
        ("宁波杭州湾经济技术开发区", 4252, 2414),
        ("温州市", 64514, 30684),
        ("温州经济技术开发区", 4319, 92),
        ("湖州市", 39189, 9820),
        ("湖州经济技术开发区", 234, 639),
        ("湖州莫干山高新技术产业开发区", 386, 620),
        ("金华市", 197637, 79191),
        ("金华经济技术开发区", 1579, 844),
        ("台州市", 61084, 17668),
        ("台州湾经济技术开发区", 13, 48),
    ),
    "340000": (
        ("合肥市", 443767, 427216),
        ("合肥经济技术开发区", 171691, 214722),
        ("芜湖市", 207734, 93767),
        ("马鞍山市", 51563, 60300),
    ),
}
PPM = 1_000_000

# Header rows exactly as in the real files (a pandas MultiIndex flattened by the scraper).
UNIT_HEADER = [f"Unnamed: {i}_level_0" for i in range(7)] + ["单位：万人民币"] * 3
GROUP_HEADER = [
    "收发货人所在地", "进出口", "进出口", "出口", "出口", "进口", "进口",
    "累计比去年同期±％", "累计比去年同期±％.1", "累计比去年同期±％.2",
]
TITLE = "{year}年{month}月进出口商品收发货人所在地总值表（人民币值）（样本数据 SAMPLE DATA）"
# The real footer note, repeated in every cell as the scraper left it.
FOOTER_NOTE = (
    "注：根据海关总署公告〔2016〕20 号，原“经营单位”调整为“收发货人”，本表表名相应调整为"
    "“进出口收发货人所在地总值表（人民币值）”，详见海关总署公告〔2016〕20 号。"
)
SAMPLE_NOTE = (
    "样本数据：由项目的样本发布生成器生成，非海关官方数据 "
    "(SAMPLE DATA generated by this project, not official GACC figures)"
)

_PERIOD = re.compile(r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class _Province:
    code: str
    name_zh: str
    is_yrd: bool


# One location's monthly values for one year: flow -> 12 integers in 万元.
_YearSeries = dict[str, list[int]]


def _parse_period(text: str) -> tuple[int, int]:
    match = _PERIOD.match(text.strip())
    if not match:
        raise ValueError(f"period must look like 2024-03, got {text!r}")
    return int(match["year"]), int(match["month"])


def _to_wan(value: str, where: str) -> int:
    """亿元 text from the seed → integer 万元 (亿元 × 10000), rounded half up."""
    try:
        amount = Decimal(value) * 10_000
    except ArithmeticError:
        raise ValueError(f"{where}: not a number: {value!r}") from None
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def _load_provinces(path: Path = PROVINCES_SEED) -> list[_Province]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    provinces = [
        _Province(r["region_code"].strip(), r["region_name_zh"].strip(), r["is_yrd"].strip().lower() == "true")
        for r in rows
    ]
    # The real table lists provinces in GB/T 2260 code order (北京市, 天津市, … 新疆维吾尔自治区).
    provinces.sort(key=lambda p: p.code)
    missing = sorted(set(REST_OF_CHINA_WEIGHTS) - {p.code for p in provinces if not p.is_yrd})
    if missing or len(provinces) != 31:
        raise ValueError(f"{path}: expected 31 provinces incl. {missing or 'all weighted ones'}")
    return provinces


def _load_annual_totals(path: Path = ANNUAL_TOTALS_SEED) -> dict[tuple[str, int], dict[str, int]]:
    """(region_code, year) -> {'total', 'exports', 'imports'} in integer 万元."""
    totals: dict[tuple[str, int], dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name} line {line}"
            key = (row["region_code"].strip(), int(row["year"]))
            values = {
                flow: _to_wan(row[f"{flow}_100m_cny"], where) for flow in ("total", "exports", "imports")
            }
            if values["exports"] + values["imports"] != values["total"]:
                raise ValueError(f"{where}: exports + imports != total for {key}")
            if key in totals:
                raise ValueError(f"{where}: {key} appears twice")
            totals[key] = values
    return totals


def _allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split a non-negative integer in proportion to integer weights, summing exactly
    (largest remainder; ties go to the earlier item so the result is deterministic)."""
    weight_sum = sum(weights)
    if total < 0 or weight_sum <= 0:
        raise ValueError(f"cannot allocate {total} over weights summing to {weight_sum}")
    parts = [divmod(total * w, weight_sum) for w in weights]
    shares = [quotient for quotient, _ in parts]
    leftover = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda k: (-parts[k][1], k))
    for k in by_remainder[:leftover]:
        shares[k] += 1
    return shares


def _spread_over_months(annual: int, seed: str) -> list[int]:
    """Twelve monthly integers summing exactly to `annual`, seasonal plus seeded noise."""
    rng = random.Random(seed)  # a str seed becomes an int via its bytes + SHA-512, not hash(): stable everywhere
    weights = [share * (10_000 + rng.randint(-NOISE_BP, NOISE_BP)) for share in SEASONALITY]
    return _allocate(annual, weights)


def _rest_weight(code: str, year: int, flow_index: int) -> int:
    """A non-YRD province's fixed weight, nudged by a seeded ±4% per year so that its
    growth rate is not identical to every other province's (which would look machine-made)."""
    drift = random.Random(f"{code}-{year}-{FLOWS[flow_index]}").randint(-REST_DRIFT_PERMILLE, REST_DRIFT_PERMILLE)
    return REST_OF_CHINA_WEIGHTS[code][flow_index] * (1000 + drift)


def _zone_key(province_code: str, zone_name: str) -> str:
    return f"{province_code}/{zone_name}"


def _build_series(
    provinces: list[_Province], totals: dict[tuple[str, int], dict[str, int]]
) -> tuple[list[int], dict[str, dict[int, _YearSeries]]]:
    """All locations' monthly exports and imports for every seed year."""
    yrd = [p.code for p in provinces if p.is_yrd]
    if sorted(yrd) != sorted(ZONES):
        raise ValueError(f"provinces seed marks {yrd} as YRD; the generator has zones for {sorted(ZONES)}")
    years = sorted(year for code, year in totals if code == NATION_CODE)
    if not years or years != list(range(years[0], years[-1] + 1)):
        raise ValueError(f"{ANNUAL_TOTALS_SEED.name}: China (CN) years must be contiguous, got {years}")
    for code in yrd:
        absent = [y for y in years if (code, y) not in totals]
        if absent:
            raise ValueError(f"{ANNUAL_TOTALS_SEED.name}: {code} has no row for {absent}")

    rest_codes = [p.code for p in provinces if not p.is_yrd]
    series: dict[str, dict[int, _YearSeries]] = {}
    for year in years:
        # China and the YRD provinces: calibrated to the seed, each with its own noise.
        for code in [NATION_CODE, *yrd]:
            series.setdefault(code, {})[year] = {
                flow: _spread_over_months(totals[(code, year)][flow], f"{code}-{year}-{flow}") for flow in FLOWS
            }
        # The rest of China, month by month, so every month's provinces add up to 总值.
        for code in rest_codes:
            series.setdefault(code, {})[year] = {flow: [] for flow in FLOWS}
        for f, flow in enumerate(FLOWS):
            weights = [_rest_weight(code, year, f) for code in rest_codes]
            for m in range(12):
                rest = series[NATION_CODE][year][flow][m] - sum(series[c][year][flow][m] for c in yrd)
                if rest < 0:
                    raise ValueError(f"{year}-{m + 1:02d} {flow}: the YRD exceeds China in the seed")
                for code, value in zip(rest_codes, _allocate(rest, weights)):
                    series[code][year][flow].append(value)
        # Zones: fixed fractions of their province, rounded down, so they never exceed it.
        for code in yrd:
            for name, exports_ppm, imports_ppm in ZONES[code]:
                ppm = {"exports": exports_ppm, "imports": imports_ppm}
                series.setdefault(_zone_key(code, name), {})[year] = {
                    flow: [v * ppm[flow] // PPM for v in series[code][year][flow]] for flow in FLOWS
                }
    return years, series


def _yoy(current: int, previous: int | None) -> str:
    """Year-to-date growth in percent, one decimal, as GACC prints it ('--' with no base year)."""
    if previous is None:
        return "--"
    if previous == 0:
        return "-"
    with localcontext() as context:
        context.prec = 28
        pct = (Decimal(current - previous) * 100 / Decimal(previous)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return "0.0" if pct == 0 else str(pct)


def _render(
    year: int, month: int, rows: list[tuple[str, str]], series: dict[str, dict[int, _YearSeries]]
) -> bytes:
    def padded(first_cell: str) -> list[str]:
        return [first_cell] + [""] * (FIELDS_PER_ROW - 1)

    month_header = ["收发货人所在地"] + [f"{month}月", f"1至{month}月"] * 3 + ["进出口", "出口", "进口"]
    table = [padded(TITLE.format(year=year, month=month)), UNIT_HEADER, GROUP_HEADER, month_header]
    for label, key in rows:
        this_year = series[key][year]
        last_year = series[key].get(year - 1)
        cells = [label]
        ytd: dict[str, int] = {}
        for flow in FLOWS:
            ytd[flow] = sum(this_year[flow][:month])
        ytd_total = ytd["exports"] + ytd["imports"]
        month_value = {flow: this_year[flow][month - 1] for flow in FLOWS}
        # January: the month column equals the year-to-date column, as in the real 2024-01 file.
        cells += [str(month_value["exports"] + month_value["imports"]), str(ytd_total)]
        for flow in FLOWS:
            cells += [str(month_value[flow]), str(ytd[flow])]
        if last_year is None:
            cells += ["--"] * 3
        else:
            prev = {flow: sum(last_year[flow][:month]) for flow in FLOWS}
            cells.append(_yoy(ytd_total, prev["exports"] + prev["imports"]))
            cells += [_yoy(ytd[flow], prev[flow]) for flow in FLOWS]
        table.append(cells)
    table.append([FOOTER_NOTE] * FIELDS_PER_ROW)
    table.append(padded(SAMPLE_NOTE))

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)  # CRLF, as in the real files
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # UTF-8 with BOM, as in the real files


def _months(first: str, last: str, years: list[int]) -> list[tuple[int, int]]:
    start, end = _parse_period(first), _parse_period(last)
    if start > end:
        raise ValueError(f"first period {first} is after last period {last}")
    if start[0] < years[0] or end[0] > years[-1]:
        raise ValueError(
            f"{first} … {last} is outside the seed's years {years[0]}–{years[-1]} ({ANNUAL_TOTALS_SEED.name})"
        )
    months = []
    year, month = start
    while (year, month) <= end:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def generate_location_tables(first: str = SAMPLE_FIRST_PERIOD, last: str = SAMPLE_LAST_PERIOD) -> dict[str, bytes]:
    """file name -> file bytes, deterministic (same bytes on every call, every machine)."""
    provinces = _load_provinces()
    years, series = _build_series(provinces, _load_annual_totals())
    rows: list[tuple[str, str]] = [(NATION_ROW_NAME, NATION_CODE)]
    for province in provinces:
        rows.append((province.name_zh, province.code))
        for name, _, _ in ZONES.get(province.code, ()):
            rows.append((name, _zone_key(province.code, name)))
    return {
        FILE_NAME.format(year=year, month=month): _render(year, month, rows, series)
        for year, month in _months(first, last, years)
    }


def write_location_tables(
    out_dir: Path, first: str = SAMPLE_FIRST_PERIOD, last: str = SAMPLE_LAST_PERIOD
) -> list[Path]:
    """writes them; returns the paths."""
    from . import write_files

    return write_files(out_dir, generate_location_tables(first, last))
