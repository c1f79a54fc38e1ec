"""Register the card personas' certificates with the center's demo residents, in one go.

What `kofu center admin register-card --demo-resident` does, for many cards in one database
transaction: one child process per card cost seconds each, and `kofu sim` registers one
card per persona (see `sim.whole.PERSONA_RESIDENTS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from center import admin_ops, models, softhsm
from center.atrest import attach
from center.config import default_db_url
from center.db import make_engine, migrate, session_factory
from center.demo import RESIDENTS
from center.keystore import KeyStore


class UnknownResident(LookupError):
    """A persona is mapped to a label that is not a demo resident."""


def register_cards(center_state: Path, cards: Iterable[tuple[str, str]], issued_on: date) -> None:
    """``cards``: (certificate PEM text, demo resident label) pairs."""
    # the demo center's embedded token: resident rows hold sealed columns (center/atrest.py)
    engine = attach(
        make_engine(default_db_url(center_state)), KeyStore(softhsm.settings(center_state))
    )
    try:
        migrate(engine)
        with session_factory(engine).begin() as db:
            for pem, label in cards:
                person = next((r for r in RESIDENTS if r.label == label), None)
                if person is None:
                    raise UnknownResident(label)
                resident = db.scalar(
                    select(models.Resident).where(
                        (models.Resident.name == person.name)
                        & (models.Resident.municipality_code == person.muni)
                    )
                )
                if resident is None:
                    raise UnknownResident(label)
                cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
                admin_ops.register_card(db, resident, cert, issued_on)
    finally:
        engine.dispose()
