"""message quotes

message_quotes records which items each posted message (a POST_MESSAGE outbox row: digest, DM) or
each user's App Home shows, so `cxloop forget` re-renders exactly those messages.

Revision ID: 20261205_0009
Revises: 20261205_0008
Create Date: 2026-12-05 17:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '20261205_0009'
down_revision = '20261205_0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'message_quotes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('home_user', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('(outbox_id IS NULL) <> (home_user IS NULL)', name=op.f('ck_message_quotes_one_target')),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_message_quotes_item_id_items'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_message_quotes_outbox_id_outbox'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_quotes')),
    )
    op.create_index(op.f('ix_message_quotes_item_id'), 'message_quotes', ['item_id'], unique=False)
    op.create_index(op.f('ix_message_quotes_outbox_id'), 'message_quotes', ['outbox_id'], unique=False)
    op.create_index('ix_message_quotes_home_user', 'message_quotes', ['home_user'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_message_quotes_home_user', table_name='message_quotes')
    op.drop_index(op.f('ix_message_quotes_outbox_id'), table_name='message_quotes')
    op.drop_index(op.f('ix_message_quotes_item_id'), table_name='message_quotes')
    op.drop_table('message_quotes')
