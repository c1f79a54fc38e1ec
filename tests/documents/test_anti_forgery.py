"""The void pantograph: 複写 is hidden on the original and shows on a simulated copy."""

from __future__ import annotations

from PIL import Image, ImageStat

from documents import demo
from documents.render import render_pdf, security
from documents.render.certificate import PAGE_H, PAGE_W
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
