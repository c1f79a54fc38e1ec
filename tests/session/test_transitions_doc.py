"""The session's transition document is the table, rendered: it cannot drift from it."""

from __future__ import annotations

from pathlib import Path

from host.session.table import TABLE
from host.session.transitions_doc import render

DOC = Path(__file__).resolve().parents[2] / "host" / "session" / "TRANSITIONS.md"


def test_the_committed_document_is_the_table_rendered() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m host.session.transitions_doc > host/session/TRANSITIONS.md"
    )


def test_every_row_is_in_the_document() -> None:
    text = render()
    for (state, event), row in TABLE.items():
        section = text.split(f"\n## {state.value}\n", 1)[1].split("\n## ", 1)[0]
        line = next(ln for ln in section.splitlines() if ln.startswith(f"| {event.__name__} |"))
        assert all(t.value in line for t in row.targets), line
