"""The screen token file: made once (random, 0640), read back the same across restarts,
refused when anyone but the service could change it or others could read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from host.ui.screen_token import MIN_LENGTH, ScreenTokenError, load_or_create


def test_made_once_private_and_the_same_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "screen-token"
    old = os.umask(0)  # whatever the umask, the file is 0640
    try:
        token = load_or_create(path)
    finally:
        os.umask(old)
    assert len(token) >= MIN_LENGTH
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert load_or_create(path) == token
    assert load_or_create(tmp_path / "other") != token


@pytest.mark.parametrize("mode", [0o644, 0o660, 0o666])
def test_refused_when_others_can_read_or_the_group_write(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "screen-token"
    token = load_or_create(path)
    path.chmod(mode)
    with pytest.raises(ScreenTokenError) as refused:
        load_or_create(path)
    assert token not in str(refused.value)


def test_refused_when_a_symlink_or_not_a_token(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    load_or_create(real)
    link = tmp_path / "screen-token"
    link.symlink_to(real)
    with pytest.raises(ScreenTokenError, match="cannot open"):
        load_or_create(link)
    short = tmp_path / "short"
    short.write_text("abc\n")
    short.chmod(0o600)
    with pytest.raises(ScreenTokenError, match="not a screen token"):
        load_or_create(short)
