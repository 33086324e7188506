"""The status draft's voice of the customer: which themes get quoted when there are more than it shows."""

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bot.insights.status import QUOTE_THEMES, _voice_of_customer, report_window
from tests.conftest import TEST_CONFIG, make_config


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


def test_the_days_before_are_as_many_whole_days_as_the_window_counts() -> None:
    team = make_config(TEST_CONFIG).teams[0]
    now = datetime(2026, 12, 6, 23, 15, tzinfo=UTC)  # Sunday evening
    window = report_window(None, team=team, user_id="U0ANA", days=7, now=now)
    tz = ZoneInfo(team.timezone)
    # The last 7 local days run from Monday's midnight to now; "the 7 days before" are the whole week
    # before (what the weekly report counts), not the 6¾ days as far back from Monday as now is after it.
    assert window.previous_label == "the 7 days before"
    assert (window.start - window.previous_start).days == 7 and window.previous_start.astimezone(tz).hour == 0


def test_the_biggest_accounts_complaints_are_quoted_first() -> None:
    small = _row(1, "pricing", "Too expensive, honestly terrible.")
    small.sentiment_polarity = -0.9
    big = _row(2, "pricing", "Pricing went up again.")
    big.account_id, big.sentiment_polarity = 7, -0.2
    themes = _voice_of_customer([small, big], {7: ("Silverline Energy", 82_000.0)})
    assert [q.item_id for q in themes[0][1]] == [2, 1]


def test_a_comment_is_quoted_under_the_theme_it_names_first() -> None:
    row = _row(5, "pricing", "The dashboard keeps crashing when we filter. Too expensive for what it does.")
    row.themes, row.theme_matches = ["pricing", "bugs"], {"pricing": "expensive", "bugs": "crashing"}
    assert [theme for theme, _ in _voice_of_customer([row], {})] == ["bugs"]
