"""witnesses: each organisation's witness, the cosignatures kept (append-only) and how submissions go; a trail
alarm may name the witness that refused a checkpoint

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.migrations.append_only import drop_append_only, make_append_only

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.add_column('trail_alarm', sa.Column('witness', text(), nullable=True))
    op.create_table('org_witness',
    sa.Column('org_id', text(), nullable=False),
    sa.Column('url', text(), nullable=False),
    sa.Column('key', text(), nullable=False),
    sa.Column('registered_at', text(), nullable=False),
    sa.PrimaryKeyConstraint('org_id')
    )
    op.create_table('cosignature',
    sa.Column('project_id', text(), nullable=False),
    sa.Column('tree_size', sa.Integer(), nullable=False),
    sa.Column('org_id', text(), nullable=False),
    sa.Column('key_name', text(), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('time', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'tree_size', 'org_id')
    )
    make_append_only("cosignature")
    op.create_table('witness_status',
    sa.Column('project_id', text(), nullable=False),
    sa.Column('org_id', text(), nullable=False),
    sa.Column('cosigned_size', sa.Integer(), nullable=False),
    sa.Column('tried_size', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('failing_since', text(), nullable=True),
    sa.Column('updated_at', text(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'org_id')
    )


def downgrade() -> None:
    op.drop_table('witness_status')
    drop_append_only("cosignature")
    op.drop_table('cosignature')
    op.drop_table('org_witness')
    with op.batch_alter_table('trail_alarm') as batch:
        batch.drop_column('witness')
