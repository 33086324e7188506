"""index claim and resolve times

Revision ID: 20261122_0004
Revises: 20261122_0003
Create Date: 2026-11-22 21:25:54.105785
"""

from __future__ import annotations

from alembic import op

revision = '20261122_0004'
down_revision = '20261122_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_claimed_at', ['claimed_at'], unique=False)
        batch_op.create_index('ix_follow_ups_resolved_at', ['resolved_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_resolved_at')
        batch_op.drop_index('ix_follow_ups_claimed_at')

