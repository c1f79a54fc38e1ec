"""What an uploaded scan may cost before anything decodes it: the file type by its first bytes
(PNG, JPEG or PDF only), and the sizes its headers declare — pixels, pages, page area,
images inside a PDF, and how far its compressed streams inflate.

A few hundred bytes can declare gigapixels or gigabytes (decompression bombs), so every
limit is checked on what the file declares, before a decoder allocates for it. The checks
are deliberately stricter than a general PDF reader: a back-side scan or a kofu PDF needs
one or two pages of ordinary size.
"""

from __future__ import annotations

import io
import re
import warnings
import zlib
from collections.abc import Iterator
from enum import Enum

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

MAX_PIXELS = 40_000_000  # an A4 scan at 600 dpi is 35 MP
MAX_DECODED_BYTES = 160_000_000  # pixels x bytes per pixel of the decoded image
MAX_PDF_PAGES = 16  # a kofu certificate of 8 sheets
MAX_RENDERED_PAGES = 4  # our code set is on every back: the first sheets are enough
MAX_PAGE_PIXELS = 16_000_000  # a rasterised page at the scan resolution (A2 at 150 dpi)
MAX_PDF_INFLATED = 64_000_000  # all compressed streams of a PDF together, decoded
MAX_PDF_OBJECTS = 20_000
# Filters a scanner's or kofu's PDF uses. JBIG2 and JPEG 2000 are refused: large decoders
# with a history of exploits, and a scan in those formats can be sent as PNG/JPEG instead.
PDF_FILTERS = frozenset({"/FlateDecode", "/DCTDecode", "/ASCII85Decode", "/ASCIIHexDecode",
                         "/RunLengthDecode", "/CCITTFaxDecode", "/LZWDecode"})
_EXPANDING = frozenset({"/FlateDecode", "/RunLengthDecode", "/LZWDecode"})


class Kind(Enum):
    PNG = "png"
    JPEG = "jpeg"
    PDF = "pdf"


class UploadRefused(Exception):
    """The file is not checked at all: of a type, or of a size, the page does not take.
    ``code`` is stable (for the JSON API), the message is for people."""

    status = 422

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class UnsupportedType(UploadRefused):
    status = 415


def sniff(data: bytes) -> Kind:
    """The type by magic bytes; whatever the file name or declared content type says."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if data.startswith(b"%PDF-"):
        return Kind.PDF
    raise UnsupportedType("unsupported_type", "only PNG, JPEG or PDF files are checked")


def check_image_size(width: int, height: int, channels: int, bits: int = 8) -> None:
    pixels = width * height
    if pixels > MAX_PIXELS:
        raise UploadRefused("too_many_pixels", f"image too large ({pixels // 1_000_000} MP; "
                            f"{MAX_PIXELS // 1_000_000} MP at most)")
    if pixels * channels * max(bits, 8) // 8 > MAX_DECODED_BYTES:
        raise UploadRefused("too_much_data", "image too large once decoded")


_CHANNELS = {"1": 1, "L": 1, "P": 1, "LA": 2, "I;16": 2, "I;16B": 2, "RGB": 3, "YCbCr": 3,
             "RGBA": 4, "CMYK": 4, "I": 4, "F": 4}


def check_opened_image(mode: str, size: tuple[int, int]) -> None:
    """An image opened by Pillow (which reads the header only) before it is decoded."""
    check_image_size(size[0], size[1], _CHANNELS.get(mode, 4))


def open_image(data: bytes, kind: Kind) -> Image.Image:
    """The image, opened (its header read, nothing decoded) and checked against the limits.
    UnidentifiedImageError / OSError when it is not an image of that kind."""
    try:
        with warnings.catch_warnings():
            # over MAX_PIXELS Pillow warns; check_opened_image refuses it just below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[kind.name])
    except Image.DecompressionBombError as exc:
        raise UploadRefused("too_many_pixels", "image too large") from exc
    check_opened_image(im.mode, im.size)
    return im


def check_upload(data: bytes, dpi: int) -> None:
    """Refuse a file of another type or over the limits, decoding nothing. A file that
    passes may still be unreadable: the scan says so (a verdict, not a refusal)."""
    kind = sniff(data)
    if kind is Kind.PDF:
        check_pdf(data, dpi)
        return
    try:
        open_image(data, kind).close()
    except (UnidentifiedImageError, OSError):
        pass


def _inflated_total(data: bytes, budget: int) -> int:
    """How far every zlib stream in the file inflates, counted without keeping the output and
    independent of any PDF parser (the renderer and our checks could read a file
    differently; raw bytes are the same for both). Stops counting past ``budget``."""
    total = 0
    for n, m in enumerate(re.finditer(rb"stream\r?\n", data)):
        if n > 2 * MAX_PDF_OBJECTS:
            return budget + 1
        inflater = zlib.decompressobj()
        pos = m.end()
        try:
            while total <= budget and not inflater.eof and pos < len(data):
                chunk = data[pos:pos + 65536]
                pos += len(chunk)
                while chunk and total <= budget:  # 1 MB of output at a time, then dropped
                    out = len(inflater.decompress(chunk, 1 << 20))
                    total += out
                    if inflater.eof or (out == 0 and len(inflater.unconsumed_tail) == len(chunk)):
                        break  # the end (zlib then keeps what follows as its tail)
                    chunk = inflater.unconsumed_tail
        except zlib.error:
            pass  # not zlib data (or corrupt): the renderer stops there too
        if total > budget:
            break
    return total


def _filters(obj: object) -> list[str]:
    f = obj.get("/Filter") if hasattr(obj, "get") else None
    if f is None:
        return []
    f = f.get_object()
    if isinstance(f, NameObject):
        return [str(f)]
    if isinstance(f, ArrayObject):
        return [str(x.get_object()) for x in f]
    return ["?"]


def _leaf_pages(root: object) -> Iterator[object]:
    """The page tree's leaves, iteratively, refusing a tree with too many nodes or loops."""
    seen: set[int] = set()
    todo = [root]
    nodes = 0
    while todo:
        node = todo.pop()
        nodes += 1
        if id(node) in seen or nodes > 4 * MAX_PDF_PAGES:
            raise UploadRefused("too_many_pages", f"{MAX_PDF_PAGES} pages at most")
        seen.add(id(node))
        if not isinstance(node, DictionaryObject):
            raise UploadRefused("unreadable_pdf", "not a readable PDF")
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            kids = node.get("/Kids")
            kids = kids.get_object() if kids is not None else []
            todo.extend(reversed([k.get_object() for k in kids]))
        else:
            yield node


def check_pdf(data: bytes, dpi: int) -> int:
    """Refuse a PDF over the limits; its page count otherwise."""
    if _inflated_total(data, MAX_PDF_INFLATED) > MAX_PDF_INFLATED:
        raise UploadRefused("too_much_data", "PDF too large once decompressed")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UploadRefused("unsupported_pdf", "encrypted PDFs are not checked")
        if len(reader.xref_objStm) + sum(len(v) for v in reader.xref.values()) > MAX_PDF_OBJECTS:
            raise UploadRefused("too_much_data", "PDF with too many objects")
        catalog = reader.trailer["/Root"].get_object()
        root = catalog["/Pages"].get_object() if isinstance(catalog, DictionaryObject) else None
        if not isinstance(root, DictionaryObject):
            raise UploadRefused("unreadable_pdf", "not a readable PDF")
        count = root.get("/Count", 0)
        if not isinstance(count, int) or count > MAX_PDF_PAGES:
            raise UploadRefused("too_many_pages", f"{MAX_PDF_PAGES} pages at most")
        pages = 0
        for page in _leaf_pages(root):
            pages += 1
            if pages > MAX_PDF_PAGES:
                raise UploadRefused("too_many_pages", f"{MAX_PDF_PAGES} pages at most")
            if pages <= MAX_RENDERED_PAGES:
                _check_page(page, dpi)
        for idnum, generation in _object_ids(reader):
            obj = reader.get_object(IndirectObject(idnum, generation, reader))
            if isinstance(obj, StreamObject):
                _check_stream(obj)
    except UploadRefused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError,
            RecursionError) as exc:
        raise UploadRefused("unreadable_pdf", "not a readable PDF") from exc
    if pages == 0:
        raise UploadRefused("unreadable_pdf", "a PDF without pages")
    return pages


def _object_ids(reader: PdfReader) -> Iterator[tuple[int, int]]:
    for generation, ids in reader.xref.items():
        for idnum in ids:
            yield idnum, generation
    for idnum in reader.xref_objStm:
        yield idnum, 0


def _check_page(page: object, dpi: int) -> None:
    box = page.get("/MediaBox") or page.get("/CropBox")  # type: ignore[attr-defined]
    unit = page.get("/UserUnit", 1)  # type: ignore[attr-defined]
    if box is None:
        return  # inherited from the tree: poppler's default (Letter) applies at most
    x0, y0, x1, y1 = (float(v) for v in box.get_object())
    scale = float(unit) * dpi / 72
    pixels = abs(x1 - x0) * scale * abs(y1 - y0) * scale
    if pixels > MAX_PAGE_PIXELS:
        raise UploadRefused("too_many_pixels", "PDF page too large")


def _check_stream(stream: object) -> None:
    filters = _filters(stream)
    if any(f not in PDF_FILTERS for f in filters):
        raise UploadRefused("unsupported_pdf", "PDF with a compression the page does not read")
    if sum(f in _EXPANDING for f in filters) > 1:
        # nested compression: the inner layer is only visible after the outer is inflated
        raise UploadRefused("unsupported_pdf", "PDF with nested compression")
    get = stream.get  # type: ignore[attr-defined]
    if get("/Subtype") == "/Image":
        width, height = get("/Width", 0), get("/Height", 0)
        bits = get("/BitsPerComponent", 8)
        if not all(isinstance(v, int) and v >= 0 for v in (width, height, bits)):
            raise UploadRefused("unreadable_pdf", "not a readable PDF")
        check_image_size(width, height, 4, bits)
