"""Erase after each session: the kiosk keeps nothing of the citizen on disk (SPEC §4).

Memory is handled by :meth:`host.session.data.SessionData.wipe`; this module empties the
kiosk's spool dir (rendered PDFs, print jobs, receipts). Each file is overwritten with zeros
before it is unlinked so that a later read of freed blocks on the SD card finds no content;
on flash with wear levelling that is best effort, the unlink is what is guaranteed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 64 * 1024


class SpoolError(OSError):
    """The spool dir could not be emptied; names the count, never the file names."""


@dataclass(frozen=True)
class EraseReport:
    files: int
    bytes: int


def _overwrite(path: Path) -> int:
    size = path.stat().st_size
    with path.open("r+b", buffering=0) as fh:
        left = size
        zeros = bytes(min(_CHUNK, size))
        while left > 0:
            n = min(left, _CHUNK)
            fh.write(zeros[:n])
            left -= n
        os.fsync(fh.fileno())
    return size


def erase_spool(spool: Path) -> EraseReport:
    """Overwrite and delete every file under ``spool`` (the dir itself stays)."""
    if not spool.exists():
        return EraseReport(0, 0)
    files = 0
    total = 0
    failed = 0
    for root, dirs, names in os.walk(spool, topdown=False):
        for name in names:
            p = Path(root, name)
            try:
                if p.is_symlink():
                    p.unlink()
                else:
                    total += _overwrite(p)
                    p.unlink()
                files += 1
            except OSError:
                failed += 1
        for d in dirs:
            try:
                Path(root, d).rmdir()
            except OSError:
                failed += 1
    if failed:
        raise SpoolError(f"{failed} spool entries could not be erased")
    return EraseReport(files, total)
