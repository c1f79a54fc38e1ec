"""An executor that only records the session's device and center actions: the screen
simulator's (`python -m sim.screen`), the session benchmark's and the runner tests'. What the
devices would answer is injected from outside (`inject.py`, `POST /dev/events`)."""

from __future__ import annotations

from host.session import actions as A
from host.session import events as E


class RecordingExecutor:
    """Records device/center actions; results are injected by whoever drives the session."""

    def __init__(self) -> None:
        self.actions: list[A.Action] = []

    async def execute(self, action: A.Action) -> list[E.Event]:
        for pin_action in (A.VerifyPin, A.CheckClerkPin):
            if isinstance(action, pin_action):
                action.pin.wipe()
        self.actions.append(action)
        return []
