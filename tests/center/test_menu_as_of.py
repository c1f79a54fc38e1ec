"""D7: the menu says, per person, how current the register is, so the kiosk can state it
before the citizen pays (the certificate shows the same date)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from center import models
from center.simkiosk import Card, KioskSession, client

from .conftest import Live


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


def test_the_menu_gives_each_members_data_as_of(live: Live, kiosk: KioskSession) -> None:
    kiosk.login(Card.demo(live.state, "taro"))
    menu = kiosk.menu()
    members = menu["juminhyo"]["members"]
    assert len(members) > 1
    with Session(live.engine) as db:
        by_uid = {
            r.uid: r.data_as_of.isoformat()
            for r in db.scalars(
                select(models.Resident).where(
                    models.Resident.uid.in_([m["member_id"] for m in members])
                )
            )
        }
    assert {m["member_id"]: m["data_as_of"] for m in members} == by_uid
    assert menu["data_as_of"] == by_uid[menu["applicant"]["member_id"]]
