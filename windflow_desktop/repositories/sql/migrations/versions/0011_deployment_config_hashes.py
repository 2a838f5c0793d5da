"""deployment config hashes and image ids: what the services' containers got from ``up``
(Compose's config-hash label and the image id), kept to see changes made by hand later

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deployments') as batch:
        batch.add_column(sa.Column('config_hashes', sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))
        batch.add_column(sa.Column('image_ids', sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN, never a copy of the table (it would cascade to the logs).
    with op.batch_alter_table('deployments', recreate='never') as batch:
        batch.drop_column('image_ids')
        batch.drop_column('config_hashes')
