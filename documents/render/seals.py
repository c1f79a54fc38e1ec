"""Seal images drawn with Pillow: the municipal seal (公印, square) and a personal seal
(印影, round). Fictional and deterministic: the same text always gives the same PNG bytes,
so a seal's SHA-256 in signed content stays stable."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from documents.render.fonts import MINCHO, font_path

SEAL_RED = (200, 30, 30, 255)


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


@cache
def municipal_seal(text: str, size: int = 360) -> bytes:
    """A square 公印 with ``text`` (e.g. 桜川原市長之印) in columns read right to left."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    border = size // 16
    draw.rectangle((border, border, size - border, size - border), outline=SEAL_RED,
                   width=border)
    cols = 3 if len(text) > 4 else 2
    rows = -(-len(text) // cols)
    inner = size - 4 * border
    cell_w, cell_h = inner / cols, inner / rows
    font = ImageFont.truetype(str(font_path(MINCHO)), int(min(cell_w, cell_h) * 0.92))
    for i, ch in enumerate(text):
        col, row = divmod(i, rows)
        x = size - 2 * border - (col + 1) * cell_w + cell_w / 2
        y = 2 * border + row * cell_h + cell_h / 2
        draw.text((x, y), ch, font=font, fill=SEAL_RED, anchor="mm")
    return _png(img)


@cache
def personal_seal(text: str, size: int = 240) -> bytes:
    """A round 印影 with ``text`` (a surname) written top to bottom."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    ring = size // 20
    draw.ellipse((ring, ring, size - ring, size - ring), outline=SEAL_RED, width=ring)
    n = max(1, len(text))
    cell = (size - 6 * ring) / n
    font = ImageFont.truetype(str(font_path(MINCHO)), int(min(cell, size * 0.5) * 0.95))
    for i, ch in enumerate(text):
        draw.text((size / 2, 3 * ring + cell * (i + 0.5)), ch, font=font, fill=SEAL_RED,
                  anchor="mm")
    return _png(img)
