"""Japanese fonts from Debian (fonts-ipaexfont-mincho / -gothic), found at run time.

Certificates use IPAex Mincho, as printed municipal documents do; receipts and the
copy-evident pattern use IPAex Gothic (thicker strokes survive a thermal head and a copier).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

MINCHO = "IPAexMincho"
GOTHIC = "IPAexGothic"
_FILES = {MINCHO: "ipaexm.ttf", GOTHIC: "ipaexg.ttf"}
_PACKAGES = {MINCHO: "fonts-ipaexfont-mincho", GOTHIC: "fonts-ipaexfont-gothic"}
_DEFAULT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


class FontMissingError(RuntimeError):
    """A required Japanese font is not installed."""


def _search_dirs() -> list[Path]:
    extra = os.environ.get("KOFU_FONT_DIRS", "")
    dirs = [Path(p) for p in extra.split(os.pathsep) if p]
    return dirs + [Path(p) for p in _DEFAULT_DIRS] + [Path.home() / ".local/share/fonts"]


@cache
def font_path(name: str) -> Path:
    """The file of font ``name`` (MINCHO or GOTHIC); raises FontMissingError."""
    filename = _FILES[name]
    for root in _search_dirs():
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            if filename in files:
                return Path(dirpath) / filename
    raise FontMissingError(
        f"font {name} ({filename}) not found under {', '.join(map(str, _search_dirs()))}; "
        f"install the Debian package {_PACKAGES[name]}"
    )


@cache
def register(name: str) -> str:
    """Register ``name`` with reportlab once; returns the font name to use."""
    pdfmetrics.registerFont(TTFont(name, str(font_path(name))))
    return name
