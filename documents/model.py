"""The certificate document model: what the center issues, signs and the kiosk prints.

The center builds a :class:`CertificateDocument` from its records, signs it
(:mod:`documents.signing`) and sends its JSON form to the kiosk; the kiosk renders exactly
that content and nothing else. The JSON form is canonical (sorted keys, no spaces, UTF-8) so
the same document always gives the same bytes and the same signature.

Field names follow the 住民票 items of the city pages; which optional groups appear on a
住民票の写し is decided by :attr:`CertificateDocument.options`, and a group that was not
chosen is left out of the content altogether (not merely hidden when printing).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any


class CertificateType(StrEnum):
    JUMINHYO = "juminhyo"  # 住民票の写し (self or same-household members)
    INKAN = "inkan"  # 印鑑登録証明書 (self only, registered seal)
    SHOTOKU = "shotoku"  # 所得証明書 (self only, per fiscal year)
    SHOTOKU_KAZEI = "shotoku_kazei"  # 所得課税証明書 (self only, per fiscal year)

    @property
    def title_ja(self) -> str:
        return _TITLES_JA[self]


_TITLES_JA = {
    CertificateType.JUMINHYO: "住民票の写し",
    CertificateType.INKAN: "印鑑登録証明書",
    CertificateType.SHOTOKU: "所得証明書",
    CertificateType.SHOTOKU_KAZEI: "所得課税証明書",
}


class JuminhyoOption(StrEnum):
    """Optional groups of a 住民票の写し, chosen on screen."""

    HOUSEHOLD = "household"  # 世帯主・続柄 (all residents)
    MY_NUMBER = "my_number"  # 個人番号 (all residents; warn when chosen)
    HONSEKI = "honseki"  # 本籍・筆頭者 (Japanese residents only)
    NATIONALITY = "nationality"  # 国籍・地域 (foreign residents only)
    RESIDENCE_CARD = "residence_card"  # 在留カード等の番号 (foreign residents only)
    RESIDENCE_STATUS = "residence_status"  # 在留資格等: 法第30条の45区分, 資格, 期間, 満了日

    @property
    def foreign_only(self) -> bool:
        return self in FOREIGN_ONLY_OPTIONS

    @property
    def japanese_only(self) -> bool:
        return self is JuminhyoOption.HONSEKI


FOREIGN_ONLY_OPTIONS = frozenset(
    {JuminhyoOption.NATIONALITY, JuminhyoOption.RESIDENCE_CARD, JuminhyoOption.RESIDENCE_STATUS}
)

# 住民票 character limits of the kiosk system (Shibukawa page; SPEC §3). A resident with a
# field over its limit is refused at the kiosk and sent to the counter.
CHARACTER_LIMITS: dict[str, int] = {
    "address": 94,  # 住所
    "household_head": 82,  # 世帯主名
    "name": 58,  # 漢字氏名
    "alias": 20,  # 通称名
    "relationship": 13,  # 続柄
    "honseki": 66,  # 本籍
    "hittosha": 24,  # 筆頭者
    "nationality": 14,  # 国籍・地域
    "article_30_45": 13,  # 法第30条の45に規定する区分
    "residence_status": 14,  # 在留資格
    "period_of_stay": 4,  # 在留期間等
    "previous_address": 66,  # 前住所
}


@dataclass(frozen=True)
class Issuer:
    """The municipality that issues and signs the certificate."""

    code: str  # 全国地方公共団体コード (6 digits), also the signing key's id
    name: str  # e.g. 益田市
    mayor_title: str  # e.g. 益田市長
    mayor_name: str


@dataclass(frozen=True)
class Person:
    """One person on a 住民票の写し. Optional groups are None when not chosen or not held."""

    name: str  # 漢字氏名
    kana: str  # フリガナ
    birth_date: str  # ISO date
    sex: str  # 男 / 女
    resident_since: str  # ISO date: 住民となった年月日
    address: str  # 住所
    moved_in: str | None = None  # ISO date: 住所を定めた年月日
    previous_address: str | None = None  # 前住所, where recorded
    alias: str | None = None  # 通称名
    # 世帯主・続柄 (option HOUSEHOLD)
    household_head: str | None = None
    relationship: str | None = None
    # 個人番号 (option MY_NUMBER). The printed front carries the number; the signed 2D code
    # carries only its salted digest (documents.my_number_digest), never the number itself.
    my_number: str | None = None
    my_number_digest: str | None = None
    # 本籍・筆頭者 (option HONSEKI, Japanese residents)
    honseki: str | None = None
    hittosha: str | None = None
    # foreign residents
    nationality: str | None = None  # option NATIONALITY
    residence_card_number: str | None = None  # option RESIDENCE_CARD
    article_30_45: str | None = None  # option RESIDENCE_STATUS ...
    residence_status: str | None = None
    period_of_stay: str | None = None
    stay_expiry: str | None = None  # ISO date


@dataclass(frozen=True)
class SealRegistration:
    """印鑑登録証明書 content. The seal image travels beside the document; the signed content
    holds its SHA-256 so a swapped image is detected."""

    registration_number: str
    name: str
    birth_date: str  # ISO date
    address: str
    seal_image_sha256: str  # hex


@dataclass(frozen=True)
class IncomeRecord:
    """所得証明書 / 所得課税証明書 content for one fiscal year (amounts in yen)."""

    fiscal_year: int  # 年度 (tax year); income is of the previous calendar year
    name: str
    address: str
    birth_date: str
    total_income: int  # 合計所得金額
    salary_income: int = 0  # 給与収入
    other_income: int = 0
    deductions: int = 0  # 所得控除額
    dependents: int = 0  # 扶養人数
    municipal_tax: int | None = None  # 市民税 (所得課税証明書 only)
    prefectural_tax: int | None = None  # 県民税 (所得課税証明書 only)


@dataclass(frozen=True)
class CertificateDocument:
    type: CertificateType
    certificate_number: str  # unique per issued certificate; printed on every page
    issuer: Issuer
    issue_date: str  # ISO date
    data_as_of: str  # ISO date of the last record update that reached the kiosk system
    options: tuple[JuminhyoOption, ...] = ()  # 住民票 only, sorted
    members: tuple[Person, ...] = ()  # 住民票 only
    seal: SealRegistration | None = None  # 印鑑登録証明書 only
    income: IncomeRecord | None = None  # 所得 / 所得課税 only
    extra: dict[str, str] = field(default_factory=dict)  # reserved; keep empty
    my_number_salt: str | None = None  # per certificate; set only beside 個人番号 digests

    def to_dict(self) -> dict[str, Any]:
        return _strip_none(asdict(self))

    def canonical_json(self) -> bytes:
        """The exact bytes that are signed: sorted keys, no whitespace, UTF-8."""
        return json.dumps(
            self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CertificateDocument:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown document fields: {sorted(unknown)}")
        return cls(
            type=CertificateType(data["type"]),
            certificate_number=str(data["certificate_number"]),
            issuer=Issuer(**data["issuer"]),
            issue_date=_iso(data["issue_date"]),
            data_as_of=_iso(data["data_as_of"]),
            options=tuple(sorted(JuminhyoOption(o) for o in data.get("options", ()))),
            members=tuple(Person(**m) for m in data.get("members", ())),
            seal=SealRegistration(**data["seal"]) if data.get("seal") else None,
            income=IncomeRecord(**data["income"]) if data.get("income") else None,
            extra=dict(data.get("extra", {})),
            my_number_salt=data.get("my_number_salt"),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> CertificateDocument:
        return cls.from_dict(json.loads(raw))


def _iso(value: str) -> str:
    date.fromisoformat(value)  # raises ValueError on a malformed date
    return value


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_strip_none(v) for v in value]
    return value
