"""Anti-forgery print: a void-pantograph copy-evident background and a latent-image mark.

Void pantograph: the page is covered with a light tint made of two dot screens of the same
average tone. The background uses fine dots a copier cannot resolve; the hidden word 複写
uses coarse dots it can. On the original both read as one even tint; on a copy the fine dots
drop out and the word appears. The fine screen is two crossing stripe sets (a clip and a
fill), the coarse one round-capped dashed strokes, so a page costs a few hundred
operators, not 300 000 dots.

Latent image: inside a small box, the mark is drawn with vertical lines and its surround
with horizontal lines of the same weight: even grey face-on, visible when the sheet is
tilted against the light; a copier or scanner renders it unevenly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from documents.render.fonts import GOTHIC, register

GRID = 12.32 * mm  # both screens repeat on this grid
FINE_PITCH = GRID / 28  # 0.44 mm
FINE_SIDE = 0.152 * mm  # square dots: coverage ~12 %
COARSE_PITCH = GRID / 5  # 2.46 mm
COARSE_RADIUS = 0.48 * mm  # round dots: coverage ~12 %
INK = (0.22, 0.30, 0.42)  # dark blue-grey: with ~12 % coverage the page reads as a faint tint
WORD = "複写"
WORD_SIZE = 110  # pt
LINE_PITCH = 0.6 * mm
LINE_WIDTH = 0.22 * mm

@dataclass(frozen=True)
class Box:
    """A rectangle in PDF points, origin bottom-left."""

    x: float
    y: float
    w: float
    h: float


@cache
def _fine_ops(x0: float, y0: float, w: float, h: float) -> str:
    """PDF operators of the fine screen over a box, built once per box: the same on every
    page, and reportlab's number formatting would otherwise dominate the render time."""
    y = math.floor(y0 / FINE_PITCH) * FINE_PITCH + (FINE_PITCH - FINE_SIDE) / 2
    x = math.floor(x0 / FINE_PITCH) * FINE_PITCH + (FINE_PITCH - FINE_SIDE) / 2
    ops = ["q"]
    while y < y0 + h:
        ops.append(f"{x0:.3f} {y:.3f} {w:.3f} {FINE_SIDE:.3f} re")
        y += FINE_PITCH
    ops.append("W n")
    while x < x0 + w:
        ops.append(f"{x:.3f} {y0:.3f} {FINE_SIDE:.3f} {h:.3f} re")
        x += FINE_PITCH
    ops += ["f", "Q"]
    return "\n".join(ops)


def _fine_rows(c: Canvas, box: Box) -> None:
    """The fine square dots as the crossing of two stripe sets: clip to horizontal stripes,
    fill vertical ones (in the current fill colour). Two paths of a few hundred rectangles
    per page instead of 300 000 dots, and fills (unlike hairline strokes) keep their true
    coverage on screen at any zoom, so a viewer shows the same light tint as paper.
    Stripes start on a page-fixed grid so neighbouring areas line up."""
    c._code.append(_fine_ops(box.x, box.y, box.w, box.h))


def _coarse_rows(c: Canvas, box: Box) -> None:
    """Round dots as zero-length dashes with round caps, one operator per row."""
    c.setLineWidth(2 * COARSE_RADIUS)
    c.setLineCap(1)
    c.setDash([0, COARSE_PITCH], 0)
    y = math.floor(box.y / COARSE_PITCH) * COARSE_PITCH + COARSE_PITCH / 2
    x0 = math.floor(box.x / COARSE_PITCH) * COARSE_PITCH + COARSE_PITCH / 2
    p = c.beginPath()
    while y < box.y + box.h + COARSE_PITCH:
        p.moveTo(x0, y)
        p.lineTo(box.x + box.w + COARSE_PITCH, y)
        y += COARSE_PITCH
    c.drawPath(p, stroke=1, fill=0)


def _line_rows(c: Canvas, box: Box, vertical: bool) -> None:
    # thin filled bars rather than hairline strokes (true coverage at any zoom)
    p = c.beginPath()
    t = (box.x if vertical else box.y) + (LINE_PITCH - LINE_WIDTH) / 2
    end = box.x + box.w if vertical else box.y + box.h
    while t < end:
        if vertical:
            p.rect(t, box.y, LINE_WIDTH, box.h)
        else:
            p.rect(box.x, t, box.w, LINE_WIDTH)
        t += LINE_PITCH
    c.drawPath(p, stroke=0, fill=1)


def word_boxes(page_w: float, page_h: float) -> list[Box]:
    """Where the hidden word sits on a page (a grid of repeats, also used by tests)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    register(GOTHIC)
    w = stringWidth(WORD, GOTHIC, WORD_SIZE)
    h = WORD_SIZE * 0.88
    boxes = []
    for row in range(4):
        for col in range(2):
            x = page_w * (0.07 + 0.46 * col)
            y = page_h * (0.05 + 0.245 * row)
            boxes.append(Box(x, y, w, h))
    return boxes


def _word_text(c: Canvas, boxes: list[Box], mode: int) -> None:
    t = c.beginText()
    t.setTextRenderMode(mode)
    t.setFont(GOTHIC, WORD_SIZE)
    for b in boxes:
        t.setTextOrigin(b.x, b.y + WORD_SIZE * 0.12)
        t.textOut(WORD)
    c.drawText(t)


def void_pantograph(c: Canvas, page_w: float, page_h: float) -> None:
    """The copy-evident background over the whole page (draw it first)."""
    register(GOTHIC)
    boxes = word_boxes(page_w, page_h)
    c.saveState()
    c.setStrokeColorRGB(*INK)
    c.setFillColorRGB(*INK)
    _fine_rows(c, Box(0, 0, page_w, page_h))
    c.setFillColorRGB(1, 1, 1)
    _word_text(c, boxes, 0)  # knock the fine screen out where the word goes
    _word_text(c, boxes, 7)  # then clip to the word's outline ...
    for b in boxes:
        _coarse_rows(c, b)  # ... and fill it with the coarse screen
    c.restoreState()


def latent_mark(c: Canvas, box: Box, text: str) -> None:
    """A latent-image mark: ``text`` in vertical lines within horizontal lines."""
    register(GOTHIC)
    size = box.h * 0.72
    c.saveState()
    p = c.beginPath()
    p.rect(box.x, box.y, box.w, box.h)
    c.clipPath(p, stroke=0, fill=0)
    c.setFillColorRGB(1, 1, 1)
    c.rect(box.x, box.y, box.w, box.h, stroke=0, fill=1)
    c.setFillColorRGB(*INK)
    _line_rows(c, box, vertical=False)
    t = c.beginText()
    t.setFont(GOTHIC, size)
    t.setTextOrigin(box.x + box.w / 2 - c.stringWidth(text, GOTHIC, size) / 2,
                    box.y + box.h * 0.2)
    t.textOut(text)
    c.setFillColorRGB(1, 1, 1)
    c.drawText(t)
    t2 = c.beginText()
    t2.setTextRenderMode(7)
    t2.setFont(GOTHIC, size)
    t2.setTextOrigin(box.x + box.w / 2 - c.stringWidth(text, GOTHIC, size) / 2,
                     box.y + box.h * 0.2)
    t2.textOut(text)
    c.drawText(t2)
    c.setFillColorRGB(*INK)
    _line_rows(c, box, vertical=True)
    c.restoreState()
