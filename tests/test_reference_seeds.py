"""The reference seeds agree with their sources and with each other: HS sections and chapters, partner
groups, the monthly CNY/USD rate and the HS2022 -> HS2017 concordance (checked against the UN Comtrade
correlation table kept in ../shared/reference beside the checkout)."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, SHARED, require_real

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
COMTRADE_CONCORDANCE = SHARED / "reference" / "hs_concordance_comtrade.csv"

NEW_THREE_HS6 = {"870360", "870370", "870380", "850760", "854140", "854141", "854142", "854143", "854149"}
HS6_METHODS = {"un_comtrade_hs2022_hs2017_table", "equal_split_unknown_weights"}

EU27 = set("AUT BEL BGR HRV CYP CZE DNK EST FIN FRA DEU GRC HUN IRL ITA LVA LTU LUX MLT NLD POL PRT ROU SVK SVN ESP SWE".split())
ASEAN10 = set("BRN KHM IDN LAO MYS MMR PHL SGP THA VNM".split())
# RCEP: 15 signatories; China is not a member of its own partner groups, so 14 here, with entry into force.
RCEP_OTHER_14 = {
    "BRN": "2022-01-01", "KHM": "2022-01-01", "LAO": "2022-01-01", "SGP": "2022-01-01", "THA": "2022-01-01",
    "VNM": "2022-01-01", "JPN": "2022-01-01", "AUS": "2022-01-01", "NZL": "2022-01-01", "KOR": "2022-02-01",
    "MYS": "2022-03-18", "MMR": "2022-05-01", "IDN": "2023-01-02", "PHL": "2023-06-02",
}


def read_seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_reference_2022_to_2017() -> dict[tuple[str, str], str]:
    """(HS2022 code, HS2017 code) -> relationship, codes padded back to six digits."""
    path = require_real(COMTRADE_CONCORDANCE)
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            (r["code.after"].zfill(6), r["code.before"].zfill(6)): r["Relationship"]
            for r in csv.DictReader(handle)
            if r["adjustment"] == "2022 to 2017"
        }


@pytest.fixture(scope="module")
def concordance() -> list[dict[str, str]]:
    return read_seed("hs_concordance_2017_2022")


@pytest.fixture(scope="module")
def hs6_rows(concordance) -> list[dict[str, str]]:
    return [r for r in concordance if r["method"] in HS6_METHODS]


# ---------------------------------------------------------------------------------------------
# HS2022 -> HS2017 concordance
# ---------------------------------------------------------------------------------------------


def test_concordance_columns_and_codes(concordance):
    assert list(concordance[0]) == [
        "from_revision", "from_code", "to_revision", "to_code", "relationship", "concordance_group",
        "weight", "method", "product_group",
    ]
    for r in concordance:
        assert (r["from_revision"], r["to_revision"]) == ("HS2022", "HS2017"), r
        assert r["relationship"] in {"1:1", "n:1", "1:n", "n:n"}, r
        assert r["method"] in HS6_METHODS | {"china_national_subheading"}, r
        digits = 8 if r["method"] == "china_national_subheading" else 6
        assert len(r["from_code"]) == len(r["to_code"]) == digits and (r["from_code"] + r["to_code"]).isdigit(), r
    keys = [(r["from_code"], r["to_code"]) for r in concordance]
    assert len(keys) == len(set(keys)), "a from_code/to_code pair is listed twice"
    assert keys == sorted(keys), "the seed is kept sorted by from_code, to_code"


def test_every_hs6_row_is_in_the_reference_with_its_relationship(hs6_rows):
    reference = read_reference_2022_to_2017()
    wrong = [
        (r["from_code"], r["to_code"], r["relationship"], reference.get((r["from_code"], r["to_code"])))
        for r in hs6_rows
        if reference.get((r["from_code"], r["to_code"])) != r["relationship"]
    ]
    assert not wrong, f"rows not in the reference or with another relationship (seed, reference): {wrong[:10]}"


# HS2022 codes of new cross-cutting headings (8524 flat-panel display modules, 8549 e-waste) draw on
# hundreds of HS2017 codes each: no continuous series runs through them, so the seed leaves them out.
MAX_HS2017_TARGETS = 20


def test_every_reference_row_of_a_seeded_code_is_in_the_seed(hs6_rows):
    """Completeness: every HS2022 source of each reported HS2017 code (the catalogue's and the new
    three's) is present, and every HS2017 target of each HS2022 code in the seed (weights complete)."""
    from orchestration.samples.catalogue import products

    reference = read_reference_2022_to_2017()
    targets = defaultdict(int)
    for new, _old in reference:
        targets[new] += 1
    reference = {pair: rel for pair, rel in reference.items() if targets[pair[0]] <= MAX_HS2017_TARGETS}
    seeded = {(r["from_code"], r["to_code"]) for r in hs6_rows}
    hs2017 = {p.hs8[:6] for p in products()} | NEW_THREE_HS6
    hs2022 = {r["from_code"] for r in hs6_rows}
    missing = sorted(pair for pair in reference if (pair[1] in hs2017 or pair[0] in hs2022) and pair not in seeded)
    assert not missing, f"{len(missing)} reference rows missing, e.g. {missing[:10]}"


def test_concordance_covers_the_catalogue_and_the_new_three(hs6_rows):
    from orchestration.samples.catalogue import products

    wanted = {p.hs8[:6] for p in products()} | NEW_THREE_HS6
    present = {r["from_code"] for r in hs6_rows} | {r["to_code"] for r in hs6_rows}
    assert wanted <= present, f"HS6 codes without concordance rows: {sorted(wanted - present)}"


def test_weights_of_each_from_code_sum_to_one(concordance):
    sums: dict[str, Decimal] = defaultdict(Decimal)
    targets: dict[str, int] = defaultdict(int)
    for r in concordance:
        weight = Decimal(r["weight"])
        assert Decimal(0) < weight <= Decimal(1), r
        sums[r["from_code"]] += weight
        targets[r["from_code"]] += 1
    assert {code: s for code, s in sums.items() if s != 1} == {}
    for r in concordance:
        k = targets[r["from_code"]]
        if r["method"] in HS6_METHODS:
            # one target: weight 1 from the table; several: the equal split 1/k to within rounding
            assert r["method"] == ("un_comtrade_hs2022_hs2017_table" if k == 1 else "equal_split_unknown_weights"), r
            assert abs(Decimal(r["weight"]) - Decimal(1) / k) <= Decimal("0.000001"), r


def test_concordance_groups_are_the_connected_components(hs6_rows):
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for r in hs6_rows:
        parent[find("new" + r["from_code"])] = find("old" + r["to_code"])
    smallest: dict[str, str] = {}
    for r in hs6_rows:
        root = find("old" + r["to_code"])
        smallest[root] = min(smallest.get(root, r["to_code"]), r["to_code"])
    wrong = [r for r in hs6_rows if r["concordance_group"] != smallest[find("old" + r["to_code"])]]
    assert not wrong, wrong[:5]


def test_solar_switch_and_product_groups(concordance):
    by_pair = {(r["from_code"], r["to_code"]): r for r in concordance}
    for hs8 in ("85414200", "85414300"):
        row = by_pair[(hs8, "85414020")]
        assert (row["relationship"], row["concordance_group"], row["weight"], row["method"], row["product_group"]) == (
            "n:1", "854140", "1.000000", "china_national_subheading", "solar_cells")
    marked = {(r["from_code"], r["to_code"]): r["product_group"] for r in concordance if r["product_group"]}
    assert marked == {
        ("854142", "854140"): "solar_cells",
        ("854143", "854140"): "solar_cells",
        ("85414200", "85414020"): "solar_cells",
        ("85414300", "85414020"): "solar_cells",
        ("850760", "850760"): "lithium_ion_batteries",
        ("870380", "870380"): "electric_vehicles",
    }


# ---------------------------------------------------------------------------------------------
# HS sections and chapters
# ---------------------------------------------------------------------------------------------


def test_sections_partition_the_chapters():
    sections = read_seed("hs_sections")
    assert [int(s["section_number"]) for s in sections] == list(range(1, 22))
    romans = "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX XXI".split()
    assert [s["section"] for s in sections] == romans
    assert sections[0]["chapter_from"] == "01" and sections[-1]["chapter_to"] == "97"
    for before, after in zip(sections, sections[1:]):
        assert int(after["chapter_from"]) == int(before["chapter_to"]) + 1, (before, after)
    for s in sections:
        assert len(s["chapter_from"]) == len(s["chapter_to"]) == 2 and s["chapter_from"] <= s["chapter_to"], s
        assert s["name_en"].strip() and s["name_zh"].strip(), s


def test_chapters_cover_01_to_97_without_77_each_inside_its_section():
    sections = {s["section_number"]: s for s in read_seed("hs_sections")}
    chapters = read_seed("hs_chapters")
    assert [c["chapter"] for c in chapters] == [f"{n:02d}" for n in range(1, 98) if n != 77]
    for c in chapters:
        s = sections[c["section_number"]]
        assert s["chapter_from"] <= c["chapter"] <= s["chapter_to"], (c["chapter"], s["section"])
        assert c["name_en"].strip() and c["name_zh"].strip(), c
    by_number = {c["chapter"]: c for c in chapters}
    assert by_number["85"]["name_zh"].startswith("电机、电气设备及其零件")
    assert by_number["01"]["name_zh"] == "活动物"


# ---------------------------------------------------------------------------------------------
# CNY per USD
# ---------------------------------------------------------------------------------------------


def test_one_rate_per_month_2014_to_2026_within_bounds():
    rates = read_seed("cny_usd_rates")
    assert [(int(r["year"]), int(r["month"])) for r in rates] == [
        (y, m) for y in range(2014, 2027) for m in range(1, 13)
    ]
    for r in rates:
        assert Decimal("5.5") <= Decimal(r["cny_per_usd"]) <= Decimal("8.0"), r
        assert len(r["cny_per_usd"].split(".")[1]) == 4, r
        assert r["method"] in {
            "annual_average_central_parity", "estimated_annual_average_unverified", "estimated_carry_forward_2025",
        }, r
        assert r["source"].strip(), r
        if r["method"].startswith("estimated_"):
            assert "ESTIMATE" in r["source"], r


def test_rates_match_the_published_annual_averages():
    published = {
        2018: "6.6174", 2019: "6.8985", 2020: "6.8976", 2021: "6.4515", 2022: "6.7261", 2023: "7.0467", 2024: "7.1217",
    }
    for r in read_seed("cny_usd_rates"):
        if int(r["year"]) in published:
            assert (r["cny_per_usd"], r["method"]) == (published[int(r["year"])], "annual_average_central_parity"), r


# ---------------------------------------------------------------------------------------------
# Partner groups
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def partners() -> dict[str, dict[str, str]]:
    return {p["gacc_code"]: p for p in read_seed("partners")}


@pytest.fixture(scope="module")
def groups() -> list[dict[str, str]]:
    return read_seed("partner_groups")


def members_on(groups, partners, group: str, day: str) -> set[str]:
    """ISO3 codes of a group's members on a day (member_from/member_to inclusive, empty = open)."""
    when = dt.date.fromisoformat(day)
    return {
        partners[g["gacc_code"]]["iso3"]
        for g in groups
        if g["group_code"] == group
        and (not g["member_from"] or dt.date.fromisoformat(g["member_from"]) <= when)
        and (not g["member_to"] or when <= dt.date.fromisoformat(g["member_to"]))
    }


def test_group_members_are_partners_and_never_china(groups, partners):
    assert {g["group_code"] for g in groups} == {"EU", "ASEAN", "RCEP", "BRI"}
    unknown = sorted({g["gacc_code"] for g in groups} - set(partners))
    assert not unknown, f"codes not in partners.csv: {unknown}"
    assert not [g for g in groups if partners[g["gacc_code"]]["iso3"] in {"CHN", "HKG", "MAC", "TWN"}]
    pairs = [(g["group_code"], g["gacc_code"]) for g in groups]
    assert len(pairs) == len(set(pairs))
    for g in groups:
        assert g["source"].strip() and g["group_name_zh"].strip(), g
        for day in (g["member_from"], g["member_to"]):
            if day:
                dt.date.fromisoformat(day)
        if g["member_from"] and g["member_to"]:
            assert g["member_from"] <= g["member_to"], g


def test_eu_is_the_27_plus_the_uk_until_brexit(groups, partners):
    listed = {p["iso3"] for p in partners.values()}
    assert len(EU27) == 27
    assert members_on(groups, partners, "EU", "2025-01-01") == EU27 & listed
    assert members_on(groups, partners, "EU", "2020-01-31") == (EU27 | {"GBR"}) & listed
    assert "GBR" not in members_on(groups, partners, "EU", "2020-02-01")


def test_asean_is_the_ten(groups, partners):
    listed = {p["iso3"] for p in partners.values()}
    assert len(ASEAN10) == 10
    assert members_on(groups, partners, "ASEAN", "2014-01-01") == ASEAN10 & listed
    assert members_on(groups, partners, "ASEAN", "2025-01-01") == ASEAN10 & listed


def test_rcep_is_the_15_signatories_with_their_entry_into_force(groups, partners):
    listed = {p["iso3"] for p in partners.values()}
    assert len(RCEP_OTHER_14) + 1 == 15  # + China
    dates = {partners[g["gacc_code"]]["iso3"]: g["member_from"] for g in groups if g["group_code"] == "RCEP"}
    assert dates == {iso: day for iso, day in RCEP_OTHER_14.items() if iso in listed}
    assert members_on(groups, partners, "RCEP", "2021-12-31") == set()
    assert members_on(groups, partners, "RCEP", "2025-01-01") == set(RCEP_OTHER_14) & listed


def test_belt_and_road_dates(groups, partners):
    bri = {partners[g["gacc_code"]]["iso3"]: g for g in groups if g["group_code"] == "BRI"}
    assert {"PAK", "KAZ", "RUS", "HUN", "NZL"} <= set(bri)
    assert not {"USA", "JPN", "IND", "DEU", "FRA", "GBR"} & set(bri)
    assert "ITA" in members_on(groups, partners, "BRI", "2023-01-01")
    assert "ITA" not in members_on(groups, partners, "BRI", "2025-01-01")
    assert "ARG" not in members_on(groups, partners, "BRI", "2021-12-31")
