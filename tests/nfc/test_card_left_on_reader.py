"""Issue 20: a card already lying on the reader when a session asks for one (forgotten by
the previous citizen, or there before the host restarted) never opens that session: only a
card placed after Start counts — the PIN pad for a stranger's card never shows. Lifting and
placing it again, however quickly, counts (the reader's card-event counter tells them apart).
Real pcscd and vpcd, through the kiosk's card port."""

from __future__ import annotations

import asyncio

import pytest

from host.kiosk.card_port import ReaderCard
from host.kiosk.config import CardConfig
from host.session import events as E
from sim.card.harness import TEST_SLOT, place_and_wait, reader_pattern
from sim.card.virtual import VirtualCard

pytestmark = [pytest.mark.needs_root, pytest.mark.pcsc]


async def _wait(vcard: VirtualCard, then: str) -> tuple[bool, object]:
    port = ReaderCard(CardConfig("pcsc", reader_pattern(TEST_SLOT), 2.0), poll_s=0.1)
    try:
        waiting = asyncio.create_task(port.wait_for_card())
        await asyncio.sleep(1.5)
        opened_for_stale = waiting.done()
        if then == "lift_and_place":
            await asyncio.to_thread(vcard.remove)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(vcard.place, "valid")
        else:  # "swap": place() takes the card off and puts one back at once
            await asyncio.to_thread(vcard.place, "valid")
        result = await asyncio.wait_for(waiting, 10)
        return opened_for_stale, result
    finally:
        await port.end_session()
        await port.close()


@pytest.mark.parametrize("then", ["lift_and_place", "swap"])
def test_only_a_card_placed_after_start_opens_the_session(
    vcard: VirtualCard, reader: object, then: str
) -> None:
    place_and_wait(vcard, reader, "valid")  # type: ignore[arg-type]
    opened_for_stale, result = asyncio.run(_wait(vcard, then))
    assert not opened_for_stale
    assert isinstance(result, E.CardInserted)
