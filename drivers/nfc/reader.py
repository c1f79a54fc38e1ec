"""The card reader driver interface the kiosk uses: one `JpkiReader`, configured by a reader
name pattern. The virtual card sits behind the same pcscd as a real reader, so the host
never knows which one it talks to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from drivers.nfc import jpki
from drivers.nfc.apdu import SHORT_MAX_LE
from drivers.nfc.errors import CardError
from drivers.nfc.jpki import ApduChannel, Authentication, Flow
from drivers.nfc.pcsc import CardEvent, PcscCard, PcscReader
from drivers.nfc.pin import Pin

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ReaderConfig:
    reader: str = ""  # regular expression matched against PC/SC reader names
    transmit_timeout_s: float = 10.0  # a card silent for longer is reported mute
    extended_length: bool = True  # use extended READ BINARY when the reader reports support

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ReaderConfig:
        return cls(
            reader=str(data.get("reader", "")),
            transmit_timeout_s=float(data.get("transmit_timeout_s", 10.0)),
            extended_length=bool(data.get("extended_length", True)),
        )


class JpkiSession:
    """The JPKI operations on one exclusively connected card."""

    def __init__(self, channel: ApduChannel, *, extended: bool = False) -> None:
        self.channel = channel
        self.extended = extended
        self.apdus = 0
        self.verified = False  # True between a successful VERIFY and the next logout

    def _count(self) -> None:
        self.apdus += 1

    def run(self, flow: Flow[T]) -> T:
        return jpki.run_flow(flow, self.channel, self._count)

    def select(self) -> None:
        self.run(jpki.select_jpki())

    def read_certificate(self) -> bytes:
        return self.run(jpki.read_auth_certificate(extended=self.extended, select=False))

    def read_ca_certificate(self) -> bytes:
        return self.run(jpki.read_auth_ca_certificate(extended=self.extended))

    def pin_tries_left(self) -> int:
        return self.run(jpki.pin_tries_left())

    def verify_pin(self, pin: Pin) -> None:
        """VERIFY; the PIN is wiped afterwards whatever happens."""
        with pin:
            self.run(jpki.verify_pin(pin))
        self.verified = True

    def sign(self, challenge: bytes) -> bytes:
        return self.run(jpki.sign_challenge(challenge))

    def logout(self) -> None:
        self.run(jpki.logout())
        self.verified = False

    def authenticate(self, pin: Pin, challenge: bytes) -> Authentication:
        with pin:
            # The AP was selected when the session opened: no second SELECT.
            flow = jpki.authenticate(pin, challenge, extended=self.extended, select=False)
            self.verified = True  # until the flow's own logout has run
            result = self.run(flow)
            self.verified = False
            return result


class JpkiReader:
    """The My Number card reader: waits for cards and opens JPKI sessions on them."""

    def __init__(self, config: ReaderConfig | None = None) -> None:
        self.config = config or ReaderConfig()
        self.pcsc = PcscReader(
            self.config.reader, transmit_timeout_s=self.config.transmit_timeout_s
        )

    def reader_name(self) -> str:
        return self.pcsc.reader_name()

    def card_present(self) -> bool:
        return self.pcsc.card_present()

    def wait_for_card(self, timeout_s: float) -> bool:
        return self.pcsc.wait_for_card(timeout_s)

    def card_mark(self) -> int | None:
        return self.pcsc.card_mark()

    def wait_for_removal(self, timeout_s: float) -> bool:
        return self.pcsc.wait_for_removal(timeout_s)

    def wait_event(self, timeout_s: float) -> CardEvent | None:
        return self.pcsc.wait_event(timeout_s)

    @contextmanager
    def session(self) -> Iterator[JpkiSession]:
        """Exclusive connection; the JPKI AP is selected first (that is how the card is
        recognised); at the end the AP is re-selected (logout) and the card reset."""
        card: PcscCard = self.pcsc.connect()
        session: JpkiSession | None = None
        try:
            extended = self.config.extended_length and card.max_apdu() > SHORT_MAX_LE + 7
            session = JpkiSession(card, extended=extended)
            session.select()
            yield session
        finally:
            # Whatever ended the session, a card still present and logged in is logged out;
            # the reset on release drops any state left anyway.
            if session is not None and session.verified and not card.broken:
                try:
                    session.logout()
                except CardError as exc:
                    log.info("logout skipped: %s", type(exc).__name__)
            card.close()

    def close(self) -> None:
        self.pcsc.close()

    def __enter__(self) -> JpkiReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
