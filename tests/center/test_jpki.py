"""Card certificate checks with test CAs made here (the card simulator's CA comes later)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from center.jpki import TrustStore, parse_certificate, verify_card
from center.pki import DemoJpki, cert_pem, load_pair
from center.reasons import Reason, Refusal

CHALLENGE = bytes(range(32))


@pytest.fixture(scope="module")
def jpki(tmp_path_factory: pytest.TempPathFactory) -> DemoJpki:
    j = DemoJpki(tmp_path_factory.mktemp("jpki"))
    j.ensure_ca()
    j.issue_card("good")
    revoked = j.issue_card("revoked")
    j.issue_card("old", not_before=datetime.now(UTC) - timedelta(days=9),
                 not_after=datetime.now(UTC) - timedelta(days=1))  # fmt: skip
    j.write_crl([revoked.serial_number])
    return j


def trust(j: DemoJpki) -> TrustStore:
    return TrustStore((str(j.ca.with_suffix(".pem")),), (str(j.crl),))


def sign(j: DemoJpki, label: str) -> bytes:
    key, _ = load_pair(j.card(label))
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.sign(CHALLENGE, padding.PKCS1v15(), hashes.SHA256())


def check(j: DemoJpki, label: str, signature: bytes | None = None, ts: TrustStore | None = None):  # type: ignore[no-untyped-def]
    _, cert = load_pair(j.card(label))
    sig = signature if signature is not None else sign(j, label)
    return verify_card(ts or trust(j), cert, CHALLENGE, sig, datetime.now(UTC))


def test_good_card(jpki: DemoJpki) -> None:
    ident = check(jpki, "good")
    _, cert = load_pair(jpki.card("good"))
    assert ident.serial_hex == format(cert.serial_number, "x")


@pytest.mark.parametrize(
    ("label", "reason"), [("revoked", Reason.CARD_REVOKED), ("old", Reason.CARD_EXPIRED)]
)
def test_refused_cards(jpki: DemoJpki, label: str, reason: Reason) -> None:
    with pytest.raises(Refusal) as exc:
        check(jpki, label)
    assert exc.value.reason is reason


def test_bad_signature(jpki: DemoJpki) -> None:
    sig = bytearray(sign(jpki, "good"))
    sig[10] ^= 1
    with pytest.raises(Refusal) as exc:
        check(jpki, "good", bytes(sig))
    assert exc.value.reason is Reason.SIGNATURE_INVALID


def test_other_ca(jpki: DemoJpki, tmp_path: Path) -> None:
    other = DemoJpki(tmp_path)
    other.ensure_ca()
    with pytest.raises(Refusal) as exc:
        check(jpki, "good", ts=trust(other))
    assert exc.value.reason is Reason.CARD_UNTRUSTED


def test_forged_issuer_name_is_untrusted(jpki: DemoJpki, tmp_path: Path) -> None:
    """A look-alike CA with the same name but another key must not be trusted."""
    from center.pki import issue, new_ca, new_rsa_key

    _, real_ca = load_pair(jpki.ca)
    fake_key, fake_ca = new_ca("kofu demo JPKI user-authentication CA", new_rsa_key())
    assert fake_ca.subject == real_ca.subject
    key, cert = issue(fake_key, fake_ca, "X", key=new_rsa_key(), client=True, org="JPKI")
    assert isinstance(key, rsa.RSAPrivateKey)
    sig = key.sign(CHALLENGE, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(Refusal) as exc:
        verify_card(trust(jpki), cert, CHALLENGE, sig, datetime.now(UTC))
    assert exc.value.reason is Reason.CARD_UNTRUSTED


def test_crl_reloaded_when_file_changes(jpki: DemoJpki, tmp_path: Path) -> None:
    j = DemoJpki(tmp_path)
    j.ensure_ca()
    cert = j.issue_card("later-lost")
    ts = trust(j)
    check(j, "later-lost", ts=ts)
    import os
    import time

    j.write_crl([cert.serial_number])
    future = time.time() + 5
    os.utime(j.crl, (future, future))
    with pytest.raises(Refusal) as exc:
        check(j, "later-lost", ts=ts)
    assert exc.value.reason is Reason.CARD_REVOKED


@pytest.mark.parametrize("text", ["", "not base64!", "QUJD", "-----BEGIN CERTIFICATE-----\nxx"])
def test_malformed_certificate(text: str) -> None:
    with pytest.raises(Refusal) as exc:
        parse_certificate(text)
    assert exc.value.reason is Reason.CARD_MALFORMED


def test_pem_and_der_forms_agree(jpki: DemoJpki) -> None:
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    _, cert = load_pair(jpki.card("good"))
    der = base64.b64encode(cert.public_bytes(Encoding.DER)).decode()
    assert parse_certificate(der) == parse_certificate(cert_pem(cert).decode())


def test_bad_crl_refused_at_start_and_ignored_later(tmp_path: Path) -> None:
    import os
    import time

    j = DemoJpki(tmp_path)
    j.ensure_ca()
    good = j.crl.read_bytes()
    j.crl.write_text("not a CRL")
    with pytest.raises(ValueError):
        trust(j).refresh()
    j.crl.write_bytes(good)
    ts = trust(j)
    ts.refresh()
    j.crl.write_text("half-written")
    future = time.time() + 5
    os.utime(j.crl, (future, future))
    ts.refresh()  # keeps the last good set instead of failing every authentication
    assert len(ts.crls) == 1
