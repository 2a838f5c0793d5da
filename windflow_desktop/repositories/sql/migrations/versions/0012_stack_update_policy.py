"""stack update policy: notify / auto / ignore when an image it runs has an update, and
who chose it (an automatic update acts as that person)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No foreign key (SQLite would copy the table): a user who is gone is said so when
    # an automatic update would act as them.
    with op.batch_alter_table('stacks', recreate='never') as batch:
        batch.add_column(sa.Column('update_policy', sa.String(32), nullable=False,
                                   server_default='notify'))
        batch.add_column(sa.Column('update_policy_by', sa.Uuid(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN, never a copy of the table (it would cascade to the
    # revisions and deployments).
    with op.batch_alter_table('stacks', recreate='never') as batch:
        batch.drop_column('update_policy_by')
        batch.drop_column('update_policy')
