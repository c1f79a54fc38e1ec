"""keys behind PKCS#11, personal data encrypted at rest

Municipal signing keys leave the database for the PKCS#11 token: ``signing_key`` (the raw
Ed25519 seed) is replaced by ``signing_key_id``. The My Number and the residence card number
move to sealed columns (AES-GCM in the token) with a keyed index for My Number lookups, and
certificate contents are sealed in place.

A database that already holds data is converted once: each existing seed is imported into
the token as a sensitive, non-extractable key, every value is sealed, and the clear columns
are dropped, all in the migration's one transaction. That needs the key store on the engine
(``kofu center`` and ``kofu center admin`` attach it); without one the migration refuses.
The seeds were readable in the old database file: a municipality that cannot rule out a
copy of it should also rotate its key (create a new one and publish the new public key).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 23:00:00

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = (
    "migration 0004 moves signing keys into the PKCS#11 token and seals personal data: run "
    "it through `kofu center` or `kofu center admin init` (with the same --pkcs11-* options "
    "as the center), which open the token first"
)


def _keys() -> Any:
    return getattr(op.get_bind().dialect, "kofu_keystore", None)


def _sealed(keys: Any, value: bytes | None, context: bytes) -> bytes | None:
    return None if value is None else bytes(keys.seal(bytes(value), context))


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "municipalities",
        sa.Column("signing_key_id", sa.String(length=32), nullable=False, server_default=""),
    )
    op.add_column("residents", sa.Column("my_number_sealed", sa.LargeBinary(), nullable=True))
    op.add_column(
        "residents", sa.Column("residence_card_number_sealed", sa.LargeBinary(), nullable=True)
    )
    op.add_column("residents", sa.Column("my_number_index", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_residents_my_number_index"), "residents", ["my_number_index"], unique=False
    )

    munis = bind.execute(sa.text("SELECT code, signing_key FROM municipalities")).all()
    residents = bind.execute(
        sa.text(
            "SELECT id, my_number, residence_card_number FROM residents "
            "WHERE my_number IS NOT NULL OR residence_card_number IS NOT NULL"
        )
    ).all()
    certs = bind.execute(sa.text("SELECT count(*) FROM certificates")).scalar_one()
    keys = _keys()
    if (munis or residents or certs) and keys is None:
        raise RuntimeError(REFUSAL)
    for code, seed in munis:
        key_id = keys.import_signing_key(bytes(seed))
        bind.execute(
            sa.text("UPDATE municipalities SET signing_key_id = :k WHERE code = :c"),
            {"k": key_id, "c": code},
        )
    for rid, my_number, card in residents:
        bind.execute(
            sa.text(
                "UPDATE residents SET my_number_sealed = :m, my_number_index = :i, "
                "residence_card_number_sealed = :r WHERE id = :id"
            ),
            {
                "m": keys.seal(my_number.encode(), b"residents.my_number") if my_number else None,
                "i": keys.index(my_number) if my_number else None,
                "r": keys.seal(card.encode(), b"residents.residence_card_number") if card else None,
                "id": rid,
            },
        )
    if certs:
        rows = bind.execute(
            sa.text("SELECT number, document_json, payload FROM certificates")
        ).all()
        for number, doc, payload in rows:
            bind.execute(
                sa.text(
                    "UPDATE certificates SET document_json = :d, payload = :p WHERE number = :n"
                ),
                {
                    "d": _sealed(keys, doc, b"certificates.document_json"),
                    "p": _sealed(keys, payload, b"certificates.payload"),
                    "n": number,
                },
            )

    op.drop_column("municipalities", "signing_key")
    op.drop_column("residents", "my_number")
    op.drop_column("residents", "residence_card_number")
    if bind.dialect.name != "sqlite":  # SQLite cannot drop a default; the ORM always sets it
        op.alter_column("municipalities", "signing_key_id", server_default=None)


def downgrade() -> None:
    raise RuntimeError("the signing keys cannot leave the token: 0004 is not reversible")
