"""GET /dashboard?by=plan|segment|role|tenure|agent: the range cut by a segment, small groups marked."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

TOKEN = "dashboard-test-token-0123456789"


@pytest.fixture
def app(make_app):
    app = make_app(worker=False)
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=TOKEN)
    return app


def get(app, path: str) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.get(f"{app.url}{path}", headers={"Authorization": f"Bearer {TOKEN}"})


def rows_of(page: str) -> dict[str, list[str]]:
    table = re.search(r'<table id="segments">(.*?)</table>', page, re.S).group(1)
    return {group: re.findall(r"<td[^>]*>(.*?)</td>", row)
            for group, row in re.findall(r'<tr data-group="([^"]*)">(.*?)</tr>', table)}


def test_dashboard_cut_by_plan_and_agent_marks_small_groups(app) -> None:
    bodies = [{"id": f"e{n}", "kind": "nps", "score": score, "comment": "The price is too high",
               "agent": "ann@acme.example", "customer": {"plan": "Enterprise"}}
              for n, score in enumerate([10, 10, 9, 2, 8, 10])]
    bodies += [{"id": "f1", "kind": "csat", "score": 5, "agent": "bob@acme.example", "customer": {"plan": "Free"}}]
    for body in bodies:
        assert app.post_webhook(body).status_code == 202

    page = get(app, "/dashboard?by=plan")
    assert page.status_code == 200, page.text
    rows = rows_of(page.text)
    assert rows["Enterprise"][1:4] == ["6", "+50 (6)", "–"] and rows["Enterprise"][-1] == ""
    assert rows["Free"][1:4] == ["1", "–", "100% (1)"] and rows["Free"][-1] == "small group"
    assert "pricing 6" in rows["Enterprise"][5]
    assert '<option value="plan" selected>' in page.text

    agents = rows_of(get(app, "/dashboard?by=agent&kind=nps").text)
    assert list(agents) == ["ann@acme.example"]  # the kind filter applies to the cut too

    assert 'id="segments"' not in get(app, "/dashboard").text
    bad = get(app, "/dashboard?by=colour")
    assert bad.status_code == 400 and "plan, segment, role, tenure, agent" in bad.text
