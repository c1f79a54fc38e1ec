"""Card scenarios: the virtual card by default, a real reader and card from a bench file.

A real bench's `[card]` section:
    reader = "ACS ACR1252"        # regular expression matched against PC/SC reader names
    pin_env = "KOFU_CARD_PIN"     # environment variable holding the card's PIN (never a file)
Scenarios that need a particular card (blocked, expired...) run on the simulator only.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from drivers.nfc import (
    CardRemoved,
    JpkiReader,
    NoAuthCertificate,
    NotMyNumberCard,
    Pin,
    PinBlocked,
    ReaderConfig,
    WrongPin,
)
from hil_tests.conftest import bench_section
from sim.card import pki
from sim.card.harness import (
    TEST_PIN,
    TEST_SLOT,
    place_and_wait,
    reader_pattern,
    virtual_card_on_pcscd,
)
from sim.card.virtual import Latency, VirtualCard


@dataclass
class CardRig:
    reader: JpkiReader
    pin: str | None
    sim: VirtualCard | None
    state: Path | None

    def present(self, persona: str = "valid") -> None:
        if self.sim is not None:
            self.sim.restore_personas()
            place_and_wait(self.sim, self.reader, persona)
        elif persona != "valid":
            pytest.skip(f"persona {persona!r} exists only on the simulator")
        elif not self.reader.wait_for_card(60.0):
            pytest.fail("place the My Number card on the reader")

    def need_pin(self) -> str:
        if self.pin is None:
            pytest.skip("no PIN given for the real card (set the bench's pin_env variable)")
        return self.pin


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One test CA and persona keys for the module (RSA key generation is the slow part)."""
    return tmp_path_factory.mktemp("hil-card-state")


@pytest.fixture
def rig(bench: dict[str, Any], sim_state: Path) -> Iterator[CardRig]:
    section = bench_section(bench, "card")
    if section.get("backend") == "sim":
        state = sim_state
        with virtual_card_on_pcscd(
            state, slot=TEST_SLOT, latency=Latency.zero(), pin=TEST_PIN
        ) as card:
            config = ReaderConfig(reader=reader_pattern(TEST_SLOT), transmit_timeout_s=2.0)
            with JpkiReader(config) as reader:
                yield CardRig(reader, TEST_PIN, card, state)
        return
    pin_env = str(section.get("pin_env", "KOFU_CARD_PIN"))
    with JpkiReader(ReaderConfig.from_mapping(section)) as reader:
        yield CardRig(reader, os.environ.get(pin_env), None, None)


def test_card_authenticates_with_its_pin(rig: CardRig) -> None:
    rig.present("valid")
    pin = rig.need_pin()
    challenge = os.urandom(32)
    with rig.reader.session() as s:
        tries = s.pin_tries_left()
        assert tries > 0
        auth = s.authenticate(Pin(pin), challenge)
        assert s.pin_tries_left() == 3
    cert = x509.load_der_x509_certificate(auth.certificate)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    key.verify(auth.signature, challenge, padding.PKCS1v15(), hashes.SHA256())


def test_reading_the_certificate_needs_no_pin_and_spends_no_try(rig: CardRig) -> None:
    rig.present("valid")
    with rig.reader.session() as s:
        before = s.pin_tries_left()
        cert = s.read_certificate()
        ca = s.read_ca_certificate()
        assert s.pin_tries_left() == before
    x509.load_der_x509_certificate(cert).verify_directly_issued_by(
        x509.load_der_x509_certificate(ca)
    )


def test_wrong_pin_reports_tries_then_blocks(rig: CardRig) -> None:
    rig.present("one-try-left")
    with rig.reader.session() as s:
        with pytest.raises(PinBlocked):
            s.verify_pin(Pin("0000"))
    rig.present("valid")
    with rig.reader.session() as s:
        with pytest.raises(WrongPin) as info:
            s.verify_pin(Pin("0000"))
        assert info.value.tries_left == 2


@pytest.mark.parametrize(
    ("persona", "error"),
    [("not-jpki", NotMyNumberCard), ("no-cert", NoAuthCertificate), ("blocked", PinBlocked)],
)
def test_cards_the_kiosk_refuses(rig: CardRig, persona: str, error: type[Exception]) -> None:
    rig.present(persona)
    with pytest.raises(error):
        with rig.reader.session() as s:
            s.read_certificate()
            s.verify_pin(Pin(TEST_PIN))


def test_expired_and_revoked_certificates_are_read_for_the_center_to_refuse(
    rig: CardRig,
) -> None:
    rig.present("expired")
    assert rig.state is not None
    with rig.reader.session() as s:
        expired = x509.load_der_x509_certificate(s.read_certificate())
    assert expired.not_valid_after_utc < dt.datetime.now(dt.UTC)
    rig.present("revoked")
    with rig.reader.session() as s:
        revoked = x509.load_der_x509_certificate(s.read_certificate())
    crl = x509.load_pem_x509_crl(pki.ca_paths(rig.state).crl.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None


def test_card_lifted_during_signature(rig: CardRig) -> None:
    rig.present("valid")
    assert rig.sim is not None
    with pytest.raises(CardRemoved):
        with rig.reader.session() as s:
            s.read_certificate()
            s.verify_pin(Pin(TEST_PIN))
            rig.sim.lift_at(rig.sim.placed_apdus + 2)  # SELECT EF 0017 answered, SIGN not
            s.sign(os.urandom(32))
    assert rig.sim.pin_tries("valid") == 3
