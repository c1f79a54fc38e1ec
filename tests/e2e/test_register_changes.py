"""The register changes at the center and the kiosk follows (issue 14 D1): after a city's
admin records a 異動 (`kofu center admin idou …`) for a persona's resident, that card is
refused at its next visit with the rule's notice. A simulation of its own (the deaths and
move-outs here must not reach the other modules' residents)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from center.demo import RESIDENTS, demo_resident_code
from sim.whole import PERSONA_RESIDENTS
from tests.e2e.harness import CARD_PIN, Kiosk, SimProcess, Sims, kofu, needs_sim
from tests.e2e.test_sessions import notice_is

pytestmark = needs_sim


@pytest.fixture
def register_sim(sims: Sims) -> SimProcess:
    # its own configuration, so `Sims` runs a separate `kofu sim` for this module
    return sims.get("--timeout", "thanks=2")


def idou(sim: SimProcess, kind: str, persona: str, filed: str) -> None:
    label = PERSONA_RESIDENTS[persona]
    index = next(i for i, r in enumerate(RESIDENTS) if r.label == label)
    done = kofu("center", "admin", "--state", str(sim.state / "center"), "idou", kind,
                "--municipality", RESIDENTS[index].muni, "--resident",
                demo_resident_code(index), "--filed", filed)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "applied"


@pytest.mark.parametrize(
    ("persona", "kind", "refusal"),
    [
        ("valid", "death", "deceased"),
        ("foreign-resident", "move-out", "moved_out"),
        ("town-resident", "move-out-filed", "move_out_filed"),
        ("turning-15", "support-start", "support_measures"),
    ],
)
def test_idou_refuses_the_next_visit(
    persona: str,
    kind: str,
    refusal: str,
    register_sim: SimProcess,
    sims: Sims,
    kiosk_on: Callable[..., Kiosk],
) -> None:
    idou(register_sim, kind, persona, sims.now[:10])
    k = kiosk_on(register_sim)
    k.start(persona)
    k.on("pin")
    k.enter_pin(CARD_PIN)
    notice_is(k, f"refusal_{refusal}")
    k.sim.act("remove_card")
    k.tap("notice-ok")
    k.on("idle", "thanks")
