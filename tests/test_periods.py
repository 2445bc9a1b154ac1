"""The period of a release, from its title row or its file name."""

import pytest

from orchestration.ingest.periods import Period, period_from_file_name, period_from_text


@pytest.mark.parametrize(
    "name, expected",
    [
        ("2024-03.csv", Period(2024, 3, 3)),
        ("202403.csv", Period(2024, 3, 3)),
        ("2024_03.xls", Period(2024, 3, 3)),
        ("2024年3月.csv", Period(2024, 3, 3)),
        ("downloads/2024年12月进出口.csv", Period(2024, 12, 12)),
        ("sample-location-2018-01.csv", Period(2018, 1, 1)),
        ("2025年1-2月.csv", Period(2025, 1, 2)),
    ],
)
def test_period_from_file_name(name, expected):
    assert period_from_file_name(name) == expected


@pytest.mark.parametrize("name", ["location.csv", "2024-13.csv", "20241.csv", "1202403.csv", "2024-00.csv"])
def test_no_period_in_file_name(name):
    assert period_from_file_name(name) is None


def test_title_row_period_and_ytd_wording():
    assert period_from_text("2024年3月进出口商品收发货人所在地总值表（人民币值）") == Period(2024, 3, 3)
    # "1至3月" in a title is the YTD of March, not a three-month release.
    assert period_from_text("2024年1至3月进出口商品收发货人所在地总值表") == Period(2024, 3, 3)
    assert period_from_text("2025年1—2月进出口商品收发货人所在地总值表") == Period(2025, 1, 2)
