"""deployment cancel request: when someone asked a deployment that a worker runs to stop
(the worker reads it while the run goes on and stops at the next safe point)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deployments', recreate='never') as batch:
        batch.add_column(sa.Column('cancel_requested_at', sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deployments', recreate='never') as batch:
        batch.drop_column('cancel_requested_at')
