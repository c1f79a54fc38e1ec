"""The driver over the real pcscd, against the virtual card on vpcd slot 1."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from drivers.nfc import (
    CardBusy,
    CardMute,
    CardRemoved,
    JpkiReader,
    NoAuthCertificate,
    NotMyNumberCard,
    Pin,
    PinBlocked,
    ReaderConfig,
    ReaderGone,
    WrongPin,
)
from drivers.nfc.pcsc import CardEvent
from sim.card import pki
from sim.card.harness import TEST_PIN as PIN
from sim.card.harness import place_and_wait as place
from sim.card.personas import PERSONAS
from sim.card.virtual import VirtualCard

pytestmark = pytest.mark.needs_root


def _verify(certificate: bytes, signature: bytes, challenge: bytes) -> None:
    key = x509.load_der_x509_certificate(certificate).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())


def test_full_session_over_pcscd(vcard: VirtualCard, reader: JpkiReader) -> None:
    place(vcard, reader, "valid")
    challenge = os.urandom(32)
    with reader.session() as s:
        assert s.pin_tries_left() == 3
        auth = s.authenticate(Pin(PIN), challenge)
    _verify(auth.certificate, auth.signature, challenge)
    expected = pki.load_persona(vcard.state_dir, PERSONAS["valid"]).cert_der
    assert auth.certificate == expected
    assert vcard.engine is not None and not vcard.engine.auth_verified


def test_pin_digits_never_reach_any_log(
    vcard: VirtualCard, reader: JpkiReader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    place(vcard, reader, "valid")
    with reader.session() as s:
        with pytest.raises(WrongPin) as wrong:
            s.verify_pin(Pin("9" + PIN[1:]))
        s.authenticate(Pin(PIN), b"\x00" * 32)
    text = caplog.text + repr(wrong.value) + str(wrong.value)
    assert "apdu 20 00 80" in caplog.text  # the commands were logged...
    assert PIN not in text and "9" + PIN[1:] not in text  # ...their digits never


def test_wrong_pin_is_counted_and_persists_across_runs(
    vcard: VirtualCard, reader: JpkiReader, card_state: Path
) -> None:
    place(vcard, reader, "valid")
    with reader.session() as s:
        with pytest.raises(WrongPin) as info:
            s.verify_pin(Pin("0000"))
    assert info.value.tries_left == 2
    vcard.remove()
    other = VirtualCard(card_state, port=vcard.port, pin=PIN)  # a new run of the sim
    assert other.pin_tries("valid") == 2


def test_blocked_card_stays_blocked_until_reset(vcard: VirtualCard, reader: JpkiReader) -> None:
    place(vcard, reader, "blocked")
    with reader.session() as s:
        assert s.pin_tries_left() == 0
        with pytest.raises(PinBlocked):
            s.verify_pin(Pin(PIN))
    vcard.reset_pin("blocked")
    place(vcard, reader, "blocked")
    with reader.session() as s:
        s.verify_pin(Pin(PIN))


def test_one_try_left_then_blocked(vcard: VirtualCard, reader: JpkiReader) -> None:
    place(vcard, reader, "one-try-left")
    with reader.session() as s:
        assert s.pin_tries_left() == 1
        with pytest.raises(PinBlocked):
            s.verify_pin(Pin("0000"))
        assert s.pin_tries_left() == 0


@pytest.mark.parametrize(
    ("persona", "error"), [("not-jpki", NotMyNumberCard), ("no-cert", NoAuthCertificate)]
)
def test_refused_cards(
    vcard: VirtualCard, reader: JpkiReader, persona: str, error: type[Exception]
) -> None:
    place(vcard, reader, persona)
    with pytest.raises(error):
        with reader.session() as s:
            s.read_certificate()


def test_removal_at_every_apdu_of_the_sequence(vcard: VirtualCard, reader: JpkiReader) -> None:
    place(vcard, reader, "valid")
    with reader.session() as s:
        s.authenticate(Pin(PIN), b"c" * 32)
        steps = s.apdus
    for step in range(1, steps + 1):
        place(vcard, reader, "valid")
        vcard.lift_at(step)
        started = time.monotonic()
        with pytest.raises(CardRemoved):
            with reader.session() as s:
                s.authenticate(Pin(PIN), b"c" * 32)
        assert time.monotonic() - started < 5.0
        assert vcard.lifted.is_set()
        assert vcard.pin_tries("valid") == 3, f"a try was spent when lifted at APDU {step}"
        assert reader.wait_for_removal(3.0)


def test_mute_card(vcard: VirtualCard, reader: JpkiReader) -> None:
    place(vcard, reader, "valid")
    with reader.session() as s:
        vcard.mute()
        with pytest.raises(CardMute):
            s.pin_tries_left()
    vcard.remove()


def test_exclusive_connection(vcard: VirtualCard, reader: JpkiReader) -> None:
    place(vcard, reader, "valid")
    with reader.session():
        with JpkiReader(reader.config) as second:
            with pytest.raises(CardBusy):
                with second.session():
                    pass


def test_insert_and_remove_events(vcard: VirtualCard, reader: JpkiReader) -> None:
    assert not reader.card_present()
    reader.wait_event(0.1)  # learn the current state
    vcard.place("valid")
    assert reader.wait_event(5.0) == CardEvent.INSERTED
    vcard.remove()
    assert reader.wait_event(5.0) == CardEvent.REMOVED


def test_unknown_reader_is_reader_gone(pcscd: None) -> None:
    with JpkiReader(ReaderConfig(reader="^No Such Reader$")) as r:
        with pytest.raises(ReaderGone):
            r.reader_name()
        assert r.wait_event(0.3) == CardEvent.READER_GONE
        assert not r.wait_for_card(0.3)


def test_no_card_on_the_reader(vcard: VirtualCard, reader: JpkiReader) -> None:
    from drivers.nfc import NoCard

    assert reader.wait_for_removal(5.0)
    with pytest.raises(NoCard):
        with reader.session():
            pass


def test_pcscd_not_running_and_not_root_is_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sim.card import pcscd as pcscd_module

    monkeypatch.setattr(pcscd_module, "pcscd_running", lambda: False)
    monkeypatch.setattr(pcscd_module.os, "geteuid", lambda: 1000)
    with pytest.raises(pcscd_module.PcscdUnavailable, match="only root can start it"):
        pcscd_module.ensure_pcscd()


@pytest.mark.parametrize("card_takes_extended", [True, False])
def test_extended_read_where_the_reader_reports_support(
    vcard: VirtualCard,
    reader: JpkiReader,
    monkeypatch: pytest.MonkeyPatch,
    card_takes_extended: bool,
) -> None:
    """vpcd does not report SCARD_ATTR_MAXINPUT; a CCID reader does. With support reported,
    the certificate comes in one extended READ BINARY, or in short chunks if the card refuses."""
    from drivers.nfc.pcsc import PcscCard

    monkeypatch.setattr(PcscCard, "max_apdu", lambda self: 65544)
    vcard.extended_length = card_takes_extended
    place(vcard, reader, "valid")
    expected = pki.load_persona(vcard.state_dir, PERSONAS["valid"]).cert_der
    assert expected is not None
    with reader.session() as s:
        assert s.extended
        before = s.apdus
        assert s.read_certificate() == expected
        used = s.apdus - before
    short = 2 + -(-(len(expected) - 4) // 256)
    assert used == (3 if card_takes_extended else short + 1)


def test_short_reads_when_the_reader_reports_nothing(
    vcard: VirtualCard, reader: JpkiReader
) -> None:
    place(vcard, reader, "valid")
    with reader.session() as s:
        assert not s.extended
        before = s.apdus
        cert = s.read_certificate()
    assert s.apdus - before == 2 + -(-(len(cert) - 4) // 256)  # SELECT EF, header, chunks
