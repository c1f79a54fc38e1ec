"""D6: the copies limit is the center's (its offering, per type, sent in the menu), within
the kiosk's own configured limit; the kiosk no longer drops the center's value."""

from __future__ import annotations

from documents.model import CertificateType
from host.kiosk.center_client import menu_from_json
from host.session import events as E
from host.session.demo import OPEN_TIME
from host.session.machine import SessionConfig, SessionMachine
from host.session.states import State


def at_copies(menu: E.Menu, kind: CertificateType, config: SessionConfig) -> SessionMachine:
    m = SessionMachine(OPEN_TIME, config)
    m.data.menu = menu
    m.data.kind = kind
    m.state = State.COPIES
    return m


def test_the_kiosk_reads_the_centers_limit_per_type() -> None:
    menu = menu_from_json(
        {
            "juminhyo": {"fee": 300, "max_copies": 3, "members": []},
            "inkan": {"fee": 300},  # an older center: the menu-wide limit
            "max_copies": 5,
        }
    )
    limits = {o.kind: o.max_copies for o in menu.offers}
    assert limits == {CertificateType.JUMINHYO: 3, CertificateType.INKAN: 5}


def test_copies_above_the_centers_limit_are_refused_in_place() -> None:
    menu = E.Menu((E.Offer(CertificateType.INKAN, 300, max_copies=3),))
    m = at_copies(menu, CertificateType.INKAN, SessionConfig(max_copies=10))
    assert m.view()["max_copies"] == 3
    m.handle(E.CopiesChosen(4))
    assert m.state is State.COPIES and m.data.input_error == "copies_out_of_range"
    m.handle(E.CopiesChosen(3))
    assert m.state is State.QUOTING


def test_the_kiosks_own_limit_still_bounds_the_centers() -> None:
    menu = E.Menu((E.Offer(CertificateType.INKAN, 300, max_copies=20),))
    m = at_copies(menu, CertificateType.INKAN, SessionConfig(max_copies=5))
    assert m.view()["max_copies"] == 5
    m.handle(E.CopiesChosen(6))
    assert m.data.input_error == "copies_out_of_range"
