"""A certificate EF whose DER header claims more than a JPKI certificate can be is broken card
data (`BadCardData`, a `CardError` the kiosk turns into "card unreadable"), never a ValueError
from the READ BINARY builders. No pcscd: the virtual card's engine is the channel."""

from __future__ import annotations

import pytest

from drivers.nfc import apdu, jpki
from drivers.nfc.errors import BadCardData, CardError
from drivers.nfc.reader import JpkiSession
from sim.card.engine import CardProfile, JpkiCardEngine


class EngineChannel:
    def __init__(self, profile: CardProfile) -> None:
        self.engine = JpkiCardEngine(profile)

    def transmit(self, command: bytes | bytearray) -> bytes:
        return self.engine.process(bytes(command))


def der(total: int) -> bytes:
    """A SEQUENCE of ``total`` bytes in all (3-byte length form), content zeros."""
    body = total - 5
    return b"\x30\x83" + body.to_bytes(3, "big") + bytes(body)


def header_only(claimed_body: int, count: int, held: int = 300) -> bytes:
    """An EF holding a DER header that claims ``claimed_body`` content bytes, then ``held``."""
    return b"\x30" + bytes([0x80 | count]) + claimed_body.to_bytes(count, "big") + bytes(held)


@pytest.mark.parametrize(
    ("ef", "extended"),
    [
        (header_only(0x020000, 3), True),  # an extended Le past what READ BINARY takes
        (header_only(0x9000, 2, held=0x9000), False),  # short chunks: an offset past 0x7FFF
        (header_only(0xFFFFFF, 3, held=0x8100), False),
        (header_only(apdu.MAX_CERTIFICATE_LEN, 2), True),  # just over, with its header
    ],
)
def test_oversized_der_claim_is_bad_card_data(ef: bytes, extended: bool) -> None:
    channel = EngineChannel(CardProfile(auth_cert=ef, extended_length=extended))
    with pytest.raises(BadCardData) as caught:
        jpki.run_flow(jpki.read_auth_certificate(extended=extended), channel)
    assert "more than a certificate EF holds" in str(caught.value)


@pytest.mark.parametrize("extended", [True, False])
def test_the_session_reports_a_card_error_the_kiosk_handles(extended: bool) -> None:
    channel = EngineChannel(CardProfile(auth_cert=header_only(0x020000, 3), extended_length=True))
    session = JpkiSession(channel, extended=extended)
    session.select()
    with pytest.raises(CardError) as caught:
        session.read_certificate()
    assert caught.value.code == "bad_card_data"


@pytest.mark.parametrize("extended", [True, False])
@pytest.mark.parametrize("total", [1500, apdu.MAX_CERTIFICATE_LEN])
def test_certificates_up_to_the_bound_still_read_whole(extended: bool, total: int) -> None:
    cert = der(total)
    channel = EngineChannel(CardProfile(auth_cert=cert + b"\xff" * 64, extended_length=extended))
    assert jpki.run_flow(jpki.read_auth_certificate(extended=extended), channel) == cert


def test_der_total_length_bounds_its_claim() -> None:
    assert apdu.der_total_length(b"\x30\x82\x20\x00", limit=0x2004) == 0x2004
    with pytest.raises(ValueError):
        apdu.der_total_length(b"\x30\x82\x20\x01", limit=0x2004)
