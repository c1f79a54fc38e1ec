"""The PC/SC transport: pyscard over the system's pcscd.

Reader chosen by a regular-expression name pattern; card insert/remove events from
SCardGetStatusChange (with the PnP pseudo-reader so an unplugged reader coming back is seen);
exclusive connections; every PC/SC failure turned into a typed driver error. A lost pcscd
connection (daemon restarted) is re-established on the next call.
"""

from __future__ import annotations

import enum
import logging
import re
import threading
import time
from typing import Any

from smartcard import scard

from drivers.nfc.errors import (
    CardBusy,
    CardError,
    CardMute,
    CardRemoved,
    NoCard,
    ReaderGone,
)

log = logging.getLogger(__name__)

PNP_READER = "\\\\?PnP?\\Notification"
SCARD_ATTR_MAXINPUT = 0x0007A007  # pcsc-lite vendor attribute: longest APDU the reader takes
POLL_MS = 250

_CONTEXT_LOST = {
    scard.SCARD_E_NO_SERVICE,
    scard.SCARD_E_SERVICE_STOPPED,
    scard.SCARD_E_INVALID_HANDLE,
    scard.SCARD_E_INVALID_PARAMETER,
}
_READER_GONE = {
    scard.SCARD_E_READER_UNAVAILABLE,
    scard.SCARD_E_UNKNOWN_READER,
    scard.SCARD_E_NO_READERS_AVAILABLE,
}
_CARD_GONE = {scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_RESET_CARD}


def _u32(hr: int) -> int:
    return hr & 0xFFFFFFFF


def _describe(hr: int) -> str:
    try:
        text: str = scard.SCardGetErrorMessage(hr)
    except Exception:  # pyscard raises for codes it does not know
        text = "unknown"
    return f"{_u32(hr):08X} {text}"


class CardEvent(enum.Enum):
    INSERTED = "inserted"
    REMOVED = "removed"
    READER_GONE = "reader-gone"
    READER_BACK = "reader-back"


class PcscReader:
    """One reader, chosen by pattern; survives pcscd restarts and reader replugs."""

    def __init__(
        self,
        pattern: str = "",
        *,
        transmit_timeout_s: float = 10.0,
        removal_grace_s: float = 3.0,
    ) -> None:
        self.pattern = re.compile(pattern)
        self.transmit_timeout_s = transmit_timeout_s
        self.removal_grace_s = removal_grace_s
        self._ctx: Any = None
        self._last_present: bool | None = None
        self._last_seen = True

    # -- context and discovery ---------------------------------------------------------------
    def _context(self) -> Any:
        if self._ctx is None:
            hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hr != scard.SCARD_S_SUCCESS:
                raise ReaderGone(f"pcscd not reachable ({_describe(hr)})")
            self._ctx = ctx
        return self._ctx

    def _drop_context(self) -> None:
        if self._ctx is not None:
            try:
                scard.SCardReleaseContext(self._ctx)
            except Exception:  # already invalid after a pcscd restart
                pass
            self._ctx = None

    def readers(self) -> list[str]:
        for attempt in (1, 2):
            hr, names = scard.SCardListReaders(self._context(), [])
            if hr == scard.SCARD_S_SUCCESS:
                return list(names)
            if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
                return []
            if hr in _CONTEXT_LOST and attempt == 1:
                self._drop_context()
                continue
            raise ReaderGone(_describe(hr))
        return []

    def reader_name(self) -> str:
        """The first reader whose name matches the pattern."""
        names = self.readers()
        for name in names:
            if self.pattern.search(name):
                return name
        raise ReaderGone(f"no reader matches {self.pattern.pattern!r} (readers: {names})")

    def close(self) -> None:
        self._drop_context()

    def __enter__(self) -> PcscReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- status and events -------------------------------------------------------------------
    def _state(self, name: str, timeout_ms: int, known: int) -> tuple[int, int]:
        hr, states = scard.SCardGetStatusChange(self._context(), timeout_ms, [(name, known)])
        if hr in _CONTEXT_LOST:
            self._drop_context()
        if hr not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            return hr, 0
        return hr, int(states[0][1])

    def card_present(self) -> bool:
        name = self.reader_name()
        hr, state = self._state(name, 0, scard.SCARD_STATE_UNAWARE)
        if hr not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            if hr in _READER_GONE:
                raise ReaderGone(_describe(hr))
            raise ReaderGone(_describe(hr))
        return bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE

    def card_mark(self) -> int | None:
        """None when no card is on the reader; else the reader's card-event counter (upper
        16 bits of the PC/SC event state), which changes with every insertion: a card lifted
        and placed again, however quickly, is told apart from one that stayed."""
        name = self.reader_name()
        hr, state = self._state(name, 0, scard.SCARD_STATE_UNAWARE)
        if hr not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            raise ReaderGone(_describe(hr))
        if not state & scard.SCARD_STATE_PRESENT or state & scard.SCARD_STATE_MUTE:
            return None
        return (state >> 16) & 0xFFFF

    def wait_event(self, timeout_s: float) -> CardEvent | None:
        """The next change of this reader (card in or out, reader gone or back), or None."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                name = self.reader_name()
                present = self.card_present()
            except ReaderGone:
                if self._last_seen:
                    self._last_seen = False
                    self._last_present = None
                    return CardEvent.READER_GONE
                name, present = "", False
            else:
                if not self._last_seen:
                    self._last_seen = True
                    self._last_present = present
                    return CardEvent.READER_BACK
                if self._last_present is not None and present != self._last_present:
                    self._last_present = present
                    return CardEvent.INSERTED if present else CardEvent.REMOVED
                self._last_present = present
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            wait_ms = int(min(left, POLL_MS / 1000 * 4) * 1000)
            try:
                if name:
                    known = scard.SCARD_STATE_PRESENT if present else scard.SCARD_STATE_EMPTY
                    hr, _ = self._state(name, wait_ms, known)
                else:
                    # Wait for the reader list to change (a reader plugged in).
                    hr, _ = scard.SCardGetStatusChange(self._context(), wait_ms, [(PNP_READER, 0)])
                    if hr in _CONTEXT_LOST:
                        self._drop_context()
                failed = hr not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT)
            except ReaderGone:
                failed = True
            if failed:  # pcscd gone or the reader vanished: don't spin
                time.sleep(min(max(left, 0.0), POLL_MS / 1000))

    def wait_for_card(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.card_present():
                    return True
            except ReaderGone:
                pass
            if time.monotonic() >= deadline:
                return False
            self.wait_event(min(0.5, max(0.0, deadline - time.monotonic())))

    def wait_for_removal(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if not self.card_present():
                    return True
            except ReaderGone:
                return True
            if time.monotonic() >= deadline:
                return False
            self.wait_event(min(0.5, max(0.0, deadline - time.monotonic())))

    # -- connection ----------------------------------------------------------------------------
    def connect(self) -> PcscCard:
        """Exclusive connection to the card on the reader."""
        name = self.reader_name()
        hr, handle, protocol = scard.SCardConnect(
            self._context(),
            name,
            scard.SCARD_SHARE_EXCLUSIVE,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hr != scard.SCARD_S_SUCCESS:
            if hr in (scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD):
                raise NoCard()
            if hr == scard.SCARD_E_SHARING_VIOLATION:
                raise CardBusy()
            if hr in _READER_GONE or hr in _CONTEXT_LOST:
                if hr in _CONTEXT_LOST:
                    self._drop_context()
                raise ReaderGone(_describe(hr))
            raise CardMute(_describe(hr))
        t1 = protocol == scard.SCARD_PROTOCOL_T1
        log.info("connected to the card (exclusive, T=%d)", 1 if t1 else 0)
        return PcscCard(self, name, handle, protocol)

    def diagnose(self, name: str, hr: int | None) -> CardError:
        """Why a transmit failed: reader gone, card gone (waiting a moment for pcscd to
        notice), or a card still present that does not answer."""
        if hr is not None and _u32(hr) in {_u32(c) for c in _READER_GONE | _CONTEXT_LOST}:
            return ReaderGone(_describe(hr))
        if hr is not None and _u32(hr) in {_u32(c) for c in _CARD_GONE}:
            return CardRemoved(_describe(hr))
        deadline = time.monotonic() + self.removal_grace_s
        while True:
            try:
                names = self.readers()
            except ReaderGone as exc:
                return exc
            if name not in names:
                return ReaderGone(f"reader {name!r} disappeared")
            left = deadline - time.monotonic()
            code, state = self._state(name, 0, scard.SCARD_STATE_UNAWARE)
            if code == scard.SCARD_S_SUCCESS and not state & scard.SCARD_STATE_PRESENT:
                return CardRemoved()
            if left <= 0:
                return CardMute(_describe(hr) if hr is not None else "no answer")
            self._state(name, int(min(left, 0.3) * 1000), state or scard.SCARD_STATE_PRESENT)


class PcscCard:
    """An exclusive connection to one card; the `ApduChannel` the JPKI flows run over."""

    def __init__(self, reader: PcscReader, name: str, handle: Any, protocol: int) -> None:
        self.reader, self.name, self._handle, self._protocol = reader, name, handle, protocol
        self.apdus = 0
        self.card_s = 0.0  # time spent inside SCardTransmit
        self._broken = False

    @property
    def broken(self) -> bool:
        return self._broken

    def max_apdu(self) -> int:
        """Longest APDU the reader says it takes (0: not reported: use short APDUs only)."""
        try:
            hr, value = scard.SCardGetAttrib(self._handle, SCARD_ATTR_MAXINPUT)
        except Exception:
            return 0
        if hr != scard.SCARD_S_SUCCESS or not value:
            return 0
        return int.from_bytes(bytes(value[:4]), "little")

    def transmit(self, command: bytes | bytearray) -> bytes:
        if self._broken:
            raise CardRemoved("connection already failed")
        result: list[Any] = []
        wire = list(command)

        def call() -> None:
            result.append(scard.SCardTransmit(self._handle, self._protocol, wire))

        started = time.monotonic()
        worker = threading.Thread(target=call, name="pcsc-transmit", daemon=True)
        worker.start()
        worker.join(self.reader.transmit_timeout_s)
        for i in range(len(wire)):
            wire[i] = 0
        self.card_s += time.monotonic() - started
        self.apdus += 1
        if worker.is_alive():
            self._broken = True
            raise CardMute(f"no answer within {self.reader.transmit_timeout_s:.1f} s")
        hr, response = result[0]
        if hr != scard.SCARD_S_SUCCESS or len(response) < 2:
            self._broken = True
            raise self.reader.diagnose(self.name, None if hr == 0 else hr)
        return bytes(response)

    def close(self) -> None:
        """Release the card, resetting it so no verified state outlives the session."""
        handle, self._handle = self._handle, None
        if handle is None:
            return

        def call() -> None:
            scard.SCardDisconnect(handle, scard.SCARD_RESET_CARD)

        worker = threading.Thread(target=call, name="pcsc-disconnect", daemon=True)
        worker.start()
        # After a mute card pcscd may hold the reader until the card leaves: don't wait.
        worker.join(0.5 if self._broken else 5.0)
        log.info("card released")
