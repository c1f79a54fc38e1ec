"""Every prompt the session can ask for has a 16 kHz mono WAV, and the player plays it."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import wave
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from host.session.actions import VoicePrompt
from host.session.machine import ENTRY_VOICE, ITEM_VOICE, notice_voice
from host.voice import player as player_mod
from host.voice.player import PROMPTS_DIR, CommandPlayer, SilentPlayer, prompt_path

CATALOG = json.loads((PROMPTS_DIR.parent / "prompts.json").read_text(encoding="utf-8"))

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: works even if this thread has a loop running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.mark.parametrize("prompt", list(VoicePrompt), ids=lambda p: p.value)
def test_every_prompt_has_text_and_a_small_16k_mono_wav(prompt: VoicePrompt) -> None:
    assert CATALOG[prompt.value].strip()
    with wave.open(str(prompt_path(prompt))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        seconds = w.getnframes() / w.getframerate()
        assert 0.5 < seconds < 15
        frames = w.readframes(w.getnframes())
    assert max(frames[1::2]) > 0x20  # not silence: the high bytes move


def test_catalog_has_no_prompt_the_session_cannot_ask_for() -> None:
    assert set(CATALOG) == {p.value for p in VoicePrompt}
    wavs = {p.stem for p in PROMPTS_DIR.glob("*.wav")}
    assert wavs == set(CATALOG)


def test_every_voice_the_machine_plays_is_a_prompt() -> None:
    used = set(ENTRY_VOICE.values()) | set(ITEM_VOICE.values())
    used |= {notice_voice(k) for k in ("card_blocked", "card_x", "center_unavailable", "x")}
    assert used <= set(VoicePrompt)


def test_command_player_runs_the_player_with_the_file(tmp_path: Path) -> None:
    log = tmp_path / "played"
    fake = tmp_path / "aplay"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)

    async def go() -> None:
        p = CommandPlayer([str(fake), "-q"])
        await p.play(VoicePrompt.THANK_YOU)
        await p.play(VoicePrompt.TAKE_CARD)

    run_async(go())
    lines = log.read_text().splitlines()
    assert lines == [
        f"-q {prompt_path(VoicePrompt.THANK_YOU)}",
        f"-q {prompt_path(VoicePrompt.TAKE_CARD)}",
    ]


def test_missing_file_is_skipped(tmp_path: Path) -> None:
    async def go() -> None:
        await CommandPlayer(["/bin/false"], prompts_dir=tmp_path).play(VoicePrompt.WELCOME)

    run_async(go())  # no exception, no hang


def test_default_player_is_silent_without_a_player(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.devnull)
    assert isinstance(player_mod.default_player(), SilentPlayer)
