"""Issue 13, H2: keys and personal data readable from the database file.

The municipal signing keys live in the PKCS#11 token (the embedded SoftHSM of the state
directory), non-extractable; the My Number, the residence card number and certificate
contents are sealed (AES-GCM in the token); the state directory is 0700 and its files 0600.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa
from pkcs11 import Attribute
from pkcs11.exceptions import AttributeSensitive
from sqlalchemy import select
from sqlalchemy.orm import Session

from center import demo, models, softhsm
from center.atrest import attach
from center.db import alembic_config, make_engine, migrate, session_factory
from center.keystore import KeyStore
from center.private_files import tighten
from center.simkiosk import Card, KioskSession, client
from documents.signing import verify_payload

from ..conftest import Live

# the demo residents' My Numbers, as center/demo.py makes them
MY_NUMBERS = [f"{100000000000 + i * 7919:012d}" for i in range(len(demo.RESIDENTS))]
CARD_NUMBER = "AB12345678CD"


@pytest.fixture
def kiosk(live: Live) -> Iterator[KioskSession]:
    with client(live.url, live.state) as http:
        yield KioskSession(http)


def _issue_with_my_number(live: Live, kiosk: KioskSession) -> list[dict[str, object]]:
    """A 住民票 with the 個人番号 chosen, issued and printed by the running center."""
    kiosk.login(Card.demo(live.state, "foreign"))
    me = kiosk.menu()["juminhyo"]["members"][0]
    quote = kiosk.order(
        [{"type": "juminhyo", "member_ids": [me["member_id"]],
          "options": ["my_number", "residence_card"]}]
    )  # fmt: skip
    certs: list[dict[str, object]] = kiosk.pay(quote)["certificates"]
    kiosk.logout()
    return certs


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_state_directory_and_its_files_are_private(live: Live) -> None:
    # the fixture made the PKI with the test process's umask (files 0644): the center's
    # first start tightened them, and everything it made itself is private from the start
    assert _mode(live.state) == 0o700
    loose = []
    for root, dirs, files in os.walk(live.state):
        for name in dirs:
            if _mode(Path(root, name)) != 0o700:
                loose.append(name)
        for name in files:
            if _mode(Path(root, name)) & 0o077:
                loose.append(name)
    assert loose == []
    token = softhsm.settings(live.state)
    assert token.pin_file.exists() and _mode(token.pin_file) == 0o600
    if live.backend == "sqlite":
        db = Path(live.db_url.removeprefix("sqlite:///"))
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            if path.exists():
                assert _mode(path) == 0o600, path.name


def test_a_loose_state_directory_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "old-state"
    (state / "pki").mkdir(parents=True)
    (state / "pki" / "server.key").write_text("k")
    (state / "center.db").write_text("d")
    for p, mode in ((state, 0o755), (state / "pki", 0o775), (state / "pki" / "server.key", 0o644),
                    (state / "center.db", 0o664)):  # fmt: skip
        p.chmod(mode)
    tighten(state)
    assert _mode(state) == 0o700 and _mode(state / "pki") == 0o700
    assert _mode(state / "pki" / "server.key") == 0o600 and _mode(state / "center.db") == 0o600


def test_a_copy_of_the_database_holds_no_my_number_and_no_key(
    live: Live, kiosk: KioskSession
) -> None:
    certs = _issue_with_my_number(live, kiosk)
    assert any(c["certificate_number"] for c in certs)
    with Session(live.engine) as db:  # the center itself still reads them (through the token)
        numbers = set(db.scalars(select(models.Resident.my_number)))
        assert set(MY_NUMBERS) <= numbers
        content = db.scalars(select(models.Certificate.document_json)).all()
        assert any(n.encode() in c for c in content if c for n in MY_NUMBERS)
    secrets = [n.encode() for n in MY_NUMBERS] + [CARD_NUMBER.encode()]
    if live.backend == "sqlite":
        db_file = Path(live.db_url.removeprefix("sqlite:///"))
        raw = b"".join(
            p.read_bytes()
            for p in (db_file, db_file.with_name(db_file.name + "-wal"))
            if p.exists()
        )
        assert len(raw) > 100_000  # the real file, with the demo in it
    else:  # every row of every table, as a dump of the database would hold it
        plain = make_engine(live.db_url)
        try:
            with plain.connect() as conn:
                tables = sa.inspect(conn).get_table_names()
                raw = b"".join(
                    str(row).encode()
                    for t in tables
                    for row in conn.execute(sa.text(f'SELECT "{t}"::text FROM "{t}"'))
                )
        finally:
            plain.dispose()
    found = [s for s in secrets if s in raw]
    assert found == []
    columns = {c["name"] for c in sa.inspect(live.engine).get_columns("municipalities")}
    assert "signing_key" not in columns and "signing_key_id" in columns


def test_certificates_signed_in_the_token_verify_and_its_keys_do_not_come_out(
    live: Live, kiosk: KioskSession
) -> None:
    certs = _issue_with_my_number(live, kiosk)
    trust = {k: base64.b64decode(v) for k, v in kiosk.http.get("/v1/public-keys").json().items()}
    for c in certs:
        assert verify_payload(base64.b64decode(str(c["payload_b64"])), trust).valid
    keys = KeyStore(softhsm.settings(live.state))
    try:
        with Session(live.engine) as db:
            for muni in db.scalars(select(models.Municipality)):
                key = keys.signing_key_object(muni.signing_key_id)
                with pytest.raises(AttributeSensitive):
                    key[Attribute.VALUE]
                assert key[Attribute.EXTRACTABLE] is False and key[Attribute.SENSITIVE] is True
                assert key[Attribute.NEVER_EXTRACTABLE] is True  # made in the token
    finally:
        keys.close()


def test_an_engine_without_the_token_writes_no_clear_text(live: Live) -> None:
    plain = make_engine(live.db_url)
    try:
        with session_factory(plain)() as db:
            resident = db.scalars(select(models.Resident.id)).first()
            assert resident is not None
            with pytest.raises(sa.exc.StatementError, match="no key store"):
                db.execute(
                    sa.update(models.Resident)
                    .where(models.Resident.id == resident)
                    .values(my_number="999999999999")
                )
            db.rollback()
    finally:
        plain.dispose()


def _old_database(tmp_path: Path) -> tuple[sa.Engine, bytes, str]:
    """A database as the center kept it before 0004: a raw seed and a My Number in clear."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0003")
    key = ECC.generate(curve="Ed25519")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO municipalities (code, name, mayor_title, mayor_name, seal_png, "
                "signing_key, public_key, opens, closes) VALUES "
                "('999100', 'x', 'x', 'x', x'00', :seed, :pub, '06:30', '23:00')"
            ),
            {"seed": key.seed, "pub": key.public_key().export_key(format="raw")},
        )
        conn.execute(
            sa.text(
                "INSERT INTO residents (uid, municipality_code, name, kana, birth_date, sex, "
                "resident_since, address, my_number, registered, moved_out, move_out_filed, "
                "support_measures, deceased, gaiji_pending, data_as_of) VALUES ('u1', '999100', "
                "'n', 'k', '1980-01-01', '男', '2000-01-01', 'a', '314159265358', 1, 0, 0, 0, 0, "
                "0, '2026-01-01')"
            )
        )
    return engine, key.seed, "314159265358"


def test_migration_moves_existing_keys_into_the_token_and_seals(tmp_path: Path) -> None:
    engine, seed, my_number = _old_database(tmp_path)
    keys = KeyStore(softhsm.ensure(tmp_path / "state"))
    keys.ensure_data_keys()
    try:
        migrate(attach(engine, keys))
        with session_factory(engine)() as db:
            muni = db.get(models.Municipality, "999100")
            assert muni is not None
            signature = keys.sign(muni.signing_key_id, b"message")
            eddsa.new(eddsa.import_public_key(muni.public_key), "rfc8032").verify(
                b"message", signature
            )  # the same key, now signing inside the token
            with pytest.raises(AttributeSensitive):
                keys.signing_key_object(muni.signing_key_id)[Attribute.VALUE]
            found = db.scalar(
                select(models.Resident).where(
                    models.Resident.my_number_index == keys.index(my_number)
                )
            )
            assert found is not None and found.my_number == my_number
        engine.dispose()
        raw = (tmp_path / "old.db").read_bytes()
        assert seed not in raw and my_number.encode() not in raw
    finally:
        keys.close()


def test_migration_refuses_without_the_token(tmp_path: Path) -> None:
    engine, _, _ = _old_database(tmp_path)
    with pytest.raises(RuntimeError, match="PKCS#11 token"):
        migrate(engine)
    engine.dispose()
