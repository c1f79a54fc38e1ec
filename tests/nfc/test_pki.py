from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509

from sim.card import pki
from sim.card.personas import PERSONAS, persona


def _cert(state: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pki.export_certificate_pem(state, persona(name)).encode())


def test_ca_crl_and_persona_certificates(card_state: Path) -> None:
    valid, revoked, expired = (_cert(card_state, n) for n in ("valid", "revoked", "expired"))
    paths = pki.ca_paths(card_state)
    ca = x509.load_pem_x509_certificate(paths.cert.read_bytes())
    crl = x509.load_pem_x509_crl(paths.crl.read_bytes())
    now = dt.datetime.now(dt.UTC)
    for cert in (valid, revoked, expired):
        cert.verify_directly_issued_by(ca)
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(valid.serial_number) is None
    assert valid.not_valid_after_utc > now > valid.not_valid_before_utc
    assert expired.not_valid_after_utc < now
    assert revoked.public_key().key_size == 2048  # type: ignore[union-attr]


def test_certificates_are_stable_across_loads(card_state: Path) -> None:
    first = pki.load_persona(card_state, PERSONAS["valid"])
    pki._CACHE.clear()
    again = pki.load_persona(card_state, PERSONAS["valid"])
    assert first.cert_der == again.cert_der
