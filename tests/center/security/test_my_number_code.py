"""Issue 13, "the 2D code must not hand out the My Number", against a running center: the
kiosk gets the 個人番号 to print on the front, the signed payload only its salted digest."""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterator

import pytest

from center.simkiosk import Card, KioskSession, client
from documents.model import CertificateDocument
from documents.my_number_digest import NumberCheck, agrees, check
from documents.signing import MAGIC, SIGNATURE_LEN, verify_payload

from ..conftest import Live

TWELVE_DIGITS = re.compile(rb"\d{12}|(?<!\d)\d{4}[ -]\d{4}[ -]\d{4}(?!\d)")


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


def test_issued_payload_carries_digests_the_document_the_numbers(
    live: Live, kiosk: KioskSession
) -> None:
    kiosk.login(Card.demo(live.state, "taro"))
    members = kiosk.menu()["juminhyo"]["members"]
    quote = kiosk.order([{"type": "juminhyo", "member_ids": [m["member_id"] for m in members],
                          "options": ["household", "my_number"], "copies": 2}])
    certs = kiosk.pay(quote)["certificates"]
    keys = {k: base64.b64decode(v) for k, v in kiosk.http.get("/v1/public-keys").json().items()}
    salts = set()
    for c in certs:
        printed = CertificateDocument.from_dict(c["document"])
        numbers = [p.my_number for p in printed.members]
        assert len(numbers) == len(members) and all(numbers)  # the front prints them
        payload = base64.b64decode(c["payload_b64"])
        assert payload.startswith(MAGIC)
        body = zlib.decompress(payload[5 + payload[4] : -SIGNATURE_LEN])
        assert not TWELVE_DIGITS.search(payload) and not TWELVE_DIGITS.search(body)
        result = verify_payload(payload, keys)
        assert result.valid and result.document is not None
        signed = result.document
        assert agrees(printed, signed)  # front and back: same content, field for field
        for i, number in enumerate(numbers, start=1):
            assert number is not None and check(signed, number) == (NumberCheck.MATCH, i)
        salts.add(signed.my_number_salt)
    assert len(salts) == len(certs)  # each copy its own salt: digests do not link copies
