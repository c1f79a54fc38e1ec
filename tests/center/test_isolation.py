"""Many concurrent sessions over several worker processes: no response ever carries another
session's resident (the failure that stopped the national service in 2023-2024)."""

from __future__ import annotations

import concurrent.futures as cf
import json
import random

from sqlalchemy import select

from center import models
from center.simkiosk import Card, KioskSession, client
from documents.model import CertificateDocument

from .conftest import Live

# label -> (own name, names allowed on a 住民票 of this applicant's household)
PEOPLE = {
    "taro": "桜井 太郎",
    "hanako": "桜井 花子",
    "ichiro": "桜井 一郎",
    "turning15": "青木 陽菜",
    "foreign": "スミス ジョン",
    "sato": "佐藤 健",
    "wakaba": "松本 直子",
}
HOUSEHOLD = {"桜井 太郎", "桜井 花子", "桜井 一郎", "桜井 次郎"}
ALL_NAMES = set(PEOPLE.values()) | HOUSEHOLD


def allowed(label: str) -> set[str]:
    name = PEOPLE[label]
    return HOUSEHOLD if name in HOUSEHOLD else {name}


def one_citizen(live: Live, kiosk: str, label: str, rounds: int) -> list[str]:
    """Run whole flows; return every violation seen."""
    problems: list[str] = []
    card = Card.demo(live.state, label)
    ok = allowed(label)
    with client(live.url, live.state, kiosk) as http:
        for _ in range(rounds):
            s = KioskSession(http)
            s.login(card)
            menu = s.menu()
            if menu["applicant"]["name"] != PEOPLE[label]:
                problems.append(f"{label}: menu applicant {menu['applicant']['name']}")
            seen = {m["name"] for m in menu["juminhyo"]["members"]}
            if not seen <= ok:
                problems.append(f"{label}: menu members {seen - ok}")
            ids = [m["member_id"] for m in menu["juminhyo"]["members"]]
            lines = [{"type": "juminhyo", "member_ids": ids, "options": ["household"]}]
            if menu["shotoku"]:
                lines.append({"type": "shotoku", "fiscal_year": menu["shotoku"]["fiscal_years"][0]})
            issued = s.pay(s.order(lines))
            for c in issued["certificates"]:
                doc = CertificateDocument.from_dict(c["document"])
                names = {p.name for p in doc.members} | ({doc.income.name} if doc.income else set())
                if not names <= ok:
                    problems.append(f"{label}: certificate for {names - ok}")
                text = json.dumps(c["document"], ensure_ascii=False)
                for other in ALL_NAMES - ok:
                    if other in text:
                        problems.append(f"{label}: {other} inside a certificate")
                s.print_result(c["certificate_number"], True)
            s.logout()
    return problems


def test_concurrent_sessions_never_mix_residents(live: Live) -> None:
    rng = random.Random(6)
    jobs = [
        (rng.choice(["demo-kiosk", "demo-kiosk-2"]), label) for label in PEOPLE for _ in range(2)
    ]
    with cf.ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(one_citizen, live, kiosk, label, 2) for kiosk, label in jobs]
        problems = [p for f in futures for p in f.result()]
    assert problems == []


def test_center_output_names_nobody(live: Live) -> None:
    """Runs after the flows above: the center's log carries no names or My Numbers."""
    one_citizen(live, "demo-kiosk", "taro", 1)
    text = "".join(live.output)
    assert "listening on" in text
    for name in ALL_NAMES:
        assert name not in text
    with live.engine.connect() as db:
        numbers = db.execute(select(models.Resident.my_number)).scalars().all()
    assert numbers and not [n for n in numbers if n and n in text]
