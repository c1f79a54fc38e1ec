"""Fixtures for the card tests: the system pcscd (started only if none runs), a virtual card
on vpcd slot 1 with zero latency, and a driver pointed at that slot."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def pcscd() -> Iterator[None]:
    proc = ensure_pcscd()
    yield
    stop_pcscd(proc)


@pytest.fixture
def vcard(pcscd: None, card_state: Path) -> Iterator[VirtualCard]:
    with virtual_card_on_pcscd(card_state, slot=TEST_SLOT, latency=Latency.zero(), pin=PIN) as card:
        card.restore_personas()
        yield card


@pytest.fixture
def reader(pcscd: None) -> Iterator[JpkiReader]:
    with JpkiReader(ReaderConfig(reader=reader_pattern(TEST_SLOT), transmit_timeout_s=2.0)) as r:
        yield r
