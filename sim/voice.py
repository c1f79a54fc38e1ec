"""The simulation's voice: records what the kiosk said, in order (prompt names only: prompts
carry no personal data), served on ``GET /sim/voice`` so end-to-end tests can assert the
guidance. Handed to `KioskService(voice=...)` by the simulation's wiring."""

from __future__ import annotations

from datetime import UTC, datetime

from host.session.actions import VoicePrompt


class RecordingVoice:
    def __init__(self, keep: int = 500) -> None:
        self.keep = keep
        self.played: list[dict[str, str]] = []

    async def play(self, prompt: VoicePrompt) -> None:
        self.played.append({"prompt": prompt.value, "at": datetime.now(UTC).isoformat()})
        del self.played[: -self.keep]

    def prompts(self) -> list[str]:
        return [p["prompt"] for p in self.played]
