from __future__ import annotations

import pytest

from documents.wareki import fiscal_year, wareki


@pytest.mark.parametrize(
    ("iso", "text"),
    [
        ("2026-11-23", "令和8年11月23日"),
        ("2019-05-01", "令和元年5月1日"),
        ("2019-04-30", "平成31年4月30日"),
        ("1989-01-07", "昭和64年1月7日"),
        ("1989-01-08", "平成元年1月8日"),
        ("1926-12-25", "昭和元年12月25日"),
    ],
)
def test_era_boundaries(iso: str, text: str) -> None:
    assert wareki(iso) == text


def test_fiscal_year_and_errors() -> None:
    assert fiscal_year(2026) == "令和8年度"
    assert fiscal_year(2019) == "令和元年度"
    with pytest.raises(ValueError):
        wareki("1850-01-01")
    with pytest.raises(ValueError):
        wareki("2026-13-01")
