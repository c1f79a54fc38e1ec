"""The void pantograph: 複写 is hidden on the original and shows on a simulated copy."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageStat
from reportlab.pdfgen.canvas import Canvas

from documents import demo
from documents.render import render_pdf, security
from documents.render.certificate import PAGE_H, PAGE_W
from documents.render.fonts import GOTHIC, font_path, register
from documents.scan import pdf_pages
from documents.signing import sign_document

DPI = 300


def darkness(img: Image.Image, box: security.Box, scale: float) -> float:
    region = img.crop((int(box.x * scale), int((PAGE_H - box.y - box.h) * scale),
                       int((box.x + box.w) * scale), int((PAGE_H - box.y) * scale)))
    return 1 - ImageStat.Stat(region).mean[0] / 255


def contrast(img: Image.Image, scale: float) -> float:
    """Michelson contrast between the hidden words and the background just above each."""
    values = []
    boxes = security.word_boxes(PAGE_W, PAGE_H)
    for word in (boxes[2], boxes[3], boxes[5]):  # clear of the code, marks and text
        around = security.Box(word.x, word.y + word.h + 4, word.w, word.h * 0.4)
        w, b = darkness(img, word, scale), darkness(img, around, scale)
        values.append((w - b) / (w + b))
    return sum(values) / len(values)


def photocopy(img: Image.Image, factor: int = 4, threshold: int = 128) -> Image.Image:
    """A copier resolves less than the printer and thresholds its scan."""
    return img.reduce(factor).point(lambda v: 0 if v < threshold else 255)


MM = DPI / 25.4  # pixels per mm at the test resolution


def _render_canvas(draw: Callable[[Canvas], None]) -> Image.Image:
    out = io.BytesIO()
    c = Canvas(out, pagesize=(PAGE_W, PAGE_H), invariant=True)
    draw(c)
    c.showPage()
    c.save()
    (img,) = pdf_pages(out.getvalue(), DPI)
    return img.convert("L")


def _word_mask() -> Image.Image:
    """255 exactly where the hidden word's glyphs are (drawn solid at the same places)."""
    register(GOTHIC)

    def draw(c: Canvas) -> None:
        c.setFont(GOTHIC, security.WORD_SIZE)
        for box in security.word_boxes(PAGE_W, PAGE_H):
            c.drawString(*security.word_origin(box), security.WORD)

    return _render_canvas(draw).point(lambda v: 255 if v < 128 else 0)


def _dilate(mask: Image.Image, r_mm: float) -> Image.Image:
    r = max(1, round(r_mm * MM))
    return mask.filter(ImageFilter.BoxBlur(r)).point(lambda v: 255 if v > 0 else 0)


def _erode(mask: Image.Image, r_mm: float) -> Image.Image:
    return ImageChops.invert(_dilate(ImageChops.invert(mask), r_mm))


def _minus(a: Image.Image, b: Image.Image) -> Image.Image:
    return ImageChops.subtract(a, b)


def _both(a: Image.Image, b: Image.Image) -> Image.Image:
    return ImageChops.multiply(a, b)


@dataclass(frozen=True)
class Look:
    """How the word area looks on an original seen from reading distance (blurred)."""

    contrast: float  # Michelson, word core vs surroundings
    outline: float  # worst tone deviation of a band along the outline, relative
    edge_excess: float  # mean gradient along the outline minus along a control outline


SIGMAS = (0.3, 0.4, 0.5)  # blur (mm) standing for the eye at reading distance


def _looks(page: Image.Image, pattern_only: Image.Image, word: Image.Image) -> dict[float, Look]:
    """The word's :class:`Look` on ``page`` for each blur in SIGMAS."""
    ink = ImageChops.invert(page)
    # content (text, tables, white boxes) is wherever the page differs from the bare pattern
    content = ImageChops.difference(page, pattern_only).point(lambda v: 255 if v > 8 else 0)
    clear = ImageChops.invert(_dilate(content, 1.5 + 3 * max(SIGMAS)))

    def region(mask: Image.Image) -> Image.Image:
        mask = _both(mask, clear)
        assert ImageStat.Stat(mask).mean[0] > 0.3, "region hidden under content"
        return mask

    core = region(_erode(word, 0.6))
    surround = region(_minus(_dilate(word, 3.0), _dilate(word, 0.8)))
    bands = [region(band) for band in (
        _minus(word, _erode(word, 0.4)), _minus(_dilate(word, 0.4), word),
        _minus(_erode(word, 0.4), _erode(word, 0.8)),
        _minus(_dilate(word, 0.8), _dilate(word, 0.4)))]
    edge = _minus(_dilate(word, 0.4), _erode(word, 0.4))
    # the same outline moved up into the plain background between two rows of words
    shift = round(36 * MM)
    control = _minus(ImageChops.offset(edge, 0, -shift), _dilate(word, 1.0))
    control.paste(0, (0, control.height - shift, control.width, control.height))  # wrapped
    edge, control = region(edge), region(control)
    looks = {}
    for sigma in SIGMAS:
        blurred = ink.filter(ImageFilter.GaussianBlur(sigma * MM))

        def tone(mask: Image.Image, img: Image.Image = blurred) -> float:
            return ImageStat.Stat(img, mask=mask).mean[0] / 255

        w, b = tone(core), tone(surround)
        outline = max(abs(tone(band) - b) for band in bands) / b
        # gradient magnitude (L1, 2 px steps) of the blurred ink
        grad = ImageChops.add(
            ImageChops.difference(blurred, ImageChops.offset(blurred, 2, 0)),
            ImageChops.difference(blurred, ImageChops.offset(blurred, 0, 2)))
        looks[sigma] = Look((w - b) / (w + b), outline,
                            tone(edge, grad) - tone(control, grad))
    return looks


@pytest.fixture(scope="module")
def sheet() -> dict[str, Image.Image]:
    """Both sides of a one-sheet 住民票 at 300 dpi, the bare background, the word's mask."""
    doc = demo.juminhyo((demo.HEAD,))
    pdf = render_pdf(doc, sign_document(doc, demo.signing_key()))
    front, back = (p.convert("L") for p in pdf_pages(pdf, DPI, first=1, last=2))
    bare = _render_canvas(lambda c: security.void_pantograph(c, PAGE_W, PAGE_H))
    return {"front": front, "back": back, "bare": bare, "word": _word_mask()}


@pytest.mark.parametrize("side", ["front", "back"])
def test_word_is_hidden_on_the_original(sheet: dict[str, Image.Image], side: str) -> None:
    """Seen from reading distance (blur 0.3 to 0.5 mm) the word has the background's
    tone, no lighter or darker outline, and hardly more edge energy along its outline than
    the same outline traced over plain background. (The old pattern, coarse dots along
    the stroke centres in a knocked-out band, measured contrast -0.07, outline 0.14 to 0.18,
    edge excess 0.028 / 0.022 / 0.015.)"""
    looks = _looks(sheet[side], sheet["bare"], sheet["word"])
    for sigma, look in looks.items():
        assert abs(look.contrast) < 0.02, (sigma, look)
        assert look.outline < 0.04, (sigma, look)
    # what is left is the coarse screen's own texture, fading fast with distance
    assert looks[0.3].edge_excess < 0.02, looks
    assert looks[0.4].edge_excess < 0.01, looks
    assert looks[0.5].edge_excess < 0.005, looks


@pytest.mark.parametrize("side", ["front", "back"])
def test_copy_shows_the_word_and_drops_the_background(sheet: dict[str, Image.Image],
                                                      side: str) -> None:
    copy = ImageChops.invert(photocopy(sheet[side]))
    content = ImageChops.difference(sheet[side], sheet["bare"]).point(
        lambda v: 255 if v > 8 else 0)
    clear = ImageChops.invert(_dilate(content, 1.5))
    word = sheet["word"]
    core = _both(_erode(word, 0.6), clear).resize(copy.size)
    surround = _both(_minus(_dilate(word, 3.0), _dilate(word, 0.8)), clear).resize(copy.size)
    background = _both(ImageChops.invert(_dilate(word, 1.0)), clear).resize(copy.size)

    def ink(region: Image.Image) -> float:
        return ImageStat.Stat(copy, mask=region).mean[0] / 255

    assert ink(core) > 0.08  # the coarse dots survive ...
    assert ink(surround) < 0.01 and ink(background) < 0.01  # ... the fine ones do not


def test_copy_reveals_the_hidden_word() -> None:
    doc = demo.juminhyo((demo.HEAD,))
    pdf = render_pdf(doc, sign_document(doc, demo.signing_key()))
    (original,) = pdf_pages(pdf, DPI, first=2, last=2)
    scale = DPI / 72
    before = contrast(original, scale)
    after = contrast(photocopy(original), scale / 4)
    assert abs(before) < 0.1  # one even tint on the original
    assert after > 0.8  # on the copy the word's dots survive and the background drops out
    # and the tint itself is present on the original (not a blank page)
    assert darkness(original, security.Box(0, 0, PAGE_W, 40), scale) > 0.03



def test_latent_image_is_even_face_on_but_differs_in_line_direction() -> None:
    """Inside the latent mark, the character and its surround have the same tone but run
    in different directions: horizontal bars change row to row, vertical ones column to
    column."""
    register(GOTHIC)
    out = io.BytesIO()
    c = Canvas(out, pagesize=(200, 100))
    box = security.Box(20, 20, 160, 60)
    security.latent_mark(c, box, "正")
    c.showPage()
    c.save()
    (img,) = pdf_pages(out.getvalue(), 600)
    scale = 600 / 72
    # where the glyph is: the same character drawn solid, as a mask
    glyph = Image.new("L", img.size, 0)
    font = ImageFont.truetype(str(font_path(GOTHIC)), int(box.h * 0.72 * scale))
    ImageDraw.Draw(glyph).text((img.size[0] / 2, (100 - box.y - box.h * 0.2) * scale), "正",
                               font=font, fill=255, anchor="ms")
    inner = glyph.point(lambda v: 255 if v > 128 else 0).filter(ImageFilter.MinFilter(15))
    frame = Image.new("L", img.size, 0)
    ImageDraw.Draw(frame).rectangle((box.x * scale + 20, (100 - box.y - box.h) * scale + 20,
                                     (box.x + box.w) * scale - 20, (100 - box.y) * scale - 20),
                                    fill=255)
    outer = ImageChops.subtract(frame, glyph.point(lambda v: 255 if v else 0).filter(
        ImageFilter.MaxFilter(31)))
    down = ImageChops.difference(img, img.transform(img.size, Image.Transform.AFFINE,
                                                     (1, 0, 0, 0, 1, 2)))
    across = ImageChops.difference(img, img.transform(img.size, Image.Transform.AFFINE,
                                                       (1, 0, 2, 0, 1, 0)))

    def tone(region: Image.Image) -> float:
        return 1 - ImageStat.Stat(img, mask=region).mean[0] / 255

    def direction(region: Image.Image) -> float:
        """> 0: varies down rows (horizontal lines); < 0: across columns (vertical)."""
        return ImageStat.Stat(down, mask=region).mean[0] - ImageStat.Stat(
            across, mask=region).mean[0]

    assert abs(tone(inner) - tone(outer)) < 0.08
    assert tone(outer) > 0.15
    assert direction(outer) > 20 and direction(inner) < -20
