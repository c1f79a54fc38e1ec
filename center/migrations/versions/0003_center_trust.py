"""center trust boundary (print results per copy, clerks, session lifetime, CRL state)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 23:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as t:
        t.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("card_issuer", sa.Text(), nullable=True))
        t.add_column(sa.Column("card_serial", sa.String(length=64), nullable=True))
    with op.batch_alter_table("certificates") as t:
        t.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(
            sa.Column("content_sha256", sa.String(length=64), nullable=False, server_default="")
        )
        t.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "clerks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "clerk_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("clerk_id", sa.String(length=40), nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["clerk_id"], ["clerks.id"]),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_clerk_sessions_clerk_id", "clerk_sessions", ["clerk_id"])
    op.create_table(
        "crl_numbers",
        sa.Column("issuer_sha256", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("issuer_sha256"),
    )


def downgrade() -> None:
    op.drop_table("crl_numbers")
    op.drop_index("ix_clerk_sessions_clerk_id", table_name="clerk_sessions")
    op.drop_table("clerk_sessions")
    op.drop_table("clerks")
    with op.batch_alter_table("certificates") as t:
        t.drop_column("purged_at")
        t.drop_column("content_sha256")
        t.drop_column("failed_at")
    with op.batch_alter_table("sessions") as t:
        t.drop_column("card_serial")
        t.drop_column("card_issuer")
        t.drop_column("created_at")
