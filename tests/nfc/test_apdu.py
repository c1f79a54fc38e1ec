from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.nfc import apdu
from drivers.nfc.apdu import Command, Response


def test_select_ap_bytes_match_the_reference() -> None:
    assert bytes(apdu.select_ap().encode()) == bytes.fromhex("00A4040C0AD392F000260100000001")


def test_select_ef_and_read_binary_bytes() -> None:
    assert bytes(apdu.select_ef(0x000A).encode()) == bytes.fromhex("00A4020C02000A")
    assert bytes(apdu.read_binary(0x0104, 256).encode()) == bytes.fromhex("00B0010400")
    assert bytes(apdu.read_binary(0, 4).encode()) == bytes.fromhex("00B0000004")


def test_extended_read_binary_uses_three_byte_le() -> None:
    assert bytes(apdu.read_binary(4, 1000).encode()) == bytes.fromhex("00B000040003E8")


def test_query_tries_has_no_data_and_verify_has_four_digits() -> None:
    assert bytes(apdu.query_pin_tries().encode()) == bytes.fromhex("00200080")
    cmd = apdu.verify_pin(bytearray(b"0000"))
    assert bytes(cmd.encode()) == bytes.fromhex("002000800430303030")
    assert "3030" not in repr(cmd) and "<hidden>" in repr(cmd)


def test_sign_command_is_p1_00_with_digest_info_and_le() -> None:
    di = apdu.sha256_digest_info(bytes(32))
    raw = bytes(apdu.sign_digest_info(di).encode())
    assert raw[:5] == bytes.fromhex("802A008033") and raw[5:-1] == di and raw[-1] == 0


def test_digest_info_needs_32_bytes() -> None:
    with pytest.raises(ValueError):
        apdu.sha256_digest_info(b"short")


def test_response_parse_and_tries() -> None:
    r = Response.parse(b"\x01\x02\x63\xc2")
    assert r.data == b"\x01\x02" and r.sw == 0x63C2 and not r.ok
    assert apdu.tries_from_sw(r.sw) == 2
    assert apdu.tries_from_sw(0x6984) is None
    with pytest.raises(ValueError):
        Response.parse(b"\x90")


@pytest.mark.parametrize(
    ("header", "total"),
    [
        (b"\x30\x82\x03\x6d", 0x36D + 4),
        (b"\x30\x81\x80", 0x80 + 3),
        (b"\x30\x10", 0x12),
        (b"\x30\x82", None),
        (b"\x30", None),
    ],
)
def test_der_total_length(header: bytes, total: int | None) -> None:
    assert apdu.der_total_length(header) == total


@pytest.mark.parametrize("header", [b"\x04\x82\x01\x00", b"\x30\x80\x00\x00", b"\x30\x85\x00"])
def test_der_total_length_rejects_non_certificates(header: bytes) -> None:
    with pytest.raises(ValueError):
        apdu.der_total_length(header)


@given(st.binary(min_size=0, max_size=300), st.one_of(st.none(), st.integers(1, 65536)))
def test_encoding_round_trips_through_the_card_parser(data: bytes, le: int | None) -> None:
    from sim.card.engine import _split_body

    raw = bytes(Command(0x00, 0xB0, 0, 0, data, le).encode())
    got_data, got_le = _split_body(raw[4:])
    assert got_data == data
    assert got_le == le
