"""The test JPKI CA and each persona's keys and certificates, kept in the state directory.

Layout (the center is given the CA certificate and CRL paths to trust):
    <state>/jpki/ca-cert.pem, ca-key.pem, crl.pem
    <state>/card/<persona>/auth-key.pem, auth-cert.pem, pin-tries
Keys are RSA-2048 made by pycryptodome; certificates and the CRL are built with
`cryptography`. Everything is made once and reused, except the CRL, refreshed at each load.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from Crypto.PublicKey import RSA
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sim.card.personas import PERSONAS, Persona

CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for user authentication"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "kofu test CA (not J-LIS)"),
    ]
)


@dataclass(frozen=True)
class CaPaths:
    cert: Path
    key: Path
    crl: Path


def ca_paths(state: Path) -> CaPaths:
    d = state / "jpki"
    return CaPaths(d / "ca-cert.pem", d / "ca-key.pem", d / "crl.pem")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key() -> RSA.RsaKey:
    """An RSA-2048 key as a pycryptodome key (what the card signs with). The primes come from
    OpenSSL: pycryptodome's pure-Python prime search takes seconds on a busy machine."""
    return _from_crypto(rsa.generate_private_key(public_exponent=65537, key_size=2048))


# Our own keys, made by OpenSSL above: the primality and consistency checks both libraries run
# on every load (pure Python in pycryptodome) cost ~0.3 s a key and `kofu sim` loads dozens.
def _from_crypto(key: rsa.RSAPrivateKey) -> RSA.RsaKey:
    n = key.private_numbers()
    pub = n.public_numbers
    return RSA.construct((pub.n, pub.e, n.d, n.p, n.q), consistency_check=False)


def _import_key(pem: bytes) -> RSA.RsaKey:
    loaded = serialization.load_pem_private_key(
        pem, password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return _from_crypto(loaded)


def _to_crypto(key: RSA.RsaKey) -> rsa.RSAPrivateKey:
    p, q, d = int(key.p), int(key.q), int(key.d)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d,
        rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(int(key.e), int(key.n)),
    )  # fmt: skip
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)


@contextmanager
def _locked(state: Path) -> Iterator[None]:
    """Two processes sharing a state dir (tests, a bench) make the CA only once."""
    state.mkdir(parents=True, exist_ok=True)
    with open(state / ".card-lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _ensure_ca(state: Path) -> tuple[x509.Certificate, RSA.RsaKey]:
    paths = ca_paths(state)
    if paths.cert.exists() and paths.key.exists():
        cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        return cert, _import_key(paths.key.read_bytes())
    key = _new_key()
    ckey = _to_crypto(key)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(ckey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ckey.public_key()), False)
        .sign(ckey, hashes.SHA256())
    )
    _write_private(paths.key, key.export_key("PEM"))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


@dataclass
class PersonaMaterial:
    key: RSA.RsaKey | None
    cert_der: bytes | None
    ca_der: bytes
    sign_cert_der: bytes | None = None  # digital-signature certificate (EF 0001), same key


def persona_dir(state: Path, persona: Persona) -> Path:
    return state / "card" / persona.name


def _issue(
    ca_cert: x509.Certificate,
    ca_key: RSA.RsaKey,
    key: RSA.RsaKey,
    expired: bool,
    purpose: str = "authentication",
) -> x509.Certificate:
    pub = _to_crypto(key).public_key()
    now = _now()
    if expired:
        start, end = now - dt.timedelta(days=5 * 365 + 30), now - dt.timedelta(days=30)
    else:
        start, end = now - dt.timedelta(days=30), now + dt.timedelta(days=5 * 365)
    serial = x509.random_serial_number()
    # A real user-authentication certificate names no person: only an opaque identifier.
    # (A real signing certificate carries name and address; the sim's carries neither.)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{serial:032X}"[:32]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"kofu test {purpose}"),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(pub)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        .sign(_to_crypto(ca_key), hashes.SHA256())
    )


_CACHE: dict[tuple[Path, str], PersonaMaterial] = {}
CRL_REFRESH_S = 3600.0


def load_persona(state: Path, persona: Persona) -> PersonaMaterial:
    """Keys and certificates of a persona, made on first use; the CRL is kept fresh."""
    key = (state.resolve(), persona.name)
    cached = _CACHE.get(key)
    if cached is not None and _crl_fresh(state):
        return cached
    material = _load_persona(state, persona)
    _CACHE[key] = material
    return material


def _crl_fresh(state: Path) -> bool:
    try:
        age = time.time() - ca_paths(state).crl.stat().st_mtime
    except FileNotFoundError:
        return False
    return age < CRL_REFRESH_S


def _load_persona(state: Path, persona: Persona) -> PersonaMaterial:
    with _locked(state):
        ca_cert, ca_key = _ensure_ca(state)
        ca_der = ca_cert.public_bytes(serialization.Encoding.DER)
        fresh = _crl_fresh(state)
        # The CRL must list every revoked persona from the start, whichever card is used.
        for other in PERSONAS.values():
            if other.revoked:
                fresh = not _ensure_cert(state, ca_cert, ca_key, other)[2] and fresh
        if not persona.jpki or not persona.has_certificate:
            if not fresh:
                _write_crl(state, ca_cert, ca_key)
            return PersonaMaterial(None, None, ca_der)
        key, cert, made = _ensure_cert(state, ca_cert, ca_key, persona)
        if not fresh or made:
            _write_crl(state, ca_cert, ca_key)
        sign_path = persona_dir(state, persona) / "sign-cert.pem"
        if not sign_path.exists():
            signing = _issue(ca_cert, ca_key, key, expired=persona.expired, purpose="signature")
            sign_path.write_bytes(signing.public_bytes(serialization.Encoding.PEM))
        sign_der = x509.load_pem_x509_certificate(sign_path.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        return PersonaMaterial(key, der, ca_der, sign_der)


def _ensure_cert(
    state: Path, ca_cert: x509.Certificate, ca_key: RSA.RsaKey, persona: Persona
) -> tuple[RSA.RsaKey, x509.Certificate, bool]:
    d = persona_dir(state, persona)
    key_path, cert_path = d / "auth-key.pem", d / "auth-cert.pem"
    if key_path.exists() and cert_path.exists():
        key = _import_key(key_path.read_bytes())
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes()), False
    key = _new_key()
    cert = _issue(ca_cert, ca_key, key, expired=persona.expired)
    _write_private(key_path, key.export_key("PEM"))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, True


def _write_crl(state: Path, ca_cert: x509.Certificate, ca_key: RSA.RsaKey) -> None:
    """Numbered one above the last (the center refuses an older CRL put back); valid two
    weeks, since the sim runs the center's clock up to a week ahead."""
    now = _now()
    number = 1
    if ca_paths(state).crl.exists():
        old = x509.load_pem_x509_crl(ca_paths(state).crl.read_bytes())
        try:
            number = old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
        except x509.ExtensionNotFound:
            pass
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=14))
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for p in PERSONAS.values():
        if not p.revoked:
            continue
        cert_path = persona_dir(state, p) / "auth-cert.pem"
        if not cert_path.exists():
            continue
        serial = x509.load_pem_x509_certificate(cert_path.read_bytes()).serial_number
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - dt.timedelta(days=1))
            .build()
        )
    crl = builder.sign(_to_crypto(ca_key), hashes.SHA256())
    path = ca_paths(state).crl
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    tmp.replace(path)


def export_certificate_pem(state: Path, persona: Persona) -> str:
    """The persona's user-authentication certificate (PEM), for the center's demo residents."""
    material = load_persona(state, persona)
    if material.cert_der is None:
        raise ValueError(f"persona {persona.name!r} has no user-authentication certificate")
    cert = x509.load_der_x509_certificate(material.cert_der)
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
