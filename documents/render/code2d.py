"""The signed 2D code on the back: QR codes (binary mode) drawn as vector modules."""

from __future__ import annotations

import segno
from reportlab.pdfgen.canvas import Canvas

from documents import segments


def qr_matrix(data: bytes) -> list[list[bool]]:
    """Dark/light modules of a binary-mode QR code, quiet zone excluded."""
    # A fixed mask skips segno's mask scoring (half a second per code in pure Python);
    # any mask decodes, the scoring only evens out dark/light areas.
    qr = segno.make_qr(data, error="m", mode="byte", boost_error=False, mask=2)
    return [[bool(v) for v in row] for row in qr.matrix]


def codes_for(payload: bytes) -> list[list[list[bool]]]:
    return [qr_matrix(seg) for seg in segments.split(payload)]


def draw_qr(c: Canvas, matrix: list[list[bool]], x: float, y: float, size: float) -> None:
    """Draw ``matrix`` in a ``size`` square whose bottom-left is (x, y), with a white quiet
    zone of 4 modules around it (knocking out the background pattern)."""
    n = len(matrix)
    module = size / (n + 8)
    c.saveState()
    c.setFillColorRGB(1, 1, 1)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    # work in module units (integers format fast and exactly), row 0 at the top
    c.translate(x + 4 * module, y + size - 4 * module)
    c.scale(module, -module)
    ops = []
    for r, row in enumerate(matrix):
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                ops.append(f"{start} {r} {col - start} 1 re")
            else:
                col += 1
    # raw operators: integer module coordinates need none of reportlab's float formatting
    c._code.append("\n".join(ops) + "\nf")
    c.restoreState()
