"""The status draft's voice of the customer: which themes get quoted when there are more than it shows."""

from datetime import UTC, datetime
from types import SimpleNamespace

from bot.insights.status import QUOTE_THEMES, _voice_of_customer


def _row(n: int, theme: str, comment: str):
    return SimpleNamespace(id=n, themes=[theme], comment=comment, sentiment_label="negative", sentiment_polarity=-0.5,
                           category="detractor", kind="nps", score=1, received_at=datetime(2026, 12, 1, tzinfo=UTC),
                           account_id=None, account_name=None, customer_name=f"C{n}", customer_email=None,
                           channel=None, ts=None, subject=None, priority=None)


def test_one_customers_lost_data_is_quoted_before_themes_with_more_comments() -> None:
    rows = [_row(100 * t + n, theme, f"{theme} complaint {n}")
            for t, theme in enumerate(("integrations", "billing", "usability", "performance", "bugs", "support"))
            for n in range(4)]
    rows.append(_row(999, "data_loss", "Our whole 2024 history is gone."))
    themes = [theme for theme, _ in _voice_of_customer(rows, {})]
    assert len(themes) == QUOTE_THEMES and themes[0] == "data_loss"
