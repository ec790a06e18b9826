"""trail checks: each project's chain as last verified, with its Merkle frontier (docs/verification.md)

Revision ID: 0015
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('trail_check',
    sa.Column('project_id', text(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('head', text(), nullable=False),
    sa.Column('frontier', sa.Text(), nullable=False),
    sa.Column('checkpoint_size', sa.Integer(), nullable=True),
    sa.Column('checkpoint_frontier', sa.Text(), nullable=True),
    sa.Column('full_size', sa.Integer(), nullable=False),
    sa.Column('full_at', text(), nullable=False),
    sa.Column('checked_at', text(), nullable=False),
    sa.PrimaryKeyConstraint('project_id')
    )


def downgrade() -> None:
    op.drop_table('trail_check')
