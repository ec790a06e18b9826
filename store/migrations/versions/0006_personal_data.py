"""personal data: data keys (the only deletable rows), the read log (append-only), the project's
personal-data state, sealed documents

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.migrations.append_only import drop_append_only, make_append_only

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_key',
    sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kek_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('wrapped', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'subject')
    )
    op.create_table('personal_data_read',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('org', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_personal_data_read_project_id'), 'personal_data_read', ['project_id'], unique=False)
    make_append_only("personal_data_read")
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_data', sa.Text(), nullable=True))
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_for', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_column('sealed_for')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('personal_data')
    drop_append_only("personal_data_read")
    op.drop_index(op.f('ix_personal_data_read_project_id'), table_name='personal_data_read')
    op.drop_table('personal_data_read')
    op.drop_table('data_key')
