"""The reader disappearing and coming back (here: the pcscd that provides it restarting)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.nfc import JpkiReader, ReaderConfig, ReaderGone
from drivers.nfc.pcsc import CardEvent
from sim.card.harness import TEST_PIN, TEST_SLOT, place_and_wait, reader_pattern
from sim.card.pcscd import ensure_pcscd, stop_pcscd, vpcd_ports
from sim.card.virtual import Latency, VirtualCard

pytestmark = pytest.mark.needs_root


@pytest.fixture
def own_pcscd(pcscd_handle: Any) -> Iterator[Any]:
    if pcscd_handle.proc is None:
        pytest.skip("pcscd was already running: the test may not restart the system's daemon")
    yield pcscd_handle


def test_reader_gone_and_back_across_a_pcscd_restart(own_pcscd: Any, card_state: Path) -> None:
    with JpkiReader(ReaderConfig(reader=reader_pattern(TEST_SLOT))) as reader:
        reader.wait_event(0.1)
        assert reader.reader_name()
        stop_pcscd(own_pcscd.proc)
        with pytest.raises(ReaderGone):
            reader.reader_name()
        assert reader.wait_event(1.0) == CardEvent.READER_GONE
        own_pcscd.proc = ensure_pcscd()
        assert reader.wait_event(5.0) == CardEvent.READER_BACK
        with VirtualCard(
            card_state, port=vpcd_ports()[TEST_SLOT], latency=Latency.zero(), pin=TEST_PIN
        ) as card:
            card.restore_personas()
            place_and_wait(card, reader, "valid")
            with reader.session() as s:
                assert s.pin_tries_left() == 3
            card.remove()
            assert reader.wait_for_removal(5.0)
