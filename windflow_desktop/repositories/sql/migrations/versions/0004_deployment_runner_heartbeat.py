"""deployment runner and heartbeat: which process runs a deployment, and when it last said so

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deployments') as batch:
        batch.add_column(sa.Column('runner', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN, never a copy of the table: dropping the old table would
    # cascade to the deployments' logs and stages (foreign keys are on).
    with op.batch_alter_table('deployments', recreate='never') as batch:
        batch.drop_column('heartbeat_at')
        batch.drop_column('runner')
