"""GET /dashboard/comments and /dashboard/comments.csv over HTTP: every count on the dashboard opens the
comments behind it, as many as it counts; the view's filters narrow it; the CSV has the same items;
an erased customer stays erased; a bad filter is a 400 that says why.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from bot.privacy.erasure import ERASED, forget_customer
from tests.http.insights.test_dashboard import TOKEN, bearer, get

COMMENTS = [
    ("c1", 2, "Too expensive for what we get, and the invoice was wrong", "ann@acme.example"),
    ("c2", 3, "The app keeps crashing when I export, still waiting for a fix", "bo@birch.example"),
    ("c3", 10, "Support was great, thank you Maya", "cy@cedar.example"),
    ("c4", 1, "Pricing doubled and billing charged us twice; we are switching to another tool",
     "erase.me@dune.example"),
    ("c5", 8, None, "eve@elm.example"),
    ("c6", 4, "Export crashed again and I lost my data", "fay@fir.example"),
]


@pytest.fixture
def app(make_app):
    app = make_app(worker=False)
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=TOKEN)
    return app


class Links(HTMLParser):
    """The count links of the dashboard: (table or section, count, href)."""

    def __init__(self, markup: str):
        super().__init__()
        self.links: list[tuple[str, int, str]] = []
        self.metric_links: dict[str, str] = {}
        self.chart_links: list[tuple[str, int, str]] = []  # (chart part's label, its count, href)
        self._metric: str | None = None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-metric" in a:
            self._metric = a["data-metric"]
        if tag == "a" and "aria-label" in a and a.get("href", "").startswith("/dashboard/comments"):
            label = a["aria-label"]
            self.chart_links.append((label, int(re.search(r": (\d+) ", label)[1]), a["href"]))
        if tag == "a" and "data-count" in a:
            self.links.append((a["data-comments"], int(a["data-count"]), a["href"]))
        elif tag == "a" and self._metric and a.get("href", "").startswith("/dashboard/comments"):
            self.metric_links[self._metric] = a["href"]

    def handle_endtag(self, tag):
        if tag == "div":
            self._metric = None


def _seed(app, extra: int = 0) -> dict[str, int]:
    ids = {}
    for external_id, score, comment, email in COMMENTS:
        body = {"id": external_id, "kind": "nps", "score": score,
                "customer": {"email": email, "name": email.split("@")[0].title(), "account": "Acme"}}
        if comment:
            body["comment"] = comment
        response = app.post_webhook(body)
        assert response.status_code == 202, response.text
        ids[external_id] = response.json()["id"]
    for n in range(extra):
        response = app.post_webhook({"id": f"bulk-{n}", "kind": "csat", "score": 1 + n % 5,
                                     "comment": f"Dashboard number {n} loads slowly"})
        assert response.status_code == 202, response.text
    return ids


def _listed(app, href: str) -> tuple[int, list[int], str]:
    """(the total the page states, the item ids it lists, the page's text)."""
    response = get(app, href, headers=bearer())
    assert response.status_code == 200, (href, response.text[:500])
    total = re.search(r'id="showing" data-total="(\d+)"', response.text)
    assert total, response.text[:500]
    return int(total[1]), [int(i) for i in re.findall(r'<tr data-item-id="(\d+)"', response.text)], response.text


def _csv_ids(app, href: str) -> list[int]:
    response = get(app, href.replace("/dashboard/comments?", "/dashboard/comments.csv?"), headers=bearer())
    assert response.status_code == 200, response.text
    return [int(row["id"]) for row in csv.DictReader(io.StringIO(response.text))]


def test_every_count_on_the_dashboard_lists_as_many_comments_and_the_csv_the_same(app) -> None:
    _seed(app)
    dashboard = get(app, "/dashboard", headers=bearer())
    assert dashboard.status_code == 200
    page = Links(dashboard.text)
    tables = {table for table, _, _ in page.links}
    assert {"by-theme", "by-sentiment", "by-kind", "team"} <= tables, tables
    themes = {re.search(r"theme=(\w+)", href)[1]: count for table, count, href in page.links if table == "by-theme"}
    assert themes.get("pricing", 0) >= 2 and themes.get("bugs", 0) >= 2, themes
    for table, count, href in page.links:
        total, listed, _ = _listed(app, href)
        assert total == len(listed) == count, (table, href, total, len(listed), count)
        assert sorted(_csv_ids(app, href)) == sorted(listed), href
    charted = {label.split(":")[0] for label, _, _ in page.chart_links}
    # The category mix's parts and the themes chart (which themes move depends on where the halves split).
    assert "NPS" in charted and len(charted & {"pricing", "bugs", "churn risk", "data loss", "support"}) >= 2, charted
    for label, count, href in page.chart_links:
        total, listed, _ = _listed(app, href)
        assert total == len(listed) == count, (label, href, total, count)
    for metric in ("volume", "open-items", "open-detractors", "sla-breaches"):
        assert metric in page.metric_links, page.metric_links
    total, listed, _ = _listed(app, page.metric_links["volume"])
    assert total == len(listed) == len(COMMENTS)


def test_a_row_shows_customer_score_sentiment_reason_themes_status_and_the_slack_link(app) -> None:
    ids = _seed(app)
    _, listed, text = _listed(app, "/dashboard/comments?theme=pricing")
    assert set(listed) == {ids["c1"], ids["c4"]}
    row = re.search(rf'<tr data-item-id="{ids["c1"]}">(.*?)</tr>', text, re.S)[1]
    for shown in ("Ann", "Acme", "NPS 2", "detractor", "Too expensive", "pricing", "unclaimed"):
        assert shown in row, (shown, row)
    assert 'data-sentiment="negative"' in row and 'class="why"' in row
    assert "Filters applied" in text and 'data-filter="theme"' in text


def test_filters_narrow_the_list_and_the_csv(app) -> None:
    ids = _seed(app)
    everything, _, _ = _listed(app, "/dashboard/comments")
    for query, expected in (("sentiment=positive", {ids["c3"]}), ("q=EXPORT", {ids["c2"], ids["c6"]}),
                            ("theme=pricing&q=switching", {ids["c4"]}),
                            ("category=promoter", {ids["c3"]}), ("status=resolved", set())):
        total, listed, _ = _listed(app, f"/dashboard/comments?{query}")
        assert set(listed) == expected and total == len(expected) < everything, (query, listed)
        assert sorted(_csv_ids(app, f"/dashboard/comments?{query}")) == sorted(expected), query


def test_the_list_is_paged_fifty_at_a_time(app) -> None:
    _seed(app, extra=52)
    total, first, text = _listed(app, "/dashboard/comments")
    assert total == len(COMMENTS) + 52 and len(first) == 50
    assert f"Showing 1–50 of {total}" in text
    _, second, text = _listed(app, "/dashboard/comments?page=2")
    assert len(second) == total - 50 and not set(first) & set(second)
    assert f"Showing 51–{total} of {total}" in text
    assert len(_csv_ids(app, "/dashboard/comments?")) == total


def test_an_erased_customers_words_are_absent_from_the_list_and_the_csv(app) -> None:
    ids = _seed(app)
    with app.runtime.session() as session:
        forget_customer(session, email="erase.me@dune.example", actor="U0ANA", now=app.runtime.now())
    total, listed, text = _listed(app, "/dashboard/comments?theme=pricing")
    assert ids["c4"] in listed and total == 2  # the anonymous facts (score, themes) still count
    assert "switching" not in text and "erase.me" not in text.lower() and "Erase.Me" not in text
    assert ERASED in text
    exported = get(app, "/dashboard/comments.csv?theme=pricing", headers=bearer()).text
    assert "switching" not in exported and "erase.me" not in exported.lower()
    _, found, _ = _listed(app, "/dashboard/comments?q=switching")
    assert found == []


@pytest.mark.parametrize(("query", "message"), [
    ("sentiment=angry", "sentiment: unknown sentiment 'angry'"),
    ("status=lost", "status: unknown status 'lost'"),
    ("theme=nope", "theme: unknown theme 'nope'"),
    ("page=two", "page: expected a page number"),
    ("from=yesterday", "from: expected a date"),
    ("q=" + "x" * 300, "q: the search text is longer than"),
])
def test_a_bad_filter_is_a_400_that_says_why(app, query, message) -> None:
    _seed(app)
    for path in ("/dashboard/comments", "/dashboard/comments.csv"):
        response = get(app, f"{path}?{query}", headers=bearer())
        assert response.status_code == 400, (path, query, response.status_code)
        assert message in response.text.replace("&#x27;", "'"), response.text[:300]


def test_the_comments_need_the_dashboard_token(app) -> None:
    for path in ("/dashboard/comments", "/dashboard/comments.csv"):
        assert get(app, path).status_code == 401
        assert get(app, path, headers={"Authorization": "Bearer wrong-token-0123456789012345"}).status_code == 401
