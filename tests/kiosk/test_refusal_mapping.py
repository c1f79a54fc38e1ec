"""The center's refusal codes and the screen's reasons are two vocabularies (the wire contract
and what a citizen is told); this keeps them from drifting apart silently."""

from __future__ import annotations

import pytest

from center.reasons import Reason
from host.kiosk.center_client import refusal_reason
from host.session import events as E

# Codes a citizen can meet when placing a card: each must reach the screen as its own reason,
# never as the catch-all "other" (which only says "apply at the counter").
CITIZEN_FACING = [
    r
    for r in Reason
    if r.value.startswith("card_")
    or r
    in {
        Reason.SIGNATURE_INVALID,
        Reason.NOT_REGISTERED,
        Reason.UNDER_15,
        Reason.MOVED_OUT,
        Reason.MOVE_OUT_FILED,
        Reason.SUPPORT_MEASURES,
        Reason.DECEASED,
        Reason.CHARACTER_LIMIT,
        Reason.MOVED_IN_TODAY,
        Reason.GAIJI_PENDING,
        Reason.OUT_OF_HOURS,
        Reason.MAINTENANCE,
    }
]


@pytest.mark.parametrize("code", CITIZEN_FACING, ids=str)
def test_every_citizen_facing_center_code_has_a_screen_reason(code: Reason) -> None:
    assert refusal_reason(code.value) is not E.RefusalReason.OTHER


@pytest.mark.parametrize("reason", [r for r in E.RefusalReason if r is not E.RefusalReason.OTHER])
def test_every_screen_reason_is_reachable_from_some_center_code(reason: E.RefusalReason) -> None:
    assert reason in {refusal_reason(c.value) for c in Reason}


def test_codes_the_kiosk_does_not_know_fall_back_to_other() -> None:
    assert refusal_reason("a_reason_added_to_the_center_later") is E.RefusalReason.OTHER
