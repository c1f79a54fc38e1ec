"""Every decoder of bytes from outside, as a fuzz target: what it is fed, its documented error,
the valid samples mutations start from, and the oracle that says a decoded result is wrong.

A target's ``run`` takes the whole input (a corpus file replays it exactly): where a decoder
also takes chunking or time, those follow from the input's bytes.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Sequence
from pathlib import Path

from bench.fuzz.engine import Inconsistent, Target

ROOT = Path(__file__).resolve().parents[2]


def _chunks(data: bytes) -> list[bytes]:
    """The input cut as a serial read might deliver it; sizes follow from the input."""
    step = 1 + len(data) % 13
    return [data[i : i + step] for i in range(0, len(data), step)] or [b""]


# -- the coprocessor link (protocol/link_frame.py) --------------------------------------------
@functools.cache
def _link_vectors() -> dict[str, object]:
    vectors: dict[str, object] = json.loads((ROOT / "protocol/vectors.json").read_text())
    return vectors


def _link_session() -> int:
    frames = _link_vectors()["frames"]
    assert isinstance(frames, list)
    return max(int(f["frame"]["session"]) for f in frames)


def _link_frame_samples() -> list[bytes]:
    from protocol import link_frame as lf

    frames = _link_vectors()["frames"]
    assert isinstance(frames, list)
    out = []
    for f in frames:
        encoded = bytes.fromhex(f["wire"]).strip(b"\x00")
        out.append(lf.cobs_decode(encoded))
    return out


@functools.cache
def _link_sessions() -> bool:
    """Whether this link_frame seeds session frames' CRCs (protocol version 2 and later)."""
    import inspect

    from protocol import link_frame as lf

    return "session" in inspect.signature(lf.unpack_frame).parameters


def _link_crc_fixed(data: bytes) -> bytes:
    """The frame with a CRC that matches (session-seeded when its first byte says so), so
    mutations reach the header and length checks behind the CRC."""
    from protocol import link_frame as lf

    if len(data) < 5:
        return data
    covered = data[:-4]
    if _link_sessions() and data[0] >> 6:
        crc = lf.crc32(covered, lf.session_seed(_link_session()))
    else:
        crc = lf.crc32(covered)
    return covered + struct.pack("<I", crc)


def _link_frame(data: bytes) -> None:
    """Odd-length inputs get a matching CRC first; even-length ones are decoded as they are."""
    from protocol import link_frame as lf

    if len(data) % 2:
        data = _link_crc_fixed(data)
    if _link_sessions():
        frame = lf.unpack_frame(data, session=_link_session())
    else:
        frame = lf.unpack_frame(data)
    try:
        again = lf.pack_frame(frame)
    except ValueError as exc:
        raise Inconsistent(f"unpack_frame accepted what pack_frame refuses: {exc}") from None
    if again != data:
        raise Inconsistent("unpack_frame result packs to different bytes")


def _link_stream_samples() -> list[bytes]:
    vectors = _link_vectors()
    streams, frames = vectors["streams"], vectors["frames"]
    assert isinstance(streams, list) and isinstance(frames, list)
    out = [bytes.fromhex(s["input"]) for s in streams]
    out.append(b"".join(bytes.fromhex(f["wire"]) for f in frames))
    return out


def _link_stream(data: bytes) -> None:
    from protocol import link_frame as lf

    reader = lf.FrameReader(_link_session()) if _link_sessions() else lf.FrameReader()
    for chunk in _chunks(data):
        for item in reader.feed(chunk):
            if not isinstance(item, lf.Frame | lf.DecodeError):
                raise Inconsistent(f"FrameReader yielded {type(item).__name__}")


# -- ccTalk (drivers/coin/cctalk.py) ----------------------------------------------------------
def _cctalk_samples() -> list[bytes]:
    from drivers.coin import cctalk

    frames = [
        cctalk.Frame(2, 1, 254, b""),  # simple poll
        cctalk.Frame(1, 2, 0, bytes([7, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0])),  # buffered credit
        cctalk.Frame(3, 1, 167, bytes([5, 0x10, 0x20, 0x30])),  # dispense
        cctalk.Frame(1, 3, 0, b"Money Controls"),
        cctalk.Frame(1, 2, 0, bytes(252)),
    ]
    return [cctalk.encode(f, cs) for f in frames for cs in cctalk.Checksum]


def _cctalk_fixed(data: bytes, checksum: object) -> bytes:
    """The frame with its length byte and checksum made to match, so mutations reach the
    checks behind them."""
    from drivers.coin import cctalk

    if len(data) < 5:
        return data
    raw = bytearray(data)
    raw[1] = (len(raw) - 5) & 0xFF
    if checksum is cctalk.Checksum.SUM8:
        raw[-1] = (-sum(raw[:-1])) & 0xFF
    else:
        crc = cctalk.crc16_ccitt(bytes([raw[0], raw[1], raw[3]]) + bytes(raw[4:-1]))
        raw[2], raw[-1] = crc & 0xFF, crc >> 8
    return bytes(raw)


def _cctalk_frame(data: bytes) -> None:
    """Odd-length inputs get a matching length byte and checksum first."""
    from drivers.coin import cctalk
    from drivers.coin.errors import FrameError

    for checksum in cctalk.Checksum:
        raw = _cctalk_fixed(data, checksum) if len(data) % 2 else data
        try:
            frame = cctalk.decode(raw, checksum)
        except FrameError:
            continue
        try:
            again = cctalk.encode(frame, checksum)
        except ValueError as exc:
            raise Inconsistent(f"decode accepted what encode refuses: {exc}") from None
        if again != raw:
            raise Inconsistent(f"decoded {checksum.name} frame encodes to different bytes")


def _cctalk_link(data: bytes) -> None:
    """The host end: a poll's echo and reply mixed with the fuzzed line, 1 ms a read."""
    from drivers.coin import cctalk

    for checksum in cctalk.Checksum:
        link = cctalk.CcTalkLink(checksum)
        link.request(2, 254)
        for i, chunk in enumerate(_chunks(data)):
            frame = link.feed(chunk, i * 0.001)
            if frame is not None and cctalk.encode(frame, checksum) not in data:
                raise Inconsistent("CcTalkLink returned a frame that was not on the line")


# -- ID-003 (drivers/coin/id003.py) -----------------------------------------------------------
def _id003_samples() -> list[bytes]:
    from drivers.coin import id003

    frames = [(0x11, b""), (0x1B, b""), (0x13, b"\x63"), (0x50, b""), (0xC0, b"\x00\x00"),
              (0x88, bytes(range(16))), (0x8A, bytes(40))]  # fmt: skip
    encoded = [id003.encode(cmd, body) for cmd, body in frames]
    return [*encoded, b"".join(encoded), b"\xfc" * 64 + encoded[0]]


def _id003_stream(data: bytes) -> None:
    from drivers.coin import id003
    from drivers.coin.errors import FrameError

    parser = id003.Id003Parser()
    for chunk in _chunks(data):
        for frame in parser.feed(chunk):
            if id003.encode(frame.cmd, frame.data) not in data:
                raise Inconsistent("Id003Parser returned a frame that was not on the line")
    raw = data
    if len(data) % 2 and len(data) >= 5:  # a matching length and CRC, to get past them
        body = bytes([id003.SYNC, len(data) & 0xFF]) + data[2:-2]
        crc = id003.crc_kermit(body)
        raw = body + bytes([crc & 0xFF, crc >> 8])
    try:
        frame = id003.decode(raw)
    except FrameError:
        return
    if id003.encode(frame.cmd, frame.data) != raw:
        raise Inconsistent("decoded ID-003 frame encodes to different bytes")


# -- the card (drivers/nfc/) -----------------------------------------------------------------
@functools.cache
def _card_material() -> tuple[bytes, bytes]:
    """A certificate shaped like a JPKI user-authentication one (RSA-2048) and its key (DER)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "fuzz user")])  # fmt: skip
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(0x1234_5678_9ABC)
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=365 * 5))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    return cert.public_bytes(serialization.Encoding.DER), key_der


def _nfc_der_samples() -> list[bytes]:
    cert, _ = _card_material()
    return [cert[:8], b"\x30\x82\x05\x00\x90\x00", b"\x30\x10\x90\x00", b"\x63\xc3", b"\x90\x00"]


def _nfc_der(data: bytes) -> None:
    from drivers.nfc import apdu

    try:
        apdu.Response.parse(data)
    except ValueError:
        pass
    total = apdu.der_total_length(data)
    if total is not None and not 2 <= total <= apdu.MAX_CERTIFICATE_LEN:
        raise Inconsistent(f"DER length {total} out of bounds")


class _EngineChannel:
    def __init__(self, engine: object) -> None:
        self.engine = engine

    def transmit(self, command: bytes | bytearray) -> bytes:
        response: bytes = self.engine.process(bytes(command))  # type: ignore[attr-defined]
        return response


def _nfc_certificate_samples() -> list[bytes]:
    cert, _ = _card_material()
    return [cert, cert + b"\xff" * 32, b"\xff" * 16, b"\x30\x82\x7f\xfc" + cert[4:]]


def _nfc_certificate(data: bytes) -> None:
    """The EF holds the input; the kiosk reads it as the certificate, three ways."""
    from drivers.nfc import jpki
    from sim.card.engine import CardProfile, JpkiCardEngine

    mode = len(data) % 3  # extended on a card that takes it / refuses it, or short chunks
    profile = CardProfile(auth_cert=data, extended_length=mode == 0)
    channel = _EngineChannel(JpkiCardEngine(profile))
    cert = jpki.run_flow(jpki.read_auth_certificate(extended=mode != 2), channel)
    if not data.startswith(cert):
        raise Inconsistent("the certificate read is not what the EF holds")


def _pack_responses(responses: Sequence[bytes]) -> bytes:
    return b"".join(struct.pack(">H", len(r)) + r for r in responses)


def _unpack_responses(data: bytes) -> list[bytes]:
    out, i = [], 0
    while i + 2 <= len(data):
        n = struct.unpack_from(">H", data, i)[0]
        out.append(data[i + 2 : i + 2 + n])
        i += 2 + n
    return out


CHALLENGE = bytes(range(32))


def _nfc_session_samples() -> list[bytes]:
    from Crypto.PublicKey import RSA

    from drivers.nfc import jpki
    from drivers.nfc.pin import Pin
    from sim.card.engine import CardProfile, JpkiCardEngine

    cert, key_der = _card_material()
    samples = []
    for pin in ("1234", "9999"):
        engine = JpkiCardEngine(CardProfile(auth_cert=cert, auth_key=RSA.import_key(key_der)))
        recorder = _Recorder(engine)
        try:
            jpki.run_flow(jpki.authenticate(Pin(pin), CHALLENGE), recorder)
        except Exception:  # a wrong PIN: the transcript up to the refusal is the sample
            pass
        samples.append(_pack_responses(recorder.responses))
    return samples


class _Recorder(_EngineChannel):
    def __init__(self, engine: object) -> None:
        super().__init__(engine)
        self.responses: list[bytes] = []

    def transmit(self, command: bytes | bytearray) -> bytes:
        self.responses.append(super().transmit(command))
        return self.responses[-1]


def _nfc_session(data: bytes) -> None:
    """The whole kiosk sequence against a card that answers the input, response by response."""
    from drivers.nfc import jpki
    from drivers.nfc.errors import CardRemoved
    from drivers.nfc.pin import Pin

    responses = iter(_unpack_responses(data))

    class Replay:
        def transmit(self, command: bytes | bytearray) -> bytes:
            try:
                return next(responses)
            except StopIteration:
                raise CardRemoved("no more answers") from None

    result = jpki.run_flow(jpki.authenticate(Pin("1234"), CHALLENGE), Replay())
    if len(result.signature) != 256:
        raise Inconsistent(f"a signature of {len(result.signature)} bytes was accepted")


# -- IPP (drivers/printer/ipp_core.py, ipp_ops.py) --------------------------------------------
def _ipp_samples() -> list[bytes]:
    from drivers.printer import ipp_ops
    from drivers.printer.ipp_core import Attr, Tag, encode_attr

    def response(*groups: tuple[int, list[Attr]]) -> bytes:
        out = bytearray(struct.pack(">BBHi", 2, 0, 0, 7))
        for tag, attrs in groups:
            out.append(tag)
            for a in attrs:
                out += encode_attr(a)
        return bytes(out) + bytes([Tag.END])

    op = (Tag.OPERATION, [Attr.of("attributes-charset", Tag.CHARSET, "utf-8"),
                          Attr.of("status-message", Tag.TEXT, "successful-ok")])  # fmt: skip
    job = (Tag.JOB, [Attr.of("job-id", Tag.INTEGER, 5), Attr.of("job-state", Tag.ENUM, 5),
                     Attr.of("job-state-reasons", Tag.KEYWORD, "job-printing", "none"),
                     Attr.of("job-impressions-completed", Tag.INTEGER, 1)])  # fmt: skip
    media_col = b"".join(encode_attr(a) for a in (
        Attr.of("media-col-ready", Tag.BEG_COLLECTION, b""),
        Attr.of("", Tag.MEMBER_NAME, "media-size"),
        Attr.of("", Tag.BEG_COLLECTION, b""),
        Attr.of("", Tag.MEMBER_NAME, "x-dimension"), Attr.of("", Tag.INTEGER, 21000),
        Attr.of("", Tag.END_COLLECTION, b""),
        Attr.of("", Tag.END_COLLECTION, b""),
    ))  # fmt: skip
    printer = response(op, (Tag.PRINTER, [
        Attr.of("printer-state", Tag.ENUM, 3),
        Attr.of("printer-state-reasons", Tag.KEYWORD, "media-low-warning", "none"),
        Attr.of("printer-is-accepting-jobs", Tag.BOOLEAN, True),
        Attr.of("printer-resolution-default", Tag.RESOLUTION, struct.pack(">iib", 600, 600, 3)),
        Attr.of("printer-name", Tag.NAME_WITH_LANG, b"\x00\x02ja\x00\x02A4"),
    ]))  # fmt: skip
    printer = printer[:-1] + media_col + printer[-1:]
    level = Attr.of("", Tag.MEMBER_NAME, "m"), Attr.of("", Tag.BEG_COLLECTION, b"")
    nested = (
        encode_attr(Attr.of("media-col", Tag.BEG_COLLECTION, b""))
        + b"".join(encode_attr(a) for a in level) * 8
        + encode_attr(Attr.of("", Tag.END_COLLECTION, b"")) * 9
    )
    deep = response(op)[:-1] + bytes([Tag.PRINTER]) + nested + bytes([Tag.END])
    uri = "ipp://printer.local:631/ipp/print"
    return [response(op, job), printer, deep, response(op, job, job),
            ipp_ops.get_printer_attributes(uri, 1), ipp_ops.print_job(uri, 2, b"%PDF", "j")]


def _ipp_message(data: bytes) -> None:
    from drivers.printer import ipp_ops
    from drivers.printer.ipp_core import IppError, decode_message

    msg = decode_message(data)
    for read in (ipp_ops.read_job_id, ipp_ops.read_job_status, ipp_ops.read_jobs,
                 ipp_ops.read_printer_status):  # fmt: skip
        try:
            read(msg)
        except IppError:
            pass


# -- the certificate's signed 2D code (documents/) --------------------------------------------
@functools.cache
def _payloads() -> tuple[dict[str, bytes], tuple[bytes, ...]]:
    from documents import signing
    from documents.demo import sample
    from documents.model import CertificateType

    key = signing.generate_key()
    payloads = tuple(signing.sign_document(sample(kind), key) for kind in CertificateType)
    issuer = sample(CertificateType.JUMINHYO).issuer.code
    return {issuer: signing.public_key_raw(key)}, payloads


def _payload_samples() -> list[bytes]:
    return list(_payloads()[1])


def _payload_verify(data: bytes) -> None:
    from documents import signing

    trust, originals = _payloads()
    result = signing.verify_payload(data, trust)
    if result.valid and data not in originals:
        raise Inconsistent("a payload that was never signed verified VALID")


def _segment_samples() -> list[bytes]:
    from documents import segments

    return [_pack_responses(segments.split(p, 300)) for p in _payloads()[1]]


def _payload_segments(data: bytes) -> None:
    from documents import segments

    payload = segments.join(_unpack_responses(data))
    if not payload:
        raise Inconsistent("join returned an empty payload")


def all_targets() -> list[Target]:
    from documents.segments import SegmentError
    from drivers.coin.errors import FrameError
    from drivers.nfc.errors import CardError
    from drivers.printer.ipp_core import IppError
    from protocol.link_frame import DecodeError

    return [
        Target("link_frame", _link_frame, (DecodeError,), _link_frame_samples, max_len=260,
               doc="protocol.link_frame.unpack_frame; repacks to the same bytes"),
        Target("link_stream", _link_stream, (), _link_stream_samples, max_len=1200,
               doc="protocol.link_frame.FrameReader.feed: errors are values, never raised"),
        Target("cctalk_frame", _cctalk_frame, (FrameError,), _cctalk_samples, max_len=300,
               doc="drivers.coin.cctalk.decode (SUM8 and CRC-16); re-encodes the same"),
        Target("cctalk_link", _cctalk_link, (FrameError,), _cctalk_samples, max_len=600,
               inputs=100_000, doc="drivers.coin.cctalk.CcTalkLink.feed after a poll"),
        Target("id003_stream", _id003_stream, (FrameError,), _id003_samples, max_len=600,
               doc="drivers.coin.id003.Id003Parser.feed and decode"),
        Target("nfc_der", _nfc_der, (ValueError,), _nfc_der_samples, max_len=16,
               doc="drivers.nfc.apdu.Response.parse and der_total_length"),
        Target("nfc_certificate", _nfc_certificate, (CardError,), _nfc_certificate_samples,
               max_len=2400,
               doc="drivers.nfc.jpki.read_auth_certificate over the virtual card's engine"),
        Target("nfc_session", _nfc_session, (CardError,), _nfc_session_samples, max_len=2400,
               doc="drivers.nfc.jpki.authenticate against replayed responses"),
        Target("ipp_message", _ipp_message, (IppError,), _ipp_samples, max_len=20_000,
               doc="drivers.printer.ipp_core.decode_message and the ipp_ops readers"),
        Target("payload_verify", _payload_verify, (), _payload_samples, max_len=2400,
               inputs=100_000, doc="documents.signing.verify_payload: never VALID if forged"),
        Target("payload_segments", _payload_segments, (SegmentError,), _segment_samples,
               max_len=3000, doc="documents.segments.join"),
    ]  # fmt: skip


def by_name() -> dict[str, Target]:
    return {t.name: t for t in all_targets()}
