"""product loop: tracker issues and the items linked to them

tracker_issues holds each issue of a configured tracker (GitHub …) that feedback was linked to, with
its state and when it shipped; issue_links links items to issues (many to one) and records whether
each customer was told. Per-delivery idempotency of tracker webhooks uses webhook_events_seen.

Revision ID: 20261206_0013
Revises: 20261206_0012
Create Date: 2026-12-06 02:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261206_0013'
down_revision = '20261206_0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'tracker_issues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tracker', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=True),
        sa.Column('url', sa.String(length=1000), nullable=True),
        sa.Column('title', sa.String(length=500), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('state_reason', sa.String(length=32), nullable=True),
        sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tracker_issues')),
        sa.UniqueConstraint('tracker', 'key', name=op.f('uq_tracker_issues_tracker_key')),
    )
    op.create_table(
        'issue_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('linked_by', sa.String(length=64), nullable=False),
        sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('notify_to', sa.String(length=32), nullable=True),
        sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('told_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('told_by', sa.String(length=32), nullable=True),
        sa.Column('skipped_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['issue_id'], ['tracker_issues.id'],
                                name=op.f('fk_issue_links_issue_id_tracker_issues'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_issue_links_item_id_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_links')),
        sa.UniqueConstraint('issue_id', 'item_id', name=op.f('uq_issue_links_issue_id_item_id')),
    )
    op.create_index(op.f('ix_issue_links_issue_id'), 'issue_links', ['issue_id'], unique=False)
    op.create_index(op.f('ix_issue_links_item_id'), 'issue_links', ['item_id'], unique=False)
    op.create_index('ix_issue_links_notify_to', 'issue_links', ['notify_to'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_issue_links_notify_to', table_name='issue_links')
    op.drop_index(op.f('ix_issue_links_item_id'), table_name='issue_links')
    op.drop_index(op.f('ix_issue_links_issue_id'), table_name='issue_links')
    op.drop_table('issue_links')
    op.drop_table('tracker_issues')
