"""index person_records.name_simplified (name term frequencies of every link job)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:16:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_records_name_simplified"), ["name_simplified"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("person_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_records_name_simplified"))
