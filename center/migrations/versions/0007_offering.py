"""offering per municipality and certificate type

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 23:40:00

``fees`` becomes ``offerings``: besides the two fees, whether the type is offered, its hours
(from the municipality's), weekdays only, the 住民票 items allowed at the kiosk (all, as
before), the copies limit (10, as before) and how many fiscal years. Maintenance windows get
the notice shown to citizens.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_OPTIONS = ["honseki", "household", "my_number", "nationality", "residence_card",
               "residence_status"]  # fmt: skip


def upgrade() -> None:
    op.rename_table("fees", "offerings")
    with op.batch_alter_table("offerings") as batch:
        batch.add_column(sa.Column("offered", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))  # fmt: skip
        batch.add_column(sa.Column("opens", sa.String(length=5), nullable=False,
                                   server_default="06:30"))  # fmt: skip
        batch.add_column(sa.Column("closes", sa.String(length=5), nullable=False,
                                   server_default="23:00"))  # fmt: skip
        batch.add_column(sa.Column("weekdays_only", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))  # fmt: skip
        batch.add_column(sa.Column("kiosk_options", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("max_copies", sa.Integer(), nullable=False,
                                   server_default="10"))  # fmt: skip
        batch.add_column(sa.Column("fiscal_years", sa.Integer(), nullable=True))
    offerings = sa.table(
        "offerings",
        sa.column("municipality_code", sa.String),
        sa.column("cert_type", sa.String),
        sa.column("opens", sa.String),
        sa.column("closes", sa.String),
        sa.column("kiosk_options", sa.JSON),
    )
    munis = sa.table(
        "municipalities", sa.column("code", sa.String), sa.column("opens", sa.String),
        sa.column("closes", sa.String),
    )  # fmt: skip
    bind = op.get_bind()
    for m in bind.execute(sa.select(munis)).all():  # each type keeps its city's hours
        bind.execute(
            offerings.update()
            .where(offerings.c.municipality_code == m.code)
            .values(opens=m.opens, closes=m.closes)
        )
    for row in bind.execute(sa.select(offerings)).all():
        bind.execute(
            offerings.update()
            .where(offerings.c.municipality_code == row.municipality_code,
                   offerings.c.cert_type == row.cert_type)
            .values(kiosk_options=ALL_OPTIONS if row.cert_type == "juminhyo" else [])
        )  # fmt: skip
    with op.batch_alter_table("offerings") as batch:
        batch.alter_column("kiosk_options", existing_type=sa.JSON(), nullable=False)
        for name in ("offered", "opens", "closes", "weekdays_only", "max_copies"):
            batch.alter_column(name, server_default=None)
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.add_column(sa.Column("notice_ja", sa.String(length=120), nullable=False,
                                   server_default=""))  # fmt: skip
        batch.add_column(sa.Column("notice_en", sa.String(length=120), nullable=False,
                                   server_default=""))  # fmt: skip
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.alter_column("notice_ja", server_default=None)
        batch.alter_column("notice_en", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.drop_column("notice_en")
        batch.drop_column("notice_ja")
    with op.batch_alter_table("offerings") as batch:
        for name in ("fiscal_years", "max_copies", "kiosk_options", "weekdays_only", "closes",
                     "opens", "offered"):  # fmt: skip
            batch.drop_column(name)
    op.rename_table("offerings", "fees")
