"""why an item's sentiment and themes are what they are

items.sentiment_reason holds the words or cue that decided the sentiment ('complaint: "never replied"',
'"great" but "keeps crashing"'), and items.theme_matches the words each theme matched
({"bugs": "keeps crashing"}), shown in the Slack message and on the dashboard. Rows scored before
this revision have neither (NULL): they show the label alone, as before.

Revision ID: 20261206_0012
Revises: 20261205_0011
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '20261206_0012'
down_revision = '20261205_0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentiment_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('theme_matches', sa.JSON().with_variant(
            postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('theme_matches')
        batch_op.drop_column('sentiment_reason')
