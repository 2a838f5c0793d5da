"""deployment attempt: the fencing token a worker's claim bumps (a stale worker's writes
are refused)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deployments') as batch:
        batch.add_column(sa.Column('attempt', sa.Integer(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN, never a copy of the table (it would cascade to the logs).
    with op.batch_alter_table('deployments', recreate='never') as batch:
        batch.drop_column('attempt')
