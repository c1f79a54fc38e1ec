"""A virtual card on the system's pcscd, ready for tests, benches and `kofu sim card`.

pcscd is started only when none runs (and stopped again by whoever started it). Slot 0 of
vpcd is the default for `kofu sim card`; tests use slot 1 so a card left running for manual
trials does not meet the test suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drivers.nfc.reader import JpkiReader
from sim.card.pcscd import ensure_pcscd, stop_pcscd, vpcd_ports
from sim.card.virtual import DEFAULT_PIN, Latency, VirtualCard

TEST_SLOT = 1
TEST_PIN = "4729"  # the virtual card's PIN in tests; the log test searches for these digits


def reader_pattern(slot: int) -> str:
    """pcsc-lite names the vpcd slots `Virtual PCD 00 00`, `Virtual PCD 00 01`."""
    return f"^Virtual PCD 00 {slot:02d}$"


def reader_name(slot: int) -> str:
    return f"Virtual PCD 00 {slot:02d}"


@contextmanager
def virtual_card_on_pcscd(
    state_dir: Path,
    *,
    slot: int = 0,
    latency: Latency | None = None,
    pin: str = DEFAULT_PIN,
    extended_length: bool = False,
    slot_wait_s: float = 120.0,
) -> Iterator[VirtualCard]:
    proc = ensure_pcscd()
    try:
        card = VirtualCard(
            state_dir,
            port=vpcd_ports()[slot],
            latency=latency,
            pin=pin,
            extended_length=extended_length,
            slot_wait_s=slot_wait_s,
        )
        try:
            yield card
        finally:
            card.close()
            _wait_until_absent(reader_name(slot))
    finally:
        stop_pcscd(proc)


def _wait_until_absent(name: str, timeout_s: float = 3.0) -> None:
    """So the next user of the slot does not find a stale card still 'inserted'."""
    from drivers.nfc.pcsc import PcscReader

    with PcscReader(f"^{name}$") as reader:
        try:
            reader.wait_for_removal(timeout_s)
        except Exception:  # pcscd already gone: nothing is inserted anywhere
            pass


def place_and_wait(card: VirtualCard, reader: JpkiReader, persona: str) -> None:
    """Place a card, first letting pcscd see the previous one leave (as a person would)."""
    if card.placed:
        card.remove()
    if not reader.wait_for_removal(5.0):
        raise TimeoutError("pcscd still sees the previous card")
    card.place(persona)
    if not reader.wait_for_card(5.0):
        raise TimeoutError("pcscd did not see the virtual card")
