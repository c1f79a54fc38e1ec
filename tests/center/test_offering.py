"""D6: the offering per municipality and certificate type, from a file a city keeps in
version control (`kofu center admin apply offering.toml`), and the running center's menu and
order following it (both databases)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from center import admin_cli, models, offering
from center.clock import JST
from center.offering_file import OfferingError, parse, render
from center.simkiosk import Card, KioskSession, Refused, client
from documents.model import CertificateType, JuminhyoOption

from .conftest import Live

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
MASUDA = (EXAMPLES / "masuda-offering.toml").read_text(encoding="utf-8")
SHIBUKAWA = (EXAMPLES / "shibukawa-offering.toml").read_text(encoding="utf-8")
CITY = "999001"  # the demo city (taro's), served like Masuda by default


def for_code(text: str, code: str) -> str:
    """An example file for another municipality (the demo's)."""
    return re.sub(r'^code = "\d{6}"', f'code = "{code}"', text, count=1, flags=re.M)


def error_of(text: str) -> str:
    with pytest.raises(OfferingError) as exc:
        parse(text, "city/offering.toml")
    return str(exc.value)


# --- the file ------------------------------------------------------------------------


def test_the_examples_state_the_seed_pages() -> None:
    masuda = parse(MASUDA, "masuda-offering.toml")
    assert {(t.kind, t.offered, t.kiosk_fee, t.counter_fee) for t in masuda.types} == {
        (k, True, 200, 300) for k in CertificateType
    }
    assert masuda.of(CertificateType.JUMINHYO).kiosk_options == frozenset(JuminhyoOption)
    shibukawa = parse(SHIBUKAWA, "shibukawa-offering.toml")
    offered = {t.kind: t.kiosk_fee for t in shibukawa.types if t.offered}
    assert offered == {
        CertificateType.JUMINHYO: 300,
        CertificateType.INKAN: 300,
        CertificateType.SHOTOKU_KAZEI: 300,
    }
    for o in (masuda, shibukawa):
        assert (o.opens, o.closes) == ("06:30", "23:00")
        assert parse(render(o), "shown") == o  # `offering show` prints a file apply takes


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        (lambda t: t + "\n[koseki]\nkiosk_fee = 450\n", "[koseki]", "unknown table"),
        (lambda t: t.replace("[shotoku]", "[shotokuu]"), "[shotokuu]", "unknown table"),
        (lambda t: t.replace("kiosk_fee = 300", "kiosk_fee = -300", 1), "[juminhyo] kiosk_fee",
         "an integer from 0"),
        (lambda t: t.replace('closes = "23:00"', 'closes = "25:00"'), "[municipality] closes",
         '"HH:MM"'),
        (lambda t: t.replace('closes = "23:00"', 'closes = "06:00"'), "[municipality] closes",
         "after opens"),
        (lambda t: t.replace("[juminhyo]  # 住民票の写し (self and household members)",
                             '[juminhyo]\nkiosk_options = ["my_number", "koseki"]'),
         "[juminhyo] kiosk_options", "unknown item 'koseki'"),
        (lambda t: t.replace("offered = false", "offered = false\nkiosk_options = []"),
         "[shotoku] kiosk_options", "only the 住民票"),
        (lambda t: t.replace("[inkan]  # 印鑑登録証明書 (self)\nkiosk_fee = 300\n", "[inkan]\n"),
         "[inkan] kiosk_fee", "missing"),
        (lambda t: t.replace('yearly = "12-29/01-03"', 'yearly = "12-32/01-03"'),
         "[maintenance #1] yearly", "MM-DD/MM-DD"),
        (lambda t: t.replace('code = "102083"', 'code = "1020"'), "[municipality] code",
         "6-digit"),
        (lambda t: t.replace("[inkan]", "[inkan]\nmax_copies = 0"), "[inkan] max_copies",
         "from 1 to 99"),
        (lambda t: t.replace("[shotoku_kazei]  # 所得課税証明書 (self)\nkiosk_fee = 300\n"
                             "counter_fee = 300\n", ""),
         "[shotoku_kazei]", "missing: list every type"),
    ],
)  # fmt: skip
def test_a_wrong_file_names_the_file_the_table_and_the_key(
    edit: object, where: str, says: str
) -> None:
    text = edit(SHIBUKAWA)  # type: ignore[operator]
    assert text != SHIBUKAWA
    message = error_of(text)
    assert message.startswith(f"city/offering.toml: {where}"), message
    assert says in message


def test_not_toml_is_said_so() -> None:
    assert error_of("[municipality\ncode = 1").startswith("city/offering.toml: not TOML")


def test_hours_per_type_weekdays_only() -> None:
    koseki_like = offering.TypeOffering(
        CertificateType.INKAN, opens="09:00", closes="17:00", weekdays_only=True
    )
    friday, saturday = date(2026, 12, 4), date(2026, 12, 5)
    assert friday.weekday() == 4 and saturday.weekday() == 5

    def at(d: date, hh: int, mm: int) -> datetime:
        return datetime(d.year, d.month, d.day, hh, mm, tzinfo=JST)

    assert koseki_like.open_at(at(friday, 9, 0)) and koseki_like.open_at(at(friday, 16, 59))
    assert not koseki_like.open_at(at(friday, 17, 0))
    assert not koseki_like.open_at(at(friday, 8, 59))
    assert not koseki_like.open_at(at(saturday, 12, 0))
    late = offering.TypeOffering(CertificateType.INKAN, opens="06:30", closes="24:00")
    assert late.open_at(at(saturday, 23, 59))


def test_fiscal_years_offered_are_the_latest_n() -> None:
    t = offering.TypeOffering(CertificateType.SHOTOKU, fiscal_years=2)
    # in May the newest 年度 is last year's (assessed in June)
    assert t.years([2026, 2025, 2024, 2023], date(2026, 5, 31)) == [2025, 2024]
    assert t.years([2026, 2025, 2024], date(2026, 6, 1)) == [2026, 2025]
    assert offering.TypeOffering(CertificateType.SHOTOKU).years([2024, 2026], date(2026, 7, 1)) == [
        2026,
        2024,
    ]


# --- apply -----------------------------------------------------------------------------


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(models.Municipality(code="102083", name="渋川市", mayor_title="渋川市長",
                                  mayor_name="x", seal_png=b"", signing_key_id="k",
                                  public_key=b"\0" * 32))  # fmt: skip
        s.flush()
        offering.apply(s, offering.everything("102083", 250, 300))
        s.add(models.MaintenanceWindow(municipality_code="102083", yearly_from="12-29",
                                       yearly_to="01-03", note="year end"))  # fmt: skip
        s.commit()
        yield s
    engine.dispose()


def test_applying_the_same_file_twice_changes_nothing(db: Session) -> None:
    wanted = parse(SHIBUKAWA, "shibukawa-offering.toml")
    first = offering.apply(db, wanted)
    assert "102083 shotoku.offered: True -> False" in first
    assert "102083 juminhyo.kiosk_fee: 250 -> 300" in first
    assert "102083 maintenance: 1 window(s) -> 1" in first  # the notice is new
    db.commit()
    assert offering.apply(db, wanted) == []
    loaded = offering.load(db, "102083")
    assert loaded.types == wanted.types and loaded.maintenance == wanted.maintenance
    assert offering.apply(db, parse(render(loaded), "shown")) == []


def test_a_file_without_maintenance_leaves_the_windows(db: Session) -> None:
    text = SHIBUKAWA[: SHIBUKAWA.index("[[maintenance]]")]
    offering.apply(db, parse(text, "f"))
    assert [(n.yearly_from, n.yearly_to) for n in offering.windows_of(db, "102083")] == [
        ("12-29", "01-03")
    ]
    offering.apply(db, parse("maintenance = []\n" + text, "f"))
    assert offering.windows_of(db, "102083") == []


# --- the command and the running center ------------------------------------------------


def admin(live: Live, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = admin_cli.main(["--state", str(live.state), "--db", live.db_url, *args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


@pytest.fixture
def restored(live: Live, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Iterator[Path]:
    """The demo city's offering as it was, put back after the test (by `apply` too)."""
    rc, shown, _ = admin(live, capsys, "offering", "show", "--municipality", CITY)
    assert rc == 0
    saved = tmp_path / "saved.toml"
    saved.write_text(shown, encoding="utf-8")
    yield saved
    rc, _, err = admin(live, capsys, "apply", str(saved))
    assert rc == 0, err
    assert admin(live, capsys, "offering", "show", "--municipality", CITY)[1] == shown


def test_menu_and_order_follow_the_applied_offering(
    live: Live,
    kiosk: KioskSession,
    restored: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Shibukawa's offering for the demo city, with 個人番号 refused at the kiosk, 3 copies
    # at most of a 住民票 and 印鑑 only in the early morning
    text = (
        for_code(SHIBUKAWA, CITY)
        .replace(
            "[juminhyo]  # 住民票の写し (self and household members)\n",
            '[juminhyo]\nkiosk_options = ["household", "honseki"]\nmax_copies = 3\n',
        )
        .replace(
            "[inkan]  # 印鑑登録証明書 (self)\n", '[inkan]\nopens = "06:30"\ncloses = "07:00"\n'
        )
    )
    path = tmp_path / "offering.toml"
    path.write_text(text, encoding="utf-8")
    rc, out, err = admin(live, capsys, "apply", str(path))
    assert rc == 0, err
    assert f"{CITY} shotoku.offered: True -> False" in out
    assert f"{CITY} juminhyo.kiosk_fee: 200 -> 300" in out
    assert f"{CITY} juminhyo.max_copies: 10 -> 3" in out
    rc, again, _ = admin(live, capsys, "apply", str(path))
    assert (rc, again) == (0, f"{CITY}: no change\n")

    kiosk.login(Card.demo(live.state, "taro"))
    menu = kiosk.menu()
    assert menu["shotoku"] is None  # not offered
    assert menu["inkan"] is None  # closed at this hour (the center's clock is 10:00)
    assert menu["juminhyo"]["fee"] == 300 and menu["juminhyo"]["max_copies"] == 3
    assert menu["shotoku_kazei"]["fee"] == 300
    for m in menu["juminhyo"]["members"]:
        assert "my_number" not in m["options"] and "household" in m["options"]
    year = menu["shotoku_kazei"]["fiscal_years"][0]

    for line, status, code in [
        ({"type": "shotoku", "fiscal_year": year}, 403, "not_offered"),
        ({"type": "inkan"}, 403, "out_of_hours"),
        ({"type": "juminhyo", "options": ["my_number"]}, 403, "not_offered"),
        ({"type": "juminhyo", "copies": 4}, 422, "order_invalid"),
    ]:
        with pytest.raises(Refused) as exc:
            kiosk.order([line])
        assert (exc.value.status, exc.value.error) == (status, code), line
    quote = kiosk.order(
        [{"type": "juminhyo", "copies": 3, "options": ["household"]},
         {"type": "shotoku_kazei", "fiscal_year": year}]
    )  # fmt: skip
    assert [q["fee_per_copy"] for q in quote["lines"]] == [300, 300]
    assert quote["total"] == 4 * 300


def test_a_bad_file_changes_nothing_and_says_where(
    live: Live, restored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(for_code(SHIBUKAWA, CITY), encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(for_code(MASUDA, CITY).replace("kiosk_fee = 200", "kiosk_fee = -1", 1))
    rc, out, err = admin(live, capsys, "apply", str(good), str(bad))
    assert rc == 1 and out == ""
    assert f"{bad}: [juminhyo] kiosk_fee: an integer from 0" in err
    assert admin(live, capsys, "offering", "show", "--municipality", CITY)[1] == (
        restored.read_text(encoding="utf-8")
    )
    missing = tmp_path / "missing.toml"
    missing.write_text(for_code(SHIBUKAWA, "999999"), encoding="utf-8")
    rc, _, err = admin(live, capsys, "apply", str(missing))
    assert rc == 1 and f"{missing}: [municipality] code: no municipality 999999" in err


def test_a_maintenance_window_tells_the_citys_notice(
    live: Live,
    kiosk: KioskSession,
    restored: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "offering.toml"
    path.write_text(
        for_code(MASUDA, CITY)
        + "\n[[maintenance]]\nfrom = 2000-01-01T00:00:00+09:00\nto = 2100-01-01T00:00:00+09:00\n"
        'notice_ja = "システム更新のため停止中です。"\nnotice_en = "Closed for a system update."\n',
        encoding="utf-8",
    )
    assert admin(live, capsys, "apply", str(path))[0] == 0
    with pytest.raises(Refused) as exc:
        kiosk.login(Card.demo(live.state, "taro"))
    assert exc.value.error == "maintenance"
    assert exc.value.body["message_ja"] == "システム更新のため停止中です。"
    assert exc.value.body["message_en"] == "Closed for a system update."
    kiosk.login(Card.demo(live.state, "wakaba"))  # the other municipality is open
