"""item source version

items.source_version: the sender's version of the stored item (its updated time, then a sequence or
stage), so an older or replayed event never overwrites a newer one. Existing rows keep NULL: their
versions are unknown, so the next event for them is applied, as before.

Revision ID: 20261205_0008
Revises: 20261122_0007
Create Date: 2026-12-05 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261205_0008'
down_revision = '20261122_0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # add_column without batch mode: SQLite's ALTER TABLE ADD COLUMN is enough for a nullable column,
    # and recreating `items` would be slow on a big table.
    op.add_column('items', sa.Column('source_version', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('source_version')
