"""The state directory is the center's alone: directories 0700, files 0600.

The center process also runs with umask 077 (:func:`private_umask`), so what SQLite, the TLS
code or the token library create later (the database's ``-wal``/``-shm`` files take the
database file's mode anyway) is private from the start. A state directory left looser by an
older version is tightened on start, with one line saying so.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("kofu.center")

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_umask() -> None:
    os.umask(0o077)


def private_dir(path: Path) -> Path:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write (or rewrite) a small file that only the owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, FILE_MODE)  # O_CREAT's mode does not apply to a file that already existed


def tighten(state: Path) -> None:
    """Make a state directory private: every directory in it 0700, every file 0600."""
    loose = 0
    private_dir(state)
    for root, dirs, files in os.walk(state):
        for name in dirs:
            p = Path(root, name)
            if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) != DIR_MODE:
                p.chmod(DIR_MODE)
                loose += 1
        for name in files:
            p = Path(root, name)
            if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) & 0o077:
                p.chmod(FILE_MODE)
                loose += 1
    if loose:
        log.warning("state directory %s: %d entries made private (0700/0600)", state, loose)


def private_file(path: Path) -> None:
    """A file someone else created in the state directory (the SQLite database): 0600."""
    if path.exists() and stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
        path.chmod(FILE_MODE)
