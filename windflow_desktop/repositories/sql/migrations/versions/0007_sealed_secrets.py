"""sealed secrets: a server's secrets (it has no OS keyring) encrypted in the database,
each row naming the key it is sealed under

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sealed_secrets',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('ciphertext', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sealed_secrets'))
    )


def downgrade() -> None:
    op.drop_table('sealed_secrets')
