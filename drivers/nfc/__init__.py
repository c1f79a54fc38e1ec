"""PC/SC reader and the My Number card's JPKI user-authentication application."""

from drivers.nfc.errors import (
    CardBusy,
    CardError,
    CardMute,
    CardRemoved,
    InvalidPin,
    NoAuthCertificate,
    NoCard,
    NotMyNumberCard,
    PinBlocked,
    PinNotVerified,
    ReaderGone,
    WrongPin,
)
from drivers.nfc.jpki import Authentication
from drivers.nfc.pin import Pin
from drivers.nfc.reader import JpkiReader, JpkiSession, ReaderConfig

__all__ = [
    "Authentication",
    "CardBusy",
    "CardError",
    "CardMute",
    "CardRemoved",
    "InvalidPin",
    "JpkiReader",
    "JpkiSession",
    "NoAuthCertificate",
    "NoCard",
    "NotMyNumberCard",
    "Pin",
    "PinBlocked",
    "PinNotVerified",
    "ReaderConfig",
    "ReaderGone",
    "WrongPin",
]
