"""stack host access: the explicit "this stack needs host access" flag

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stacks') as batch:
        batch.add_column(sa.Column('host_access', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN, never a copy of the table (foreign keys are on).
    with op.batch_alter_table('stacks', recreate='never') as batch:
        batch.drop_column('host_access')
