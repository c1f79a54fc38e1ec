"""The center's keys, held in a PKCS#11 token: each municipality's Ed25519 signing key, the
AES key that seals personal data at rest and the HMAC key of the My Number lookup index.

Every key is generated (or, once, imported by the 0004 migration) inside the token as a
sensitive, non-extractable object; the center only ever holds handles and asks the token to
sign, encrypt, decrypt or MAC. A copy of the database, or of the database and the state
directory's TLS files, yields no key. The embedded default token is SoftHSM
(:mod:`center.softhsm`); a real HSM is chosen by configuration (module, token label, PIN
file).

Signing keys are found by a random CKA_ID kept in ``municipalities.signing_key_id``, not by
municipality code, so several databases (tests, a staging copy) can share one token without
one's keys answering for another's.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import NoSuchKey
from pkcs11.mechanisms import GCMParams
from pkcs11.util.ec import encode_named_curve_parameters

ED25519_OID = "1.3.101.112"
DATA_KEY_LABEL = "kofu-data-key"
INDEX_KEY_LABEL = "kofu-index-key"
NONCE_LEN = 12
TAG_BITS = 128
SEALED_V1 = b"\x01"

# Attributes every private or secret key of the center gets: it never leaves the token.
_LOCKED = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
}


class KeyStoreError(RuntimeError):
    """The token is missing, locked or lacks a key; the message names no personal data."""


@dataclass(frozen=True)
class TokenSettings:
    module: str  # the PKCS#11 library
    token_label: str
    pin_file: Path  # the user PIN, one line, mode 0600
    softhsm_conf: Path | None = None  # the embedded token: its SOFTHSM2_CONF


# PKCS#11 initialises a library once per process, reading SOFTHSM2_CONF then; a process
# that uses two embedded tokens in turn (the test suite) re-initialises on each switch,
# which closes every session: the generation tells the key stores to open theirs again.
_ACTIVE: dict[str, str | None] = {}
_GENERATION = [0]
_SWITCH = threading.Lock()


def _activate(settings: TokenSettings) -> tuple[Any, int]:
    conf = str(settings.softhsm_conf) if settings.softhsm_conf else None
    with _SWITCH:
        if conf:
            os.environ["SOFTHSM2_CONF"] = conf
        lib = pkcs11.lib(settings.module)
        if settings.module in _ACTIVE and _ACTIVE[settings.module] != conf:
            lib.reinitialize()
            _GENERATION[0] += 1
        _ACTIVE[settings.module] = conf
        return lib, _GENERATION[0]


class KeyStore:
    """One process's view of the token: one session, used under a lock (a PKCS#11 session
    runs one operation at a time). Worker processes each build their own."""

    def __init__(self, settings: TokenSettings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._session: Any = None
        self._opened_in = (0, -1)  # (pid, generation)
        self._handles: dict[str, Any] = {}

    # --- session ------------------------------------------------------------------------

    def _live(self) -> Any:
        lib, generation = _activate(self.settings)
        if self._session is not None and self._opened_in == (os.getpid(), generation):
            return self._session
        s = self.settings
        try:
            pin = s.pin_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise KeyStoreError(
                f"cannot read the token PIN file {s.pin_file}: {e.strerror}"
            ) from None
        try:
            token = lib.get_token(token_label=s.token_label)
            try:
                self._session = token.open(user_pin=pin, rw=True)
            except pkcs11.exceptions.UserAlreadyLoggedIn:
                # PKCS#11 logs in a whole process: another key store here already did
                self._session = token.open(rw=True)
        except pkcs11.exceptions.PKCS11Error as e:
            raise KeyStoreError(
                f"cannot open PKCS#11 token {s.token_label!r}: {type(e).__name__}"
            ) from None
        self._opened_in, self._handles = (os.getpid(), generation), {}
        return self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None and self._opened_in[0] == os.getpid():
                try:
                    self._session.close()
                except pkcs11.exceptions.PKCS11Error:
                    pass  # a re-initialised library already dropped it
            self._session, self._handles = None, {}

    def _key(self, session: Any, cache: str, **query: Any) -> Any:
        key = self._handles.get(cache)
        if key is None:
            try:
                key = session.get_key(**query)
            except NoSuchKey:
                raise KeyStoreError(f"the token holds no key {cache}") from None
            self._handles[cache] = key
        return key

    # --- municipal signing keys ---------------------------------------------------------

    def create_signing_key(self) -> tuple[str, bytes]:
        """A new Ed25519 key pair made in the token: (key id, raw 32-byte public key)."""
        key_id = secrets.token_hex(16)
        with self._lock:
            session = self._live()
            params = session.create_domain_parameters(
                KeyType.EC_EDWARDS,
                {Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)},
                local=True,
            )
            pub, _ = params.generate_keypair(
                store=True,
                id=bytes.fromhex(key_id),
                label=f"kofu-muni-{key_id}",
                mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                public_template={Attribute.TOKEN: True},
                private_template={**_LOCKED, Attribute.SIGN: True},
            )
            return key_id, _raw_point(pub[Attribute.EC_POINT])

    def import_signing_key(self, seed: bytes) -> str:
        """Once, for a database from before keys lived in the token (migration 0004)."""
        key_id = secrets.token_hex(16)
        with self._lock:
            self._live().create_object(
                {
                    **_LOCKED,
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                    Attribute.KEY_TYPE: KeyType.EC_EDWARDS,
                    Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID),
                    Attribute.VALUE: seed,
                    Attribute.SIGN: True,
                    Attribute.ID: bytes.fromhex(key_id),
                    Attribute.LABEL: f"kofu-muni-{key_id}",
                }
            )
        return key_id

    def sign(self, key_id: str, data: bytes) -> bytes:
        with self._lock:
            session = self._live()
            key = self._key(
                session, key_id, id=bytes.fromhex(key_id), object_class=ObjectClass.PRIVATE_KEY
            )
            signature: bytes = key.sign(data, mechanism=Mechanism.EDDSA)
            return signature

    def signing_key_object(self, key_id: str) -> Any:
        """The token's handle (tests: its attributes must refuse to give the value)."""
        with self._lock:
            session = self._live()
            return self._key(
                session, key_id, id=bytes.fromhex(key_id), object_class=ObjectClass.PRIVATE_KEY
            )

    # --- personal data at rest ----------------------------------------------------------

    def ensure_data_keys(self) -> None:
        """Create the sealing and index keys if the token has none yet (first start)."""
        with self._lock:
            session = self._live()
            for label, kind, usage in (
                (DATA_KEY_LABEL, KeyType.AES, {Attribute.ENCRYPT: True, Attribute.DECRYPT: True}),
                (INDEX_KEY_LABEL, KeyType.GENERIC_SECRET, {Attribute.SIGN: True}),
            ):
                try:
                    session.get_key(label=label, object_class=ObjectClass.SECRET_KEY)
                except NoSuchKey:
                    session.generate_key(
                        kind, 256, label=label, store=True, template={**_LOCKED, **usage}
                    )

    def seal(self, plain: bytes, context: bytes) -> bytes:
        """AES-256-GCM in the token; ``context`` (the column) is authenticated, so a value
        copied into another column does not open."""
        nonce = secrets.token_bytes(NONCE_LEN)
        with self._lock:
            session = self._live()
            key = self._key(
                session, DATA_KEY_LABEL, label=DATA_KEY_LABEL, object_class=ObjectClass.SECRET_KEY
            )
            sealed: bytes = key.encrypt(
                plain, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, context)
            )
        return SEALED_V1 + nonce + sealed

    def open(self, blob: bytes, context: bytes) -> bytes:
        if blob[:1] != SEALED_V1 or len(blob) < 1 + NONCE_LEN + TAG_BITS // 8:
            raise KeyStoreError("a sealed column holds something that is not sealed")
        nonce, sealed = blob[1 : 1 + NONCE_LEN], blob[1 + NONCE_LEN :]
        with self._lock:
            session = self._live()
            key = self._key(
                session, DATA_KEY_LABEL, label=DATA_KEY_LABEL, object_class=ObjectClass.SECRET_KEY
            )
            try:
                plain: bytes = key.decrypt(
                    sealed, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, context)
                )
            except pkcs11.exceptions.PKCS11Error:
                raise KeyStoreError("a sealed value does not open (altered or moved)") from None
        return plain

    def index(self, value: str) -> str:
        """HMAC-SHA256 in the token: an equality lookup key that reveals nothing without it."""
        with self._lock:
            session = self._live()
            key = self._key(
                session,
                INDEX_KEY_LABEL,
                label=INDEX_KEY_LABEL,
                object_class=ObjectClass.SECRET_KEY,
            )
            mac: bytes = key.sign(value.encode("utf-8"), mechanism=Mechanism.SHA256_HMAC)
        return mac.hex()


def _raw_point(ec_point: bytes) -> bytes:
    """CKA_EC_POINT of an Edwards key: the 32 raw bytes, DER OCTET STRING-wrapped or not."""
    if len(ec_point) == 34 and ec_point[:2] == b"\x04\x20":
        return ec_point[2:]
    if len(ec_point) == 32:
        return ec_point
    raise KeyStoreError("the token returned an Ed25519 public key in an unknown form")
