"""The session's CardPort over the card driver (`drivers.nfc.JpkiReader`).

PC/SC calls block, so they run on one worker thread of their own, in order. The JPKI session
(exclusive connection) stays open from the card's arrival until it leaves or the session
ends: the PIN verified on it is what lets the card sign the center's challenge.

Two Pin types meet here: the session's (`host.session.pin.Pin`) and the driver's
(`drivers.nfc.pin.Pin`). The digits move from one to the other without a `str` in between
and both are wiped whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from drivers.nfc import errors as nfc
from drivers.nfc.pcsc import CardEvent
from drivers.nfc.pin import Pin as DriverPin
from drivers.nfc.reader import JpkiReader, JpkiSession, ReaderConfig
from host.session import events as E
from host.session.pin import Pin as SessionPin
from host.session.ports import CardFailure

from .config import CardConfig
from .daemon_executor import DaemonExecutor

log = logging.getLogger("kofu.kiosk.card")
T = TypeVar("T")


def driver_pin(pin: SessionPin) -> DriverPin:
    """Move the digits into the driver's Pin; the session's Pin is wiped here."""
    try:
        # straight from the session's buffer into the driver's: no immutable copy on the way
        return pin.use(DriverPin)
    finally:
        pin.wipe()


class ReaderCard:
    """CardPort: waits for a card, verifies the PIN, signs; reports removal and reader loss."""

    def __init__(self, cfg: CardConfig, poll_s: float = 0.2) -> None:
        self.cfg = cfg
        self.poll_s = poll_s
        self.reader = JpkiReader(
            ReaderConfig(reader=cfg.reader, transmit_timeout_s=cfg.transmit_timeout_s)
        )
        self._pool = DaemonExecutor("kofu-card")
        self._stack = contextlib.ExitStack()
        self._session: JpkiSession | None = None
        self._cert: bytes | None = None  # the card's user-authentication certificate
        self._closed = False
        self._wait = 0  # the current wait for a card; an older one gives up

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def _open(self) -> E.CardInserted | E.CardRejected | None:
        if not self.reader.wait_for_card(self.poll_s):
            return None
        self._release()
        try:
            self._session = self._stack.enter_context(self.reader.session())
            # Read the certificate now, before the PIN pad: a card whose user-authentication
            # certificate was declined or revoked-and-removed is refused at once (SPEC §2),
            # and authentication later needs it anyway.
            self._cert = self._session.read_certificate()
            tries = self._session.pin_tries_left()
        except nfc.NotMyNumberCard:
            self._release()
            return E.CardRejected(E.CardRejection.NOT_MY_NUMBER_CARD)
        except nfc.NoAuthCertificate:
            self._release()
            return E.CardRejected(E.CardRejection.NO_USER_CERTIFICATE)
        except (nfc.CardRemoved, nfc.NoCard):
            self._release()
            return None
        except nfc.CardError as exc:
            log.info("card unreadable: %s", exc.code)
            self._release()
            return E.CardRejected(E.CardRejection.UNREADABLE)
        return E.CardInserted(tries)

    def _release(self) -> None:
        self._session = None
        self._cert = None
        try:
            self._stack.close()
        except nfc.CardError as exc:
            log.info("card release: %s", exc.code)
        self._stack = contextlib.ExitStack()

    def _mark(self) -> int | None:
        try:
            return self.reader.card_mark()
        except nfc.CardError:
            return None  # the reader is gone: its unit reports that

    def _open_new(self, stale: int | None, wait: int) -> E.CardInserted | E.CardRejected | None:
        if wait != self._wait:
            return None  # a newer wait (or the end of the session) superseded this one
        if stale is not None and self._mark() == stale:
            self.reader.wait_event(self.poll_s)  # the same card still lies there
            return None
        return self._open()

    async def wait_for_card(self) -> E.CardInserted | E.CardRejected:
        # A card already lying on the reader when a session asks for one was left there by
        # someone else (a forgotten card, or one from before the host restarted): its PIN pad
        # must never open for the next person. Only a card placed now counts — told apart by
        # the reader's card-event counter, so lifting and placing it again works at once.
        self._wait += 1
        wait = self._wait
        stale = await self._run(self._mark)
        while not self._closed and wait == self._wait:
            result = await self._run(lambda: self._open_new(stale, wait))
            if result is not None:
                return result
        # Superseded: a session that ended while waiting must never open the next one's card
        raise CardFailure("closed" if self._closed else "superseded")

    def _verify(self, pin: DriverPin) -> E.PinAccepted | E.PinWrong | E.CardBlocked:
        if self._session is None:
            pin.wipe()
            raise CardFailure("no card session")
        try:
            self._session.verify_pin(pin)
        except nfc.WrongPin as exc:
            return E.PinWrong(exc.tries_left)
        except nfc.PinBlocked:
            return E.CardBlocked()
        except nfc.CardError as exc:
            raise CardFailure(exc.code) from None
        finally:
            pin.wipe()
        return E.PinAccepted()

    async def verify_pin(self, pin: SessionPin) -> E.PinAccepted | E.PinWrong | E.CardBlocked:
        try:
            dpin = driver_pin(pin)
        except nfc.InvalidPin:
            return E.PinWrong(await self._run(self._tries))
        return await self._run(lambda: self._verify(dpin))

    def _tries(self) -> int:
        if self._session is None:
            raise CardFailure("no card session")
        try:
            return self._session.pin_tries_left()
        except nfc.CardError as exc:
            raise CardFailure(exc.code) from None

    def _sign(self, challenge: bytes) -> E.ChallengeSigned:
        if self._session is None:
            raise CardFailure("no card session")
        try:
            cert = self._cert or self._session.read_certificate()
            signature = self._session.sign(challenge)
        except nfc.CardError as exc:
            raise CardFailure(exc.code) from None
        return E.ChallengeSigned(cert, signature)

    async def sign(self, challenge: bytes) -> E.ChallengeSigned:
        return await self._run(lambda: self._sign(challenge))

    async def end_session(self) -> None:
        """Log out and release the card (the session is over, the card may stay); a wait for
        a card still running for it stops."""
        self._wait += 1
        await self._run(self._release)

    async def events(self) -> AsyncIterator[E.Event]:
        # A second PC/SC context only watches presence, so removal is noticed even while
        # the worker thread is busy with the card.
        watcher = JpkiReader(ReaderConfig(reader=self.cfg.reader))
        pool = DaemonExecutor("kofu-card-watch")
        loop = asyncio.get_running_loop()
        try:
            while not self._closed:
                event = await loop.run_in_executor(pool, watcher.wait_event, 0.5)
                if event is CardEvent.REMOVED:
                    yield E.CardRemoved()
                elif event is CardEvent.READER_GONE:
                    yield E.DeviceHealth(E.Device.CARD_READER, False)
                elif event is CardEvent.READER_BACK:
                    yield E.DeviceHealth(E.Device.CARD_READER, True)
        finally:
            pool.shutdown(wait=False)
            with contextlib.suppress(Exception):
                watcher.close()

    async def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            await self._run(self._release)
        self._pool.shutdown(wait=False)
        with contextlib.suppress(Exception):
            self.reader.close()
