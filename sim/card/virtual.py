"""The virtual card on pcscd's vpcd reader, and the control API tests and benches use.

`VirtualCard.place(persona)` connects to vpcd (the card enters the field), `remove()`
disconnects, `lift_at(n)` makes the n-th command APDU of this placement go unanswered while
the card leaves (tap and lift), `mute()` keeps the card present but silent. The PIN
counter persists in the state directory so a blocked card stays blocked across runs until
`reset_pin`.
"""

from __future__ import annotations

import fcntl
import logging
import socket
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sim.card import pki
from sim.card.engine import CardProfile, JpkiCardEngine, PinCounter
from sim.card.personas import PERSONAS, Persona, persona
from sim.card.vpcd import ApduMessage, Control, ControlMessage, VpcdDecoder, frame

log = logging.getLogger(__name__)

# A contactless Type B ATR as a PC/SC reader builds it (reference: jpki-card.md).
ATR = bytes.fromhex("3B888001000005E0B381A1007F")
DEFAULT_PORT = 0x8C7B  # /etc/reader.conf.d/vpcd: CHANNELID 0x8C7B, first slot
DEFAULT_PIN = "1234"
_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", 12)


@dataclass
class Latency:
    """Modelled card time; zero in unit tests."""

    per_apdu_s: float = 0.015
    per_signature_s: float = 0.300

    @classmethod
    def zero(cls) -> Latency:
        return cls(0.0, 0.0)


@dataclass
class Stats:
    apdus: int = 0
    signatures: int = 0
    modelled_s: float = 0.0
    # INS bytes only, never data; bounded so a long-running sim does not grow
    commands: deque[bytes] = field(default_factory=lambda: deque(maxlen=4096))


def pin_tries_path(state: Path, p: Persona) -> Path:
    return pki.persona_dir(state, p) / "pin-tries"


def read_pin_tries(state: Path, p: Persona) -> int:
    path = pin_tries_path(state, p)
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return p.initial_tries


def write_pin_tries(state: Path, p: Persona, tries: int) -> None:
    path = pin_tries_path(state, p)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{tries}\n")
    tmp.replace(path)


class SlotBusy(RuntimeError):
    pass


class VirtualCard:
    def __init__(
        self,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        latency: Latency | None = None,
        pin: str = DEFAULT_PIN,
        extended_length: bool = False,
        slot_wait_s: float = 120.0,
    ) -> None:
        self.slot_wait_s = slot_wait_s
        self._slot_lock: IO[str] | None = None
        self.state_dir = Path(state_dir)
        self.host, self.port = host, port
        self.latency = latency if latency is not None else Latency()
        self._pin = pin.encode("ascii")
        self.extended_length = extended_length
        self.stats = Stats()
        self.persona: Persona | None = None
        self.engine: JpkiCardEngine | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._lift_at: int | None = None
        self._mute = False
        self._placed_apdus = 0
        self.lifted = threading.Event()

    # -- control API -----------------------------------------------------------------------
    def profile_for(self, p: Persona) -> CardProfile:
        material = pki.load_persona(self.state_dir, p)
        counter = PinCounter(
            read_pin_tries(self.state_dir, p),
            save=lambda tries: write_pin_tries(self.state_dir, p, tries),
        )
        return CardProfile(
            jpki=p.jpki,
            auth_cert=material.cert_der,
            auth_ca=material.ca_der if p.jpki else None,
            auth_key=material.key,
            sign_cert=material.sign_cert_der,
            sign_ca=material.ca_der if material.sign_cert_der else None,
            pin=self._pin,
            pin_counter=counter,
            extended_length=self.extended_length,
        )

    def _claim_slot(self) -> None:
        """vpcd serves one card per slot: one VirtualCard per slot on this machine at a time
        (others wait), so parallel test runs or a bench never answer each other's APDUs."""
        if self._slot_lock is not None:
            return
        path = Path(tempfile.gettempdir()) / f"kofu-vpcd-{self.port}.lock"
        fh = open(path, "a+")  # held until close()
        deadline = time.monotonic() + self.slot_wait_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.close()
                    raise SlotBusy(
                        f"another virtual card holds vpcd port {self.port} "
                        f"(a running `kofu sim card`?); lock {path}"
                    ) from None
                time.sleep(0.1)
        self._slot_lock = fh

    def place(self, name: str = "valid", *, timeout: float = 5.0) -> None:
        """Put a persona's card on the reader (connect to vpcd)."""
        self.remove()
        p = persona(name)
        self._claim_slot()
        engine = JpkiCardEngine(self.profile_for(p))
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.persona, self.engine, self._sock = p, engine, sock
            self._lift_at, self._mute, self._placed_apdus = None, False, 0
            self.lifted.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(sock, engine), name="virtual-card", daemon=True
        )
        self._thread.start()
        log.info("card placed: persona %s on vpcd port %d", p.name, self.port)

    def remove(self) -> None:
        """Take the card off the reader."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            _close(sock)
            log.info("card removed")
        t, self._thread = self._thread, None
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5)

    def lift_at(self, n: int) -> None:
        """Tap and lift: the n-th command APDU (1-based, counted from placing) is never
        answered; the card leaves the field instead."""
        with self._lock:
            self._lift_at = n

    def mute(self, on: bool = True) -> None:
        """Stay on the reader but answer no more command APDUs."""
        with self._lock:
            self._mute = on

    @property
    def placed_apdus(self) -> int:
        """Command APDUs received since the card was placed (what `lift_at` counts)."""
        return self._placed_apdus

    @property
    def placed(self) -> bool:
        return self._sock is not None

    def reset_pin(self, name: str) -> None:
        """What the city office does for a blocked card: three tries again."""
        write_pin_tries(self.state_dir, persona(name), 3)

    def restore_personas(self) -> None:
        """Every persona's PIN counter back to how the persona starts (test isolation)."""
        for p in PERSONAS.values():
            write_pin_tries(self.state_dir, p, p.initial_tries)

    def pin_tries(self, name: str) -> int:
        return read_pin_tries(self.state_dir, persona(name))

    def close(self) -> None:
        self.remove()
        lock, self._slot_lock = self._slot_lock, None
        if lock is not None:
            lock.close()

    def __enter__(self) -> VirtualCard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- vpcd side -------------------------------------------------------------------------
    def _serve(self, sock: socket.socket, engine: JpkiCardEngine) -> None:
        decoder = VpcdDecoder()
        try:
            while True:
                data = sock.recv(4096)
                if not data:
                    break
                # vpcd writes the length and the payload separately: without an immediate
                # ACK, Nagle on its side holds the payload for our delayed-ACK timer (~40 ms).
                sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
                for msg in decoder.feed(data):
                    if isinstance(msg, ControlMessage):
                        if msg.control == Control.GET_ATR:
                            sock.sendall(frame(ATR))
                        elif msg.control in (Control.POWER_OFF, Control.POWER_ON, Control.RESET):
                            engine.reset()
                        continue
                    assert isinstance(msg, ApduMessage)
                    if not self._answer(sock, engine, msg.apdu):
                        return
        except OSError:
            pass
        finally:
            with self._lock:
                if self._sock is sock:
                    self._sock = None
            _close(sock)

    def _answer(self, sock: socket.socket, engine: JpkiCardEngine, command: bytes) -> bool:
        with self._lock:
            self._placed_apdus += 1
            lift = self._lift_at is not None and self._placed_apdus >= self._lift_at
            mute = self._mute
        if lift:
            log.info("card lifted during command %d", self._placed_apdus)
            self.lifted.set()
            return False
        if mute:
            return True
        signatures = engine.signatures
        response = engine.process(command)
        delay = self.latency.per_apdu_s
        if engine.signatures != signatures:
            delay += self.latency.per_signature_s
            self.stats.signatures += 1
        self.stats.apdus += 1
        self.stats.modelled_s += delay
        self.stats.commands.append(command[1:2])
        if delay:
            time.sleep(delay)
        sock.sendall(frame(response))
        return True


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
