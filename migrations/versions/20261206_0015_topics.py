"""topics discovered each week

topic_runs (one per ISO week and scope: a team, or "*" for all teams), their topics (label, count,
the previous week's count, the most representative item) and topic_members (item → topic, with how
close the comment is to the topic). `cxloop forget` deletes a customer's membership rows.

Revision ID: 20261206_0015
Revises: 20261206_0014
Create Date: 2026-12-06 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '20261206_0015'
down_revision = '20261206_0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'topic_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('week', sa.String(length=10), nullable=False),
        sa.Column('scope', sa.String(length=64), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('analysed', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_runs')),
        sa.UniqueConstraint('week', 'scope', name=op.f('uq_topic_runs_week_scope')),
    )
    op.create_table(
        'topics',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('terms', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('previous_count', sa.Integer(), nullable=False),
        sa.Column('quote_item_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['topic_runs.id'], name=op.f('fk_topics_run_id_topic_runs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['quote_item_id'], ['items.id'], name=op.f('fk_topics_quote_item_id_items'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_topics')),
    )
    op.create_index(op.f('ix_topics_run_id'), 'topics', ['run_id'], unique=False)
    op.create_index(op.f('ix_topics_quote_item_id'), 'topics', ['quote_item_id'], unique=False)
    op.create_table(
        'topic_members',
        sa.Column('topic_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('closeness', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_topic_members_topic_id_topics'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_topic_members_item_id_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('topic_id', 'item_id', name=op.f('pk_topic_members')),
    )
    op.create_index(op.f('ix_topic_members_item_id'), 'topic_members', ['item_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_topic_members_item_id'), table_name='topic_members')
    op.drop_table('topic_members')
    op.drop_index(op.f('ix_topics_quote_item_id'), table_name='topics')
    op.drop_index(op.f('ix_topics_run_id'), table_name='topics')
    op.drop_table('topics')
    op.drop_table('topic_runs')
