"""Demo data: two fictional municipalities and ~20 residents that exercise every rule.

Card certificates come from the state directory's stand-in JPKI CA (:class:`DemoJpki`),
one per resident label, so the bench and tests can sign challenges as those residents.
Dates are relative to the center's "today" so the 14-year-old stays 14.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy.orm import Session as DbSession

from center import admin_ops, models
from center.pki import CenterPki, DemoJpki, load_pair

CITY = "999001"  # 桜ヶ丘市 (fictional; kiosk 200 yen, counter 300 like Masuda)
TOWN = "999002"  # 若葉町 (fictional; 300 yen like Shibukawa)
DEMO_KIOSKS = ("demo-kiosk", "demo-kiosk-2")

CITY_ADDR = "架空県桜ヶ丘市中央一丁目2番3号"
# 95 characters: one over the 住所 limit of 94.
LONG_ADDRESS = (
    "架空県桜ヶ丘市東山町大字西ノ谷字北向" + "一二三四五六七八九十" * 7 + "番地の一二三四"
)
assert len(LONG_ADDRESS) == 95


@dataclass(frozen=True)
class DemoResident:
    label: str
    name: str
    kana: str
    age_days: int  # age in days today (14 years is 14*365+...); see _birth
    sex: str
    household: str | None = None
    relationship: str | None = None
    muni: str = CITY
    address: str = CITY_ADDR
    flags: dict[str, Any] = field(default_factory=dict)
    foreign: bool = False
    seal: bool = False
    income_years: int = 0
    card: str = "ok"  # ok | new | expired | revoked_crl | revoked_center | none
    alias: str | None = None


def _y(years: int, extra_days: int = 40) -> int:
    return years * 366 + extra_days


RESIDENTS: tuple[DemoResident, ...] = (
    # a household of four: head with a registered seal and two fiscal years of income
    DemoResident(
        "taro",
        "桜井 太郎",
        "サクライ タロウ",
        _y(48),
        "男",
        "H1",
        "世帯主",
        seal=True,
        income_years=2,
    ),
    DemoResident(
        "hanako", "桜井 花子", "サクライ ハナコ", _y(45), "女", "H1", "妻", income_years=1
    ),
    DemoResident("ichiro", "桜井 一郎", "サクライ イチロウ", _y(17), "男", "H1", "子"),
    DemoResident("jiro", "桜井 次郎", "サクライ ジロウ", _y(14), "男", "H1", "子"),  # under 15
    DemoResident("turning15", "青木 陽菜", "アオキ ヒナ", 0, "女", "H2", "世帯主"),  # 15 today
    DemoResident(
        "foreign",
        "スミス ジョン",
        "スミス ジョン",
        _y(34),
        "男",
        "H3",
        "世帯主",
        foreign=True,
        income_years=1,
        alias="須美寿 譲",
    ),
    DemoResident("sato", "佐藤 健", "サトウ ケン", _y(62), "男", "H4", "世帯主"),
    DemoResident(
        "support",
        "鈴木 恵",
        "スズキ メグミ",
        _y(39),
        "女",
        "H5",
        "世帯主",
        flags={"support_measures": True},
    ),
    DemoResident(
        "movedout",
        "高橋 誠",
        "タカハシ マコト",
        _y(51),
        "男",
        "H6",
        "世帯主",
        flags={"moved_out": True},
    ),
    DemoResident(
        "moveoutfiled",
        "田中 望",
        "タナカ ノゾミ",
        _y(29),
        "女",
        "H7",
        "世帯主",
        flags={"move_out_filed": True},
    ),
    DemoResident(
        "deceased",
        "伊藤 清",
        "イトウ キヨシ",
        _y(88),
        "男",
        "H8",
        "世帯主",
        flags={"deceased": True},
    ),
    DemoResident(
        "longaddr", "渡辺 翔", "ワタナベ ショウ", _y(40), "男", "H9", "世帯主", address=LONG_ADDRESS
    ),
    DemoResident(
        "movedin",
        "山本 彩",
        "ヤマモト アヤ",
        _y(31),
        "女",
        "H10",
        "世帯主",
        flags={"moved_in_today": True},
    ),
    DemoResident(
        "gaiji",
        "中村 𠮷雄",
        "ナカムラ ヨシオ",
        _y(57),
        "男",
        "H11",
        "世帯主",
        flags={"gaiji_pending": True},
    ),
    DemoResident(
        "unregistered",
        "小林 実",
        "コバヤシ ミノル",
        _y(70),
        "男",
        "H12",
        "世帯主",
        flags={"registered": False},
    ),
    DemoResident("newcard", "加藤 葵", "カトウ アオイ", _y(26), "女", "H13", "世帯主", card="new"),
    DemoResident(
        "expiredcard", "吉田 修", "ヨシダ オサム", _y(66), "男", "H14", "世帯主", card="expired"
    ),
    DemoResident(
        "revoked", "山田 優", "ヤマダ ユウ", _y(36), "男", "H15", "世帯主", card="revoked_crl"
    ),
    DemoResident(
        "lostcard", "佐々木 舞", "ササキ マイ", _y(23), "女", "H16", "世帯主", card="revoked_center"
    ),
    DemoResident(
        "nocard", "山口 聡", "ヤマグチ サトシ", _y(44), "男", "H17", "世帯主", card="none"
    ),
    # the second municipality
    DemoResident(
        "wakaba",
        "松本 直子",
        "マツモト ナオコ",
        _y(52),
        "女",
        "W1",
        "世帯主",
        muni=TOWN,
        address="架空県若葉町本町5番地",
        seal=True,
        income_years=2,
    ),
)

MUNICIPALITIES = (
    dict(
        code=CITY,
        name="桜ヶ丘市",
        mayor_title="桜ヶ丘市長",
        mayor_name="春野 一",
        kiosk_fee=200,
        counter_fee=300,
    ),
    dict(
        code=TOWN,
        name="若葉町",
        mayor_title="若葉町長",
        mayor_name="秋山 実",
        kiosk_fee=300,
        counter_fee=300,
    ),
)


def demo_resident_code(index: int) -> str:
    """The 11-digit 住民票コード of the demo resident at ``index`` in :data:`RESIDENTS`."""
    return f"{90000000000 + index:011d}"


def _birth(today: date, r: DemoResident) -> date:
    if r.label == "turning15":
        # the youngest resident who is 15 today: born 15 years ago to the day, or on 28
        # February when today is 29 February and that year had none
        try:
            return today.replace(year=today.year - 15)
        except ValueError:
            return today.replace(year=today.year - 15, day=28)
    return today - timedelta(days=r.age_days)


def ensure_cards(state: Path) -> None:
    """Create the stand-in JPKI CA and one card per labelled resident, once."""
    jpki = DemoJpki(state)
    jpki.ensure_ca()
    revoked: list[int] = []
    now = datetime.now(UTC)
    for r in RESIDENTS:
        if r.card == "none":
            continue
        path = jpki.card(r.label).with_suffix(".pem")
        if not path.exists():
            if r.card == "expired":
                jpki.issue_card(
                    r.label,
                    not_before=now - timedelta(days=5 * 365),
                    not_after=now - timedelta(days=2),
                )
            else:
                jpki.issue_card(r.label)
        if r.card == "revoked_crl":
            revoked.append(x509.load_pem_x509_certificate(path.read_bytes()).serial_number)
    jpki.write_crl(revoked)


def ensure_pki(state: Path) -> None:
    pki = CenterPki(state)
    pki.ensure()
    for code in DEMO_KIOSKS:
        if not pki.kiosk(code).with_suffix(".pem").exists():
            pki.issue_kiosk(code)
    ensure_cards(state)


def seed(db: DbSession, state: Path, today: date) -> None:
    """Fill an empty database with the demo (state's PKI must exist: :func:`ensure_pki`)."""
    for m in MUNICIPALITIES:
        admin_ops.create_municipality(db, **m)  # type: ignore[arg-type]
    pki = CenterPki(state)
    for code in DEMO_KIOSKS:
        _, cert = load_pair(pki.kiosk(code))
        admin_ops.register_kiosk(db, code, cert, location="demo")
    households: dict[tuple[str, str], models.Household] = {}
    heads = {(r.muni, r.household): r.name for r in RESIDENTS if r.relationship == "世帯主"}
    jpki = DemoJpki(state)
    for i, r in enumerate(RESIDENTS):
        hh = None
        if r.household:
            key = (r.muni, r.household)
            if key not in households:
                households[key] = models.Household(
                    municipality_code=r.muni, code=r.household, head_name=heads[key]
                )
                db.add(households[key])
                db.flush()
            hh = households[key]
        birth = _birth(today, r)
        flags = dict(r.flags)
        moved_in = today if flags.pop("moved_in_today", False) else birth + timedelta(days=400)
        resident = models.Resident(
            uid=admin_ops.new_uid(),
            municipality_code=r.muni,
            resident_code=demo_resident_code(i),
            household_id=hh.id if hh else None,
            name=r.name,
            kana=r.kana,
            alias=r.alias,
            birth_date=birth,
            sex=r.sex,
            resident_since=moved_in,
            moved_in=moved_in,
            move_in_filed=moved_in,  # the demo files each 転入届 on its 異動日
            address=r.address,
            previous_address="架空県旧市町1番1号" if r.label in ("foreign", "hanako") else None,
            relationship=r.relationship,
            my_number=f"{100000000000 + i * 7919:012d}",
            honseki=None if r.foreign else r.address,
            hittosha=None if r.foreign else (heads.get((r.muni, r.household or "")) or r.name),
            data_as_of=today - timedelta(days=3),
            **flags,
        )
        if r.foreign:
            resident.nationality = "アメリカ合衆国"
            resident.residence_card_number = "AB12345678CD"
            resident.article_30_45 = "中長期在留者"
            resident.residence_status = "技術・人文知識・国際業務"
            resident.period_of_stay = "3年"
            resident.stay_expiry = today + timedelta(days=700)
        db.add(resident)
        db.flush()
        if r.seal:
            admin_ops.register_seal(
                db, resident, f"S{i:06d}", r.name.replace(" ", "")[:4], today - timedelta(days=900)
            )
        for k in range(r.income_years):
            fy = today.year - k if today.month >= 6 else today.year - 1 - k
            salary = 4_800_000 - 300_000 * k - 50_000 * i
            total = salary - 1_400_000
            db.add(
                models.IncomeRecord(
                    resident_id=resident.id,
                    fiscal_year=fy,
                    total_income=total,
                    salary_income=salary,
                    other_income=0,
                    deductions=1_100_000,
                    dependents=2 if r.label == "taro" else 0,
                    municipal_tax=(total - 1_100_000) * 6 // 100,
                    prefectural_tax=(total - 1_100_000) * 4 // 100,
                )
            )
        if r.card != "none":
            cert = x509.load_pem_x509_certificate(
                jpki.card(r.label).with_suffix(".pem").read_bytes()
            )
            issued = today if r.card == "new" else today - timedelta(days=30)
            admin_ops.register_card(db, resident, cert, issued)
            if r.card == "revoked_center":
                admin_ops.revoke_card(db, cert, "reported lost", datetime.now(UTC))


def service_morning(after: date | None = None) -> datetime:
    """10:00 Japan time on the next day the demo municipalities serve (not 29 Dec - 3 Jan):
    tests and the benchmark run the center's clock from there, whatever the real hour."""
    from center.clock import JST

    day = (after or datetime.now(JST).date()) + timedelta(days=1)
    while (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=JST)
