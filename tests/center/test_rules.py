from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from center.clock import JST
from center.demo import LONG_ADDRESS
from center.offering import TypeOffering
from center.reasons import Reason
from center.rules import (
    YEAR_END,
    ResidentFacts,
    Window,
    age_on,
    over_limit,
    refusal_for,
)
from documents.model import CertificateType

TODAY = date(2026, 6, 15)
OK = ResidentFacts(
    birth_date=date(1980, 1, 1),
    registered=True,
    moved_out=False,
    move_out_filed=False,
    support_measures=False,
    deceased=False,
    gaiji_pending=False,
    move_in_filed=date(2010, 4, 1),
    fields={"name": "桜井 太郎", "address": "架空県桜ヶ丘市中央一丁目2番3号"},
)


def test_ordinary_resident_is_served() -> None:
    assert refusal_for(OK, TODAY) is None


def test_age_boundary() -> None:
    assert age_on(date(2011, 6, 15), TODAY) == 15
    assert age_on(date(2011, 6, 16), TODAY) == 14
    assert refusal_for(replace(OK, birth_date=date(2011, 6, 15)), TODAY) is None
    assert refusal_for(replace(OK, birth_date=date(2011, 6, 16)), TODAY) is Reason.UNDER_15


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"registered": False}, Reason.NOT_REGISTERED),
        ({"moved_out": True}, Reason.MOVED_OUT),
        ({"move_out_filed": True}, Reason.MOVE_OUT_FILED),
        ({"support_measures": True}, Reason.SUPPORT_MEASURES),
        ({"deceased": True}, Reason.DECEASED),
        ({"gaiji_pending": True}, Reason.GAIJI_PENDING),
        ({"move_in_filed": TODAY}, Reason.MOVED_IN_TODAY),
        ({"fields": {"address": LONG_ADDRESS}}, Reason.CHARACTER_LIMIT),
    ],
)
def test_each_rule_refuses(change: dict[str, object], reason: Reason) -> None:
    assert refusal_for(replace(OK, **change), TODAY) is reason  # type: ignore[arg-type]


def test_character_limits_exactly() -> None:
    assert len(LONG_ADDRESS) == 95
    assert over_limit({"address": "あ" * 94}) == []
    assert over_limit({"address": "あ" * 95, "period_of_stay": "5年3ヶ月", "alias": None}) == [
        "address",
        "period_of_stay",
    ]


def _jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("instant", "reason"),
    [
        (_jst(2026, 6, 15, 6, 29), Reason.OUT_OF_HOURS),
        (_jst(2026, 6, 15, 6, 30), None),
        (_jst(2026, 6, 15, 22, 59), None),
        (_jst(2026, 6, 15, 23, 0), Reason.OUT_OF_HOURS),
        (_jst(2026, 12, 28, 12, 0), None),
        (_jst(2026, 12, 29, 12, 0), Reason.MAINTENANCE),
        (_jst(2027, 1, 3, 12, 0), Reason.MAINTENANCE),
        (_jst(2027, 1, 4, 12, 0), None),
    ],
)
def test_hours_and_year_end(instant: datetime, reason: Reason | None) -> None:
    # the pieces the service's check is made of (center.service._check_service)
    hours = TypeOffering(CertificateType.JUMINHYO, opens="06:30", closes="23:00")
    at = instant.astimezone(UTC)
    assert (not hours.open_at(at)) is (reason is Reason.OUT_OF_HOURS)
    assert YEAR_END.covers(at) is (reason is Reason.MAINTENANCE)


def test_one_off_maintenance_window() -> None:
    w = Window(starts_at=_jst(2026, 6, 15, 1, 0), ends_at=_jst(2026, 6, 15, 12, 0))
    assert w.covers(_jst(2026, 6, 15, 11, 59))
    assert not w.covers(_jst(2026, 6, 15, 12, 0))


@pytest.mark.parametrize("today", [date(2028, 2, 29), date(2026, 12, 8), date(2027, 1, 3)])
def test_the_demo_resident_turning_fifteen_is_fifteen_on_any_day(today: date) -> None:
    from center.demo import RESIDENTS, _birth

    person = next(r for r in RESIDENTS if r.label == "turning15")
    birth = _birth(today, person)
    assert age_on(birth, today) == 15
    assert age_on(birth, today - timedelta(days=1)) == 14 or today == date(2028, 2, 29)
