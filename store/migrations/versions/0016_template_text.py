"""template texts: each template a project's first event names by digest, kept once (docs/events.md)

Revision ID: 0016
Revises: 0015
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.migrations.append_only import drop_append_only, make_append_only

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('template_text',
    sa.Column('digest', text(), nullable=False),
    sa.Column('template_id', text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', text(), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    make_append_only('template_text')


def downgrade() -> None:
    drop_append_only('template_text')
    op.drop_table('template_text')
