"""`kofu center admin` on a fresh state directory (SQLite), and the migrations."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from center import admin_cli, models
from center.atrest import attach
from center.cli import build_config
from center.cli import main as center_main
from center.clock import JST, Clock
from center.config import CenterConfig
from center.db import make_engine, migrate, session_factory
from center.demo import LONG_ADDRESS
from center.pki import CenterPki, DemoJpki, load_pair
from center.prepare import prepare
from center.token_setup import open_keystore

HEADER = (
    "resident_code,household,household_head,relationship,name,kana,birth_date,sex,address,"
    "my_number,moved_in"
)


def admin(state: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = admin_cli.main(["--state", str(state), *args])
    return rc, capsys.readouterr().out


def test_admin_commands_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    st = tmp_path / "st"
    rc, _ = admin(st, "create-municipality", "--code", "999100", "--name", "試験市",
                  "--mayor-title", "試験市長", "--mayor-name", "試 験", "--kiosk-fee", "250",
                  "--counter-fee", "300", capsys=capsys)  # fmt: skip
    assert rc == 0
    rc, _ = admin(st, "create-municipality", "--code", "12", "--name", "x", "--mayor-title",
                  "x", "--mayor-name", "x", "--kiosk-fee", "1", "--counter-fee", "1",
                  capsys=capsys)  # fmt: skip
    assert rc == 1  # a typed error, nothing stored

    rows = [
        HEADER,
        "10000000001,A1,試験 一,世帯主,試験 一,シケン ハジメ,1980-01-02,男,試験市1番地,"
        "111111111111,2001-01-01",
        f"10000000002,A1,試験 一,妻,試験 二,シケン フタバ,1982-03-04,女,{LONG_ADDRESS},"
        "222222222222,",
        "10000000003,A2,,,試験 三,シケン ミツ,not-a-date,女,試験市2番地,333333333333,",
        "10000000004,A3,,,試験 四,シケン ヨツ,1990-05-06,?,試験市3番地,444444444444,",
    ]
    src = tmp_path / "residents.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rc, out = admin(st, "import-residents", "--municipality", "999100", str(src), capsys=capsys)
    assert rc == 0
    reports = [json.loads(line) for line in out.splitlines()]
    assert reports[0] == {"row": 1, "status": "added"}
    assert reports[1]["status"] == "added"  # stored (the register), refused at the kiosk
    assert reports[1]["over_limit"] == [{"field": "address", "limit": 94}]
    assert reports[2] == {"row": 3, "status": "refused", "field": "birth_date",
                          "reason": "a date YYYY-MM-DD"}  # fmt: skip
    assert reports[3]["status"] == "refused" and reports[3]["field"] == "sex"
    assert "試験" not in out  # no names in reports
    assert reports[4] == {"rows": 4, "added": 2, "changed": 0, "unchanged": 0, "refused": 2}

    rc, out = admin(st, "register-kiosk", "store-0001", "--location", "test", capsys=capsys)
    assert rc == 0 and (CenterPki(st).kiosk("store-0001").with_suffix(".pem")).exists()

    jpki = DemoJpki(tmp_path / "jpki")
    jpki.ensure_ca()
    cert = jpki.issue_card("c1")
    pem = jpki.card("c1").with_suffix(".pem")
    rc, _ = admin(st, "register-card", str(pem), "--my-number", "111111111111",
                  "--issued-on", "2026-01-05", capsys=capsys)  # fmt: skip
    assert rc == 0
    rc, _ = admin(st, "register-card", str(pem), "--my-number", "999999999999", capsys=capsys)
    assert rc == 1
    rc, _ = admin(st, "revoke-card", str(pem), "--reason", "lost", capsys=capsys)
    assert rc == 0

    engine = make_engine(f"sqlite:///{st / 'center.db'}")
    with session_factory(engine)() as db:
        card = db.scalar(select(models.CardCertificate))
        assert card is not None and card.serial == format(cert.serial_number, "x")
        assert card.issued_on == date(2026, 1, 5)
        assert db.scalar(select(models.CardRevocation.reason)) == "lost"
        fees = db.scalars(select(models.Offering.kiosk_fee)).all()
        assert set(fees) == {250}
    engine.dispose()

    rc, _ = admin(st, "maintenance", "--municipality", "999100", "--from", "2026-02-01T01:00",
                  "--to", "2026-02-01T05:00", "--note", "upgrade", capsys=capsys)  # fmt: skip
    assert rc == 0
    rc, _ = admin(st, "maintenance", "--municipality", "999100", "--from", "2026-02-01T05:00",
                  "--to", "2026-02-01T01:00", capsys=capsys)  # fmt: skip
    assert rc == 1
    engine = make_engine(f"sqlite:///{st / 'center.db'}")
    with session_factory(engine)() as db:
        window = db.scalar(select(models.MaintenanceWindow).where(
            models.MaintenanceWindow.note == "upgrade"))  # fmt: skip
        assert window is not None and window.starts_at is not None
        assert window.starts_at.astimezone(JST).hour == 1
    engine.dispose()

    rc, out = admin(st, "public-keys", capsys=capsys)
    assert list(json.loads(out)) == ["999100"]
    rc, out = admin(st, "ledger", "--municipality", "999100", "--date", "2026-01-05",
                    capsys=capsys)  # fmt: skip
    assert rc == 0
    table = list(csv.reader(io.StringIO(out)))
    assert table[0][:3] == ["time_jst", "kiosk", "certificate_number"]
    assert table[-1] == ["total", "", "", "", "0", "0"]


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> CenterConfig:
    import argparse

    state = tmp_path_factory.mktemp("demo")
    args = argparse.Namespace(state=str(state), db=None, jpki_ca=None, jpki_crl=None,
                              no_demo=False, clock=None)  # fmt: skip
    config = build_config(args)
    prepare(config)
    return config


def test_register_card_for_a_demo_resident(
    demo_config: CenterConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """How the card simulator's card gets a resident: by demo label."""
    state = Path(demo_config.state_dir)
    sim_ca = DemoJpki(tmp_path / "card-sim")
    sim_ca.ensure_ca()
    sim_ca.issue_card("virtual")
    pem = str(sim_ca.card("virtual").with_suffix(".pem"))
    rc, out = admin(state, "register-card", pem, "--demo-resident", "sato",
                    "--issued-on", "2026-01-01", capsys=capsys)  # fmt: skip
    assert rc == 0 and "registered" in out
    rc, _ = admin(state, "register-card", pem, "--demo-resident", "nobody",
                  capsys=capsys)  # fmt: skip
    assert rc == 1


def test_migrations_match_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
    engine.dispose()
    assert diff == []


def test_prepare_creates_demo_once(demo_config: CenterConfig) -> None:
    config = demo_config
    prepare(config)  # a second start adds nothing
    engine = attach(make_engine(config.db_url), open_keystore(config))  # residents are sealed
    with session_factory(engine)() as db:
        assert len(db.scalars(select(models.Municipality)).all()) == 2
        residents = db.scalars(select(models.Resident)).all()
        assert 18 <= len(residents) <= 25
        assert any(r.address == LONG_ADDRESS for r in residents)
        assert any(r.nationality for r in residents)
    engine.dispose()
    _, kiosk_cert = load_pair(CenterPki(Path(config.state_dir)).kiosk("demo-kiosk"))
    from cryptography.x509.oid import NameOID

    cn = kiosk_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "demo-kiosk"


def test_center_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        center_main(["--help"])
    assert exc.value.code == 0
    assert "--workers" in capsys.readouterr().out


def test_ledger_today_is_the_centers_day_not_the_machines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A center started with `--clock` (a simulation at the next opening) records its clock in
    its state; `admin ledger` without `--date` reads the day that center writes."""
    st = tmp_path / "st"
    assert admin(st, "init", capsys=capsys)[0] == 0
    ahead = Clock.starting_at(Clock().now() + timedelta(days=3, hours=12))
    ahead.save(st)
    assert (st / "clock.json").stat().st_mode & 0o077 == 0
    asked: list[date] = []
    monkeypatch.setattr(admin_cli.admin_ops, "ledger_csv",
                        lambda db, muni, day: asked.append(day) or "")  # fmt: skip
    assert admin(st, "ledger", "--municipality", "999100", capsys=capsys)[0] == 0
    assert asked == [ahead.today()] and ahead.today() != Clock().today()
    # no recorded clock: the machine's
    (st / "clock.json").unlink()
    assert admin(st, "ledger", "--municipality", "999100", capsys=capsys)[0] == 0
    assert asked[-1] == Clock().today()
