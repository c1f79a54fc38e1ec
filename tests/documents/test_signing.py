from __future__ import annotations

import dataclasses

import pytest

from documents.model import (
    CertificateDocument,
    CertificateType,
    Issuer,
    JuminhyoOption,
    Person,
)
from documents.signing import (
    Reason,
    generate_key,
    public_key_raw,
    sign_document,
    verify_payload,
)

ISSUER = Issuer(code="322041", name="益田市", mayor_title="益田市長", mayor_name="山田 太郎")


def sample() -> CertificateDocument:
    return CertificateDocument(
        type=CertificateType.JUMINHYO,
        certificate_number="322041-2026-000001",
        issuer=ISSUER,
        issue_date="2026-11-23",
        data_as_of="2026-11-20",
        options=(JuminhyoOption.HOUSEHOLD,),
        members=(
            Person(
                name="益田 花子",
                kana="マスダ ハナコ",
                birth_date="1990-04-01",
                sex="女",
                resident_since="1990-04-01",
                address="島根県益田市常盤町1番1号",
                household_head="益田 花子",
                relationship="世帯主",
            ),
        ),
    )


def test_round_trip_gives_the_signed_original() -> None:
    key = generate_key()
    payload = sign_document(sample(), key)
    result = verify_payload(payload, {"322041": public_key_raw(key)})
    assert result.valid and result.reason is Reason.OK
    assert result.document == sample()


def test_canonical_json_is_stable_and_omits_unchosen_groups() -> None:
    raw = sample().canonical_json()
    assert raw == sample().canonical_json()
    assert b"my_number" not in raw
    assert CertificateDocument.from_json(raw) == sample()


@pytest.mark.parametrize("position", [5, 20, -70, -1])
def test_any_flipped_byte_is_invalid(position: int) -> None:
    key = generate_key()
    payload = bytearray(sign_document(sample(), key))
    payload[position] ^= 0x01
    result = verify_payload(bytes(payload), {"322041": public_key_raw(key)})
    assert not result.valid
    assert result.reason in (Reason.BAD_SIGNATURE, Reason.UNKNOWN_ISSUER, Reason.MALFORMED)


def test_altered_field_resigned_with_another_key_is_invalid() -> None:
    key, forger = generate_key(), generate_key()
    forged = dataclasses.replace(sample(), certificate_number="322041-2026-999999")
    result = verify_payload(sign_document(forged, forger), {"322041": public_key_raw(key)})
    assert not result.valid and result.reason is Reason.BAD_SIGNATURE


def test_unknown_issuer_and_garbage() -> None:
    key = generate_key()
    assert verify_payload(sign_document(sample(), key), {}).reason is Reason.UNKNOWN_ISSUER
    assert verify_payload(b"", {}).reason is Reason.MALFORMED
    assert verify_payload(b"KFC1\xff" + b"\x00" * 70, {}).reason is Reason.MALFORMED
