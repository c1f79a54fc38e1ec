"""Anti-forgery print: a void-pantograph copy-evident background and a latent-image mark.

Void pantograph: one page-fixed square lattice (0.88 mm) carries the whole tint. Around
the hidden word 複写 every site holds a cluster of 3 x 3 fine square dots (0.15 mm, far
apart enough that no copier pixel is even half covered); inside the word every site holds
one coarse square dot (0.45 mm) with the same ink. The two screens share the lattice, so
the stroke edges cut sites without any blank band, and at reading distance (the fine
cluster structure is 0.29 mm, well under what the eye separates) word and background are
one even tint with no outline. A copier drops the fine dots and keeps the coarse ones, so
the word appears. (White camouflage waves over both screens were tried: they cut the
remaining texture difference by a third but made a page cost 50 % more to render.) Both
screens are two crossing stripe sets (a clip and a fill): a page costs about 1 200
rectangles, not 120 000 dots, and both go through the same rasterizer path, so their
tones match at print resolutions (300 dpi and up; screen renders at 150 dpi and below
over-darken the sub-pixel fine dots).

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

PITCH = 12.32 * mm / 14  # 0.88 mm lattice, shared by both screens
CLUSTER = 3  # a background site: CLUSTER x CLUSTER fine dots, evenly spread
FINE_SIDE = 0.148 * mm  # coverage 9 x 0.148^2 / 0.88^2 = 25 %
# A coarse dot holds a cluster's ink plus 4 % (area): the fine dots gain more at their edges
# (anti-aliasing in a raster, toner spread on paper); tones within 2 % at 300 and 600 dpi.
COARSE_SIDE = CLUSTER * FINE_SIDE * 1.02
INK = (0.22, 0.30, 0.42)  # dark blue-grey: at 25 % coverage a light tint (~18 % grey)
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


def _sites(lo: float, hi: float) -> list[float]:
    """Lattice site centres covering [lo, hi] (one site of margin each side)."""
    k = math.floor(lo / PITCH) - 1
    out = []
    while (k - 0.5) * PITCH < hi + PITCH:
        out.append((k + 0.5) * PITCH)
        k += 1
    return out


@cache
def _fine_ops(x0: float, y0: float, w: float, h: float) -> str:
    """PDF operators of the fine screen over a box, built once per box: the same on every
    page, and reportlab's number formatting would otherwise dominate the render time.

    The fine dots are the crossing of two stripe sets (clip to the horizontal stripes,
    fill the vertical ones); fills, unlike hairline strokes, keep their true coverage on
    screen at any zoom."""
    step = PITCH / CLUSTER
    offsets = [(j - (CLUSTER - 1) / 2) * step - FINE_SIDE / 2 for j in range(CLUSTER)]
    ops = ["q"]
    for y in _sites(y0, y0 + h):
        ops += [f"{x0:.3f} {y + d:.3f} {w:.3f} {FINE_SIDE:.3f} re" for d in offsets]
    ops.append("W n")
    for x in _sites(x0, x0 + w):
        ops += [f"{x + d:.3f} {y0:.3f} {FINE_SIDE:.3f} {h:.3f} re" for d in offsets]
    ops += ["f", "Q"]
    return "\n".join(ops)


@cache
def _coarse_ops(x0: float, y0: float, w: float, h: float) -> str:
    """The coarse screen over a box (the caller clips it to the word): one square dot per
    lattice site, drawn as crossing stripes like the fine screen."""
    side = COARSE_SIDE
    ops = ["q"]
    for y in _sites(y0, y0 + h):
        ops.append(f"{x0:.3f} {y - side / 2:.3f} {w:.3f} {side:.3f} re")
    ops.append("W n")
    for x in _sites(x0, x0 + w):
        ops.append(f"{x - side / 2:.3f} {y0:.3f} {side:.3f} {h:.3f} re")
    ops += ["f", "Q"]
    return "\n".join(ops)


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


def word_origin(box: Box) -> tuple[float, float]:
    """The text origin of the word drawn in ``box`` (GOTHIC at WORD_SIZE; tests use it to
    draw the word's exact outline)."""
    return box.x, box.y + WORD_SIZE * 0.12


def _word_text(c: Canvas, boxes: list[Box], mode: int) -> None:
    t = c.beginText()
    t.setTextRenderMode(mode)
    t.setFont(GOTHIC, WORD_SIZE)
    for b in boxes:
        t.setTextOrigin(*word_origin(b))
        t.textOut(WORD)
    c.drawText(t)


def void_pantograph(c: Canvas, page_w: float, page_h: float) -> None:
    """The copy-evident background over the whole page (draw it first)."""
    register(GOTHIC)
    boxes = word_boxes(page_w, page_h)
    c.saveState()
    c.setFillColorRGB(*INK)
    c._code.append(_fine_ops(0.0, 0.0, page_w, page_h))
    c.setFillColorRGB(1, 1, 1)
    _word_text(c, boxes, 0)  # knock the fine screen out where the word goes
    _word_text(c, boxes, 7)  # then clip to the word's outline ...
    c.setFillColorRGB(*INK)
    pad = WORD_SIZE * 0.2  # glyphs overshoot the nominal box
    for b in boxes:  # ... and put the coarse dots on the same lattice sites inside it
        c._code.append(_coarse_ops(b.x - pad, b.y - pad, b.w + 2 * pad, b.h + 2 * pad))
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
