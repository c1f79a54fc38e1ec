"""Certificates the center needs: its TLS server certificate, the deployment's kiosk CA and
kiosk client certificates, and (for demos and tests only) a stand-in JPKI CA with card
certificates and a CRL.

TLS keys are ECDSA P-256 (quick to make); card keys are RSA-2048 like the real JPKI
user-authentication key, because the card signs with PKCS#1 v1.5.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _name(cn: str, org: str = "kofu") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_ca(
    cn: str, key: PrivateKey | None = None, *, org: str = "kofu", days: int = 3650
) -> tuple[PrivateKey, x509.Certificate]:
    key = key or new_ec_key()
    now = datetime.now(UTC)
    name = _name(cn, org)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    ca_key: CertificateIssuerPrivateKeyTypes,
    ca_cert: x509.Certificate,
    cn: str,
    *,
    key: PrivateKey | None = None,
    server_hosts: tuple[str, ...] = (),
    client: bool = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    org: str = "kofu",
    card: bool = False,
) -> tuple[PrivateKey, x509.Certificate]:
    key = key or new_ec_key()
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, org))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    usages = []
    if server_hosts:
        sans: list[x509.GeneralName] = []
        for host in server_hosts:
            try:
                sans.append(x509.IPAddress(ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if card:  # a JPKI user-authentication certificate: its key only signs challenges
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
    return key, builder.sign(ca_key, hashes.SHA256())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_pair(path_stem: Path, key: PrivateKey, cert: x509.Certificate) -> None:
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    key_path = path_stem.with_suffix(".key")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem(key))
    path_stem.with_suffix(".pem").write_bytes(cert_pem(cert))


def load_pair(path_stem: Path) -> tuple[PrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(path_stem.with_suffix(".key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    cert = x509.load_pem_x509_certificate(path_stem.with_suffix(".pem").read_bytes())
    return key, cert


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class CenterPki:
    """File layout of a state directory's TLS material."""

    root: Path

    @property
    def server_ca(self) -> Path:  # kiosks trust this to recognise the center
        return self.root / "pki" / "center-ca"

    @property
    def server(self) -> Path:
        return self.root / "pki" / "server"

    @property
    def kiosk_ca(self) -> Path:  # the center trusts kiosk client certificates from this
        return self.root / "pki" / "kiosk-ca"

    def kiosk(self, code: str) -> Path:
        return self.root / "kiosks" / code

    def ensure(self, hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")) -> None:
        if not self.server_ca.with_suffix(".pem").exists():
            ca_key, ca = new_ca("kofu center CA")
            write_pair(self.server_ca, ca_key, ca)
            key, cert = issue(ca_key, ca, "kofu center", server_hosts=hosts)
            write_pair(self.server, key, cert)
        if not self.kiosk_ca.with_suffix(".pem").exists():
            ca_key, ca = new_ca("kofu kiosk CA")
            write_pair(self.kiosk_ca, ca_key, ca)

    def issue_kiosk(self, code: str) -> x509.Certificate:
        """Demo and tests: a kiosk key made here, enrolled by the CSR path like a real one."""
        from center.kiosk_enroll import demo_kiosk  # it builds on this module

        return demo_kiosk(self, code)


# --- stand-in JPKI (demo and tests; the card simulator brings its own) ---------------------


@dataclass(frozen=True)
class DemoJpki:
    root: Path

    @property
    def ca(self) -> Path:
        return self.root / "demo-jpki" / "ca"

    @property
    def crl(self) -> Path:
        return self.root / "demo-jpki" / "crl.pem"

    def card(self, label: str) -> Path:
        return self.root / "demo-jpki" / "cards" / label

    def ensure_ca(self) -> None:
        if not self.ca.with_suffix(".pem").exists():
            key, cert = new_ca("kofu demo JPKI user-authentication CA", new_rsa_key())
            write_pair(self.ca, key, cert)
            self.write_crl([])

    def issue_card(
        self,
        label: str,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        ca_key, ca = load_pair(self.ca)
        serial_cn = hashlib.sha256(os.urandom(16)).hexdigest()[:16].upper()
        key, cert = issue(
            ca_key,
            ca,
            serial_cn,
            key=new_rsa_key(),
            client=True,
            not_before=not_before,
            not_after=not_after or datetime.now(UTC) + timedelta(days=5 * 365),
            org="JPKI",
            card=True,
        )
        write_pair(self.card(label), key, cert)
        return cert

    def write_crl(self, serials: list[int]) -> None:
        """A CRL numbered one above the last one written. Valid for two weeks: tests and the
        demo run the center's clock up to a week ahead (the next serving morning)."""
        ca_key, ca = load_pair(self.ca)
        now = datetime.now(UTC)
        number = 1
        if self.crl.exists():
            from center.jpki import crl_number

            number = (crl_number(x509.load_pem_x509_crl(self.crl.read_bytes())) or 0) + 1
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.subject)
            .last_update(now - timedelta(minutes=1))
            .next_update(now + timedelta(days=14))
            .add_extension(x509.CRLNumber(number), critical=False)
        )
        for serial in serials:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - timedelta(minutes=1))
                .build()
            )
        crl = builder.sign(ca_key, hashes.SHA256())
        self.crl.parent.mkdir(parents=True, exist_ok=True)
        self.crl.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
