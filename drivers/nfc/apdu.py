"""ISO 7816-4 command and response APDUs for the JPKI application: pure builders and parsers.

Nothing here does I/O. A `Command` that carries PIN digits is marked `sensitive`: its repr
hides the data and the transport wipes the encoded buffer once sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# JPKI application and its elementary files (OpenSC jpki.h).
JPKI_AID = bytes.fromhex("D392F000260100000001")
EF_AUTH_CERT = 0x000A
EF_AUTH_CA = 0x000B
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018
EF_SIGN_CERT = 0x0001
EF_SIGN_CA = 0x0002
EF_SIGN_KEY = 0x001A
EF_SIGN_PIN = 0x001B
EF_TOKEN_INFO = 0x0006
EF_PRESENCE = 0x0008

SHORT_MAX_LE = 256
EXTENDED_MAX_LE = 65536
# The largest certificate EF we read: a JPKI certificate is X.509 with an RSA-2048 key, under
# 2 KB; 8 KiB leaves room for any extension a CA may add. A DER header claiming more is broken
# card data, and unbounded it would ask READ BINARY for offsets past 0x7FFF (short chunks) or
# more than 65,536 bytes (extended), which the command builders refuse with ValueError.
MAX_CERTIFICATE_LEN = 8192

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_VERIFY = 0x20
INS_SIGN = 0x2A

# DigestInfo prefix for SHA-256 (RFC 8017 section 9.2, note 1).
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

SW_OK = 0x9000
SW_FILE_NOT_FOUND = 0x6A82
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_AUTH_BLOCKED = 0x6983
SW_REF_DATA_BLOCKED = 0x6984
SW_WRONG_LENGTH = 0x6700
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_WRONG_P1P2 = 0x6B00
SW_NO_EF_SELECTED = 0x6986
SW_WRONG_DATA = 0x6A80


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes | bytearray = b""
    le: int | None = None  # expected length; 256 (short) or 65536 (extended) mean "all"
    sensitive: bool = field(default=False)
    extended: bool = False

    def __repr__(self) -> str:
        shown = "<hidden>" if self.sensitive else self.data.hex()
        return (
            f"Command({self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X}"
            f" data={shown} le={self.le})"
        )

    @property
    def header(self) -> str:
        """INS/P1/P2 for logs: never the data."""
        return f"{self.ins:02X} {self.p1:02X} {self.p2:02X}"

    def encode(self) -> bytearray:
        """The wire bytes, as a bytearray the caller can wipe."""
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        n = len(self.data)
        ext = self.extended or n > 255 or (self.le is not None and self.le > SHORT_MAX_LE)
        if ext:
            if n:
                out += bytes((0, n >> 8, n & 0xFF))
                out += self.data
            if self.le is not None:
                le = self.le % EXTENDED_MAX_LE
                out += bytes((le >> 8, le & 0xFF)) if n else bytes((0, le >> 8, le & 0xFF))
        else:
            if n:
                out.append(n)
                out += self.data
            if self.le is not None:
                out.append(self.le % SHORT_MAX_LE)
        return out


@dataclass(frozen=True)
class Response:
    data: bytes
    sw1: int
    sw2: int

    @property
    def sw(self) -> int:
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    @classmethod
    def parse(cls, raw: bytes | bytearray) -> Response:
        if len(raw) < 2:
            raise ValueError(f"response of {len(raw)} bytes has no status word")
        return cls(bytes(raw[:-2]), raw[-2], raw[-1])

    def __repr__(self) -> str:
        return f"Response(sw={self.sw:04X} len={len(self.data)})"


def tries_from_sw(sw: int) -> int | None:
    """Tries left from a 63 Cx status word, or None for any other status."""
    if sw & 0xFFF0 == 0x63C0:
        return sw & 0x0F
    return None


def select_ap(aid: bytes = JPKI_AID) -> Command:
    return Command(0x00, INS_SELECT, 0x04, 0x0C, aid)


def select_ef(fid: int) -> Command:
    return Command(0x00, INS_SELECT, 0x02, 0x0C, fid.to_bytes(2, "big"))


def read_binary(offset: int, length: int) -> Command:
    if not 0 <= offset <= 0x7FFF:
        raise ValueError(f"READ BINARY offset {offset} out of range")
    if not 1 <= length <= EXTENDED_MAX_LE:
        raise ValueError(f"READ BINARY length {length} out of range")
    return Command(0x00, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=length)


def query_pin_tries() -> Command:
    """VERIFY with no data: answers 63 Cx without spending a try."""
    return Command(0x00, INS_VERIFY, 0x00, 0x80)


def verify_pin(digits: bytearray) -> Command:
    """VERIFY; `digits` is the Pin's own buffer (referenced, not copied)."""
    return Command(0x00, INS_VERIFY, 0x00, 0x80, digits, sensitive=True)


def sign_digest_info(digest_info: bytes) -> Command:
    """COMPUTE DIGITAL SIGNATURE with the selected key, P1=00: the card pads (PKCS#1 v1.5)."""
    return Command(0x80, INS_SIGN, 0x00, 0x80, digest_info, le=SHORT_MAX_LE)


def sha256_digest_info(digest: bytes) -> bytes:
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    return SHA256_DIGEST_INFO_PREFIX + digest


def der_total_length(header: bytes, limit: int = MAX_CERTIFICATE_LEN) -> int | None:
    """Total length (header + content) of the DER element starting `header`, or None when more
    header bytes are needed. Raises ValueError (and nothing else) when it is not a DER SEQUENCE
    or claims more than `limit` bytes."""
    if len(header) < 2:
        return None
    if header[0] != 0x30:
        raise ValueError(f"not a DER SEQUENCE (tag {header[0]:02X})")
    first = header[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 3:
        raise ValueError(f"unsupported DER length form {first:02X}")
    if len(header) < 2 + count:
        return None
    total = 2 + count + int.from_bytes(header[2 : 2 + count], "big")
    if total > limit:
        raise ValueError(f"DER SEQUENCE of {total} bytes, more than a certificate EF holds")
    return total
