"""deployment pull_images: an update pulls every image again, not only the missing ones

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deployments') as batch:
        batch.add_column(sa.Column('pull_images', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN, never a copy of the table (it would cascade to the logs).
    with op.batch_alter_table('deployments', recreate='never') as batch:
        batch.drop_column('pull_images')
