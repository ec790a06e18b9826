"""tasks held by a person (task.holder), and substitutes during an absence

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder', text(), nullable=True))
        batch_op.create_index('ix_task_holder', ['holder'], unique=False)
    op.create_table('substitute',
    sa.Column('user_id', text(), nullable=False),
    sa.Column('substitute_id', text(), nullable=False),
    sa.Column('starts_on', text(), nullable=False),
    sa.Column('ends_on', text(), nullable=False),
    sa.Column('created_at', text(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_index('ix_substitute_substitute_id', 'substitute', ['substitute_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_substitute_substitute_id', table_name='substitute')
    op.drop_table('substitute')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_holder')
        batch_op.drop_column('holder')
