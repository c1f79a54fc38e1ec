"""The JPKI flows against the virtual card's engine, called directly (no pcscd): every
status word the driver must turn into a typed error."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from drivers.nfc import (
    CardMute,
    CardRemoved,
    NoAuthCertificate,
    NotMyNumberCard,
    Pin,
    PinBlocked,
    PinNotVerified,
    WrongPin,
    jpki,
)
from drivers.nfc.errors import BadCardData, UnexpectedStatus
from sim.card.engine import CardProfile, JpkiCardEngine, PinCounter
from sim.card.harness import TEST_PIN as PIN
from sim.card.personas import persona
from sim.card.virtual import VirtualCard


class EngineChannel:
    def __init__(self, engine: JpkiCardEngine, fail_at: int | None = None) -> None:
        self.engine = engine
        self.fail_at = fail_at
        self.sent = 0

    def transmit(self, command: bytes | bytearray) -> bytes:
        self.sent += 1
        if self.fail_at is not None and self.sent >= self.fail_at:
            raise CardRemoved()
        return self.engine.process(bytes(command))


def profile(card_state: Path, name: str, *, tries: int | None = None, **kw: object) -> CardProfile:
    p = persona(name)
    prof = VirtualCard(card_state, pin=PIN).profile_for(p)
    prof.pin_counter = PinCounter(p.initial_tries if tries is None else tries)
    for k, v in kw.items():
        setattr(prof, k, v)
    return prof


def run(engine: JpkiCardEngine, flow: jpki.Flow[object]) -> object:
    return jpki.run_flow(flow, EngineChannel(engine))


def test_full_sequence_signature_verifies_against_the_certificate(card_state: Path) -> None:
    engine = JpkiCardEngine(profile(card_state, "valid"))
    challenge = os.urandom(32)
    result = jpki.run_flow(jpki.authenticate(Pin(PIN), challenge), EngineChannel(engine))
    assert isinstance(result, jpki.Authentication)
    cert = x509.load_der_x509_certificate(result.certificate)
    cert.public_key().verify(  # type: ignore[union-attr, call-arg]
        result.signature,
        challenge,
        padding.PKCS1v15(),
        hashes.SHA256(),  # type: ignore[arg-type]
    )
    assert not engine.auth_verified  # logged out by re-selecting the AP


def test_certificate_read_in_short_chunks_and_extended_with_fallback(card_state: Path) -> None:
    prof = profile(card_state, "valid")
    assert prof.auth_cert is not None
    short = JpkiCardEngine(prof)
    assert run(short, jpki.read_auth_certificate()) == prof.auth_cert
    # header (1) + chunks of <= 256
    assert short.apdus == 2 + 1 + -(-(len(prof.auth_cert) - 4) // 256)
    refused = JpkiCardEngine(prof)  # the card refuses extended Le: falls back to chunks
    assert run(refused, jpki.read_auth_certificate(extended=True)) == prof.auth_cert
    assert refused.apdus == short.apdus + 1
    prof_ext = profile(card_state, "valid", extended_length=True)
    ext = JpkiCardEngine(prof_ext)
    assert run(ext, jpki.read_auth_certificate(extended=True)) == prof.auth_cert
    assert ext.apdus == 4


def test_ca_certificate_is_read(card_state: Path) -> None:
    prof = profile(card_state, "valid")
    assert run(JpkiCardEngine(prof), jpki.read_auth_ca_certificate()) == prof.auth_ca


def test_not_jpki_card(card_state: Path) -> None:
    with pytest.raises(NotMyNumberCard) as info:
        run(JpkiCardEngine(profile(card_state, "not-jpki")), jpki.select_jpki())
    assert info.value.sw == 0x6A82


def test_no_user_auth_certificate(card_state: Path) -> None:
    with pytest.raises(NoAuthCertificate):
        run(JpkiCardEngine(profile(card_state, "no-cert")), jpki.read_auth_certificate())


def test_erased_certificate_file_is_no_certificate(card_state: Path) -> None:
    engine = JpkiCardEngine(profile(card_state, "valid", auth_cert=b"\xff" * 64))
    with pytest.raises(NoAuthCertificate):
        run(engine, jpki.read_auth_certificate())


def test_broken_der_is_bad_card_data(card_state: Path) -> None:
    engine = JpkiCardEngine(profile(card_state, "valid", auth_cert=b"\x04\x82\x00\x10" + bytes(16)))
    with pytest.raises(BadCardData):
        run(engine, jpki.read_auth_certificate())


def test_tries_query_spends_nothing(card_state: Path) -> None:
    engine = JpkiCardEngine(profile(card_state, "one-try-left"))
    run(engine, jpki.select_jpki())
    for _ in range(3):
        assert run(engine, jpki.pin_tries_left()) == 1
    assert engine.profile.pin_counter.tries == 1


def test_wrong_pin_counts_down_then_blocks_and_right_pin_resets(card_state: Path) -> None:
    engine = JpkiCardEngine(profile(card_state, "valid"))
    run(engine, jpki.select_jpki())
    with pytest.raises(WrongPin) as info:
        run(engine, jpki.verify_pin(Pin("0000")))
    assert info.value.tries_left == 2
    run(engine, jpki.verify_pin(Pin(PIN)))
    assert engine.profile.pin_counter.tries == 3
    for left in (2, 1):
        with pytest.raises(WrongPin) as info:
            run(engine, jpki.verify_pin(Pin("0000")))
        assert info.value.tries_left == left
    with pytest.raises(PinBlocked):  # the attempt that spends the last try: 63 C0
        run(engine, jpki.verify_pin(Pin("0000")))
    with pytest.raises(PinBlocked):  # blocked: the right PIN no longer helps
        run(engine, jpki.verify_pin(Pin(PIN), check_tries_first=False))


def test_blocked_card_is_detected_without_an_attempt(card_state: Path) -> None:
    engine = JpkiCardEngine(profile(card_state, "blocked"))
    run(engine, jpki.select_jpki())
    before = engine.apdus
    with pytest.raises(PinBlocked):
        run(engine, jpki.verify_pin(Pin(PIN)))
    assert engine.apdus - before == 2  # SELECT EF 0018 and the query, no VERIFY with data


def test_sign_without_verify_is_refused(card_state: Path) -> None:
    engine = JpkiCardEngine(profile(card_state, "valid"))
    run(engine, jpki.select_jpki())
    with pytest.raises(PinNotVerified):
        run(engine, jpki.sign_challenge(b"x" * 32))


def test_logout_drops_the_verified_state(card_state: Path) -> None:
    engine = JpkiCardEngine(profile(card_state, "valid"))
    run(engine, jpki.select_jpki())
    run(engine, jpki.verify_pin(Pin(PIN)))
    run(engine, jpki.logout())
    with pytest.raises(PinNotVerified):
        run(engine, jpki.sign_challenge(b"x" * 32))


def test_signature_is_pkcs1_over_the_digest_info_sent(card_state: Path) -> None:
    prof = profile(card_state, "valid")
    engine = JpkiCardEngine(prof)
    run(engine, jpki.select_jpki())
    run(engine, jpki.verify_pin(Pin(PIN)))
    challenge = b"\x01" * 32
    sig = run(engine, jpki.sign_challenge(challenge))
    assert isinstance(sig, bytes) and prof.auth_key is not None
    em = pow(int.from_bytes(sig, "big"), prof.auth_key.e, prof.auth_key.n).to_bytes(256, "big")
    assert em.endswith(
        bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(challenge).digest()
    )
    assert em.startswith(b"\x00\x01\xff")


def test_garbage_answer_is_card_mute() -> None:
    class Short:
        def transmit(self, command: bytes | bytearray) -> bytes:
            return b"\x90"

    with pytest.raises(CardMute):
        jpki.run_flow(jpki.select_jpki(), Short())


def test_unexpected_status_is_typed() -> None:
    class Odd:
        def transmit(self, command: bytes | bytearray) -> bytes:
            return b"\x90\x00" if command[1] == 0xA4 and command[2] == 4 else b"\x6f\x00"

    with pytest.raises(UnexpectedStatus) as info:
        jpki.run_flow(jpki.read_auth_certificate(), Odd())
    assert info.value.sw == 0x6F00


def test_sensitive_buffer_is_wiped_after_sending(card_state: Path) -> None:
    seen: list[bytearray] = []

    class Keep:
        def transmit(self, command: bytes | bytearray) -> bytes:
            assert isinstance(command, bytearray)
            seen.append(command)
            return b"\x90\x00"

    jpki.run_flow(jpki.verify_pin(Pin("8256"), check_tries_first=False), Keep())
    assert bytes(seen[-1][5:]) == b"\x00" * 4


def test_removal_at_every_step_raises_and_spends_no_try(card_state: Path) -> None:
    total = JpkiCardEngine(profile(card_state, "valid"))
    run(total, jpki.authenticate(Pin(PIN), b"c" * 32))
    for step in range(1, total.apdus + 1):
        engine = JpkiCardEngine(profile(card_state, "valid"))
        with pytest.raises(CardRemoved):
            jpki.run_flow(jpki.authenticate(Pin(PIN), b"c" * 32), EngineChannel(engine, step))
        assert engine.profile.pin_counter.tries == 3


def test_signing_files_need_the_signing_password(card_state: Path) -> None:
    from drivers.nfc import apdu
    from sim.card.engine import SIGN_PASSWORD

    prof = profile(card_state, "valid")
    engine = JpkiCardEngine(prof)
    run(engine, jpki.select_jpki())
    assert engine.process(bytes(apdu.select_ef(apdu.EF_SIGN_CERT).encode())) == b"\x90\x00"
    assert engine.process(bytes(apdu.read_binary(0, 4).encode())) == b"\x69\x82"
    assert engine.process(bytes(apdu.select_ef(apdu.EF_SIGN_KEY).encode())) == b"\x90\x00"
    assert engine.process(bytes(apdu.sign_digest_info(b"\x30" * 51).encode())) == b"\x69\x82"
    assert engine.process(bytes(apdu.select_ef(apdu.EF_SIGN_PIN).encode())) == b"\x90\x00"
    assert engine.process(bytes(apdu.query_pin_tries().encode())) == b"\x63\xc5"
    wrong = apdu.Command(0x00, 0x20, 0x00, 0x80, b"WRONGPASS1")
    assert engine.process(bytes(wrong.encode())) == b"\x63\xc4"
    right = apdu.Command(0x00, 0x20, 0x00, 0x80, SIGN_PASSWORD)
    assert engine.process(bytes(right.encode())) == b"\x90\x00"
    assert engine.process(bytes(apdu.select_ef(apdu.EF_SIGN_CERT).encode())) == b"\x90\x00"
    header = engine.process(bytes(apdu.read_binary(0, 4).encode()))
    assert header[-2:] == b"\x90\x00" and header[0] == 0x30
    assert not engine.auth_verified  # the signing password does not unlock key 0017


@pytest.mark.parametrize(
    ("command", "sw"),
    [
        ("00", 0x6700),
        ("10A4040C0AD392F000260100000001", 0x6E00),
        ("00CA0000", 0x6D00),
        ("00A4020C03000A00", 0x6700),
        ("00A4020C020099", 0x6A82),
        ("00B0000004", 0x6986),
        ("00A4020C020017", 0x9000),
    ],
)
def test_card_status_words(card_state: Path, command: str, sw: int) -> None:
    engine = JpkiCardEngine(profile(card_state, "valid"))
    run(engine, jpki.select_jpki())
    answer = engine.process(bytes.fromhex(command))
    assert int.from_bytes(answer[-2:], "big") == sw


@pytest.mark.parametrize("via_session", [True, False])
def test_pin_never_in_a_traceback_even_with_locals(card_state: Path, via_session: bool) -> None:
    """Through the session the PIN is wiped before the error leaves; through the bare flow it
    is still alive, so only the reprs of Pin and Command keep it out."""
    import re
    import traceback

    from drivers.nfc import JpkiSession

    typed = "8" + PIN[1:]  # a wrong PIN, so WrongPin travels up through every frame
    engine = JpkiCardEngine(profile(card_state, "valid"))
    session = JpkiSession(EngineChannel(engine))
    session.select()
    pin = Pin(typed)
    try:
        if via_session:
            session.verify_pin(pin)
        else:
            jpki.run_flow(jpki.verify_pin(pin), EngineChannel(engine))
    except WrongPin as exc:
        assert exc.__traceback__ is not None
        driver_frames = exc.__traceback__.tb_next  # the driver's frames, not this test's
        trace = traceback.TracebackException(type(exc), exc, driver_frames, capture_locals=True)
        text = "".join(trace.format())
    else:
        pytest.fail("a wrong PIN was accepted")
    assert pin.wiped is via_session
    text = re.sub(r"0x[0-9a-fA-F]+", "0x?", text)  # object addresses are not PINs
    assert "verify_pin" in text and "Pin(" in text
    assert typed not in text
    assert typed.encode().hex() not in text
    assert repr(typed.encode())[2:-1] not in text
