"""Checking a card's user-authentication certificate and its signature over the challenge.

The contract with the card: the kiosk has the card sign ``DigestInfo(SHA-256(challenge))``
(the card adds PKCS#1 v1.5 padding), so the center verifies an RSA PKCS#1 v1.5 / SHA-256
signature over the 32 challenge bytes with the certificate's public key.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from center.reasons import Reason, Refusal

log = logging.getLogger(__name__)

MAX_CERT_BYTES = 8 * 1024


@dataclass(frozen=True)
class CardIdentity:
    issuer_dn: str
    serial_hex: str


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def parse_certificate(text: str) -> x509.Certificate:
    """PEM or base64 DER, as the kiosk read it from EF 000A."""
    raw = text.strip().encode("ascii", "replace")
    if len(raw) > MAX_CERT_BYTES * 2:
        raise Refusal(Reason.CARD_MALFORMED, 403, "certificate too large")
    try:
        if raw.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(base64.b64decode(raw, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise Refusal(Reason.CARD_MALFORMED, 403, "unreadable certificate") from exc


@dataclass
class TrustStore:
    """Trusted JPKI CAs and their CRLs, re-read when a file changes (the CA publishes new
    CRLs while the center runs)."""

    ca_files: tuple[str, ...]
    crl_files: tuple[str, ...]
    cas: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    _stamp: tuple[int, ...] = ()

    def refresh(self) -> None:
        try:
            stamp = tuple(os.stat(p).st_mtime_ns for p in (*self.ca_files, *self.crl_files))
        except OSError:
            if not self._stamp:
                raise
            log.warning("JPKI trust files unreadable; keeping the last good set")
            return
        if stamp == self._stamp:
            return
        try:
            self._load(stamp)
        except (OSError, ValueError):
            if not self._stamp:
                raise  # at start: refuse to run without a usable trust store
            # a half-written or bad CRL while running: keep checking against the last good one
            log.warning("new JPKI CA/CRL files rejected; keeping the last good set")

    def _load(self, stamp: tuple[int, ...]) -> None:
        cas = [
            cert
            for path in self.ca_files
            for cert in x509.load_pem_x509_certificates(Path(path).read_bytes())
        ]
        crls: list[x509.CertificateRevocationList] = []
        for path in self.crl_files:
            crl = x509.load_pem_x509_crl(Path(path).read_bytes())
            signer = next((ca for ca in cas if ca.subject == crl.issuer), None)
            if signer is None or not crl.is_signature_valid(signer.public_key()):  # type: ignore[arg-type]
                raise ValueError(f"CRL {Path(path).name} is not signed by a trusted JPKI CA")
            crls.append(crl)
        self.cas, self.crls, self._stamp = cas, crls, stamp

    def issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        for ca in self.cas:
            if ca.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return ca
        return None

    def crl_for(self, issuer: str, now: datetime) -> x509.CertificateRevocationList:
        """The current CRL of a CA (by RFC 4514 name), or a refusal: no CRL, or one past its
        nextUpdate, means revocations cannot be known, and the center fails closed."""
        crl = next((c for c in self.crls if c.issuer.rfc4514_string() == issuer), None)
        if crl is None or crl.next_update_utc is None or now > crl.next_update_utc:
            raise Refusal(Reason.CRL_STALE, 503)
        return crl

    def serial_revoked(self, issuer: str, serial: str, now: datetime) -> bool:
        crl = self.crl_for(issuer, now)
        return crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None


def crl_number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return None


def check_card_profile(cert: x509.Certificate) -> None:
    """A user-authentication certificate: an end entity whose key signs (digitalSignature),
    not a CA, not the card's signing certificate (which adds nonRepudiation)."""
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if basic.ca:
            raise Refusal(Reason.CARD_UNTRUSTED, 403, "a CA certificate")
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise Refusal(Reason.CARD_UNTRUSTED, 403, "no key usage") from None
    if not usage.digital_signature or usage.content_commitment or usage.key_cert_sign:
        raise Refusal(Reason.CARD_UNTRUSTED, 403, "not an authentication key")


def verify_card(
    trust: TrustStore,
    cert: x509.Certificate,
    challenge: bytes,
    signature: bytes,
    now: datetime,
) -> CardIdentity:
    """Chain, validity, CRL, signature. The center's own revocation table and the
    serial -> resident mapping are checked by the caller, which holds the database."""
    trust.refresh()
    if trust.issuer_of(cert) is None:
        raise Refusal(Reason.CARD_UNTRUSTED)
    check_card_profile(cert)
    if now < cert.not_valid_before_utc:
        raise Refusal(Reason.CARD_NOT_YET_VALID)
    if now >= cert.not_valid_after_utc:
        raise Refusal(Reason.CARD_EXPIRED)
    ident = CardIdentity(cert.issuer.rfc4514_string(), serial_hex(cert.serial_number))
    if trust.serial_revoked(ident.issuer_dn, ident.serial_hex, now):
        raise Refusal(Reason.CARD_REVOKED)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refusal(Reason.CARD_MALFORMED, 403, "not an RSA key")
    try:
        key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise Refusal(Reason.SIGNATURE_INVALID) from exc
    return ident
