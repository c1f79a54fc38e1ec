"""D7: before payment the session states how current the records are: per chosen member for
a 住民票, the applicant's for the other certificates."""

from __future__ import annotations

from datetime import date

from documents.model import CertificateType
from host.session import events as E
from host.session.demo import JP_OPTIONS, OPEN_TIME
from host.session.machine import SessionMachine


def machine(kind: CertificateType, members: tuple[str, ...]) -> SessionMachine:
    m = SessionMachine(OPEN_TIME)
    m.data.menu = E.Menu(
        (
            E.Offer(CertificateType.JUMINHYO, 200, members=(
                E.Member("a", "甲", True, JP_OPTIONS, data_as_of=date(2026, 11, 30)),
                E.Member("b", "乙", False, JP_OPTIONS, data_as_of=date(2026, 12, 1)),
                E.Member("c", "丙", False, JP_OPTIONS),
            )),
            E.Offer(CertificateType.INKAN, 200),
        ),
        data_as_of=date(2026, 11, 29),
    )  # fmt: skip
    m.data.kind = kind
    m.data.member_ids = members
    return m


def test_a_household_juminhyo_states_each_chosen_members_date() -> None:
    m = machine(CertificateType.JUMINHYO, ("b", "a"))
    assert m.records_as_of() == [
        {"name": "甲", "is_self": True, "date": "2026-11-30"},
        {"name": "乙", "is_self": False, "date": "2026-12-01"},
    ]


def test_other_certificates_state_the_applicants_date() -> None:
    m = machine(CertificateType.INKAN, ())
    assert m.records_as_of() == [{"name": "", "is_self": True, "date": "2026-11-29"}]


def test_the_kiosk_reads_the_centers_dates() -> None:
    from host.kiosk.center_client import menu_from_json

    menu = menu_from_json(
        {
            "data_as_of": "2026-11-29",
            "juminhyo": {
                "fee": 200,
                "members": [
                    {"member_id": "u1", "name": "甲", "self": True, "options": ["household"],
                     "data_as_of": "2026-11-30"},
                    {"member_id": "u2", "name": "乙", "self": False, "options": [],
                     "data_as_of": "not a date"},
                ],
            },
        }
    )  # fmt: skip
    assert menu.data_as_of == date(2026, 11, 29)
    offer = menu.offer(CertificateType.JUMINHYO)
    assert offer is not None
    assert [m.data_as_of for m in offer.members] == [date(2026, 11, 30), None]
