"""The panel's actions on the simulators; bad requests get a typed error naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.card.personas import PERSONAS


class PanelError(ValueError):
    """A panel request that names an unknown action or a bad value."""


def _int(body: dict[str, Any], key: str, allowed: tuple[int, ...]) -> int:
    value = body.get(key)
    if isinstance(value, bool) or value not in allowed:
        raise PanelError(f"{key}: one of {list(allowed)}")
    return int(value)


def _persona(body: dict[str, Any]) -> str:
    name = body.get("persona", "valid")
    if name not in PERSONAS:
        raise PanelError(f"persona: one of {list(PERSONAS)}")
    return str(name)


def _fault(sim: Any, kind: str, body: dict[str, Any]) -> None:
    """A printer fault after ``after_sheets`` sheets of the next job, or with
    ``across_jobs`` of the jobs that follow (paper out after copy 2 of 3)."""
    sheets = body.get("after_sheets", 0)
    if isinstance(sheets, bool) or not isinstance(sheets, int) or sheets < 0:
        raise PanelError("after_sheets: a whole number >= 0")
    across = body.get("across_jobs", False)
    if not isinstance(across, bool):
        raise PanelError("across_jobs: true or false")
    sim.a4.set_fault(kind, sheets, across_jobs=across)


def _tray(sim: Any, tray: str) -> None:
    sim.coproc.set_tray(tray, True)
    sim.coproc.set_tray(tray, False)


ACTIONS: dict[str, Callable[[Any, dict[str, Any]], object]] = {
    "place_card": lambda sim, b: sim.card.place(_persona(b)),
    "remove_card": lambda sim, b: sim.card.remove(),
    "reset_cards": lambda sim, b: sim.card.restore_personas(),  # PIN tries as each starts
    "insert_coin": lambda sim, b: sim.cash.insert_coin(_int(b, "yen", (10, 50, 100, 500))),
    "insert_bill": lambda sim, b: sim.cash.insert_bill(_int(b, "yen", (1000, 2000, 5000, 10000))),
    "pages_out": lambda sim, b: sim.coproc.set_tray("certificate", True),
    "take_pages": lambda sim, b: sim.coproc.set_tray("certificate", False),
    "change_out": lambda sim, b: sim.coproc.set_tray("change", True),
    "take_change": lambda sim, b: sim.coproc.set_tray("change", False),
    "paper_out": lambda sim, b: _fault(sim, "paper_out", b),
    "jam": lambda sim, b: _fault(sim, "jam", b),
    "printer_serviced": lambda sim, b: sim.a4.service(),
    "link_loss": lambda sim, b: sim.coproc.unplug(),
    "link_back": lambda sim, b: sim.coproc.plug(),
    "center_outage": lambda sim, b: sim.center_outage(),
    "center_back": lambda sim, b: sim.center_restore(),
}


def act(sim: Any, body: object) -> dict[str, Any]:
    """Do one action; the answer says what was done, and for a coin whether the acceptor took
    it (an inhibited acceptor drops it in the return cup: the person tries again)."""
    if not isinstance(body, dict):
        raise PanelError("body: a JSON object")
    name = body.get("action")
    if not isinstance(name, str) or name not in ACTIONS:
        raise PanelError(f"action: one of {list(ACTIONS)}")
    result = ACTIONS[name](sim, body)
    answer: dict[str, Any] = {"done": name}
    if isinstance(result, bool):
        answer["taken"] = result
    return answer
