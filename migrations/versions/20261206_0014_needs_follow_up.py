"""follow-ups that need no follow-up

follow_ups.needs_follow_up is false for an item its route (by default: a promoter) takes out of the
unclaimed queue: it was thanked / handed off and waits for nobody. Rows that existed before keep
true, so nothing already queued leaves the queue.

Revision ID: 20261206_0014
Revises: 20261206_0013
Create Date: 2026-12-06 03:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261206_0014'
down_revision = '20261206_0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_follow_up', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_column('needs_follow_up')
