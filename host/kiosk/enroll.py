"""`kofu kiosk enroll --code CODE --key FILE --csr FILE`: the kiosk's own TLS client key
(EC P-256, made here, 0600, never leaves the kiosk) and a certificate signing request for
it. The operator takes the request to the center (`kofu center admin kiosk enroll --csr FILE
--code CODE`) and brings back the certificate for ``[center] cert`` in kiosk.toml.

An existing key is kept and a new request made for it (renewal); ``--new-key`` replaces it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def load_or_make_key(path: Path, new: bool = False) -> ec.EllipticCurvePrivateKey:
    if path.exists() and not new:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path}: not an EC private key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    _write_private(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return key


def csr_pem(key: ec.EllipticCurvePrivateKey, code: str) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, code)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def enroll_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kofu kiosk enroll", description=__doc__)
    p.add_argument("--code", required=True, help="this kiosk's code (the certificate's CN)")
    p.add_argument("--key", type=Path, required=True, help="private key file (made if missing)")
    p.add_argument("--csr", type=Path, required=True, help="where to write the request")
    p.add_argument("--new-key", action="store_true", help="replace an existing key")
    args = p.parse_args(argv)
    try:
        key = load_or_make_key(args.key, args.new_key)
        args.csr.write_bytes(csr_pem(key, args.code))
    except (OSError, ValueError) as exc:
        print(f"kofu kiosk enroll: {exc}", file=sys.stderr)
        return 1
    print(f"kofu kiosk enroll: request for {args.code} in {args.csr}; key in {args.key}")
    return 0
