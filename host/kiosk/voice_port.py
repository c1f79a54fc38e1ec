"""The session's VoicePort from ``[voice] backend``: ``"real"`` plays the rendered prompts
(`host/voice/player.py`), ``"sim"`` only records them (served on ``GET /sim/voice`` so
end-to-end tests can assert the guidance), ``"none"`` is silent."""

from __future__ import annotations

from datetime import UTC, datetime

from host.session.actions import VoicePrompt
from host.session.ports import VoicePort
from host.voice.player import SilentPlayer, default_player


class RecordingVoice:
    """What the kiosk said, in order (prompt names only: prompts carry no personal data)."""

    def __init__(self, keep: int = 500) -> None:
        self.keep = keep
        self.played: list[dict[str, str]] = []

    async def play(self, prompt: VoicePrompt) -> None:
        self.played.append({"prompt": prompt.value, "at": datetime.now(UTC).isoformat()})
        del self.played[: -self.keep]

    def prompts(self) -> list[str]:
        return [p["prompt"] for p in self.played]


def make_voice(backend: str) -> VoicePort:
    if backend == "sim":
        return RecordingVoice()
    if backend == "none":
        return SilentPlayer()
    return default_player()
