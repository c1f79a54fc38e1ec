"""M6 (issue 13): the audit log is an append-only hash chain that `kofu center admin audit
verify` checks; appends from many processes keep one valid chain; every refusal leaves a line
with its reason code and the kiosk id, and no line holds personal data."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, text, update

from center import audit, models
from center.db import make_engine, migrate, session_factory
from center.demo import RESIDENTS
from center.simkiosk import Card, client

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def chain_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database per test (PostgreSQL: a database of its own)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        pg = request.getfixturevalue("postgres")
        name = f"audit_{abs(hash(request.node.name)) % 10**8}"
        admin = make_engine(pg.url)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = pg.url.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url


def _append(url: str, n: int, tag: str) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    for i in range(n):
        with sessions.begin() as db:
            audit.record(db, T0 + timedelta(seconds=i), "test", reason=f"{tag}-{i}")
    engine.dispose()


ROOT = Path(__file__).resolve().parents[3]


def kofu(*args: str) -> tuple[int, str]:
    """`kofu ...` in a process of its own, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from host.cli import main; sys.exit(main())", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def verify_cli(tmp_path: Path, url: str, *extra: str) -> tuple[int, str]:
    return kofu("center", "admin", "--state", str(tmp_path / "st"), "--db", url, "audit",
                "verify", *extra)  # fmt: skip


def _audit_rows(url: str) -> list[Any]:
    engine = make_engine(url)
    with session_factory(engine)() as db:
        rows = db.execute(select(models.AuditEntry).order_by(models.AuditEntry.seq)).scalars()
        out = list(rows)
    engine.dispose()
    return out


def _exec(url: str, *statements: Any) -> None:
    engine = make_engine(url)
    with session_factory(engine).begin() as db:
        for st in statements:
            db.execute(st)
    engine.dispose()


def test_edited_line_is_found(chain_db: str, tmp_path: Path) -> None:
    _append(chain_db, 10, "a")
    rc, out = verify_cli(tmp_path, chain_db)
    assert rc == 0 and "10 lines" in out
    A = models.AuditEntry
    _exec(chain_db, update(A).where(A.seq == 4).values(detail="reason=nothing-happened"))
    rc, out = verify_cli(tmp_path, chain_db)
    assert rc == 1 and "line 4:" in out and "altered" in out
    # moving a line in time is an edit too
    _exec(chain_db, update(A).where(A.seq == 4).values(detail="reason=a-3"))
    assert verify_cli(tmp_path, chain_db)[0] == 0
    _exec(chain_db, update(A).where(A.seq == 7).values(at=T0 - timedelta(days=1)))
    rc, out = verify_cli(tmp_path, chain_db)
    assert rc == 1 and "line 7:" in out


def test_removed_line_is_found(chain_db: str, tmp_path: Path) -> None:
    _append(chain_db, 10, "a")
    _exec(chain_db, delete(models.AuditEntry).where(models.AuditEntry.seq == 6))
    rc, out = verify_cli(tmp_path, chain_db)
    assert rc == 1 and "line 6:" in out and "missing" in out


def test_inserted_line_is_found_even_with_a_recomputed_hash(
    chain_db: str, tmp_path: Path
) -> None:
    _append(chain_db, 8, "a")
    rows = _audit_rows(chain_db)
    A = models.AuditEntry
    # make room after line 4 and insert a line whose own hash is right
    forged_at = T0 + timedelta(seconds=3, milliseconds=500)
    forged = audit.entry_hash(5, forged_at, None, "test", None, "reason=forged", rows[3].entry_hash)
    engine = make_engine(chain_db)
    with session_factory(engine).begin() as db:
        for seq in range(8, 4, -1):  # one at a time: seq is unique
            db.execute(update(A).where(A.seq == seq).values(seq=seq + 1))
        db.add(A(seq=5, at=forged_at, kiosk_id=None, action="test", certificate_number=None,
                 detail="reason=forged", prev_hash=rows[3].entry_hash,
                 entry_hash=forged))  # fmt: skip
    engine.dispose()
    rc, out = verify_cli(tmp_path, chain_db)
    assert rc == 1 and "line 6:" in out  # the old line 5 no longer follows its predecessor


def test_appended_line_without_the_head_is_found(
    chain_db: str, tmp_path: Path
) -> None:
    _append(chain_db, 3, "a")
    rows = _audit_rows(chain_db)
    at = T0 + timedelta(seconds=10)
    digest = audit.entry_hash(4, at, None, "test", None, "", rows[-1].entry_hash)
    _exec(chain_db, insert(models.AuditEntry).values(
        seq=4, at=at, kiosk_id=None, action="test", certificate_number=None, detail="",
        prev_hash=rows[-1].entry_hash, entry_hash=digest))  # fmt: skip
    rc, out = verify_cli(tmp_path, chain_db)
    assert rc == 1 and "head" in out


def test_truncation_is_found_against_a_recorded_anchor(
    chain_db: str, tmp_path: Path
) -> None:
    """Cutting the newest lines and rewinding the head is invisible to the chain alone
    (README); the head recorded elsewhere (`audit head`) catches it."""
    _append(chain_db, 6, "a")
    rc, anchor = kofu("center", "admin", "--state", str(tmp_path / "st"), "--db", chain_db,
                      "audit", "head")  # fmt: skip
    anchor = anchor.strip()
    assert rc == 0 and anchor.startswith("6:")
    rows = _audit_rows(chain_db)
    _exec(chain_db, delete(models.AuditEntry).where(models.AuditEntry.seq >= 5),
          update(models.AuditHead).values(seq=4, entry_hash=rows[3].entry_hash))  # fmt: skip
    assert verify_cli(tmp_path, chain_db)[0] == 0  # the chain alone cannot tell
    rc, out = verify_cli(tmp_path, chain_db, "--anchor", anchor)
    assert rc == 1 and "anchor" in out


def test_concurrent_appends_from_processes_and_threads(
    chain_db: str, tmp_path: Path
) -> None:
    code = ("import sys; from tests.center.security.test_audit_chain import _append; "
            "_append(sys.argv[1], int(sys.argv[2]), sys.argv[3])")  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-c", code, chain_db, "25", f"p{i}"], cwd=ROOT)
        for i in range(4)
    ]
    threads = [threading.Thread(target=_append, args=(chain_db, 25, f"t{i}")) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(120) for p in procs] == [0, 0, 0, 0]
    rows = _audit_rows(chain_db)
    assert [r.seq for r in rows] == list(range(1, 151))
    assert len({r.detail for r in rows}) == 150
    rc, out = verify_cli(tmp_path, chain_db)
    assert rc == 0 and "150 lines" in out


def test_migration_chains_lines_written_before_it(tmp_path: Path) -> None:
    """A database from before the chain keeps its history, chained in id order."""
    from alembic import command

    from center.db import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0004")
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(text("INSERT INTO audit (at, action, detail) VALUES (:at, 'old', '')"),
                         {"at": (T0 + timedelta(seconds=i)).replace(tzinfo=None)})  # fmt: skip
    command.upgrade(cfg, "head")
    with session_factory(engine).begin() as db:
        audit.record(db, T0 + timedelta(minutes=1), "new")
    with session_factory(engine)() as db:
        verdict = audit.verify(db)
    engine.dispose()
    assert verdict.ok and verdict.lines == 4 and verdict.head_seq == 4


# --- against the running center -----------------------------------------------------------


def _refusals(live: Any) -> list[tuple[int | None, str]]:
    with session_factory(live.engine)() as db:
        rows = db.execute(
            select(models.AuditEntry.kiosk_id, models.AuditEntry.detail).where(
                models.AuditEntry.action == "refusal"
            )
        ).all()
    return [(k, d) for k, d in rows]


def _kiosk_id(live: Any, code: str) -> int:
    with session_factory(live.engine)() as db:
        kid = db.scalar(select(models.Kiosk.id).where(models.Kiosk.code == code))
    assert kid is not None
    return int(kid)


def test_every_refusal_leaves_an_audit_line(live: Any) -> None:
    kid = _kiosk_id(live, "demo-kiosk")
    before = Counter(d for k, d in _refusals(live) if k == kid)
    with client(live.url, live.state) as http:
        cases: list[tuple[str, httpx.Response]] = []
        cases.append(("challenge_unknown", http.post("/v1/authenticate", json={
            "challenge_id": "0" * 32, "card_certificate": Card.demo(live.state, "sato").cert_pem,
            "signature": "QQ=="})))  # fmt: skip
        ch = http.post("/v1/challenge").json()
        cases.append(("card_malformed", http.post("/v1/authenticate", json={
            "challenge_id": ch["challenge_id"], "card_certificate": "QUJD",
            "signature": "QQ=="})))  # fmt: skip
        cases.append(("bad_request", http.post("/v1/authenticate", content=b"{",
                                                headers={"content-type": "application/json"})))
        cases.append(("session_invalid", http.get("/v1/session/menu")))
        cases.append(("session_invalid", http.get("/v1/session/menu",
                                                  headers={"Authorization": "Bearer x"})))
        cases.append(("certificate_unknown", http.post(
            "/v1/certificates/999001-20260101-000000000000/print-result",
            json={"ok": True, "error": ""})))  # fmt: skip
        # a resident the rules refuse (under 15): the card path's refusals too
        jiro = Card.demo(live.state, "jiro")
        ch = http.post("/v1/challenge").json()
        sig = base64.b64encode(jiro.sign(base64.b64decode(ch["challenge"]))).decode()
        cases.append(("under_15", http.post("/v1/authenticate", json={
            "challenge_id": ch["challenge_id"], "card_certificate": jiro.cert_pem,
            "signature": sig})))  # fmt: skip
    for code, resp in cases:
        assert resp.status_code >= 400 and resp.json()["error"] == code, (code, resp.text)
    after = Counter(d for k, d in _refusals(live) if k == kid)
    assert after - before == Counter(f"reason={code}" for code, _ in cases)
    with session_factory(live.engine)() as db:
        assert audit.verify(db).ok


def test_audit_lines_hold_no_personal_data(live: Any) -> None:
    with session_factory(live.engine)() as db:
        details = " ".join(
            f"{e.action} {e.detail} {e.certificate_number or ''}"
            for e in db.scalars(select(models.AuditEntry))
        )
        numbers = [r.my_number for r in db.scalars(select(models.Resident)) if r.my_number]
        assert db.scalar(select(func.count()).select_from(models.AuditEntry)) > 0
    for r in RESIDENTS:
        assert r.name not in details and r.kana not in details
        assert r.address not in details
    for number in numbers:
        assert number not in details
