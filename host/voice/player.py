"""Plays the pre-rendered prompts with whatever player the machine has (aplay, paplay).

The kiosk must never stall on sound: a missing player or file is logged once and skipped,
and a prompt still playing is cut short by the next one (the newest guidance wins).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path

from host.session.actions import VoicePrompt

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
PLAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("paplay", ()),  # PulseAudio/PipeWire on the Pi's desktop session
    ("aplay", ("-q",)),  # bare ALSA
)

log = logging.getLogger("kofu.voice")


def prompt_path(prompt: VoicePrompt, prompts_dir: Path = PROMPTS_DIR) -> Path:
    return prompts_dir / f"{prompt.value}.wav"


def find_player() -> list[str] | None:
    for name, args in PLAYERS:
        exe = shutil.which(name)
        if exe:
            return [exe, *args]
    return None


class CommandPlayer:
    """A VoicePort that runs ``command + [file]`` per prompt."""

    def __init__(self, command: list[str], prompts_dir: Path = PROMPTS_DIR) -> None:
        self.command = command
        self.prompts_dir = prompts_dir
        self._current: asyncio.subprocess.Process | None = None

    async def play(self, prompt: VoicePrompt) -> None:
        path = prompt_path(prompt, self.prompts_dir)
        if not path.is_file():
            log.warning("no audio for prompt %s", prompt.value)
            return
        await self.stop()
        proc = await asyncio.create_subprocess_exec(
            *self.command,
            str(path),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._current = proc
        try:
            await proc.wait()
        except asyncio.CancelledError:
            await self.stop()  # cut short by newer guidance: silence this one now
            raise
        if self._current is proc:
            self._current = None

    async def stop(self) -> None:
        proc, self._current = self._current, None
        if proc and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            await proc.wait()


class SilentPlayer:
    """No player on this machine: guidance is screen-only."""

    async def play(self, prompt: VoicePrompt) -> None:
        return None


def default_player() -> CommandPlayer | SilentPlayer:
    command = find_player()
    if command is None:
        log.info("no audio player found: voice guidance disabled")
        return SilentPlayer()
    return CommandPlayer(command)
