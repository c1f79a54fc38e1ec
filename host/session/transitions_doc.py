"""`host/session/TRANSITIONS.md`, generated from the session table (`table.TABLE`): every
state, the events it answers, where each may lead and the effect that decides. The file is
checked against the table by a test, so it never drifts; regenerate it with

    python -m host.session.transitions_doc > host/session/TRANSITIONS.md
"""

from __future__ import annotations

from collections import defaultdict

from .states import State
from .table import TABLE, Row

HEADER = """# Session transitions

Generated from `host/session/table.py` by `python -m host.session.transitions_doc`; do not
edit by hand (`tests/session/test_transitions_doc.py` checks it). Per state: each event it
answers, the states it may lead to, and the table's effect that picks one. Events a state
does not list are ignored there (and a PIN in them wiped).
"""


def _effect_name(row: Row) -> str:
    name = getattr(row.effect, "__name__", "")
    return "(inline)" if not name or name == "<lambda>" else f"`{name}`"


def render() -> str:
    by_state: dict[State, list[Row]] = defaultdict(list)
    for row in TABLE.values():
        by_state[row.state].append(row)
    out = [HEADER]
    for state in State:
        rows = sorted(by_state.get(state, []), key=lambda r: r.event.__name__)
        out.append(f"\n## {state.value}\n")
        if not rows:
            out.append("\n(no events: a state nothing leaves)\n")
            continue
        out.append("\n| event | may lead to | decided by |\n|---|---|---|\n")
        for row in rows:
            targets = ", ".join(sorted(t.value for t in row.targets))
            out.append(f"| {row.event.__name__} | {targets} | {_effect_name(row)} |\n")
    return "".join(out)


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
