"""Anti-forgery print: a void-pantograph copy-evident background and a latent-image mark.

Void pantograph: the page is covered with a light tint made of two dot screens of the same
average tone. The background uses fine dots a copier cannot resolve; the hidden word 複写
uses coarse dots it can. On the original both read as one even tint; on a copy the fine dots
drop out and the word appears. The screens are drawn once per PDF as Form XObjects and
placed as tiles, so a page costs a few hundred small operators, not 300 000 dots.

Latent image: inside a small box, the mark is drawn with vertical lines and its surround
with horizontal lines of the same weight: even grey face-on, visible when the sheet is
tilted against the light; a copier or scanner renders it unevenly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from documents.render.fonts import GOTHIC, register

TILE = 12.32 * mm
FINE_PITCH = TILE / 28  # 0.44 mm
FINE_SIDE = 0.152 * mm  # square dots: coverage ~12 %
COARSE_PITCH = TILE / 5  # 2.46 mm
COARSE_RADIUS = 0.48 * mm  # round dots: coverage ~12 %
INK = (0.22, 0.30, 0.42)  # dark blue-grey: with ~12 % coverage the page reads as a faint tint
WORD = "複写"
WORD_SIZE = 110  # pt
LINE_PITCH = 0.6 * mm
LINE_WIDTH = 0.22 * mm

_FINE = "kofuFineScreen"
_COARSE = "kofuCoarseScreen"
_HLINES = "kofuHLines"
_VLINES = "kofuVLines"


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF points, origin bottom-left."""

    x: float
    y: float
    w: float
    h: float


def define_forms(c: Canvas) -> None:
    """Draw the screens once into the PDF (call once per canvas, before any page)."""
    c.beginForm(_FINE, 0, 0, TILE, TILE)
    c.setFillColorRGB(*INK)
    half = (FINE_PITCH - FINE_SIDE) / 2
    steps = round(TILE / FINE_PITCH)
    p = c.beginPath()
    for i in range(steps):
        for j in range(steps):
            p.rect(i * FINE_PITCH + half, j * FINE_PITCH + half, FINE_SIDE, FINE_SIDE)
    c.drawPath(p, stroke=0, fill=1)
    c.endForm()

    c.beginForm(_COARSE, 0, 0, TILE, TILE)
    c.setFillColorRGB(*INK)
    steps = round(TILE / COARSE_PITCH)
    p = c.beginPath()
    for i in range(steps):
        for j in range(steps):
            p.circle((i + 0.5) * COARSE_PITCH, (j + 0.5) * COARSE_PITCH, COARSE_RADIUS)
    c.drawPath(p, stroke=0, fill=1)
    c.endForm()

    for name, vertical in ((_HLINES, False), (_VLINES, True)):
        c.beginForm(name, 0, 0, TILE, TILE)
        c.setStrokeColorRGB(*INK)
        c.setLineWidth(LINE_WIDTH)
        steps = round(TILE / LINE_PITCH)
        pitch = TILE / steps
        for k in range(steps):
            t = (k + 0.5) * pitch
            if vertical:
                c.line(t, 0, t, TILE)
            else:
                c.line(0, t, TILE, t)
        c.endForm()


def _tile(c: Canvas, form: str, box: Box) -> None:
    # Tiles sit on a page-fixed grid so neighbouring areas line up seamlessly.
    x0 = math.floor(box.x / TILE) * TILE
    y0 = math.floor(box.y / TILE) * TILE
    y = y0
    while y < box.y + box.h:
        x = x0
        while x < box.x + box.w:
            c.saveState()
            c.translate(x, y)
            c.doForm(form)
            c.restoreState()
            x += TILE
        y += TILE


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
    _tile(c, _FINE, Box(0, 0, page_w, page_h))
    c.setFillColorRGB(1, 1, 1)
    _word_text(c, boxes, 0)  # knock the fine screen out where the word goes
    _word_text(c, boxes, 7)  # then clip to the word's outline ...
    for b in boxes:
        _tile(c, _COARSE, b)  # ... and fill it with the coarse screen
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
    _tile(c, _HLINES, box)
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
    _tile(c, _VLINES, box)
    c.restoreState()
