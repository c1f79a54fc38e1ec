"""The signed payload carried by a certificate's 2D code (the スクランブル画像's role).

Layout (all integers big-endian)::

    magic     4  b"KFC2"
    issuer    1 + n   length-prefixed ASCII municipality code (the signing key's id)
    body      rest-64 zlib(canonical JSON of the CertificateDocument as signed), level 9
    signature 64  Ed25519 (RFC 8032) over everything before it

"As signed" means each 個人番号 replaced by its salted scrypt digest
(:mod:`documents.my_number_digest`): the code is readable by anyone, the number is not in
it. A KFC2 body holding a number in clear is refused as malformed. Payloads of the older
format ``KFC1`` (number in clear; issued before KFC2) still verify, flagged ``legacy``.

The signature covers the magic and issuer too, so a payload cannot be re-attributed to
another municipality. Verification needs only the issuer's public key from a trust store;
it never trusts anything the payload says until the signature checks.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import StrEnum

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from documents import my_number_digest
from documents.model import CertificateDocument

MAGIC = b"KFC2"
LEGACY_MAGIC = b"KFC1"  # 個人番号 in clear in the body; verified, never issued any more
MAGICS = (MAGIC, LEGACY_MAGIC)
SIGNATURE_LEN = 64
MAX_BODY = 64 * 1024  # decompressed; a certificate's content is a few KiB at most


class Verdict(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"


class Reason(StrEnum):
    OK = "ok"
    BAD_SIGNATURE = "bad signature"
    UNKNOWN_ISSUER = "unknown issuer"
    MALFORMED = "malformed"
    NO_CODE = "no code found"


@dataclass(frozen=True)
class VerifyResult:
    verdict: Verdict
    reason: Reason
    issuer_code: str | None = None
    document: CertificateDocument | None = None
    legacy: bool = False  # a KFC1 payload: its code carries any 個人番号 in clear

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID


def generate_key() -> ECC.EccKey:
    return ECC.generate(curve="Ed25519")


def public_key_raw(key: ECC.EccKey) -> bytes:
    raw: bytes = key.public_key().export_key(format="raw")
    return raw


def load_public_key_raw(raw: bytes) -> ECC.EccKey:
    return eddsa.import_public_key(raw)


def signed_message(doc: CertificateDocument, salt: str | None = None) -> bytes:
    """The bytes a signature covers: header and the compressed content as signed (each
    個人番号 replaced by its digest under a fresh, or the given, salt). A signer that holds
    its key elsewhere (PKCS#11) signs these and appends the 64-byte signature."""
    issuer = doc.issuer.code.encode("ascii")
    if not 0 < len(issuer) < 256:
        raise ValueError("issuer code must be 1..255 ASCII characters")
    head = MAGIC + bytes([len(issuer)]) + issuer
    body = zlib.compress(my_number_digest.for_signing(doc, salt).canonical_json(), 9)
    return head + body


def sign_document(doc: CertificateDocument, key: ECC.EccKey, salt: str | None = None) -> bytes:
    signed = signed_message(doc, salt)
    return signed + eddsa.new(key, "rfc8032").sign(signed)


def verify_payload(payload: bytes, trust: dict[str, bytes]) -> VerifyResult:
    """Check a payload against ``trust`` (issuer code -> raw Ed25519 public key)."""
    if len(payload) < len(MAGIC) + 2 + SIGNATURE_LEN or payload[:len(MAGIC)] not in MAGICS:
        return VerifyResult(Verdict.INVALID, Reason.MALFORMED)
    legacy = payload.startswith(LEGACY_MAGIC)
    n = payload[len(MAGIC)]
    start = len(MAGIC) + 1
    issuer_raw = payload[start : start + n]
    if len(issuer_raw) != n or len(payload) < start + n + SIGNATURE_LEN:
        return VerifyResult(Verdict.INVALID, Reason.MALFORMED)
    try:
        issuer = issuer_raw.decode("ascii")
    except UnicodeDecodeError:
        return VerifyResult(Verdict.INVALID, Reason.MALFORMED)
    pub = trust.get(issuer)
    if pub is None:
        return VerifyResult(Verdict.INVALID, Reason.UNKNOWN_ISSUER, issuer)
    signed, signature = payload[:-SIGNATURE_LEN], payload[-SIGNATURE_LEN:]
    try:
        eddsa.new(load_public_key_raw(pub), "rfc8032").verify(signed, signature)
    except ValueError:
        return VerifyResult(Verdict.INVALID, Reason.BAD_SIGNATURE, issuer)
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(signed[start + n :], MAX_BODY)
        if inflater.unconsumed_tail or not inflater.eof:
            raise ValueError("body too large or truncated")
        doc = CertificateDocument.from_json(raw)
    except (ValueError, KeyError, TypeError, zlib.error):
        # Signed but unreadable: a bug at the issuer, not a forgery; still not a valid document.
        return VerifyResult(Verdict.INVALID, Reason.MALFORMED, issuer)
    if doc.issuer.code != issuer:
        return VerifyResult(Verdict.INVALID, Reason.MALFORMED, issuer)
    if not legacy and not my_number_digest.well_formed(doc):
        return VerifyResult(Verdict.INVALID, Reason.MALFORMED, issuer)
    return VerifyResult(Verdict.VALID, Reason.OK, issuer, doc, legacy)
