"""documents and signed checkpoints (append-only)

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

APPEND_ONLY_PG = """
CREATE FUNCTION checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'checkpoint is append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER checkpoint_append_only BEFORE UPDATE OR DELETE ON checkpoint
  FOR EACH ROW EXECUTE FUNCTION checkpoint_append_only();
CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON checkpoint
  FOR EACH STATEMENT EXECUTE FUNCTION checkpoint_append_only();
"""
APPEND_ONLY_SQLITE = [
    """CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON checkpoint
       BEGIN SELECT RAISE(ABORT, 'checkpoint is append-only: UPDATE is not allowed'); END""",
    """CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON checkpoint
       BEGIN SELECT RAISE(ABORT, 'checkpoint is append-only: DELETE is not allowed'); END""",
]


def upgrade() -> None:
    op.create_table('document',
    sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'sha256')
    )
    op.create_table('checkpoint',
    sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tree_size', sa.Integer(), nullable=False),
    sa.Column('root_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'tree_size')
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_PG)
    else:
        for statement in APPEND_ONLY_SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS checkpoint_no_truncate ON checkpoint")
        op.execute("DROP TRIGGER IF EXISTS checkpoint_append_only ON checkpoint")
        op.execute("DROP FUNCTION IF EXISTS checkpoint_append_only()")
    op.drop_table('checkpoint')
    op.drop_table('document')
