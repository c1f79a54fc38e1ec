"""Dates in 和暦 (Japanese era years), as printed on certificates: 令和8年11月23日."""

from __future__ import annotations

from datetime import date

# (era, first day); a date belongs to the last era that started on or before it.
_ERAS = (
    ("明治", date(1868, 1, 25)),
    ("大正", date(1912, 7, 30)),
    ("昭和", date(1926, 12, 25)),
    ("平成", date(1989, 1, 8)),
    ("令和", date(2019, 5, 1)),
)


def era_year(day: date) -> tuple[str, int]:
    """(era name, year within the era) for ``day``; raises ValueError before 明治."""
    for name, start in reversed(_ERAS):
        if day >= start:
            return name, day.year - start.year + 1
    raise ValueError(f"{day.isoformat()} is before the 明治 era")


def wareki(iso: str) -> str:
    """'2026-11-23' -> '令和8年11月23日' (the first year of an era is 元年)."""
    day = date.fromisoformat(iso)
    era, year = era_year(day)
    year_text = "元" if year == 1 else str(year)
    return f"{era}{year_text}年{day.month}月{day.day}日"


def fiscal_year(year: int) -> str:
    """A fiscal year (年度) starting in April of ``year``: 2026 -> '令和8年度'."""
    # A fiscal year is named in the era in force at its end: 2019年度 is 令和元年度.
    era, _ = era_year(date(year + 1, 3, 31))
    start = dict(_ERAS)[era].year
    y = year - start + 1
    return f"{era}{'元' if y == 1 else y}年度"
