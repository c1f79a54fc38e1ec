"""The 個人番号 in the signed 2D code: a salted, deliberately slow digest, never the number.

A 住民票の写し with the 個人番号 option prints the number on the front; a citizen may mask
it on a photocopy. The 2D code on the back is readable by anyone with a QR reader, so it
carries, per member, ``scrypt(number, salt ‖ "/" ‖ position)`` instead of the number, with
one random salt per certificate. A verifier who already sees (or is told) a number can check
it against the code; one who does not learns only that a number exists.

Why scrypt at these parameters: there are only ~10^11 valid numbers (11 digits and a check
digit), so a fast hash would be reversed by enumeration in minutes. At N=2^14, r=8, p=1
(16 MiB per evaluation) one guess costs ~50 ms of a CPU core, so enumerating the space for
one member of one certificate is ~140–165 core-years (half that on average); the memory per
guess limits GPU parallelism, and the per-certificate salt and the position mean that work
is never shared between members or certificates. The center pays the same ~50 ms per member
per copy at issuance (inside the kiosk's 10 s call: 10 copies of a 10-member 住民票 with
個人番号 take ~5 s), which is what keeps N from being higher. 12 digest bytes are far more
than the ~37 bits that tell 10^11 numbers apart.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import os
import unicodedata
from enum import StrEnum

from documents.model import CertificateDocument

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM = 32 * 1024 * 1024  # 128 * r * N = 16 MiB, plus headroom
SALT_BYTES = 16
DIGEST_BYTES = 12
NUMBER_DIGITS = 12


class InvalidMyNumber(ValueError):
    """What was typed is not a 12-digit number (the message never repeats the input)."""


class NumberCheck(StrEnum):
    MATCH = "matches"
    MISMATCH = "does not match"
    NOT_CHECKED = "not checked"
    ABSENT = "not on this certificate"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def normalize(typed: str) -> str:
    """12 ASCII digits from what a person typed or read off the front: full-width digits,
    spaces and hyphens are accepted ("1234 5678 9012" is how the front prints it)."""
    text = unicodedata.normalize("NFKC", typed)
    digits = "".join(ch for ch in text if ch not in " -\t")
    if len(digits) != NUMBER_DIGITS or not (digits.isascii() and digits.isdigit()):
        raise InvalidMyNumber(f"a 個人番号 has {NUMBER_DIGITS} digits")
    return digits


def new_salt() -> str:
    return _b64(os.urandom(SALT_BYTES))


def digest(number: str, salt: str, position: int) -> str:
    """The digest of member ``position`` (1-based) of the certificate salted with ``salt``."""
    raw = hashlib.scrypt(
        number.encode("ascii"),
        salt=_unb64(salt) + f"/{position}".encode("ascii"),
        n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM, dklen=DIGEST_BYTES,
    )
    return _b64(raw)


def for_signing(doc: CertificateDocument, salt: str | None = None) -> CertificateDocument:
    """``doc`` as it is signed: each 個人番号 replaced by its digest under a fresh (or the
    given) salt. A document without a 個人番号 is returned unchanged, with no salt."""
    if not any(p.my_number for p in doc.members):
        return doc
    salt = salt or new_salt()
    members = tuple(
        dataclasses.replace(p, my_number=None,
                            my_number_digest=digest(p.my_number, salt, i))
        if p.my_number else p
        for i, p in enumerate(doc.members, start=1)
    )
    return dataclasses.replace(doc, members=members, my_number_salt=salt)


def well_formed(signed: CertificateDocument) -> bool:
    """Signed content of the current format: no number in clear; digests only beside a
    salt, and both of the right length."""
    if any(p.my_number is not None for p in signed.members):
        return False
    digests = [p.my_number_digest for p in signed.members if p.my_number_digest is not None]
    if not digests:
        return signed.my_number_salt is None
    try:
        return (isinstance(signed.my_number_salt, str)
                and len(_unb64(signed.my_number_salt)) == SALT_BYTES
                and all(isinstance(d, str) and len(_unb64(d)) == DIGEST_BYTES
                        for d in digests))
    except (binascii.Error, ValueError):
        return False


def check(signed: CertificateDocument, typed: str | None) -> tuple[NumberCheck, int | None]:
    """Whether ``typed`` is the 個人番号 of a member of the signed content, and which one
    (1-based). Raises InvalidMyNumber when ``typed`` is not 12 digits. A legacy payload
    (number in clear) is compared directly."""
    if typed is None:
        return NumberCheck.NOT_CHECKED, None
    number = normalize(typed)
    carried = False
    for i, p in enumerate(signed.members, start=1):
        if p.my_number_digest is not None and signed.my_number_salt is not None:
            carried = True
            expected = digest(number, signed.my_number_salt, i)
            if hmac.compare_digest(expected, p.my_number_digest):
                return NumberCheck.MATCH, i
        elif p.my_number is not None:
            carried = True
            if hmac.compare_digest(number, p.my_number):
                return NumberCheck.MATCH, i
    return (NumberCheck.MISMATCH if carried else NumberCheck.ABSENT), None


def agrees(printed: CertificateDocument, signed: CertificateDocument) -> bool:
    """The printed front and the signed code hold the same content field for field, each
    printed 個人番号 matching its member's digest."""
    return for_signing(printed, signed.my_number_salt) == signed
