"""GET /dashboard and its CSV exports over HTTP: the token gate, the page's figures, filters, exports.

Items arrive as signed webhooks; claims and resolutions go through bot.followups.service at known offsets from
each item's stored arrival, so the expected medians and SLA breaches are computed here, not read back.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import literal_column, select

from bot.followups.service import add_note, claim_followup, resolve_followup
from bot.intake.scoring import categorize
from bot.vip.accounts import log_touch
from models import Account, Item
from tests.conftest import _TLS, TEST_CONFIG, TickingClock, make_config

TOKEN = "dashboard-test-token-0123456789"

# (webhook body, claim after minutes, resolve after minutes)
ITEMS = [
    ({"id": "r1", "kind": "nps", "score": 2, "comment": "Too expensive",
      "customer": {"name": "Maya <script>alert(1)</script>"}}, 300, None),
    ({"id": "r2", "kind": "nps", "score": 10, "comment": "@SUM(1+1) great",
      "customer": {"name": '=HYPERLINK("http://evil.example","x")'}}, None, None),
    ({"id": "r3", "kind": "nps", "score": 7, "customer": {"name": "Pat Passive"}}, None, None),
    ({"id": "r4", "kind": "escalation", "subject": "Server down", "priority": "urgent",
      "customer": {"name": "-2+3 Ops"}}, None, None),
    ({"id": "r5", "kind": "csat", "score": 1, "customer": {"name": "Sam Sad"}}, None, None),
    ({"id": "r6", "kind": "nps", "score": 0, "customer": {"name": "Rae Resolved"}}, None, 90),
    ({"id": "r7", "kind": "nps", "score": 5, "customer": {"name": "Cy Claimed"}}, 30, None),
]


def waits(body: dict, claim: int | None, resolve: int | None) -> bool:
    """An open item: not resolved, and not a promoter nobody claimed (those need no follow-up)."""
    return resolve is None and (claim is not None or categorize(body["kind"], body.get("score")) != "promoter")


class Page(HTMLParser):
    """What a person (or a browser test) reads off the page: figures, charts, the open-items table."""

    def __init__(self, markup: str):
        super().__init__()
        self.metrics: dict[str, tuple[str, str]] = {}
        self.charts: list[str] = []
        self.open_rows: list[str] = []
        self.tags: set[str] = set()
        self.sources: list[str] = []
        self._metric: str | None = None
        self._in_open, self._in_body = False, False
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.sources += [a[k] for k in ("src", "srcset") if k in a]
        if "data-metric" in a:
            self._metric = a["data-metric"]
            self.metrics[self._metric] = (a.get("data-value", ""), "")
        if tag == "svg":
            self.charts.append(a.get("data-chart", ""))
        if tag == "table":
            self._in_open = a.get("id") == "open-items"
        if tag == "tbody" and self._in_open:
            self._in_body = True
        if tag == "tr" and self._in_body:
            self.open_rows.append(a.get("data-item-id", ""))

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        if tag == "table":
            self._in_open = False

    def handle_data(self, data):
        if self._metric:
            value, _ = self.metrics[self._metric]
            self.metrics[self._metric] = (value, data.strip())
            self._metric = None


# A Wednesday morning: the seeded claims and resolutions (up to 5 h after arrival) fall in the same day and
# week as the arrivals, whatever the hour the suite runs at.
WEDNESDAY_MORNING = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app):
    app = make_app(worker=False)
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=TOKEN)
    app.runtime.now = TickingClock(WEDNESDAY_MORNING)
    return app


def seed(app) -> dict[str, int]:
    ids = {}
    for body, _, _ in ITEMS:
        response = app.post_webhook(body)
        assert response.status_code == 202, response.text
        ids[body["id"]] = response.json()["id"]
    with app.runtime.session() as session:
        received = dict(session.execute(select(Item.id, Item.received_at)).all())
        for body, claim_after, resolve_after in ITEMS:
            item_id = ids[body["id"]]
            if claim_after is not None:
                claim_followup(session, item_id=item_id, user_id="U0ANA",
                               now=received[item_id] + timedelta(minutes=claim_after))
            if resolve_after is not None:
                resolve_followup(session, item_id=item_id, user_id="U0BEN", outcome="fixed", note=None,
                                 now=received[item_id] + timedelta(minutes=resolve_after))
        now = app.runtime.now()
        for name, touched in (("Acme", True), ("Birch", False)):
            account = Account(name=name, search_name=name.lower(), vip=True, owner="U0ANA", cadence_days=30,
                              created_at=now - timedelta(days=60), updated_at=now, next_due_at=now)
            session.add(account)
            session.flush()
            if touched:
                log_touch(session, account_id=account.id, actor="U0ANA", channel="call", note="+1 call me back",
                          now=now - timedelta(days=2), touched_at=now - timedelta(days=2))
    return ids


def get(app, path: str, **kwargs) -> httpx.Response:
    """A request from a fresh client: no cookie from an earlier answer."""
    with httpx.Client(timeout=10, verify=_TLS) as client:
        return client.get(f"{app.url}{path}", **kwargs)


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


# --- the gate --------------------------------------------------------------------------------------


def test_dashboard_is_off_without_a_token_outside_the_sandbox(make_app) -> None:
    app = make_app(worker=False)
    assert app.runtime.settings.dashboard_token is None and not app.runtime.settings.sandbox
    for path in ("/dashboard", "/dashboard?token=anything", "/dashboard/items.csv", "/dashboard/touches.csv"):
        response = get(app, path, headers={"Authorization": "Bearer anything"})
        assert response.status_code == 404
        assert "dashboard disabled: set CXLOOP_DASHBOARD_TOKEN" in response.text


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/items.csv", "/dashboard/touches.csv"])
def test_without_the_token_the_answer_is_401(app, path) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Cookie": f"cxloop_dashboard={TOKEN}"}):  # the cookie holds a derived value, not the token
        response = get(app, path, headers=headers)
        assert response.status_code == 401, headers
        assert "token" in response.text.lower()
        assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = get(app, f"{path}?token=wrong")
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers


def test_token_in_the_url_becomes_a_cookie_and_leaves_the_url(app) -> None:
    seed(app)
    with httpx.Client(timeout=10, verify=_TLS) as client:
        first = client.get(f"{app.url}/dashboard?team=success&token={TOKEN}&kind=nps")
        assert first.status_code == 303
        assert first.headers["location"] == "/dashboard?team=success&kind=nps"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        assert "Path=/dashboard" in cookie and TOKEN not in cookie
        page = client.get(f"{app.url}{first.headers['location']}")
        assert page.status_code == 200 and 'data-chart="nps-trend"' in page.text
        export = client.get(f"{app.url}/dashboard/items.csv")  # the cookie opens the exports too
        assert export.status_code == 200
    assert get(app, "/dashboard", headers=bearer()).status_code == 200


# --- the page --------------------------------------------------------------------------------------


def nps_of(scores: list[int]) -> int:
    return round(100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores))


def test_page_shows_the_seeded_figures_charts_and_open_items(app) -> None:
    ids = seed(app)
    response = get(app, "/dashboard", headers=bearer())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = Page(response.text)

    open_ids = {ids[b["id"]] for b, claim, resolve in ITEMS if waits(b, claim, resolve)}
    assert ids["r2"] not in open_ids  # an unclaimed promoter waits for nobody
    assert sorted(map(int, page.open_rows)) == sorted(open_ids)
    detractors_open = sum(categorize(b["kind"], b.get("score")) == "detractor" for b, _, r in ITEMS if r is None)
    scores = [b["score"] for b, _, _ in ITEMS if b["kind"] == "nps"]
    # Claim waits: r1 after 300 min, r7 after 30, r6 resolved (so claimed) after 90: median 90.
    claims = sorted([300, 30, 90])
    assert page.metrics["nps"] == (str(nps_of(scores)), f"{nps_of(scores):+d}")
    assert page.metrics["volume"][0] == str(len(ITEMS))
    assert page.metrics["open-items"][0] == str(len(open_ids))
    assert page.metrics["open-detractors"][0] == str(detractors_open) == "3"
    assert float(page.metrics["median-claim"][0]) == pytest.approx(claims[1], abs=0.01)
    assert page.metrics["median-claim"][1] == "1 h 30 min"
    assert float(page.metrics["median-resolve"][0]) == pytest.approx(90, abs=0.01)
    assert page.metrics["sla-breaches"][0] == "1"  # r1: a detractor claimed after 5 h, SLA 4 h
    assert page.metrics["vip-coverage"] == ("50.00", "50%")
    assert page.charts == ["nps-trend", "category-mix", "detractor-age", "themes"]
    # Nothing is loaded from anywhere: no scripts, no external stylesheets, images or fonts.
    assert not page.sources and "script" not in page.tags and "link" not in page.tags
    assert "<script>alert(1)" not in response.text and "Maya &lt;script&gt;alert(1)&lt;/script&gt;" in response.text


@pytest.mark.parametrize(("query", "keep"), [
    ("team=support", lambda b: b["kind"] == "escalation"),          # the routes send escalations to support
    ("team=success", lambda b: b["kind"] != "escalation"),
    ("kind=nps", lambda b: b["kind"] == "nps"),
    ("team=success&kind=csat", lambda b: b["kind"] == "csat"),
])
def test_filters_narrow_the_open_items(app, query, keep) -> None:
    ids = seed(app)
    page = Page(get(app, f"/dashboard?{query}", headers=bearer()).text)
    want = sorted(ids[b["id"]] for b, claim, resolve in ITEMS if waits(b, claim, resolve) and keep(b))
    assert want and sorted(map(int, page.open_rows)) == want
    assert page.metrics["volume"][0] == str(sum(1 for b, _, _ in ITEMS if keep(b)))


def test_a_range_before_the_items_shows_none(app) -> None:
    seed(app)
    page = Page(get(app, "/dashboard?from=2020-01-01&to=2020-03-31", headers=bearer()).text)
    assert page.open_rows == [] and page.metrics["volume"][0] == "0" and page.metrics["nps"][1] == "–"


@pytest.mark.parametrize(("query", "message"), [
    ("from=2026-13-01", "from: '2026-13-01' is not a calendar date"),
    ("to=yesterday", "to: expected a date such as 2026-11-20"),
    ("from=2026-11-02&to=2026-11-01", "is after to"),
    ("from=2020-01-01&to=2026-01-01", "longer than 366 days"),
    ("team=%3Cscript%3E", "unknown team"),
    ("kind=vip", "unknown kind"),
])
@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/items.csv", "/dashboard/touches.csv"])
def test_bad_filters_are_a_400_that_says_why(app, path, query, message) -> None:
    response = get(app, f"{path}?{query}", headers=bearer())
    assert response.status_code == 400
    assert message in response.text.replace("&#x27;", "'")
    if response.headers["content-type"].startswith("text/html"):
        assert "<script>" not in response.text
    else:  # plain text, never sniffed as HTML
        assert response.headers["x-content-type-options"] == "nosniff"


# --- CSV exports -----------------------------------------------------------------------------------


def read_csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def test_items_csv_matches_and_guards_against_formulas(app) -> None:
    ids = seed(app)
    rows = read_csv(get(app, "/dashboard/items.csv", headers=bearer()))
    assert [int(r["id"]) for r in rows] == [ids[b["id"]] for b, _, _ in ITEMS]  # oldest first
    by_external = {r["external_id"]: r for r in rows}
    assert by_external["r2"]["customer_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_external["r2"]["comment"] == "'@SUM(1+1) great"
    assert by_external["r4"]["customer_name"] == "'-2+3 Ops"
    assert by_external["r1"]["customer_name"] == "Maya <script>alert(1)</script>"  # CSV is data, not HTML
    assert by_external["r1"]["score"] == "2" and by_external["r1"]["category"] == "detractor"
    assert by_external["r6"]["status"] == "resolved" and by_external["r6"]["outcome"] == "fixed"
    assert by_external["r7"]["status"] == "claimed" and by_external["r7"]["claimed_by"] == "Ana Lima"
    assert by_external["r7"]["claimed_by_id"] == "U0ANA"
    assert by_external["r1"]["themes"] == "pricing"
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())

    narrowed = read_csv(get(app, "/dashboard/items.csv?team=support", headers=bearer()))
    assert [r["external_id"] for r in narrowed] == ["r4"]
    assert read_csv(get(app, "/dashboard/items.csv?from=2020-01-01&to=2020-01-31", headers=bearer())) == []


def test_touches_csv_matches_and_guards_against_formulas(app) -> None:
    seed(app)
    rows = read_csv(get(app, "/dashboard/touches.csv", headers=bearer()))
    assert len(rows) == 1
    assert rows[0]["account_name"] == "Acme" and rows[0]["actor"] == "Ana Lima" and rows[0]["channel"] == "call"
    assert rows[0]["note"] == "'+1 call me back"
    assert read_csv(get(app, "/dashboard/touches.csv?from=2020-01-01&to=2020-01-31", headers=bearer())) == []


# --- range shapes ----------------------------------------------------------------------------------
# Items arrive as webhooks while the app's clock stands at chosen instants around a DST change in the
# configured timezone (America/New_York ends DST on 2026-11-01) and the ISO week 53 of 2026 (28 Dec to
# 3 Jan). What a range holds is computed here from each instant's local date.

NEW_YORK = ZoneInfo("America/New_York")
RANGE_NOW = datetime(2027, 1, 6, 15, 0, tzinfo=UTC)  # a Wednesday, in 2027-W01
RANGE_INSTANTS = [
    datetime(2026, 10, 31, 3, 59, tzinfo=UTC),   # Fri 30 Oct 23:59 EDT
    datetime(2026, 10, 31, 4, 0, tzinfo=UTC),    # Sat 31 Oct 00:00 EDT
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),    # Sun 1 Nov 01:30 EDT (the first one)
    datetime(2026, 11, 1, 6, 30, tzinfo=UTC),    # Sun 1 Nov 01:30 EST (the repeated hour)
    datetime(2026, 11, 2, 4, 59, tzinfo=UTC),    # Sun 1 Nov 23:59 EST (a 25-hour day)
    datetime(2026, 11, 2, 5, 0, tzinfo=UTC),     # Mon 2 Nov 00:00 EST: 2026-W45
    datetime(2026, 12, 28, 4, 59, tzinfo=UTC),   # Sun 27 Dec 23:59: 2026-W52
    datetime(2026, 12, 28, 5, 0, tzinfo=UTC),    # Mon 28 Dec 00:00: 2026-W53
    datetime(2027, 1, 1, 4, 30, tzinfo=UTC),     # Thu 31 Dec 23:30, still 2026
    datetime(2027, 1, 1, 5, 0, tzinfo=UTC),      # Fri 1 Jan 00:00, 2027 but still 2026-W53
    datetime(2027, 1, 4, 4, 59, tzinfo=UTC),     # Sun 3 Jan 23:59: the last minute of 2026-W53
    datetime(2027, 1, 4, 5, 0, tzinfo=UTC),      # Mon 4 Jan 00:00: 2027-W01
    datetime(2027, 1, 5, 14, 0, tzinfo=UTC),     # Tue 5 Jan
    datetime(2027, 1, 6, 10, 0, tzinfo=UTC),     # Wed 6 Jan, this morning
]


@pytest.fixture
def ranged_app(make_app):
    """The app with [schedule].timezone = America/New_York and a clock that tests set."""
    config = make_config({**TEST_CONFIG, "schedule": {"timezone": "America/New_York"}})
    app = make_app(config, worker=False)
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=TOKEN)
    clock = [RANGE_NOW]
    app.runtime.now = lambda: clock[0]
    app.clock = clock
    return app


def seed_instants(app) -> dict[int, datetime]:
    """One NPS 3 per instant, received at that instant; then the clock is back at RANGE_NOW."""
    received = {}
    for n, moment in enumerate(RANGE_INSTANTS):
        app.clock[0] = moment
        response = app.post_webhook({"id": f"t{n}", "kind": "nps", "score": 3, "customer": {"name": f"C{n}"}})
        assert response.status_code == 202, response.text
        received[response.json()["id"]] = moment
    app.clock[0] = RANGE_NOW
    return received


def in_range(received: dict[int, datetime], first: date, last: date) -> list[int]:
    return sorted(i for i, moment in received.items() if first <= moment.astimezone(NEW_YORK).date() <= last)


RANGE_SHAPES = {
    # name: (query, first local day, last local day)
    "this week": ("from=2027-01-04&to=2027-01-10", date(2027, 1, 4), date(2027, 1, 10)),
    "this week, to left empty": ("from=2027-01-04&to=", date(2027, 1, 4), date(2027, 1, 6)),
    "from = to": ("from=2027-01-05&to=2027-01-05", date(2027, 1, 5), date(2027, 1, 5)),
    "a single day: the DST change": ("from=2026-11-01&to=2026-11-01", date(2026, 11, 1), date(2026, 11, 1)),
    "inside the week of the DST change": ("from=2026-10-31&to=2026-11-01", date(2026, 10, 31), date(2026, 11, 1)),
    "across the DST change": ("from=2026-10-26&to=2026-11-08", date(2026, 10, 26), date(2026, 11, 8)),
    "ISO week 53": ("from=2026-12-28&to=2027-01-03", date(2026, 12, 28), date(2027, 1, 3)),
    "across the year boundary": ("from=2026-12-21&to=2027-01-10", date(2026, 12, 21), date(2027, 1, 10)),
    "in the future, within a week": ("from=2027-02-01&to=2027-02-03", date(2027, 2, 1), date(2027, 2, 3)),
    "in the future, across the spring DST change": ("from=2027-03-08&to=2027-03-21", date(2027, 3, 8),
                                                    date(2027, 3, 21)),
}


def check_range(app, query: str, want: list[int], *, team: str = "") -> None:
    response = get(app, f"/dashboard?{query}{team}", headers=bearer())
    assert response.status_code == 200, response.text[:2000]
    page = Page(response.text)
    assert page.metrics["volume"][0] == str(len(want))
    assert page.metrics["open-detractors"][0] == str(len(want))  # every seeded item is an open NPS 3
    assert sorted(map(int, page.open_rows)) == want
    rows = read_csv(get(app, f"/dashboard/items.csv?{query}{team}", headers=bearer()))
    assert sorted(int(r["id"]) for r in rows) == want
    assert read_csv(get(app, f"/dashboard/touches.csv?{query}{team}", headers=bearer())) == []


@pytest.mark.parametrize("shape", list(RANGE_SHAPES))
def test_every_range_shape_answers_with_the_items_of_its_local_days(ranged_app, shape) -> None:
    received = seed_instants(ranged_app)
    query, first, last = RANGE_SHAPES[shape]
    want = in_range(received, first, last)
    check_range(ranged_app, query, want)


def test_a_range_of_one_iso_week_is_labelled_with_that_week(ranged_app) -> None:
    seed_instants(ranged_app)
    response = get(ranged_app, "/dashboard?from=2026-12-28&to=2027-01-03", headers=bearer())
    assert response.status_code == 200 and "2026-W53" in response.text
    across = get(ranged_app, "/dashboard?from=2026-12-21&to=2027-01-10", headers=bearer()).text
    assert across.index("2026-W52") < across.index("2026-W53") < across.index("2027-W01")


def test_a_year_of_weeks_gets_the_whole_row_and_a_quarter_half_of_it(ranged_app) -> None:
    """A year's trend is drawn across the page (else its 52 weeks shrink to unreadable labels)."""
    seed_instants(ranged_app)
    year = get(ranged_app, "/dashboard?from=2026-01-05&to=2027-01-03", headers=bearer()).text
    assert '<figure class="wide"><figcaption>NPS by week' in year and "2026-W53" in year
    quarter = get(ranged_app, "/dashboard?from=2026-10-05&to=2026-12-27", headers=bearer()).text
    assert "<figure><figcaption>NPS by week" in quarter


@pytest.mark.parametrize("shape", ["this week", "from = to", "ISO week 53", "across the year boundary"])
def test_a_range_on_an_empty_database_shows_zeros(ranged_app, shape) -> None:
    query, _, _ = RANGE_SHAPES[shape]
    check_range(ranged_app, query, [])
    check_range(ranged_app, query, [], team="&team=support")  # Europe/London


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/items.csv", "/dashboard/touches.csv"])
@pytest.mark.parametrize(("query", "message"), [
    ("from=2027-01-05&to=2027-01-04", "from: 2027-01-05 is after to: 2027-01-04"),
    ("from=2027-02-01", "from: 2027-02-01 is after to: 2027-01-06 (today"),
    ("from=9999-12-31&to=9999-12-31", "from: 9999-12-31 is outside 1970-01-01 – 2999-12-31"),
    ("from=0001-01-01&to=0001-01-02", "from: 0001-01-01 is outside"),
])
def test_to_before_from_or_a_day_out_of_reach_is_a_400_that_says_so(ranged_app, path, query, message) -> None:
    response = get(ranged_app, f"{path}?{query}", headers=bearer())
    assert response.status_code == 400
    assert message in response.text


# --- filters: category, VIP, theme, owner, team ------------------------------------------------------
# Each seeded item says what it is (category by its NPS score, VIP, the theme its comment names, who
# claims it); what a filter keeps is computed from these, not asked of the app.


@dataclass
class Seeded:
    key: str
    kind: str
    score: int | None
    comment: str | None
    vip: bool
    category: str               # NPS: 0–6 detractor, 7–8 passive, 9–10 promoter; escalations: none
    pricing: bool               # the comment is about price
    holder: str | None = None   # who claims it
    resolved: bool = False
    id: int = 0

    @property
    def waits(self) -> bool:
        """Open: not resolved, and not a promoter nobody claimed (those need no follow-up)."""
        return not self.resolved and (self.holder is not None or self.category != "promoter")


def filter_items() -> list[Seeded]:
    return [
        Seeded("f1", "nps", 1, "Far too expensive", True, "detractor", True, "U0ANA"),
        Seeded("f2", "nps", 2, "The invoice was wrong", False, "detractor", False),
        Seeded("f3", "nps", 0, "It crashes daily and the price is absurd", True, "detractor", True, "U0BEN"),
        Seeded("f4", "nps", 8, "Slow every morning", False, "passive", False, "U0ANA"),
        Seeded("f5", "nps", 10, "Great people", True, "promoter", False),
        Seeded("f6", "escalation", None, "Server is down", True, "none", False, "U0ANA"),
        Seeded("f7", "nps", 3, None, False, "detractor", False, "U0BEN", resolved=True),
        Seeded("f8", "nps", 9, "Good value, not expensive at all", False, "promoter", True),
        Seeded("f9", "nps", 6, "Too expensive for us", False, "detractor", True),
    ]


def seed_filters(app) -> list[Seeded]:
    items = filter_items()
    for it in items:
        body = {"id": it.key, "kind": it.kind, "customer": {"name": f"Customer {it.key}", "vip": it.vip}}
        if it.score is not None:
            body["score"] = it.score
        if it.comment:
            body[("subject" if it.kind == "escalation" else "comment")] = it.comment
        response = app.post_webhook(body)
        assert response.status_code == 202, response.text
        it.id = response.json()["id"]
    now = app.runtime.now()
    with app.runtime.session() as session:
        for it in items:
            if it.holder and not it.resolved:
                assert claim_followup(session, item_id=it.id, user_id=it.holder, now=now).changed
            if it.resolved:
                assert resolve_followup(session, item_id=it.id, user_id=it.holder, outcome="fixed", note=None,
                                        now=now).changed
        for name, owner in (("Acme", "U0ANA"), ("Birch", "U0BEN"), ("Cedar", "U0BEN")):
            account = Account(name=name, search_name=name.lower(), vip=True, owner=owner, cadence_days=30,
                              created_at=now - timedelta(days=60), updated_at=now, next_due_at=now)
            session.add(account)
            session.flush()
            if name != "Cedar":
                log_touch(session, account_id=account.id, actor=owner, channel="call", note=None,
                          now=now - timedelta(days=2), touched_at=now - timedelta(days=2))
    return items


FILTERS = {
    # query: (which seeded items it keeps, the applied filter the page shows as data-filter=value)
    "category=detractor": (lambda it: it.category == "detractor", [("category", "detractor")]),
    "category=promoter": (lambda it: it.category == "promoter", [("category", "promoter")]),
    "category=none": (lambda it: it.category == "none", [("category", "none")]),
    "vip=yes": (lambda it: it.vip, [("vip", "yes")]),
    "vip=no": (lambda it: not it.vip, [("vip", "no")]),
    "theme=pricing": (lambda it: it.pricing, [("theme", "pricing")]),
    "theme=Pricing": (lambda it: it.pricing, [("theme", "pricing")]),   # as configured, whatever the case
    "owner=U0ANA": (lambda it: it.holder == "U0ANA", [("owner", "U0ANA")]),
    "owner=unclaimed": (lambda it: it.holder is None, [("owner", "unclaimed")]),
    "team=support": (lambda it: it.kind == "escalation", [("team", "support")]),
    "category=detractor&vip=yes&theme=pricing&owner=U0BEN": (
        lambda it: it.category == "detractor" and it.vip and it.pricing and it.holder == "U0BEN",
        [("category", "detractor"), ("vip", "yes"), ("theme", "pricing"), ("owner", "U0BEN")]),
}


class Applied(HTMLParser):
    def __init__(self, markup: str):
        super().__init__()
        self.filters: list[tuple[str, str]] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-filter" in a:
            self.filters.append((a["data-filter"], a.get("data-value", "")))


@pytest.mark.parametrize("query", list(FILTERS))
def test_each_filter_narrows_the_figures_the_table_and_the_csv(app, query) -> None:
    items = seed_filters(app)
    keep, shown = FILTERS[query]
    kept = [it for it in items if keep(it)]
    assert 0 < len(kept) < len(items)  # the filter must change what is shown
    response = get(app, f"/dashboard?{query}", headers=bearer())
    assert response.status_code == 200, response.text[:2000]
    page = Page(response.text)
    assert page.metrics["volume"][0] == str(len(kept))
    assert page.metrics["open-items"][0] == str(sum(it.waits for it in kept))
    assert page.metrics["open-detractors"][0] == str(sum(it.waits and it.category == "detractor"
                                                         for it in kept))
    assert sorted(map(int, page.open_rows)) == sorted(it.id for it in kept if it.waits)
    nps_scores = [it.score for it in kept if it.kind == "nps"]
    assert page.metrics["nps"][0] == (str(nps_of(nps_scores)) if nps_scores else "")
    assert Applied(response.text).filters == shown
    # The CSV links on the page keep the filters, and the CSV holds the same items.
    assert all(f"{name}={value}" in response.text for name, value in shown)
    rows = read_csv(get(app, f"/dashboard/items.csv?{query}", headers=bearer()))
    assert sorted(int(r["id"]) for r in rows) == sorted(it.id for it in kept)


def test_no_filter_shows_every_item_and_says_so(app) -> None:
    items = seed_filters(app)
    response = get(app, "/dashboard", headers=bearer())
    assert Page(response.text).metrics["volume"][0] == str(len(items))
    assert Applied(response.text).filters == [] and "No filters" in response.text


@pytest.mark.parametrize(("owner", "accounts", "coverage"), [
    ("U0ANA", ["Acme"], ("100.00", "1 of 1 VIP touched")),
    ("U0BEN", ["Birch"], ("50.00", "1 of 2 VIPs touched")),
])
def test_owner_filter_narrows_vip_coverage_and_the_touches_csv(app, owner, accounts, coverage) -> None:
    seed_filters(app)
    page = get(app, f"/dashboard?owner={owner}", headers=bearer()).text
    value, _ = Page(page).metrics["vip-coverage"]
    assert value == coverage[0] and coverage[1] in page
    rows = read_csv(get(app, f"/dashboard/touches.csv?owner={owner}", headers=bearer()))
    assert [r["account_name"] for r in rows] == accounts


@pytest.mark.parametrize(("query", "message"), [
    ("category=angry", "category: unknown category 'angry' (category is one of: detractor, passive, promoter, none"),
    ("vip=maybe", "vip: unknown vip 'maybe' (vip is one of: yes, no"),
    ("theme=weather", "theme: unknown theme 'weather' (theme is one of: "),
    ("owner=bob", "owner: expected a Slack user id such as U0ANA, or 'unclaimed', got 'bob'"),
    ("owner=U0NOBODY", "owner: unknown owner 'U0NOBODY'"),
])
@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/items.csv", "/dashboard/touches.csv"])
def test_an_unknown_filter_value_is_a_400_that_lists_the_known_ones(app, path, query, message) -> None:
    seed_filters(app)
    response = get(app, f"{path}?{query}", headers=bearer())
    assert response.status_code == 400
    assert message in response.text.replace("&#x27;", "'")


def test_an_sql_error_is_a_500_not_a_database_busy_page(app, monkeypatch) -> None:
    """A malformed statement (the one-week range used to build CASE without WHEN) is a bug: SQLite calls
    it OperationalError like a lock, but the page must not tell people to wait for a busy database."""
    import bot.insights.dashboard

    seed(app)
    monkeypatch.setattr(bot.insights.dashboard, "_bucket_of", lambda column, bounds: literal_column("CASE ELSE 0 END"))
    response = get(app, "/dashboard", headers=bearer())
    assert response.status_code == 500
    assert "Database busy" not in response.text and "retry-after" not in response.headers


# --- people by name, notes and outcomes ------------------------------------------------------------
# The fake Slack's users.info knows U0ANA as "Ana Lima" and U0BEN as "Ben Okafor".

ISO_SECONDS_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


class Cells(HTMLParser):
    """The open-items table's status cells by item id, and the owner filter's options (value, text)."""

    def __init__(self, markup: str):
        super().__init__()
        self.status: dict[str, str] = {}
        self.category: dict[str, str] = {}
        self.owner_options: list[tuple[str, str]] = []
        self._row, self._cells, self._select, self._option = None, [], None, None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-item-id" in a:
            self._row, self._cells = a["data-item-id"], []
        elif tag == "td" and self._row:
            self._cells.append("")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select == "owner":
            self._option = a.get("value", "")
            self.owner_options.append((self._option, ""))

    def handle_endtag(self, tag):
        if tag == "tr" and self._row:
            self.status[self._row] = self._cells[8].strip()
            self.category[self._row] = self._cells[5].strip()
            self._row = None
        elif tag == "select":
            self._select = None
        elif tag == "option":
            self._option = None

    def handle_data(self, data):
        if self._row and self._cells:
            self._cells[-1] += data
        if self._option is not None:
            value, text = self.owner_options[-1]
            self.owner_options[-1] = (value, text + data)


def test_the_page_names_who_holds_each_item_and_asks_slack_once_per_person(app) -> None:
    ids = seed(app)
    response = get(app, "/dashboard", headers=bearer())
    assert response.status_code == 200
    cells = Cells(response.text)
    assert cells.status[str(ids["r7"])] == "claimed by Ana Lima"
    assert cells.status[str(ids["r1"])] == "claimed by Ana Lima"
    # An escalation shows the severity it is ranked by, not "none".
    assert cells.category[str(ids["r4"])] == "urgent escalation"
    assert ("U0ANA", "Ana Lima") in cells.owner_options and ("U0BEN", "Ben Okafor") in cells.owner_options
    filtered = get(app, "/dashboard?owner=U0ANA", headers=bearer()).text
    assert "held by Ana Lima" in filtered
    asked = [c["args"].get("user") for c in app.fake.calls("users.info")]
    assert len(asked) == len(set(asked)) and {"U0ANA", "U0BEN"} <= set(asked)
    # Names are cached: loading the page again asks Slack nothing.
    get(app, "/dashboard", headers=bearer())
    assert len(app.fake.calls("users.info")) == len(asked)


def test_when_slack_cannot_name_anyone_the_page_and_csv_show_ids(app) -> None:
    ids = seed(app)
    app.fake.set_faults(rate_500=1.0)
    response = get(app, "/dashboard", headers=bearer())
    assert response.status_code == 200
    assert Cells(response.text).status[str(ids["r7"])] == "claimed by U0ANA"
    rows = read_csv(get(app, "/dashboard/items.csv", headers=bearer()))
    assert {r["external_id"]: r["claimed_by"] for r in rows}["r7"] == "U0ANA"


def test_items_csv_has_names_notes_outcomes_and_times_to_the_second(app) -> None:
    ids = seed(app)
    with app.runtime.session() as session:
        now = app.runtime.now()
        add_note(session, item_id=ids["r7"], user_id="U0BEN", text="=HYPERLINK(\"x\") left a voicemail",
                 now=now + timedelta(seconds=1))
        add_note(session, item_id=ids["r7"], user_id="U0ANA", text="Called back, all good", now=now + timedelta(minutes=1))
        resolve_followup(session, item_id=ids["r5"], user_id="U0BEN", outcome="fixed", note="-refund issued",
                         now=now + timedelta(minutes=2))
    rows = {r["external_id"]: r for r in read_csv(get(app, "/dashboard/items.csv", headers=bearer()))}
    r5, r6, r7 = rows["r5"], rows["r6"], rows["r7"]
    assert r6["resolved_by"] == "Ben Okafor" and r6["resolved_by_id"] == "U0BEN" and r6["outcome"] == "fixed"
    assert rows["r4"]["priority"] == "urgent" and r6["priority"] == ""
    assert r5["outcome"] == "fixed" and r5["resolution_note"] == "'-refund issued"
    notes = r7["notes"].split("\n")
    assert len(notes) == 2
    assert notes[0].endswith(' Ben Okafor: =HYPERLINK("x") left a voicemail')
    assert notes[1].endswith(" Ana Lima: Called back, all good")
    assert ISO_SECONDS_WITH_OFFSET.match(notes[0].split(" ")[0])
    for row in rows.values():
        for column in ("received_at", "claimed_at", "resolved_at"):
            assert row[column] == "" or ISO_SECONDS_WITH_OFFSET.match(row[column]), row[column]
    assert r7["claimed_at"] and r6["resolved_at"]
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows.values() for value in row.values())


def test_touches_csv_names_the_owner_and_the_actor(app) -> None:
    seed(app)
    rows = read_csv(get(app, "/dashboard/touches.csv", headers=bearer()))
    assert rows[0]["account_owner"] == "Ana Lima" and rows[0]["account_owner_id"] == "U0ANA"
    assert rows[0]["actor"] == "Ana Lima" and rows[0]["actor_id"] == "U0ANA"
    assert ISO_SECONDS_WITH_OFFSET.match(rows[0]["touched_at"])


def test_themes_rising_compare_halves_of_the_span_that_holds_items(app) -> None:
    # Every seeded item arrives today: halves of the default 12 weeks would compare an empty first half
    # (every theme "rising"); the halves split the span from the first item instead, and the caption says so.
    seed(app)
    text = get(app, "/dashboard", headers=bearer()).text
    caption = re.search(r"Themes rising and falling <span>([^<]*)</span>", text).group(1)
    now = app.runtime.now()
    monday = (now.date() - timedelta(days=now.weekday())).isoformat()
    assert re.search(rf"second half of the range \(from \d{{4}}-\d\d-\d\d\) against the first half \(from {monday}, "
                     r"the week of the range&#x27;s first item\)", caption), caption


def test_the_theme_filter_names_themes_as_the_tables_do(app) -> None:
    seed(app)
    text = get(app, "/dashboard", headers=bearer()).text
    # The option's value is the key the URL carries; its text is the name the charts and tables show.
    assert '<option value="feature_request">feature request</option>' in text
    comments = get(app, "/dashboard/comments", headers=bearer()).text
    assert '<option value="feature_request">feature request</option>' in comments
