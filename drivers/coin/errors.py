"""Typed errors of the cash drivers. Messages never carry money owners' data (there is none)."""

from __future__ import annotations


class CashDeviceError(Exception):
    """A cash device did not do what was asked; the caller decides what it means for money."""


class FrameError(CashDeviceError):
    """Bytes on the wire that are not a valid frame (bad checksum, bad length, truncated)."""


class NoReply(CashDeviceError):
    """The device did not answer after every retry (also: a header it does not support)."""


class Nak(CashDeviceError):
    """The device refused the command (ccTalk NAK; hoppers: payout refused)."""


class Busy(CashDeviceError):
    """The device is busy (ccTalk BUSY)."""


class ProtocolViolation(CashDeviceError):
    """A well-formed reply that makes no sense for the request (wrong length, unknown code)."""


class PayoutUncertain(CashDeviceError):
    """The hopper stopped answering during a payout: how many coins came out is unknown."""

    def __init__(self, message: str, paid_at_least: int) -> None:
        super().__init__(message)
        self.paid_at_least = paid_at_least
