"""segments: agent, role, customer since, imported history

items.agent is who handled the conversation when it was rated (Zendesk's assignee at the time of the
rating, Intercom's rated teammate, the generic payload's `agent`); items.role and items.customer_since
(tenure start) sit beside the existing plan and segment, which get indexes of their own for the cuts of
bot/insights/segments.py. items.imported_at marks closed history loaded by `cxloop import responses`
(never posted, never queued). Rows that existed before keep NULL in all of them.

Revision ID: 20261206_0017
Revises: 20261206_0015
Create Date: 2026-12-06 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261206_0017'
down_revision = '20261206_0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('role', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('customer_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_items_agent_received_at', ['agent', 'received_at'], unique=False)
        batch_op.create_index('ix_items_plan_received_at', ['plan', 'received_at'], unique=False)
        batch_op.create_index('ix_items_segment_received_at', ['segment', 'received_at'], unique=False)
        batch_op.create_index('ix_items_role_received_at', ['role', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_role_received_at')
        batch_op.drop_index('ix_items_segment_received_at')
        batch_op.drop_index('ix_items_plan_received_at')
        batch_op.drop_index('ix_items_agent_received_at')
        batch_op.drop_column('imported_at')
        batch_op.drop_column('customer_since')
        batch_op.drop_column('role')
        batch_op.drop_column('agent')
