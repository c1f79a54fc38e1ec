"""The resident register kept current (issue 14 D1, D2, D5): the import upserts by the
city's stable key and reports per row, 異動/seal/income records by admin command and feed,
each with its 届出日 and kept in ``resident_events``; the running center's next
authentication and menu read the new state."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from center import admin_cli, models, softhsm
from center.atrest import attach
from center.db import make_engine
from center.keystore import KeyStore
from center.pki import DemoJpki
from center.simkiosk import Card, KioskSession, Refused, client
from tests.center.conftest import Live

MUNI = "999100"
HEADER = "resident_code,household,relationship,name,kana,birth_date,sex,address,my_number"
ROWS = [
    "12345678901,B1,世帯主,登録 一,トウロク ハジメ,1970-01-02,男,試験市1番地,500000000001",
    "12345678902,B1,妻,登録 二,トウロク フタバ,1972-03-04,女,試験市1番地,500000000002",
    "CITY-KEY-3,B2,世帯主,登録 三,トウロク ミツ,1990-05-06,女,試験市2番地,",
]


def admin(state: Path, *args: str, db: str | None = None) -> tuple[int, list[dict[str, object]]]:
    """Run `kofu center admin` in this process; its JSON output lines."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = admin_cli.main(["--state", str(state), *(["--db", db] if db else []), *args])
    return rc, [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def city(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    """A fresh state (SQLite, migrated, its own token) with one municipality and 3 rows."""
    state = tmp_path / "st"
    rc, _ = admin(state, "create-municipality", "--code", MUNI, "--name", "試験市",
                  "--mayor-title", "試験市長", "--mayor-name", "試 験", "--kiosk-fee", "200",
                  "--counter-fee", "300")  # fmt: skip
    assert rc == 0
    (tmp_path / "r.csv").write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    rc, reports = admin(state, "import-residents", "--municipality", MUNI, str(tmp_path / "r.csv"))
    assert rc == 0 and [r["status"] for r in reports[:3]] == ["added"] * 3
    engine = attach(make_engine(f"sqlite:///{state / 'center.db'}"),
                    KeyStore(softhsm.settings(state)))  # fmt: skip
    yield state, engine
    engine.dispose()


def _resident(engine: Engine, code: str) -> models.Resident:
    with Session(engine) as db:
        r = db.scalar(select(models.Resident).where(models.Resident.resident_code == code))
        assert r is not None
        db.expunge(r)
        return r


def test_reimport_changes_nothing(city: tuple[Path, Engine], tmp_path: Path) -> None:
    state, engine = city
    rc, reports = admin(state, "import-residents", "--municipality", MUNI, str(tmp_path / "r.csv"))
    assert rc == 0
    assert [r["status"] for r in reports[:3]] == ["unchanged"] * 3
    assert reports[3] == {"rows": 3, "added": 0, "changed": 0, "unchanged": 3, "refused": 0}
    with engine.connect() as db:
        assert len(db.execute(select(models.Resident.id)).all()) == 3
        kinds = db.scalars(select(models.ResidentEvent.kind)).all()
    assert sorted(kinds) == ["import_added"] * 3  # the re-import left no history


def test_changed_address_reports_the_field_name(city: tuple[Path, Engine], tmp_path: Path) -> None:
    state, engine = city
    moved = ROWS[0].replace("試験市1番地", "試験市9番地")
    src = tmp_path / "r2.csv"
    src.write_text("\n".join([HEADER, moved, *ROWS[1:]]) + "\n", encoding="utf-8")
    rc, reports = admin(state, "import-residents", "--municipality", MUNI, str(src))
    assert rc == 0
    assert reports[0] == {"row": 1, "status": "changed", "fields": ["address"]}
    assert "試験市9番地" not in json.dumps(reports, ensure_ascii=False)  # names, never values
    assert _resident(engine, "12345678901").address == "試験市9番地"


def test_refused_rows_name_the_field_and_store_nothing(
    city: tuple[Path, Engine], tmp_path: Path
) -> None:
    state, engine = city
    rows = [
        "12345678909,B3,世帯主,登録 九,トウロク キュウ,1980-01-01,男,x,500000000001",  # taken
        "12345678908,B3,世帯主,登録 八,トウロク ハチ,1980-01-01,男,x,12345",
        "12345678907,B3,世帯主,登録 七,トウロク ナナ,1980-01-01,男," + "長" * 201 + ",",
        ",B3,世帯主,登録 六,トウロク ロク,1980-01-01,男,x,",
        "12345678905,B3,世帯主,登録 五,トウロク ゴ,1980-01-01,男,x,",
        "12345678905,B3,世帯主,登録 五,トウロク ゴ,1980-01-01,男,x,",  # twice in the file
    ]
    src = tmp_path / "bad.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    rc, reports = admin(state, "import-residents", "--municipality", MUNI, str(src))
    assert [(r.get("status"), r.get("field"), r.get("reason")) for r in reports[:6]] == [
        ("refused", "my_number", "the My Number of another resident"),
        ("refused", "my_number", "12 digits"),
        ("refused", "address", "at most 200 characters"),
        ("refused", "resident_code", "required"),
        ("added", None, None),
        ("refused", "resident_code", "listed twice in this file"),
    ]
    with engine.connect() as db:
        assert len(db.execute(select(models.Resident.id)).all()) == 4


def test_idou_records_keep_history_with_their_filing_day(city: tuple[Path, Engine]) -> None:
    state, engine = city
    who = ("--municipality", MUNI, "--resident", "12345678901")
    rc, out = admin(state, "idou", "support-start", *who, "--filed", "2026-03-01")
    assert rc == 0 and out == [{"status": "applied", "kind": "support-start",
                                "changed": ["support_measures"]}]  # fmt: skip
    rc, out = admin(state, "idou", "support-start", *who, "--filed", "2026-03-02")
    assert rc == 1 and out[0]["field"] == "support_measures"  # already set: nothing changes
    rc, out = admin(state, "idou", "name-change", *who, "--filed", "2026-03-03",
                    "--name", "新姓 一", "--kana", "シンセイ ハジメ",
                    "--former-surname", "登録")  # fmt: skip
    assert rc == 0 and out[0]["changed"] == ["former_surname", "kana", "name"]
    rc, out = admin(state, "idou", "death", *who, "--filed", "2026-03-01", "--address", "x")
    assert rc == 1 and out[0] == {"status": "refused", "field": "address",
                                  "reason": "not part of a death record"}  # fmt: skip
    rc, out = admin(state, "idou", "move-in", "--municipality", MUNI, "--resident",
                    "77777777777", "--filed", "2026-03-10", "--effective", "2026-03-05",
                    "--name", "転入 者", "--kana", "テンニュウ シャ", "--birth-date",
                    "1985-01-01", "--sex", "女", "--address", "試験市5番地",
                    "--household", "B9")  # fmt: skip
    assert rc == 0
    r = _resident(engine, "12345678901")
    assert (r.support_measures, r.name, r.former_surname) == (True, "新姓 一", "登録")
    new = _resident(engine, "77777777777")
    assert (new.moved_in, new.move_in_filed) == (date(2026, 3, 5), date(2026, 3, 10))
    with engine.connect() as db:
        events = db.execute(
            select(models.ResidentEvent.kind, models.ResidentEvent.filed_on,
                   models.ResidentEvent.changes)
            .where(models.ResidentEvent.kind != "import_added")
            .order_by(models.ResidentEvent.id)
        ).all()  # fmt: skip
        audit_lines = db.scalars(select(models.AuditEntry.detail)).all()
    assert [(k, f) for k, f, _ in events] == [
        ("support-start", date(2026, 3, 1)),
        ("name-change", date(2026, 3, 3)),
        ("move-in", date(2026, 3, 10)),
    ]
    assert events[1][2]["former_surname"] == "登録"  # the register keeps the values
    joined = " ".join(audit_lines)
    assert "support-start:r" in joined and "name-change:r" in joined
    assert "登録" not in joined and "12345678901" not in joined  # ids and codes only


def test_seal_and_income_by_command_and_feed(city: tuple[Path, Engine], tmp_path: Path) -> None:
    state, engine = city
    who = ("--municipality", MUNI, "--resident", "12345678902", "--filed", "2026-04-01")
    image = tmp_path / "seal.png"
    image.write_bytes(png())
    rc, _ = admin(state, "seal", "register", *who, "--number", "S-1", "--image", str(image))
    assert rc == 0
    bogus = tmp_path / "bogus.png"
    bogus.write_bytes(b"GIF89a not a png")
    rc, out = admin(state, "seal", "replace", *who, "--number", "S-2", "--image", str(bogus))
    assert rc == 1 and out[0]["field"] == "image"
    rc, _ = admin(state, "income", "add", *who, "--fiscal-year", "2025",
                  "--total-income", "3000000", "--municipal-tax", "120000")  # fmt: skip
    assert rc == 0
    rc, out = admin(state, "income", "add", *who, "--fiscal-year", "2025", "--total-income", "1")
    assert rc == 1 and out[0]["reason"] == "already recorded (income-replace)"

    feed = tmp_path / "feed.jsonl"
    lines = [
        {"kind": "seal-replace", "municipality": MUNI, "resident": "12345678902",
         "filed": "2026-04-02", "registration_number": "S-2",
         "image_png_b64": base64.b64encode(png()).decode()},
        {"kind": "income-replace", "municipality": MUNI, "resident": "12345678902",
         "filed": "2026-04-02", "fiscal_year": 2025, "total_income": 3100000},
        {"kind": "death", "municipality": MUNI, "resident": "nobody", "filed": "2026-04-02"},
        {"kind": "support-start", "municipality": MUNI, "resident": "CITY-KEY-3",
         "filed": "2026-04-0x"},
        {"kind": "seal-abolish", "municipality": MUNI, "resident": "12345678901",
         "filed": "2026-04-02"},
    ]  # fmt: skip
    feed.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    rc, out = admin(state, "apply-idou", str(feed))
    assert rc == 1  # some lines refused; the others applied
    assert [(o.get("status"), o.get("field")) for o in out[:5]] == [
        ("applied", None), ("applied", None), ("refused", "resident"),
        ("refused", "filed"), ("refused", "seal"),
    ]  # fmt: skip
    assert out[5] == {"lines": 5, "applied": 2, "refused": 3}
    csv_feed = tmp_path / "feed.csv"
    csv_feed.write_text("kind,municipality,resident,filed,effective\n"
                        f"seal-abolish,{MUNI},12345678902,2026-04-03,\n"
                        f"gaiji-pending,{MUNI},CITY-KEY-3,2026-04-03,\n",
                        encoding="utf-8")  # fmt: skip
    rc, out = admin(state, "apply-idou", str(csv_feed))
    assert rc == 0 and out[-1] == {"lines": 2, "applied": 2, "refused": 0}
    with Session(engine) as db:
        rid = _resident(engine, "12345678902").id
        assert db.get(models.SealRegistration, rid) is None  # abolished
        income = db.get(models.IncomeRecord, (rid, 2025))
        assert income is not None and income.total_income == 3100000
        kinds = db.scalars(
            select(models.ResidentEvent.kind)
            .where(models.ResidentEvent.resident_id == rid)
            .order_by(models.ResidentEvent.id)
        ).all()
    assert kinds == ["import_added", "seal-register", "income-add", "seal-replace",
                     "income-replace", "seal-abolish"]  # fmt: skip
    assert _resident(engine, "CITY-KEY-3").gaiji_pending


# --- against the running center (both backends) -----------------------------------------

LIVE_MUNI = "999001"


def _fiscal_year(today: date) -> int:
    return today.year if today.month >= 6 else today.year - 1


class Register:
    """The test's own residents at the running center, each with a card of its own, so the
    demo residents other tests use stay as they are."""

    def __init__(self, live: Live, tmp: Path) -> None:
        self.live, self.tmp = live, tmp
        self.jpki = DemoJpki(live.state)

    def admin(self, *args: str) -> tuple[int, list[dict[str, object]]]:
        return admin(self.live.state, *args, db=self.live.db_url)

    def add(self, label: str, code: str, my_number: str) -> None:
        src = self.tmp / f"{label}.csv"
        src.write_text(f"{HEADER}\n{code},,,{label} 氏,テスト,1980-02-03,女,桜ヶ丘市1番地,"
                       f"{my_number}\n", encoding="utf-8")  # fmt: skip
        rc, out = self.admin("import-residents", "--municipality", LIVE_MUNI, str(src))
        assert rc == 0 and out[0]["status"] in ("added", "unchanged")
        self.card(label, my_number)

    def card(self, label: str, my_number: str) -> None:
        if not self.jpki.card(label).with_suffix(".pem").exists():
            self.jpki.issue_card(label)
        pem = str(self.jpki.card(label).with_suffix(".pem"))
        day = (self.live.day - timedelta(days=30)).isoformat()
        rc, _ = self.admin("register-card", pem, "--my-number", my_number, "--issued-on", day)
        assert rc == 0

    def idou(self, kind: str, code: str, *more: str, filed: date | None = None) -> None:
        rc, out = self.admin("idou", kind, "--municipality", LIVE_MUNI, "--resident", code,
                             "--filed", (filed or self.live.day).isoformat(), *more)  # fmt: skip
        assert rc == 0, out

    def login(self, label: str) -> dict[str, object] | str:
        """The menu, or the refusal's code."""
        with client(self.live.url, self.live.state) as http:
            session = KioskSession(http)
            try:
                session.login(Card.load(self.jpki.card(label)))
                menu = session.menu()
            except Refused as exc:
                return exc.error
            session.logout()
            return menu


@pytest.fixture
def register(live: Live, tmp_path: Path) -> Register:
    return Register(live, tmp_path)


def test_live_reimport_reports_unchanged(register: Register, tmp_path: Path) -> None:
    register.add("reg-same", "60000000001", "600000000001")
    rc, out = register.admin("import-residents", "--municipality", LIVE_MUNI,
                             str(tmp_path / "reg-same.csv"))  # fmt: skip
    assert rc == 0 and out[0] == {"row": 1, "status": "unchanged"}
    with register.live.engine.connect() as db:
        rows = db.execute(select(models.Resident.id).where(
            models.Resident.resident_code == "60000000001")).all()  # fmt: skip
    assert len(rows) == 1


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("death", "deceased"),
        ("move-out", "moved_out"),
        ("move-out-filed", "move_out_filed"),
    ],
)
def test_live_idou_refuses_the_next_authentication(
    register: Register, kind: str, code: str
) -> None:
    label = f"reg-{kind}"
    number = {"death": "1", "move-out": "2", "move-out-filed": "3"}[kind]
    resident = f"6100000000{number}"
    register.add(label, resident, f"61000000000{number}")
    assert isinstance(register.login(label), dict)  # served before
    register.idou(kind, resident)
    assert register.login(label) == code


def test_live_support_and_gaiji_refuse_then_serve_again(register: Register) -> None:
    register.add("reg-undo", "62000000001", "620000000001")
    register.idou("support-start", "62000000001")
    assert register.login("reg-undo") == "support_measures"
    register.idou("support-end", "62000000001")
    assert isinstance(register.login("reg-undo"), dict)
    register.idou("gaiji-pending", "62000000001")
    assert register.login("reg-undo") == "gaiji_pending"
    register.idou("gaiji-done", "62000000001")
    assert isinstance(register.login("reg-undo"), dict)


def test_live_move_in_refused_on_the_filing_day_only(register: Register) -> None:
    """D5: the 転入届's 届出日 decides, not the 異動日 (住所を定めた年月日)."""
    day = register.live.day
    person = ("--name", "転入 花子", "--kana", "テンニュウ ハナコ", "--birth-date", "1990-01-01",
              "--sex", "女", "--address", "桜ヶ丘市2番地", "--my-number")  # fmt: skip
    # moved 5 days ago, filed today: refused today (the old rule compared the 異動日)
    register.idou("move-in", "63000000001", *person, "630000000001",
                  "--effective", (day - timedelta(days=5)).isoformat())  # fmt: skip
    register.card("reg-movein-today", "630000000001")
    assert register.login("reg-movein-today") == "moved_in_today"
    # moved 5 days ago, filed yesterday: served
    register.idou("move-in", "63000000002", *person, "630000000002",
                  "--effective", (day - timedelta(days=5)).isoformat(),
                  filed=day - timedelta(days=1))  # fmt: skip
    register.card("reg-movein-before", "630000000002")
    assert isinstance(register.login("reg-movein-before"), dict)


def test_live_seal_abolish_and_income_add_change_the_menu(
    register: Register, tmp_path: Path
) -> None:
    register.add("reg-menu", "64000000001", "640000000001")
    image = tmp_path / "seal.png"
    image.write_bytes(png())
    who = ("--municipality", LIVE_MUNI, "--resident", "64000000001",
           "--filed", register.live.day.isoformat())  # fmt: skip
    assert register.admin("seal", "register", *who, "--number", "R1", "--image", str(image))[0] == 0
    menu = register.login("reg-menu")
    assert isinstance(menu, dict) and menu.get("inkan")
    assert register.admin("seal", "abolish", *who)[0] == 0
    menu = register.login("reg-menu")
    assert isinstance(menu, dict) and not menu.get("inkan")
    assert not menu.get("shotoku")
    year = _fiscal_year(register.live.day)
    rc, _ = register.admin("income", "add", *who, "--fiscal-year", str(year),
                           "--total-income", "2500000")  # fmt: skip
    assert rc == 0
    menu = register.login("reg-menu")
    assert isinstance(menu, dict)
    shotoku = menu.get("shotoku")
    assert isinstance(shotoku, dict) and shotoku["fiscal_years"] == [year]
