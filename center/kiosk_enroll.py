"""Kiosk enrollment by certificate signing request: the kiosk makes its own key
(`kofu kiosk enroll`), the center checks the request and signs a client certificate
(`kofu center admin kiosk enroll --csr FILE --code CODE`). The center never holds a
kiosk's private key; only the demo plays both parts (:func:`demo_kiosk`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from center.pki import CenterPki, _name, cert_pem, load_pair, new_ec_key, write_pair

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}\Z")
CURVES = (ec.SECP256R1, ec.SECP384R1)
MIN_RSA_BITS = 2048
VALID_DAYS = 825


class EnrollError(ValueError):
    """The request is not acceptable; the message says why (no secrets in it)."""


def check_code(code: str) -> str:
    if not CODE.match(code):
        raise EnrollError("kiosk code: 1-40 letters, digits, '.', '_' or '-'")
    return code


def check_csr(pem: bytes, code: str) -> x509.CertificateSigningRequest:
    """A request for ``code``: PEM, self-signature valid, EC P-256/P-384 or RSA >= 2048,
    exactly one CN and it is the code."""
    check_code(code)
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as exc:
        raise EnrollError("not a PEM certificate signing request") from exc
    if not csr.is_signature_valid:
        raise EnrollError("the request's signature does not verify")
    key = csr.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, CURVES):
            raise EnrollError("EC keys: P-256 or P-384 only")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise EnrollError(f"RSA keys: at least {MIN_RSA_BITS} bits")
    else:
        raise EnrollError("key type not accepted (EC P-256/P-384 or RSA)")
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1 or cns[0].value != code:
        raise EnrollError("the request's common name is not the kiosk code")
    return csr


def sign(pki: CenterPki, csr: x509.CertificateSigningRequest, code: str) -> x509.Certificate:
    """A client certificate for the checked request. The subject and extensions are the
    center's, not the request's. Validity is in real time: TLS peers check the machine's
    clock, not the center's (possibly shifted) one."""
    ca_key, ca = load_pair(pki.kiosk_ca)
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(code))
        .issuer_name(ca.subject)
        .public_key(csr.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def make_csr(key: ec.EllipticCurvePrivateKey, code: str) -> x509.CertificateSigningRequest:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, code)]))
        .sign(key, hashes.SHA256())
    )


def demo_kiosk(pki: CenterPki, code: str) -> x509.Certificate:
    """Demo and tests only: play the kiosk's part too (its key in ``kiosks/CODE.key``, where
    the simulated kiosk reads it) and enroll it by the same request path as a real kiosk."""
    key = new_ec_key()
    cert = sign(pki, check_csr(_pem(make_csr(key, code)), code), code)
    write_pair(pki.kiosk(code), key, cert)
    return cert


def _pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(Encoding.PEM)


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert_pem(cert))
