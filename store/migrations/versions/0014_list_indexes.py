"""list indexes: the project lists page on (started_at, id) and (updated_at, id), a lead's on (lead, started_at, id)

Revision ID: 0014
Revises: 0010
"""
from __future__ import annotations

from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_project_started', 'project', ['started_at', 'id'], unique=False)
    op.create_index('ix_project_updated', 'project', ['updated_at', 'id'], unique=False)
    op.create_index('ix_project_lead_started', 'project', ['lead', 'started_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_project_lead_started', table_name='project')
    op.drop_index('ix_project_updated', table_name='project')
    op.drop_index('ix_project_started', table_name='project')
