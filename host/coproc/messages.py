"""Typed events from the coprocessor and the enums of its commands (the link's catalog,
in host terms)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from protocol import link_catalog as lcat
from protocol import link_channel as lch


class BuzzerPattern(IntEnum):
    OFF = lcat.BUZZER_OFF
    CHIME = lcat.BUZZER_CHIME  # plays once
    REMINDER = lcat.BUZZER_REMINDER  # "take your card / certificate / change"
    ALARM = lcat.BUZZER_ALARM
    ERROR = lcat.BUZZER_ERROR


class Led(IntEnum):
    CARD_GUIDE = lcat.LED_CARD_GUIDE
    TRAY_GUIDE = lcat.LED_TRAY_GUIDE
    CHANGE_GUIDE = lcat.LED_CHANGE_GUIDE


class LedMode(IntEnum):
    OFF = lcat.LED_OFF
    ON = lcat.LED_ON
    BLINK_SLOW = lcat.LED_BLINK_SLOW
    BLINK_FAST = lcat.LED_BLINK_FAST


class Tray(IntEnum):
    CERTIFICATE = lcat.TRAY_CERTIFICATE
    CHANGE = lcat.TRAY_CHANGE


class CoinRejectReason(IntEnum):
    PULSE_COUNT = lcat.COIN_REJECT_COUNT  # the train matches no coin value
    PULSE_WIDTH = lcat.COIN_REJECT_WIDTH  # pulses too short or too long: noise or a fault


class ResetCause(IntEnum):
    POWER_ON = lch.RESET_POWER_ON
    WATCHDOG = lch.RESET_WATCHDOG
    SOFT = lch.RESET_SOFT
    OTHER = lch.RESET_OTHER
    HOST = lch.RESET_HOST


def reset_cause(value: int) -> ResetCause:
    try:
        return ResetCause(value)
    except ValueError:
        return ResetCause.OTHER


@dataclass(frozen=True)
class CoinInserted:
    """A coin was accepted. (boot_id, counter) is unique: duplicates are already dropped."""

    value_yen: int
    pulses: int
    counter: int
    boot_id: int


@dataclass(frozen=True)
class CoinRejected:
    """A pulse train that is no coin: reported, never credited."""

    reason: CoinRejectReason
    pulses: int
    counter: int
    boot_id: int


@dataclass(frozen=True)
class CoinEventsLost:
    """The per-boot coin counter skipped: `missing` coin events never arrived."""

    missing: int
    boot_id: int


@dataclass(frozen=True)
class TrayChanged:
    tray: Tray
    present: bool  # True: an item lies in the tray; False: it was taken


@dataclass(frozen=True)
class DoorChanged:
    open: bool


@dataclass(frozen=True)
class StatusReport:
    coin_inhibited: bool
    door_open: bool
    certificate_tray: bool
    change_tray: bool
    buzzer: int
    leds: tuple[int, int, int]
    out_of_service: bool
    reset_cause: ResetCause
    coin_counter: int
    uptime_s: int
    boot_id: int


@dataclass(frozen=True)
class LinkStatus:
    """Link health, delivered as an event on every change and readable any time."""

    up: bool
    port_open: bool
    reason: str = ""
    epoch: int = 0
    peer_epoch: int = 0
    peer_fw: str = ""
    peer_reset_cause: ResetCause | None = None
    refused: str = ""


CoprocEvent = (
    CoinInserted
    | CoinRejected
    | CoinEventsLost
    | TrayChanged
    | DoorChanged
    | StatusReport
    | LinkStatus
)


def decode_event(msg_id: int, body: bytes, boot_id: int) -> CoprocEvent | None:
    """A device-to-host message as a typed event; None for ids the host does not expect.
    Raises link_catalog.MessageError for a body that does not fit the catalog."""
    values = lcat.decode_message(msg_id, body)
    if msg_id == lcat.MSG_COIN:
        return CoinInserted(values[0], values[1], values[2], boot_id)
    if msg_id == lcat.MSG_COIN_REJECTED:
        try:
            reason = CoinRejectReason(values[0])
        except ValueError:
            reason = CoinRejectReason.PULSE_COUNT
        return CoinRejected(reason, values[1], values[2], boot_id)
    if msg_id == lcat.MSG_TRAY:
        if values[0] not in (Tray.CERTIFICATE, Tray.CHANGE):
            raise lcat.MessageError(f"TRAY: unknown tray {values[0]}")
        return TrayChanged(Tray(values[0]), bool(values[1]))
    if msg_id == lcat.MSG_DOOR:
        return DoorChanged(bool(values[0]))
    if msg_id == lcat.MSG_STATUS:
        v = values
        return StatusReport(
            coin_inhibited=bool(v[0]),
            door_open=bool(v[1]),
            certificate_tray=bool(v[2]),
            change_tray=bool(v[3]),
            buzzer=v[4],
            leds=(v[5], v[6], v[7]),
            out_of_service=bool(v[8]),
            reset_cause=reset_cause(v[9]),
            coin_counter=v[10],
            uptime_s=v[11],
            boot_id=v[12],
        )
    return None
