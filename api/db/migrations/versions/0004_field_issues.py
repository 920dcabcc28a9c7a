"""field_issues: stored dose rows with a field treated as missing; batches.rows_with_field_issues

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_issues",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=True),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("field", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("field_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_issues_batch_id"), ["batch_id"], unique=False)
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rows_with_field_issues", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_column("rows_with_field_issues")
    with op.batch_alter_table("field_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_issues_batch_id"))
    op.drop_table("field_issues")
