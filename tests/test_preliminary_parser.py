"""GACC English preliminary release, table (4) by country/region: the real page and broken variants.

The real page is read from ../shared (never copied here); the variants are made from its text in
tmp_path, or built as small pages with the same layout.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.ingest.errors import ReleaseRejected
from orchestration.ingest.periods import Period
from orchestration.ingest.preliminary import (
    FORMAT,
    NO_TABLE_REASON,
    RAW_TABLE,
    SCOPE,
    looks_like_preliminary_country,
    parse_preliminary_country,
)
from orchestration.ingest.release import ParseContext

from .conftest import REAL  # noqa: E402  (../shared/fixtures/real beside the checkout)
PAGES = REAL / "gacc_preliminary_html"
PAGE = PAGES / "section4-by-country-2026-03-cny.html"
CONTEXT = ParseContext(today=date(2026, 11, 28))
COLUMNS = ("source_row", *(c.name for c in RAW_TABLE.columns))
HUNDRED_MILLION = Decimal(100_000_000)


@pytest.fixture
def real_html() -> str:
    if not PAGE.exists():
        pytest.skip(f"real GACC preliminary page not found at {PAGE} (../shared is absent outside this workplace)")
    return PAGE.read_text(encoding="utf-8")


def _parse(tmp_path: Path, html: str, name: str = "section4.html", context: ParseContext = CONTEXT):
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return parse_preliminary_country(path, name, context)


def _rejection(tmp_path: Path, html: str, context: ParseContext = CONTEXT) -> ReleaseRejected:
    with pytest.raises(ReleaseRejected) as caught:
        _parse(tmp_path, html, context=context)
    return caught.value


def _rows(release) -> dict[str, dict]:
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in release.rows]
    return {r["partner_name"]: r for r in rows}


def _page(title: str, unit: str | None, header: list[list[str]], data: list[list[str]], note: str = "Note: test") -> str:
    """A small page laid out as GACC's: title row, unit row, header rows, partner rows, note row.
    Leading spaces in a label become &nbsp; indentation, as on the real site."""
    width = len(header[0])

    def cells(row: list[str]) -> str:
        out = []
        for cell in row:
            indent = len(cell) - len(cell.lstrip(" "))
            out.append(f"<td><span>{'&nbsp;' * indent}{cell.lstrip(' ')}</span></td>")
        return "<tr>" + "".join(out) + "</tr>"

    rows = [f'<tr><td colspan="{width}"><b>{title}</b></td></tr>']
    if unit is not None:
        rows.append(f'<tr><td colspan="{width}"><b>Unit: {unit}</b></td></tr>')
    rows += [cells(r) for r in header + data]
    rows.append(f'<tr><td colspan="{width}">{note}</td></tr>')
    return (
        f"<html><head><title>{title}</title></head><body>"
        f'<div class="atcl-ttl">{title}</div><div class="atcl-date">08/04/2018</div>'
        f'<div class="atcl-cnt"><table>{"".join(rows)}</table></div></body></html>'
    )


TEN_COLUMN_HEADER = [
    ["Import Source", "Export & Import", "Export & Import", "Export", "Export", "Import", "Import",
     "1-to-2 Total Year-on-Year (±%)", "1-to-2 Total Year-on-Year (±%)", "1-to-2 Total Year-on-Year (±%)"],
    ["Export Destination", "2", "1- to-2", "2", "1- to-2", "2", "1- to-2", "Export & Import", "Export", "Import"],
]  # fmt: skip
SEVEN_COLUMN_HEADER = [
    ["Import Source", "Export & Import", "Export", "Import",
     "1-to-2 Total Year-on-Year (±%)", "1-to-2 Total Year-on-Year (±%)", "1-to-2 Total Year-on-Year (±%)"],
    ["Export Destination", "1- to-2", "1- to-2", "1- to-2", "Export & Import", "Export", "Import"],
]  # fmt: skip
SEVEN_COLUMN_DATA = [
    ["Total", "65,429.3", "38,956.0", "26,473.3", "1.3", "3.4", "-1.6"],
    ["  European Union", "8,010.6", "5,270.3", "2,740.3", "-2.2", "2.6", "-10.2"],
    ["       of which: Germany", "2,243.7", "1,216.5", "1,027.2", "-5.2", "3.0", "-13.0"],
    ["                 France", "1,150.2", "628.9", "521.3", "2.2", "3.9", "0.2"],
    ["   Japan", "3,326.1", "1,703.1", "1,623.0", "1.2", "3.3", "-0.9"],
]  # fmt: skip


# --- the real page ----------------------------------------------------------------------------


def test_real_page_is_recognised_and_the_index_page_is_not(real_html):
    assert looks_like_preliminary_country(real_html[:4000])
    assert looks_like_preliminary_country(real_html)
    index = PAGES / "preliminary-index-2026.html"
    if index.exists():  # lists "(4) … by Country/Region" as a link: not the table itself
        assert not looks_like_preliminary_country(index.read_text(encoding="utf-8"))
    assert looks_like_preliminary_country(
        "<title>China's Total Value of Imports and Exports by Major Country (Region), Jan. 2018</title>"
    )


def test_real_page_release_metadata(tmp_path, real_html):
    release = _parse(tmp_path, real_html)
    assert (release.format, release.scope, release.flow) == (FORMAT, SCOPE, "both") == ("gacc_preliminary_country", "national", "both")
    assert release.period == Period(2026, 3, 3)
    assert (release.currency, release.unit) == ("CNY", "CNY 100 Million")
    assert release.title == "(4) China's Total Export & Import Values by Country/Region, Mar 2026 (in CNY)"
    assert release.raw_table.name == "preliminary_country_rows"
    assert release.rejected_rows == []
    assert any(n.startswith("Note: 1.The Association of Southeast Asian Nations") for n in release.notes)
    assert "published 2026-04-08" in release.notes
    assert not release.is_sample


def test_real_page_check_figures_converted_to_yuan(tmp_path, real_html):
    rows = _rows(_parse(tmp_path, real_html))
    total = rows["Total"]
    assert total["total_month"] == Decimal("41046.4") * HUNDRED_MILLION == Decimal(4_104_640_000_000)
    assert total["total_ytd"] == Decimal("118380.0") * HUNDRED_MILLION
    assert total["exports_ytd"] == Decimal("68466.7") * HUNDRED_MILLION
    assert total["imports_ytd"] == Decimal("49913.3") * HUNDRED_MILLION
    assert total["exports_month"] + total["imports_month"] == total["total_month"]
    assert (total["total_ytd_yoy_pct"], total["exports_ytd_yoy_pct"], total["imports_ytd_yoy_pct"]) == (
        Decimal("15.0"), Decimal("11.9"), Decimal("19.6"),
    )  # fmt: skip
    assert (total["period_start"], total["period_end"], total["currency"]) == (date(2026, 3, 1), date(2026, 3, 1), "CNY")
    # source_row is the row's 1-based index in the page's table: title, unit, two header rows, then Total.
    assert total["source_row"] == 5
    assert rows["United States (US)"]["imports_ytd_yoy_pct"] == Decimal("-19.7")


def test_real_page_has_30_partner_rows_with_groups_and_members_flagged(tmp_path, real_html):
    rows = _rows(_parse(tmp_path, real_html))
    assert len(rows) == 30
    for group in ("Total", "European Union", "ASEAN", "Latin America", "Africa",
                  "Regional Comprehensive Economic Partnership",
                  "Jointly build the countries along Belt and Road Routes"):  # fmt: skip
        assert rows[group]["is_group"], group
        assert not rows[group]["is_member"], group
    germany = rows["Germany"]
    assert (germany["partner_label"], germany["is_member"], germany["parent_group"]) == ("of which: Germany", True, "European Union")
    assert not germany["is_group"]
    for member, parent in (("Netherlands", "European Union"), ("Italy", "European Union"), ("Vietnam", "ASEAN"),
                           ("Philippines", "ASEAN"), ("Brazil", "Latin America"), ("South Africa", "Africa")):  # fmt: skip
        assert (rows[member]["is_member"], rows[member]["parent_group"]) == (True, parent), member
    # An indented country after a group's members is a partner in its own right.
    for country in ("United States (US)", "Japan", "Hong Kong, China", "New Zealand"):
        assert (rows[country]["is_group"], rows[country]["is_member"], rows[country]["parent_group"]) == (False, False, None)
    # Countries not in any group plus the groups' totals would overcount: only Total is China's total.
    plain = sum(r["total_ytd"] for r in rows.values() if not r["is_group"] and not r["is_member"])
    assert plain < rows["Total"]["total_ytd"]


# --- variants of the real page ----------------------------------------------------------------


def test_usd_edition(tmp_path, real_html):
    html = real_html.replace("(in CNY)", "(in USD)").replace("Unit: CNY 100 Million", "Unit: USD1 Million")
    release = _parse(tmp_path, html)
    assert (release.currency, release.unit) == ("USD", "USD1 Million")
    total = _rows(release)["Total"]
    assert total["total_month"] == Decimal("41046.4") * 1_000_000
    assert total["currency"] == "USD"


def test_unit_row_contradicting_the_title_is_rejected(tmp_path, real_html):
    error = _rejection(tmp_path, real_html.replace("Unit: CNY 100 Million", "Unit: USD1 Million"))
    assert "unit row says 'USD1 Million'" in error.reason and "title says (in CNY)" in error.reason
    assert (error.row, error.column) == (2, "1")
    error = _rejection(tmp_path, real_html.replace("(in CNY)", "(in USD)"))
    assert "unit row says 'CNY 100 Million' (CNY) but the title says (in USD)" in error.reason


def test_unknown_unit_is_rejected(tmp_path, real_html):
    error = _rejection(tmp_path, real_html.replace("Unit: CNY 100 Million", "Unit: CNY 100 Tons"))
    assert "unknown unit 'CNY 100 Tons'" in error.reason
    assert error.row == 2


def test_page_without_a_table_is_rejected_as_a_possible_image(tmp_path, real_html):
    html = re.sub(r"(?s)<table.*?</table>", '<img src="/Images/section4.png" />', real_html)
    assert "<table" not in html
    error = _rejection(tmp_path, html)
    assert error.reason == NO_TABLE_REASON == "no data table in the page (the release may be an image)"


def test_a_bad_number_rejects_that_row_only(tmp_path, real_html):
    assert real_html.count("41,046.4&nbsp;") == 1
    release = _parse(tmp_path, real_html.replace("41,046.4&nbsp;", "41,O46.4&nbsp;"))
    assert len(release.rejected_rows) == 1
    bad = release.rejected_rows[0]
    assert (bad.source_row, bad.column, bad.raw_value) == (5, "2 (Export & Import 3)", "41,O46.4")
    rows = _rows(release)
    assert "Total" not in rows and len(rows) == 29
    # The hierarchy is still read from every row: Germany stays a member of the EU.
    assert rows["Germany"]["parent_group"] == "European Union"


def test_a_dash_is_missing_not_zero(tmp_path, real_html):
    html = real_html.replace("4,873.2&nbsp;", "-&nbsp;", 1)
    eu = _rows(_parse(tmp_path, html))["European Union"]
    assert eu["total_month"] is None and eu["total_ytd"] == Decimal("14862.2") * HUNDRED_MILLION


def test_title_month_disagreeing_with_the_header_is_rejected(tmp_path, real_html):
    error = _rejection(tmp_path, real_html.replace("Mar 2026", "Apr 2026"))
    assert "month 3" in error.reason and "2026-04" in error.reason


def test_a_future_period_is_rejected(tmp_path, real_html):
    error = _rejection(tmp_path, real_html, context=ParseContext(today=date(2026, 2, 1)))
    assert "future" in error.reason


# --- the combined January–February release and the 2018 wording ------------------------------


def test_combined_january_february_seven_columns_is_one_release_with_months_null(tmp_path):
    title = "(4) China's Total Export & Import Values by Country/Region, January-February 2025 (in CNY)"
    release = _parse(tmp_path, _page(title, "CNY 100 Million", SEVEN_COLUMN_HEADER, SEVEN_COLUMN_DATA))
    assert release.period == Period(2025, 1, 2)
    rows = _rows(release)
    total = rows["Total"]
    assert (total["period_start"], total["period_end"]) == (date(2025, 1, 1), date(2025, 2, 1))
    assert total["total_ytd"] == Decimal("65429.3") * HUNDRED_MILLION
    assert total["exports_ytd"] == Decimal("38956.0") * HUNDRED_MILLION
    assert total["imports_ytd"] == Decimal("26473.3") * HUNDRED_MILLION
    assert all(r[f"{f}_month"] is None for r in rows.values() for f in ("total", "exports", "imports"))
    assert total["imports_ytd_yoy_pct"] == Decimal("-1.6")
    assert rows["France"]["parent_group"] == "European Union" and rows["European Union"]["is_group"]
    assert any("January–February" in n for n in release.notes)


def test_combined_january_february_with_month_columns_still_leaves_months_null(tmp_path):
    title = "(4) China's Total Export & Import Values by Country/Region, Jan-Feb 2025 (in USD)"
    data = [["Total", "9,000.0", "9,000.0", "5,000.0", "5,000.0", "4,000.0", "4,000.0", "1.0", "2.0", "-0.5"]]
    release = _parse(tmp_path, _page(title, "USD1 Million", TEN_COLUMN_HEADER, data))
    assert release.period == Period(2025, 1, 2)
    total = _rows(release)["Total"]
    assert total["total_month"] is None and total["total_ytd"] == Decimal(9_000_000_000)


def test_2018_wording_without_currency_in_the_title(tmp_path):
    title = "China's Total Value of Imports and Exports by Major Country (Region), Jan. 2018"
    header = [[c.replace("1-to-2", "1-to-1") for c in TEN_COLUMN_HEADER[0]],
              ["Export Destination", "1", "1", "1", "1", "1", "1", "Export & Import", "Export", "Import"]]  # fmt: skip
    data = [["Total", "24,700.0", "24,700.0", "12,600.0", "12,600.0", "12,100.0", "12,100.0", "19.0", "11.0", "29.0"]]
    html = _page(title, "RMB 100 Million", header, data)
    assert looks_like_preliminary_country(html)
    release = _parse(tmp_path, html)
    assert (release.period, release.currency, release.unit) == (Period(2018, 1, 1), "CNY", "RMB 100 Million")
    assert "published 2018-04-08" in release.notes  # 2018 pages print DD/MM/YYYY
    assert _rows(release)["Total"]["total_month"] == Decimal(2_470_000_000_000)


def test_only_month_wording_and_rmb_in_the_title(tmp_path):
    title = "China's Total Export & Import Values by Country/Region, August 2018 (Only August, in RMB)"
    header = [[c.replace("1-to-2", "1-to-8") for c in TEN_COLUMN_HEADER[0]],
              [c.replace("1- to-2", "1- to-8").replace("2", "8") for c in TEN_COLUMN_HEADER[1]]]  # fmt: skip
    data = [["Total", "2,000.0", "19,000.0", "1,000.0", "10,000.0", "1,000.0", "9,000.0", "1", "2", "3"]]
    release = _parse(tmp_path, _page(title, "CNY 100 Million", header, data))
    assert (release.period, release.currency) == (Period(2018, 8, 8), "CNY")


def test_title_currency_with_no_unit_row_assumes_the_canonical_unit_and_says_so(tmp_path):
    title = "(4) China's Total Export & Import Values by Country/Region, January-February 2025 (in USD)"
    release = _parse(tmp_path, _page(title, None, SEVEN_COLUMN_HEADER, SEVEN_COLUMN_DATA))
    assert (release.currency, release.unit) == ("USD", "USD1 Million")
    assert any("no unit row" in n for n in release.notes)


def test_ytd_below_month_rejects_the_row(tmp_path):
    title = "(4) China's Total Export & Import Values by Country/Region, Feb 2025 (in CNY)"
    data = [["Total", "9,000.0", "9,000.0", "5,000.0", "5,000.0", "4,000.0", "4,000.0", "1", "2", "3"],
            ["   Japan", "300.0", "200.0", "100.0", "100.0", "100.0", "100.0", "1", "2", "3"]]  # fmt: skip
    release = _parse(tmp_path, _page(title.replace("Feb 2025", "Mar 2025"), "CNY 100 Million",
                                     [[c.replace("1-to-2", "1-to-3") for c in TEN_COLUMN_HEADER[0]],
                                      [c.replace("2", "3") for c in TEN_COLUMN_HEADER[1]]], data))  # fmt: skip
    assert [r.source_row for r in release.rejected_rows] == [6]
    assert "below the month" in release.rejected_rows[0].reason
