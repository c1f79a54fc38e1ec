"""The void pantograph: 複写 is hidden on the original and shows on a simulated copy."""

from __future__ import annotations

import io

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
