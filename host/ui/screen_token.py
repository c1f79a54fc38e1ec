"""The screen token: the secret the kiosk's own Chromium presents on the screen's WebSocket.

The kiosk service reads it from ``[ui] token_file`` and makes it there when missing (random,
256 bits, mode 0640 so the screen's user can be given the file through its group, never
world-readable). It lives on tmpfs in a deployment (``/run``): a new one each boot, the same
across restarts of the service, so a Chromium that stayed up keeps working. The screen unit
hands it to Chromium in the URL's fragment (``/#token=...``), which a browser never sends to
a server, so it reaches no access log.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

MIN_LENGTH = 32


class ScreenTokenError(Exception):
    """The token file is unusable; the message names the problem, never the token."""


def load_or_create(path: Path) -> str:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
    except FileExistsError:
        return _read(path)
    token = secrets.token_urlsafe(32)
    try:
        os.fchmod(fd, 0o640)  # whatever the umask
        os.write(fd, token.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return token


def _read(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ScreenTokenError(f"{path.name}: cannot open ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ScreenTokenError(f"{path.name}: not a regular file")
        if st.st_mode & 0o027:
            raise ScreenTokenError(f"{path.name}: group-writable or readable by others (0640)")
        if st.st_uid != os.geteuid():
            raise ScreenTokenError(f"{path.name}: not owned by the kiosk service's user")
        token = os.read(fd, 256).decode("ascii", errors="replace").strip()
    finally:
        os.close(fd)
    if len(token) < MIN_LENGTH or not token.replace("-", "").replace("_", "").isalnum():
        raise ScreenTokenError(f"{path.name}: not a screen token (remove it to make a new one)")
    return token
