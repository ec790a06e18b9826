"""trail alarms: the signer's refusals to sign a trail that does not hold (append-only)

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.migrations.append_only import drop_append_only, make_append_only

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trail_alarm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('found_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_trail_alarm_project_id'), 'trail_alarm', ['project_id'], unique=False)
    make_append_only("trail_alarm")


def downgrade() -> None:
    drop_append_only("trail_alarm")
    op.drop_index(op.f('ix_trail_alarm_project_id'), table_name='trail_alarm')
    op.drop_table('trail_alarm')
