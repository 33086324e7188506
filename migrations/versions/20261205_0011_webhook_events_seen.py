"""provider events already applied

webhook_events_seen holds (source, event id) of each provider event stored, so that the same event
delivered again is answered without calling the provider's API, while an edit (a new event about the
same response) is fetched and applied.

Revision ID: 20261205_0011
Revises: 20261205_0010
Create Date: 2026-12-05 23:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261205_0011'
down_revision = '20261205_0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'webhook_events_seen',
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source', 'event_id', name=op.f('pk_webhook_events_seen')),
    )
    op.create_index(op.f('ix_webhook_events_seen_created_at'), 'webhook_events_seen', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_webhook_events_seen_created_at'), table_name='webhook_events_seen')
    op.drop_table('webhook_events_seen')
