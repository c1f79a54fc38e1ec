"""Fixtures for the card tests: the system pcscd (started only if none runs), a virtual card
on vpcd slot 1 with zero latency, and a driver pointed at that slot."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.nfc import JpkiReader, ReaderConfig
from sim.card.harness import TEST_PIN as PIN
from sim.card.harness import TEST_SLOT, reader_pattern, virtual_card_on_pcscd
from sim.card.pcscd import ensure_pcscd, stop_pcscd
from sim.card.virtual import Latency, VirtualCard


@pytest.fixture(scope="session")
def card_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("card-state")


class PcscdHandle:
    """The pcscd this test run started (None when one was already running)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = ensure_pcscd()


@pytest.fixture(scope="session")
def pcscd_handle() -> Iterator[PcscdHandle]:
    handle = PcscdHandle()
    yield handle
    stop_pcscd(handle.proc)


@pytest.fixture
def pcscd(pcscd_handle: PcscdHandle) -> None:
    return None


@pytest.fixture
def vcard(pcscd: None, card_state: Path) -> Iterator[VirtualCard]:
    with virtual_card_on_pcscd(card_state, slot=TEST_SLOT, latency=Latency.zero(), pin=PIN) as card:
        card.restore_personas()
        yield card


@pytest.fixture
def reader(pcscd: None) -> Iterator[JpkiReader]:
    with JpkiReader(ReaderConfig(reader=reader_pattern(TEST_SLOT), transmit_timeout_s=2.0)) as r:
        yield r
