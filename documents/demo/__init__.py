"""Demo data: the fictional municipality 桜川原市 (code 999001), its residents, its
Ed25519 signing key and a trust store holding its public key. For samples, tests and
benchmarks only; every name, address and number here is made up."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from documents.model import (
    CertificateDocument,
    CertificateType,
    IncomeRecord,
    Issuer,
    JuminhyoOption,
    Person,
    SealRegistration,
)
from documents.render.seals import personal_seal

HERE = Path(__file__).parent
TRUST_FILE = HERE / "trust.json"
KEY_FILE = HERE / "issuer_key.json"

ISSUER = Issuer(code="999001", name="桜川原市", mayor_title="桜川原市長", mayor_name="木下 一郎")
ISSUE_DATE = "2026-11-23"
DATA_AS_OF = "2026-11-20"
ADDRESS = "架空県桜川原市東町二丁目3番4号"

HEAD = Person(
    name="桜川 一郎", kana="サクラガワ イチロウ", birth_date="1978-06-15", sex="男",
    resident_since="1978-06-15", address=ADDRESS, moved_in="2015-04-01",
    previous_address="架空県桜川原市西町一丁目1番1号",
    household_head="桜川 一郎", relationship="世帯主", my_number="123456789018",
    honseki="架空県桜川原市本町一丁目10番地", hittosha="桜川 一郎",
)
SPOUSE = Person(
    name="桜川 花子", kana="サクラガワ ハナコ", birth_date="1981-02-03", sex="女",
    resident_since="2008-10-10", address=ADDRESS, moved_in="2015-04-01",
    previous_address="架空県青葉市中央五丁目6番7号",
    household_head="桜川 一郎", relationship="妻", my_number="234567890127",
    honseki="架空県桜川原市本町一丁目10番地", hittosha="桜川 一郎",
)
CHILD = Person(
    name="桜川 美咲", kana="サクラガワ ミサキ", birth_date="2010-09-21", sex="女",
    resident_since="2010-09-21", address=ADDRESS, moved_in="2015-04-01",
    household_head="桜川 一郎", relationship="子", my_number="345678901236",
    honseki="架空県桜川原市本町一丁目10番地", hittosha="桜川 一郎",
)
FOREIGN = Person(
    name="シルバ ベルナルド", kana="シルバ ベルナルド", birth_date="1990-12-01", sex="男",
    resident_since="2021-07-01", address="架空県桜川原市港町8番9号 ハイツ港201号",
    moved_in="2021-07-01", alias="港 ベルナルド",
    household_head="シルバ ベルナルド", relationship="世帯主", my_number="456789012345",
    nationality="ブラジル", residence_card_number="AB12345678CD",
    article_30_45="中長期在留者", residence_status="定住者", period_of_stay="3年",
    stay_expiry="2027-06-30",
)

JAPANESE_OPTIONS = (JuminhyoOption.HOUSEHOLD, JuminhyoOption.MY_NUMBER, JuminhyoOption.HONSEKI)
FOREIGN_OPTIONS = (
    JuminhyoOption.HOUSEHOLD, JuminhyoOption.MY_NUMBER, JuminhyoOption.NATIONALITY,
    JuminhyoOption.RESIDENCE_CARD, JuminhyoOption.RESIDENCE_STATUS,
)

# Which Person fields each option group carries (a group not chosen is left out).
OPTION_FIELDS: dict[JuminhyoOption, tuple[str, ...]] = {
    JuminhyoOption.HOUSEHOLD: ("household_head", "relationship"),
    JuminhyoOption.MY_NUMBER: ("my_number",),
    JuminhyoOption.HONSEKI: ("honseki", "hittosha"),
    JuminhyoOption.NATIONALITY: ("nationality",),
    JuminhyoOption.RESIDENCE_CARD: ("residence_card_number",),
    JuminhyoOption.RESIDENCE_STATUS: (
        "article_30_45", "residence_status", "period_of_stay", "stay_expiry"),
}


def signing_key() -> ECC.EccKey:
    data = json.loads(KEY_FILE.read_text(encoding="utf-8"))
    return eddsa.import_private_key(bytes.fromhex(data["ed25519_seed_hex"]))


def project(person: Person, options: tuple[JuminhyoOption, ...]) -> Person:
    """``person`` with every option group that was not chosen removed, as the center does."""
    from dataclasses import replace

    dropped: dict[str, None] = {}
    for option, names in OPTION_FIELDS.items():
        if option not in options:
            dropped.update(dict.fromkeys(names))
    return replace(person, **dropped)  # type: ignore[arg-type]


def seal_image() -> bytes:
    """The registered seal of 桜川 一郎 (travels beside the 印鑑登録証明書)."""
    return personal_seal("桜川")


def juminhyo(
    members: tuple[Person, ...] = (HEAD, SPOUSE, CHILD),
    options: tuple[JuminhyoOption, ...] = JAPANESE_OPTIONS,
    number: str = "999001-2026-000101",
) -> CertificateDocument:
    opts = tuple(sorted(options))
    return CertificateDocument(
        type=CertificateType.JUMINHYO, certificate_number=number, issuer=ISSUER,
        issue_date=ISSUE_DATE, data_as_of=DATA_AS_OF, options=opts,
        members=tuple(project(m, opts) for m in members),
    )


def inkan(number: str = "999001-2026-000102") -> CertificateDocument:
    seal = SealRegistration(
        registration_number="第12345号", name=HEAD.name, birth_date=HEAD.birth_date,
        address=HEAD.address, seal_image_sha256=hashlib.sha256(seal_image()).hexdigest(),
    )
    return CertificateDocument(
        type=CertificateType.INKAN, certificate_number=number, issuer=ISSUER,
        issue_date=ISSUE_DATE, data_as_of=DATA_AS_OF, seal=seal,
    )


def income(kazei: bool, number: str = "999001-2026-000103") -> CertificateDocument:
    record = IncomeRecord(
        fiscal_year=2026, name=HEAD.name, address=HEAD.address, birth_date=HEAD.birth_date,
        total_income=4_560_000, salary_income=6_200_000, other_income=120_000,
        deductions=1_830_000, dependents=2,
        municipal_tax=163_500 if kazei else None, prefectural_tax=109_000 if kazei else None,
    )
    kind = CertificateType.SHOTOKU_KAZEI if kazei else CertificateType.SHOTOKU
    return CertificateDocument(
        type=kind, certificate_number=number, issuer=ISSUER, issue_date=ISSUE_DATE,
        data_as_of=DATA_AS_OF, income=record,
    )


def sample(kind: CertificateType) -> CertificateDocument:
    """A sample certificate of each type."""
    if kind is CertificateType.JUMINHYO:
        return juminhyo()
    if kind is CertificateType.INKAN:
        return inkan()
    return income(kind is CertificateType.SHOTOKU_KAZEI)


def big_household(n: int) -> tuple[Person, ...]:
    """``n`` fictional members of one household, for multi-page layouts and benchmarks."""
    from dataclasses import replace

    given = ("一郎", "花子", "美咲", "健太", "陽菜", "翔", "結衣", "大輝", "さくら", "蓮")
    people = [HEAD, SPOUSE, CHILD]
    for i in range(3, n):
        people.append(replace(
            CHILD, name=f"桜川 {given[i % len(given)]}{i}", kana=f"サクラガワ ダミー{i}",
            birth_date=f"{1990 + i % 30}-0{1 + i % 9}-1{i % 10}",
            my_number=f"{567890123450 + i:012d}", previous_address=None,
        ))
    return tuple(people[:n])
