"""Personal data sealed at rest: column types that encrypt through the key store.

A sealed column holds ``0x01 | nonce | AES-256-GCM(value)`` made inside the token, with the
column's name as associated data. The key store travels with the engine (its dialect), so
every session of that engine seals and opens transparently, and an engine without one fails
loudly instead of writing clear text. ``residents.my_number_index`` (HMAC-SHA256 in the
token) is what finds a resident by My Number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, LargeBinary, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.types import TypeDecorator

from center.keystore import KeyStore

_ATTR = "kofu_keystore"


def attach(engine: Engine, keys: KeyStore) -> Engine:
    setattr(engine.dialect, _ATTR, keys)
    return engine


def keystore_of(dialect: Dialect) -> KeyStore:
    keys = getattr(dialect, _ATTR, None)
    if keys is None:
        raise RuntimeError(
            "this engine has no key store: personal data columns are sealed (center.atrest)"
        )
    assert isinstance(keys, KeyStore)
    return keys


def session_keystore(db: DbSession) -> KeyStore:
    return keystore_of(db.get_bind().dialect)


class SealedBytes(TypeDecorator[bytes]):
    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return keystore_of(dialect).seal(bytes(value), self.context.encode("ascii"))

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return keystore_of(dialect).open(bytes(value), self.context.encode("ascii"))


class SealedText(TypeDecorator[str]):
    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return keystore_of(dialect).seal(value.encode("utf-8"), self.context.encode("ascii"))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        plain = keystore_of(dialect).open(bytes(value), self.context.encode("ascii"))
        return plain.decode("utf-8")


def my_number_index(keys: KeyStore, my_number: str | None) -> str | None:
    return keys.index(my_number) if my_number else None


def keep_index(resident_class: type[Any]) -> None:
    """Keep ``my_number_index`` in step with ``my_number`` on every insert and update."""

    def _set(_mapper: Mapper[Any], connection: Connection, target: Any) -> None:
        target.my_number_index = my_number_index(keystore_of(connection.dialect), target.my_number)

    event.listen(resident_class, "before_insert", _set)
    event.listen(resident_class, "before_update", _set)
