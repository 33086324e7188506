"""slack request replay guard

slack_requests_seen holds the key of each signed Slack interaction or command taken in the last minutes,
so that the same signed request replayed inside the signature window is acknowledged and not run again.

Revision ID: 20261205_0010
Revises: 20261205_0009
Create Date: 2026-12-05 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261205_0010'
down_revision = '20261205_0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'slack_requests_seen',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_slack_requests_seen')),
    )
    op.create_index(op.f('ix_slack_requests_seen_created_at'), 'slack_requests_seen', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_slack_requests_seen_created_at'), table_name='slack_requests_seen')
    op.drop_table('slack_requests_seen')
