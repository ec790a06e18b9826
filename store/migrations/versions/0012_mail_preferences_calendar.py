"""mail preferences (immediate or a daily digest, a timezone), the digests made, and calendar feeds

Revision ID: 0012
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mail', text(), nullable=False, server_default='immediate'))
        batch_op.add_column(sa.Column('timezone', text(), nullable=False, server_default='UTC'))
    op.create_table('digest',
    sa.Column('user_id', text(), nullable=False),
    sa.Column('local_date', text(), nullable=False),
    sa.Column('at', text(), nullable=False),
    sa.Column('tasks', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'local_date')
    )
    op.create_table('calendar_feed',
    sa.Column('user_id', text(), nullable=False),
    sa.Column('secret_hash', text(), nullable=False),
    sa.Column('created_at', text(), nullable=False),
    sa.PrimaryKeyConstraint('user_id'),
    sa.UniqueConstraint('secret_hash')
    )


def downgrade() -> None:
    op.drop_table('calendar_feed')
    op.drop_table('digest')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('mail')
