"""The whole loop in a real browser: receive, claim, resolve, look a VIP up, read a digest, open the dashboard.

Each test clicks what a person clicks on http://127.0.0.1:3000/sandbox and checks what they would see;
every click reaches the app as a signed Slack request (the page does that, not the test).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.followups.queries import unresolved
from bot.insights.stats import nps_score
from models import Account, FollowUp, Item
from tests.browser.conftest import open_home


def local_day_bounds(day, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where a local calendar day starts and ends (DST-aware)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)

pytestmark = pytest.mark.browser


def _item_message(page, item_id: int):
    return page.locator(f'.msg[data-item="{item_id}"]')


def _newest_item_id(app) -> int:
    with app.runtime.session() as session:
        return session.scalar(select(func.max(Item.id)))


def test_receive_claim_and_resolve_in_the_browser(sandbox_app, page, shots) -> None:
    page.goto(f"{sandbox_app.url}/sandbox?as=U0ANA")
    assert page.locator("nav").get_by_text("# success").is_visible()
    shots(page, "empty-sandbox")

    page.select_option("#sample select[name=kind]", "detractor")
    page.click("#sample button")
    item_id = _newest_item_id(sandbox_app)
    with sandbox_app.runtime.session() as session:
        item = session.get(Item, item_id)
        channel, customer = item.channel, item.customer_name
    # The page opens the channel the app routed the response to, and the app's post is there.
    assert f"c={channel}" in page.url
    message = _item_message(page, item_id)
    message.wait_for()
    assert "Detractor" in message.inner_text() and customer in message.inner_text()
    shots(page, "response-received")

    message.get_by_role("button", name="Claim").click()
    message = _item_message(page, item_id)
    assert "Claimed by" in message.inner_text() and "Ana Lima" in message.inner_text()
    shots(page, "claimed")

    message.get_by_role("button", name="Resolve").click()
    modal = page.locator("form.modal")
    modal.wait_for()
    shots(page, "resolve-modal")
    modal.locator("select").select_option("fixed")
    modal.locator("textarea").fill("Called them; the double charge is refunded.")
    modal.get_by_role("button", name="Resolve").click()
    assert page.locator("form.modal").count() == 0
    message = _item_message(page, item_id)
    assert "Resolved by" in message.inner_text() and "Fixed" in message.inner_text()
    # The thread logs the claim and the resolution, note included.
    message.locator("details.thread summary").click()
    thread = message.locator("details.thread").inner_text()
    assert "claimed this" in thread and "refunded" in thread
    shots(page, "resolved")
    with sandbox_app.runtime.session() as session:
        follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        assert (follow_up.status, follow_up.resolved_by, follow_up.outcome) == ("resolved", "U0ANA", "fixed")


def test_vip_lookup_digest_and_home_on_the_demo(demo_app, page, shots) -> None:
    page.goto(f"{demo_app.url}/sandbox?as=U0BEN&c=C0SUCCESS")
    # The demo's recent history is in the channel, rendered from the database.
    assert page.locator(".msg[data-item]").count() > 10
    shots(page, "demo-channel")

    page.fill(".composer input[name=text]", "/vip acme")
    page.click(".composer button")
    card = page.locator(".eph").last
    with demo_app.runtime.session() as session:
        acme = session.scalar(select(Account).where(Account.name == "Acme Corp"))
        renewal = acme.renewal_on
    text = card.inner_text()
    assert "Acme Corp" in text and "Check-in cadence" in text and renewal.strftime("%d %b %Y") in text
    assert card.get_by_role("button", name="Log touch").is_visible()
    shots(page, "vip-card")

    # "Run digest now" sends yesterday's digest, the team's local yesterday, like `cxloop digest`. The
    # demo is sparse at weekends: a day without activity gets the one-line quiet digest instead.
    team_day = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")).date() - timedelta(days=1)
    with demo_app.runtime.session() as session:
        start, end = local_day_bounds(team_day, "America/New_York")
        activity = session.scalar(select(func.count()).select_from(Item).where(
            Item.team == "success", Item.received_at >= start, Item.received_at < end))
        activity += session.scalar(select(func.count()).select_from(FollowUp).join(Item).where(
            Item.team == "success", ((FollowUp.claimed_at >= start) & (FollowUp.claimed_at < end))
            | ((FollowUp.resolved_at >= start) & (FollowUp.resolved_at < end))))
    page.select_option("#digest select[name=team]", "success")
    page.click("#digest button")
    digest = page.locator(".msg").filter(has_text="Daily digest" if activity else "Quiet day for success").last
    digest.wait_for()
    if activity:
        assert f"{team_day:%a %d %b %Y}" in digest.inner_text()
    shots(page, "digest")

    open_home(page)
    home = page.locator("section.home")
    home.wait_for()
    assert "Your day in cxloop" in home.inner_text()
    with demo_app.runtime.session() as session:
        claims = session.scalar(select(func.count()).select_from(FollowUp).where(
            FollowUp.status == "claimed", FollowUp.claimed_by == "U0BEN"))
    shown = " ".join(home.inner_text().split())
    assert f"Your open claims ({claims}), most urgent first" in shown
    shots(page, "app-home")


def test_dashboard_shows_the_seeded_numbers(demo_app, page, shots) -> None:
    with demo_app.runtime.session() as session:
        first = session.scalar(select(func.min(Item.received_at)))
        last = session.scalar(select(func.max(Item.received_at)))
        open_total = session.scalar(select(func.count()).select_from(FollowUp).where(*unresolved()))
        rows = session.execute(select(Item.kind, Item.category, Item.received_at)).all()
    start, end = first.date(), last.date()
    # Expected weekly NPS and volume, computed here from the rows (ISO weeks, UTC: the demo sets no timezone).
    weeks: dict[tuple[int, int], list] = {}
    for kind, category, received_at in rows:
        week = weeks.setdefault(received_at.isocalendar()[:2], [0, 0, 0, 0])
        week[3] += 1
        if kind == "nps":
            week[0] += 1
            week[1] += category == "promoter"
            week[2] += category == "detractor"
    expected = [(nps_score(p, d, n), volume) for _, (n, p, d, volume) in sorted(weeks.items())]

    page.goto(f"{demo_app.url}/sandbox")
    link = page.get_by_role("link", name=re.compile("Dashboard"))
    page.goto(f"{demo_app.url}{link.get_attribute('href')}&from={start}&to={end}")
    chart = page.locator('svg[data-chart="nps-trend"]')
    chart.wait_for()
    label = chart.get_attribute("aria-label")
    shown = [(int(nps.replace("−", "-").replace("+", "")), int(volume))
             for nps, volume in re.findall(r"NPS ([−+\-]?\d+), (\d+) items", label)]
    assert shown == expected, label
    table = page.locator("table#open-items")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == min(open_total, 500)
    assert page.locator('[data-metric="open-items"]').get_attribute("data-value") == str(open_total)
    shots(page, "dashboard", full_page=True)

    # Click a theme's count: the comments behind it, as many as it counts, each about that theme.
    theme_link = page.locator("table#by-theme tbody a").first
    count = int(theme_link.get_attribute("data-count"))
    theme = re.search(r"theme=(\w+)", theme_link.get_attribute("href"))[1]
    theme_link.click()
    page.locator("table#comments").wait_for()
    assert page.url.split("?")[0].endswith("/dashboard/comments")
    assert page.locator("#showing").first.inner_text().startswith(f"Showing {1 if count else 0}–"), count
    assert page.locator("#showing").first.get_attribute("data-total") == str(count)
    rows = page.locator("table#comments tbody tr")
    assert rows.count() == min(count, 50)
    assert all(theme.replace("_", " ") in text for text in rows.all_inner_texts()), theme
    assert page.locator(f'#applied-filters [data-filter="theme"][data-value="{theme}"]').count() == 1
    shots(page, "dashboard-comments", full_page=True)


@pytest.fixture
def live_page(browser):
    """A page with "Live" on, as a person leaves it: it reloads every 3 s."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_live_reloads_keep_the_open_thread_and_the_modal(sandbox_app, live_page, shots) -> None:
    page = live_page
    page.goto(f"{sandbox_app.url}/sandbox?as=U0ANA")
    page.select_option("#sample select[name=kind]", "detractor")
    page.click("#sample button")
    item_id = _newest_item_id(sandbox_app)
    _item_message(page, item_id).get_by_role("button", name="Claim").click()
    _item_message(page, item_id).locator("details.thread summary").click()
    assert _item_message(page, item_id).locator("details.thread").get_attribute("open") is not None
    # Live reloads the page (the next "load"): the thread the reader opened is still open.
    with page.expect_event("load", timeout=10_000):
        pass
    _item_message(page, item_id).wait_for()
    assert _item_message(page, item_id).locator("details.thread").get_attribute("open") is not None
    assert "claimed this" in _item_message(page, item_id).locator("details.thread").inner_text()
    shots(page, "thread-open-after-reload")

    # A modal being filled in stays, with what was typed, across two Live periods.
    _item_message(page, item_id).get_by_role("button", name="Resolve").click()
    modal = page.locator("form.modal")
    modal.wait_for()
    modal.locator("textarea").fill("Half-written note")
    page.evaluate("document.activeElement.blur()")
    loads = []
    page.on("load", lambda _: loads.append(1))
    page.wait_for_timeout(7_000)  # two reload periods: nothing may happen
    assert loads == [] and modal.locator("textarea").input_value() == "Half-written note"
    shots(page, "modal-kept")
