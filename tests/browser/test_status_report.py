"""The drafted status report in the sandbox, in a real browser (issue 17, point 6): Ana types
`/cxloop status 7d` in her team channel, reads the draft in her DMs with the app, opens its Markdown copy
and shares it in the channel."""

from __future__ import annotations

import pytest

from bot.common.periods import day_label, local_today
from tests.conftest import wait_for

pytestmark = pytest.mark.browser

CHANNEL, TZ = "C0SUCCESS", "America/New_York"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _dm_report(page, app) -> str:
    """Open the DM with the app until the worker has delivered the draft; → its text."""
    def delivered() -> str | None:
        page.goto(f"{app.url}/sandbox?as=U0ANA&c=DU0ANA")
        text = _flat(page.locator("section.conv").inner_text())
        return text if "Status · success" in text else None
    return wait_for(delivered, 30, interval=0.5, what="the status report DM")


def test_cxloop_status_7d_drafts_the_report_in_the_dms(demo_app, page, shots) -> None:
    app = demo_app
    today = local_today(app.runtime.now(), TZ)
    page.goto(f"{app.url}/sandbox?as=U0ANA&c={CHANNEL}")
    page.fill(".composer input[name=text]", "/cxloop status 7d")
    page.click(".composer button")
    page.wait_for_function("document.querySelectorAll('.eph').length > 0")
    answer = _flat(page.locator(".eph").last.inner_text())
    shots(page, "status-asked")
    assert "Drafting your status report for success" in answer, answer

    report = _dm_report(page, app)
    shots(page, "status-dm", full_page=True)
    window = f"last 7 days to {today:%a} {day_label(today)}"
    assert f"Status · success · {window}" in report
    for section in (f"Voice of the customer, {window}", f"did, {window}", "Open now, where help is needed",
                    "Overdue follow-ups", "Open escalations", "Churn risks", "VIP customers' responses",
                    "Usability", "Bugs", "the 7 days before", "NPS"):
        assert section in report, section
    assert "“" in report  # at least one customer quoted, in the seeded week

    # Markdown copy: a modal with the report as Markdown, ready to select and copy.
    page.get_by_role("button", name="Markdown copy").last.click()
    modal = page.locator("form.modal")
    modal.wait_for()
    markdown = modal.locator("textarea").first.input_value()
    shots(page, "status-markdown")
    assert markdown.startswith(f"# Status · success · {window}") and "## Voice of the customer" in markdown
    modal.get_by_role("button", name="Done").click()

    # Share in channel: the report, as drafted, in #success.
    page.goto(f"{app.url}/sandbox?as=U0ANA&c=DU0ANA")
    page.get_by_role("button", name="Share in channel").last.click()

    def shared() -> str | None:
        page.goto(f"{app.url}/sandbox?as=U0ANA&c={CHANNEL}")
        text = _flat(page.locator("section.conv").inner_text())
        return text if "Shared by" in text else None
    channel = wait_for(shared, 30, interval=0.5, what="the shared report")
    shots(page, "status-shared", full_page=True)
    assert f"Status · success · {window}" in channel
