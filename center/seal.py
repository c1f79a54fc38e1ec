"""Seal images (PNG): a municipality's official seal (公印) and residents' registered seals.

Drawn rather than stored as files so the demo needs no binary assets. A real deployment
imports scanned seals with `kofu center admin`.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

RED = (200, 30, 30, 255)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("ipaexm.ttf", "ipaexg.ttf", "fonts-japanese-mincho.ttf"):
        try:
            return ImageFont.truetype(name, size)  # Pillow searches the system font folders
        except OSError:
            continue
    return ImageFont.load_default()


def draw_seal(text: str, *, square: bool, size: int = 240) -> bytes:
    """A red seal: square for an official seal, round for a personal one; ``text`` is laid
    out top to bottom, right column first, as seals are read."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    m = size // 20
    box = (m, m, size - m, size - m)
    if square:
        d.rectangle(box, outline=RED, width=size // 24)
    else:
        d.ellipse(box, outline=RED, width=size // 24)
    chars = list(text)[:9]
    cols = 1 if len(chars) <= 3 else (2 if len(chars) <= 6 else 3)
    rows = -(-len(chars) // cols)
    cell = (size - 6 * m) // max(rows, cols)
    font = _font(int(cell * 0.9))
    left = (size - cols * cell) // 2
    top = (size - rows * cell) // 2
    for i, ch in enumerate(chars):
        col = cols - 1 - i // rows
        row = i % rows
        d.text(
            (left + col * cell + cell // 2, top + row * cell + cell // 2),
            ch,
            fill=RED,
            font=font,
            anchor="mm",
        )
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
