"""Outside service hours (6:30-23:00 Asia/Tokyo) the screen says closed, whatever the
machine's time zone: `kofu sim --now` at 23:30 and at 06:00 Japan time, the simulation
running with TZ=America/New_York (where both are in the morning or the afternoon)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import Kiosk, Sims, needs_sim

pytestmark = needs_sim

JA = json.loads((Path(__file__).resolve().parents[2] / "host/i18n/ja.json").read_text("utf-8"))
NEW_YORK = {"TZ": "America/New_York"}


@pytest.mark.parametrize("now", ["2026-11-24T23:30:00+09:00", "2026-11-25T06:00:00+09:00"])
def test_closed_screen_outside_hours(now: str, sims: Sims, kiosk_on: Callable[..., Kiosk]) -> None:
    sim = sims.get("--now", now, env=NEW_YORK)
    k = kiosk_on(sim)
    k.on("closed")
    assert k.text("closed") == JA["closed.title"]
    assert JA["closed.hours"] in k.text()
    assert not k.page.locator('[data-testid="start"]').count(), "no way to start a session"
    # a card on the reader does not open a session either
    sim.act("place_card", persona="valid")
    k.page.wait_for_timeout(1000)
    assert k.screen() == "closed" and sim.status()["state"] == "closed"
    sim.act("remove_card")
