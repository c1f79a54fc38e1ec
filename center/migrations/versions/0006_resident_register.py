"""resident register: stable ids, 異動 history with 届出日

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:40:00

Residents get the municipality's own stable key (``resident_code``: the 住民票コード or the
city's key), the 届出日 of their 転入届 and a 旧氏; ``resident_events`` keeps the register's
history. Residents from before get their ``uid`` as code (unique, never reused) and their
住所を定めた年月日 as 届出日, the best this database knows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from center.dbtypes import UTCDateTime

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("resident_code", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("move_in_filed", sa.Date(), nullable=True))
        batch.add_column(sa.Column("former_surname", sa.Text(), nullable=True))
    residents = sa.table(
        "residents",
        sa.column("uid", sa.String),
        sa.column("resident_code", sa.String),
        sa.column("moved_in", sa.Date),
        sa.column("move_in_filed", sa.Date),
    )
    op.execute(
        residents.update().values(resident_code=residents.c.uid, move_in_filed=residents.c.moved_in)
    )
    with op.batch_alter_table("residents") as batch:
        batch.alter_column("resident_code", existing_type=sa.String(length=20), nullable=False)
        batch.create_unique_constraint(
            "uq_residents_municipality_code_resident_code", ["municipality_code", "resident_code"]
        )
    op.create_table(
        "resident_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_resident_events_resident_id", "resident_events", ["resident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_resident_events_resident_id", table_name="resident_events")
    op.drop_table("resident_events")
    with op.batch_alter_table("residents") as batch:
        batch.drop_constraint("uq_residents_municipality_code_resident_code", type_="unique")
        batch.drop_column("former_surname")
        batch.drop_column("move_in_filed")
        batch.drop_column("resident_code")
