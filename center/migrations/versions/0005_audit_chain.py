"""hash-chained audit log, kiosk status, certificate retention

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 23:00:00

Existing audit lines are chained in id order, so a database from before keeps its history
and verifies; an inactive kiosk becomes ``suspended``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from center.audit import GENESIS, HEAD_ID, entry_hash
from center.dbtypes import UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kiosks") as batch:
        batch.add_column(sa.Column("status", sa.String(length=10), nullable=True))
    kiosks = sa.table("kiosks", sa.column("active", sa.Boolean), sa.column("status", sa.String))
    op.execute(
        kiosks.update().values(
            status=sa.case((kiosks.c.active == sa.true(), "active"), else_="suspended")
        )
    )
    with op.batch_alter_table("kiosks") as batch:
        batch.alter_column("status", existing_type=sa.String(length=10), nullable=False)
        batch.drop_column("active")

    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    audit = sa.table(
        "audit",
        sa.column("id", sa.Integer),
        sa.column("seq", sa.Integer),
        sa.column("at", UTCDateTime()),
        sa.column("kiosk_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("certificate_number", sa.String),
        sa.column("detail", sa.Text),
        sa.column("prev_hash", sa.String),
        sa.column("entry_hash", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(audit).order_by(audit.c.id)).all()
    prev = GENESIS
    for seq, r in enumerate(rows, start=1):
        digest = entry_hash(seq, r.at, r.kiosk_id, r.action, r.certificate_number, r.detail, prev)
        bind.execute(
            audit.update()
            .where(audit.c.id == r.id)
            .values(seq=seq, prev_hash=prev, entry_hash=digest)
        )
        prev = digest
    with op.batch_alter_table("audit") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_audit_seq", ["seq"])

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": HEAD_ID, "seq": len(rows), "entry_hash": prev}])


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit") as batch:
        batch.drop_constraint("uq_audit_seq", type_="unique")
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    with op.batch_alter_table("kiosks") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=True))
    kiosks = sa.table("kiosks", sa.column("active", sa.Boolean), sa.column("status", sa.String))
    op.execute(kiosks.update().values(active=kiosks.c.status == "active"))
    with op.batch_alter_table("kiosks") as batch:
        batch.alter_column("active", existing_type=sa.Boolean(), nullable=False)
        batch.drop_column("status")
