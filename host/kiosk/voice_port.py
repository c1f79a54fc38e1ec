"""The session's VoicePort from ``[voice] backend``: ``"real"`` plays the rendered prompts
(`host/voice/player.py`), ``"none"`` is silent. A simulation records them instead
(`sim/voice.py`), handing its recorder to the service."""

from __future__ import annotations

from host.session.ports import VoicePort
from host.voice.player import SilentPlayer, default_player


def make_voice(backend: str) -> VoicePort:
    if backend == "none":
        return SilentPlayer()
    return default_player()
