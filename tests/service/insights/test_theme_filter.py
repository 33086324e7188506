"""The dashboard's theme filter finds a theme by its whole name in the stored list, on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.db import session_scope
from bot.insights.dashboard import _has_theme
from models import Item

RECEIVED = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)


def test_a_theme_filter_matches_whole_theme_names_only(session_factory) -> None:
    lists = [["pricing"], ["pricing_tier"], ["billing", "pricing"], [], ["Pricing"], ["prix café"], ["repricing"]]
    with session_scope(session_factory) as session:
        for n, themes in enumerate(lists):
            session.add(Item(source="generic", external_id=f"theme-{n}", kind="nps", score=3, category="detractor",
                             themes=themes, received_at=RECEIVED, updated_at=RECEIVED, team="success",
                             channel="C0SUCCESS", content_hash="x"))
    with session_scope(session_factory) as session:
        def matching(theme: str) -> list[str]:
            return sorted(session.scalars(select(Item.external_id).where(_has_theme(session, theme))))
        assert matching("pricing") == ["theme-0", "theme-2"]
        assert matching("prix café") == ["theme-5"]  # stored escaped as JSON: found all the same
        assert matching("tier") == []
        assert session.scalar(select(func.count()).select_from(Item)) == len(lists)
