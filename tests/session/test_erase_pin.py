"""Erase after session (memory and spool dir) and the PIN's handling."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from host.session import actions as A
from host.session.data import SessionData
from host.session.demo import machine_at
from host.session.erase import SpoolError, erase_spool
from host.session.events import Printed
from host.session.pin import Pin, PinFormatError
from host.session.states import State


def test_erase_spool_overwrites_and_deletes_everything(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    (spool / "job-1").mkdir(parents=True)
    pdf = spool / "job-1" / "cert.pdf"
    pdf.write_bytes(b"%PDF resident data " * 1000)
    (spool / "receipt.png").write_bytes(b"png")
    (spool / "empty").write_bytes(b"")
    outside = tmp_path / "keep.txt"
    outside.write_text("not in the spool")
    (spool / "link").symlink_to(outside)
    # Keep an extra handle so we can see the blocks were zeroed before the unlink.
    fd = os.open(pdf, os.O_RDONLY)
    try:
        report = erase_spool(spool)
        os.lseek(fd, 0, os.SEEK_SET)
        leftover = os.read(fd, 100)
    finally:
        os.close(fd)
    assert leftover == bytes(100)
    assert report.files == 4 and report.bytes == 19000 + 3
    assert spool.is_dir() and list(spool.iterdir()) == []
    assert outside.read_text() == "not in the spool"  # a symlink's target is not touched


def test_erase_of_a_missing_spool_is_a_no_op(tmp_path: Path) -> None:
    assert erase_spool(tmp_path / "nope").files == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_erase_failure_is_reported_without_file_names(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    locked = spool / "locked"
    locked.mkdir(parents=True)
    (locked / "山田太郎.pdf").write_bytes(b"x")
    locked.chmod(0o500)
    try:
        with pytest.raises(SpoolError) as info:
            erase_spool(spool)
        assert "山田" not in str(info.value)
    finally:
        locked.chmod(0o700)


def test_erase_failure_on_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "山田太郎.pdf").write_bytes(b"x")
    from host.session import erase

    def broken(path: Path) -> int:
        raise PermissionError(str(path))

    monkeypatch.setattr(erase, "_overwrite", broken)
    with pytest.raises(SpoolError) as info:
        erase_spool(spool)
    assert "山田" not in str(info.value) and "1 spool entries" in str(info.value)


def test_session_data_wipe_resets_every_field() -> None:
    m, _ = machine_at(State.ISSUING)
    assert not m.data.is_empty()
    m.data.wipe()
    assert m.data == SessionData()


def test_wipe_after_print_keeps_only_the_language() -> None:
    m, _ = machine_at(State.PRINTING)
    m.data.lang = "vi"
    actions = m.handle(Printed())
    assert A.Wipe() in actions
    assert m.data == SessionData(lang="vi")


def test_pin_is_masked_and_wiped() -> None:
    pin = Pin(b"4821")
    assert "4821" not in repr(pin) and "4821" not in str(pin) and "4821" not in f"{pin!r}"
    assert pin.use(bytes) == b"4821"
    buf = pin._buf
    pin.wipe()
    assert pin.wiped and len(buf) == 0
    with pytest.raises(ValueError, match="wiped"):
        pin.use(bytes)
    with pytest.raises(TypeError):
        pickle.dumps(Pin(b"1234"))


@pytest.mark.parametrize("bad", [b"123", b"12345", b"12a4", b"", "１２３４".encode()])
def test_bad_pin_format_is_a_typed_error_without_digits(bad: bytes) -> None:
    with pytest.raises(PinFormatError) as info:
        Pin(bad)
    assert bad.decode(errors="ignore") not in str(info.value) or not bad


def test_pin_from_text() -> None:
    assert Pin.from_text("0007").use(bytes) == b"0007"
    with pytest.raises(PinFormatError):
        Pin.from_text("00é7")
