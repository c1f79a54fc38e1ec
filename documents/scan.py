"""Reading the signed 2D code(s) off a scan or a PDF (zxing-cpp; PDFs via poppler's pdftoppm)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import zxingcpp
from PIL import Image, UnidentifiedImageError

from documents import segments
from documents.upload_check import (
    MAX_PIXELS,
    MAX_RENDERED_PAGES,
    Kind,
    check_pdf,
    open_image,
    sniff,
)

PDF_DPI = 150  # QR modules of our codes are >= 0.5 mm: 3 px at 150 dpi
PDF_MAX_SIDE = 5000  # pixels: poppler renders only this corner of a page, whatever its size
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check, for every image opened here


class ScanError(ValueError):
    """The file cannot be read as an image or a PDF."""


class NoCodeFound(ScanError):
    """No certificate code could be decoded."""


def codes_in_image(image: Image.Image) -> list[bytes]:
    qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    results = zxingcpp.read_barcodes(image, formats=qr)
    return [bytes(r.bytes) for r in results if r.valid]


def pdf_pages(pdf: bytes, dpi: int = PDF_DPI, first: int | None = None,
              last: int | None = None, max_side: int | None = None) -> list[Image.Image]:
    """Greyscale rasterized pages (1-based ``first``..``last``, default all), each cut to
    ``max_side`` x ``max_side`` pixels when given."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ScanError("pdftoppm not found: install the Debian package poppler-utils")
    with tempfile.TemporaryDirectory(prefix="kofu-scan-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        pages_arg = (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
        if max_side:
            pages_arg += ["-x", "0", "-y", "0", "-W", str(max_side), "-H", str(max_side)]
        proc = subprocess.run([exe, "-r", str(dpi), "-gray", "-png", *pages_arg, str(src),
                               f"{tmp}/p"],
                              capture_output=True, timeout=120)
        if proc.returncode != 0:
            raise ScanError("not a readable PDF")
        pages = []
        for f in sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.split("-")[-1])):
            with Image.open(f) as im:
                pages.append(im.copy())
        return pages


def payload_from_codes(codes: list[bytes]) -> bytes:
    """The signed payload: a whole KFC2 (or legacy KFC1) payload, or one rebuilt from KFS1
    segments."""
    for raw in codes:
        if raw.startswith((b"KFC2", b"KFC1")):
            return raw
    try:
        return segments.join(codes)
    except segments.SegmentError as exc:
        raise NoCodeFound(str(exc)) from exc


def payload_from_file(data: bytes) -> bytes:
    """The signed payload from a PDF or a scanned image (PNG, JPEG, ...) of a back side."""
    kind = sniff(data)  # UploadRefused: not checked at all (documents.upload_check)
    if kind is Kind.PDF:
        # Our PDFs put the whole code set on the back of every sheet (even pages): try the
        # first back alone, and rasterize the rest only when that fails (a foreign layout).
        pages = check_pdf(data, PDF_DPI)
        codes = codes_in_image(pdf_pages(data, PDF_DPI, 2, 2, PDF_MAX_SIDE)[0]) \
            if pages >= 2 else []
        try:
            return payload_from_codes(codes)
        except NoCodeFound:
            pass
        for page in pdf_pages(data, PDF_DPI, 1, MAX_RENDERED_PAGES, PDF_MAX_SIDE):
            codes += codes_in_image(page)
        return payload_from_codes(codes)
    try:
        with open_image(data, kind) as im:  # checked against the limits before decoding
            if kind is Kind.JPEG:
                im.draft("L", im.size)  # decode straight to grey: a third of the memory
            image = im.convert("L")
    except (UnidentifiedImageError, OSError) as exc:
        raise ScanError("not a PDF or an image file") from exc
    return payload_from_codes(codes_in_image(image))
