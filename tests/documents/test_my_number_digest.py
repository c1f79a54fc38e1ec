"""The 2D code must not hand out the 個人番号 (issue 13): the code carries a salted scrypt
digest per member, the front still prints the number, and a verifier who supplies a number
learns only whether it matches."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import zlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from documents import demo, my_number_digest, segments, verify_cli
from documents.model import CertificateDocument, JuminhyoOption
from documents.my_number_digest import NumberCheck, agrees, check
from documents.render import render_pdf
from documents.scan import codes_in_image, pdf_pages
from documents.signing import (
    LEGACY_MAGIC,
    SIGNATURE_LEN,
    Reason,
    generate_key,
    sign_document,
    verify_payload,
)
from documents.trust import load_trust
from documents.verify import verify_file
from documents.verify_web import create_app

TRUST = load_trust()
KEY = demo.signing_key()
# A run of 12 digits, or the front's "1234 5678 9012" (the certificate number's groups are
# at most 6 digits, dates 4-2-2).
TWELVE_DIGITS = re.compile(rb"\d{12}|(?<!\d)\d{4}[ -]\d{4}[ -]\d{4}(?!\d)")
FOREIGN_ALL = demo.juminhyo((demo.FOREIGN,), demo.FOREIGN_OPTIONS, "999001-2026-000201")


@pytest.fixture(scope="module")
def household_pdf() -> bytes:
    doc = demo.juminhyo()  # three members, 個人番号 chosen
    assert JuminhyoOption.MY_NUMBER in doc.options and all(p.my_number for p in doc.members)
    return render_pdf(doc, sign_document(doc, KEY))


def _body(payload: bytes) -> bytes:
    head_len = 4 + 1 + payload[4]
    return zlib.decompress(payload[head_len:-SIGNATURE_LEN])


def _numbers(doc: CertificateDocument) -> list[str]:
    return [p.my_number for p in doc.members if p.my_number]


def test_code_read_off_the_printed_back_holds_no_my_number(household_pdf: bytes) -> None:
    (back,) = pdf_pages(household_pdf, 150, first=2, last=2)
    codes = codes_in_image(back)
    assert codes, "the back carries the code"
    payload = segments.join(codes) if not codes[0].startswith(b"KFC") else codes[0]
    body = _body(payload)
    assert b'"my_number_digest"' in body  # the members' numbers are there as digests
    for blob in (*codes, payload, body):
        assert not TWELVE_DIGITS.search(blob)
    for number in _numbers(demo.juminhyo()):
        assert number.encode() not in body
        assert number[:8].encode() not in body  # nor a recognisable part of it
    # ...while the front, which the citizen chose to have it on, still prints it
    front = PdfReader(io.BytesIO(household_pdf)).pages[0].extract_text()
    assert "1234 5678 9018" in front


@pytest.mark.parametrize("doc", [demo.juminhyo(demo.big_household(12), tuple(JuminhyoOption)),
                                 FOREIGN_ALL])
def test_no_my_number_in_any_signed_body(doc: CertificateDocument) -> None:
    assert _numbers(doc)
    assert not TWELVE_DIGITS.search(_body(sign_document(doc, KEY)))


def test_right_number_matches_wrong_does_not_absent_not_checked(household_pdf: bytes) -> None:
    head, spouse, _ = _numbers(demo.juminhyo())
    first = verify_file(household_pdf, TRUST, "1234 5678 9018")
    assert first.valid and first.my_number is NumberCheck.MATCH and first.my_number_member == 1
    assert head == "123456789018"
    wide = "".join(chr(ord(c) + 0xFEE0) for c in spouse)  # typed in full-width digits
    second = verify_file(household_pdf, TRUST, wide)
    assert second.my_number is NumberCheck.MATCH and second.my_number_member == 2
    wrong = verify_file(household_pdf, TRUST, head[:-1] + str((int(head[-1]) + 1) % 10))
    assert wrong.valid and wrong.my_number is NumberCheck.MISMATCH
    assert wrong.my_number_member is None
    unchecked = verify_file(household_pdf, TRUST)
    assert unchecked.valid and unchecked.my_number is NumberCheck.NOT_CHECKED
    plain = demo.juminhyo(options=(JuminhyoOption.HOUSEHOLD,))
    payload = sign_document(plain, KEY)
    assert b"my_number" not in _body(payload)
    signed = verify_payload(payload, TRUST).document
    assert signed is not None and signed == plain  # no 個人番号, no salt: unchanged
    assert check(signed, head) == (NumberCheck.ABSENT, None)


def test_a_number_is_checked_only_against_its_own_member() -> None:
    doc = demo.juminhyo()
    signed = verify_payload(sign_document(doc, KEY), TRUST).document
    assert signed is not None
    swapped = dataclasses.replace(signed, members=(signed.members[1], signed.members[0],
                                                   signed.members[2]))
    # the position is salted in: a digest moved to another member matches nobody
    assert check(swapped, _numbers(doc)[0]) == (NumberCheck.MISMATCH, None)


def test_same_number_gives_unlinkable_digests_across_certificates() -> None:
    doc = demo.juminhyo()
    one, two = (verify_payload(sign_document(doc, KEY), TRUST).document for _ in range(2))
    assert one is not None and two is not None
    assert one.my_number_salt != two.my_number_salt
    assert {p.my_number_digest for p in one.members}.isdisjoint(
        {p.my_number_digest for p in two.members})


def test_scrypt_cost_is_not_lowered() -> None:
    # 128 * r * N bytes per guess and ~r*N work: lowering either makes 10^11 guesses cheap
    assert my_number_digest.SCRYPT_N * my_number_digest.SCRYPT_R >= 2**17
    assert my_number_digest.SALT_BYTES >= 16 and my_number_digest.DIGEST_BYTES >= 8


def test_printed_front_and_signed_code_agree_field_for_field() -> None:
    for doc in (demo.juminhyo(), FOREIGN_ALL, demo.inkan(), demo.income(kazei=True)):
        signed = verify_payload(sign_document(doc, KEY), TRUST).document
        assert signed is not None and agrees(doc, signed)
        other = dataclasses.replace(doc, certificate_number="999001-2026-999999")
        assert not agrees(other, signed)
    doc = demo.juminhyo()
    signed = verify_payload(sign_document(doc, KEY), TRUST).document
    assert signed is not None
    wrong = dataclasses.replace(doc, members=(
        dataclasses.replace(doc.members[0], my_number="999999999999"), *doc.members[1:]))
    assert not agrees(wrong, signed)


def test_tampering_is_still_invalid() -> None:
    doc = demo.juminhyo()
    payload = sign_document(doc, KEY)
    head_len = 4 + 1 + payload[4]
    data = json.loads(_body(payload))
    data["members"][0]["my_number_digest"] = data["members"][1]["my_number_digest"]
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    forged = payload[:head_len] + zlib.compress(body.encode(), 9) + payload[-SIGNATURE_LEN:]
    assert verify_payload(forged, TRUST).reason is Reason.BAD_SIGNATURE
    other = verify_payload(sign_document(doc, generate_key()), TRUST)
    assert not other.valid and other.reason is Reason.BAD_SIGNATURE


def _kfc(magic: bytes, doc: CertificateDocument) -> bytes:
    """A payload signed with the demo key whose body is ``doc`` exactly as given."""
    from Crypto.Signature import eddsa

    issuer = doc.issuer.code.encode()
    signed = magic + bytes([len(issuer)]) + issuer + zlib.compress(doc.canonical_json(), 9)
    return signed + eddsa.new(KEY, "rfc8032").sign(signed)


def test_current_format_with_a_number_in_clear_is_refused_legacy_still_verifies() -> None:
    doc = demo.juminhyo()
    bad = verify_payload(_kfc(b"KFC2", doc), TRUST)  # an issuer bug, not a certificate
    assert not bad.valid and bad.reason is Reason.MALFORMED
    old = verify_payload(_kfc(LEGACY_MAGIC, doc), TRUST)
    assert old.valid and old.legacy and old.document == doc
    assert check(old.document, "123456789018") == (NumberCheck.MATCH, 1)
    new = verify_payload(sign_document(doc, KEY), TRUST)
    assert new.valid and not new.legacy


def test_cli_my_number_option(tmp_path: Path, household_pdf: bytes,
                              capsys: pytest.CaptureFixture[str]) -> None:
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(household_pdf)
    assert verify_cli.main([str(pdf), "--my-number", "1234-5678-9018"]) == 0
    out = capsys.readouterr().out
    assert "個人番号: matches [1]" in out and "123456789018" not in out
    assert verify_cli.main([str(pdf), "--my-number", "123456789017"]) == 0
    assert "個人番号: does not match" in capsys.readouterr().out
    assert verify_cli.main([str(pdf)]) == 0
    assert "個人番号: not checked" in capsys.readouterr().out
    assert verify_cli.main([str(pdf), "--my-number", "98765"]) == 2
    err = capsys.readouterr().err
    assert "12 digits" in err and "98765" not in err
    assert verify_cli.main([str(pdf), "--json", "--my-number", "234567890127"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["my_number"] == "matches" and reply["my_number_member"] == 2
    assert not TWELVE_DIGITS.search(json.dumps(reply["document"]).encode())


def test_web_page_optional_my_number_field(household_pdf: bytes) -> None:
    client = TestClient(create_app())
    files = {"file": ("cert.pdf", household_pdf, "application/pdf")}
    assert 'name="my_number"' in client.get("/").text
    good = client.post("/check", files=files, data={"my_number": "1234 5678 9018"})
    assert good.status_code == 200 and "個人番号: matches [1]" in good.text
    assert "123456789018" not in good.text and "1234 5678 9018" not in good.text
    unchecked = client.post("/check", files=files, data={"my_number": ""})
    assert "個人番号: not checked" in unchecked.text
    api = client.post("/api", files=files, data={"my_number": "345678901236"}).json()
    assert api["verdict"] == "VALID" and api["my_number"] == "matches"
    assert api["my_number_member"] == 3
    bad = client.post("/api", files=files, data={"my_number": "12ab"})
    assert bad.status_code == 400 and "12ab" not in bad.text


def test_largest_household_code_fits_the_back() -> None:
    # the back lays out at most 3 rows of 2 codes
    doc = demo.juminhyo(demo.big_household(60), tuple(JuminhyoOption))
    assert len(segments.split(sign_document(doc, KEY))) <= 6
