"""The product loop through real HTTP: link two detractors to one GitHub issue (the Slack modal and
`cxloop link`), then GitHub's signed `issues` webhook → each owner is asked, Send e-mails each customer
once, and a redelivery changes nothing. A local fake of GitHub's REST API answers the tracker calls."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.config import ConfigError
from bot.insights.digest import build_weekly_report, iso_week_label, report_message
from bot.sandbox.fake_slack import validate_blocks
from bot.slack.ids import ActionId, InputId, OverflowChoice, ViewId, item_value, overflow_value
from bot.vip.book import AccountRecord, upsert_account
from models import IssueLink, OutboxMessage, TrackerIssue
from tests.conftest import TEST_CONFIG, WEBHOOK_SECRET, make_config, wait_for
from tests.http.followups.test_reply import smtp as smtp
from tests.http.vip.test_commands import _slash_vip  # the local SMTP server fixture

GITHUB_SECRET = "gh-webhook-secret"
GITHUB_TOKEN = "ghp-test-token"
DASHBOARD_TOKEN = "d" * 40


class FakeGitHub:
    """GitHub's REST API for issues (create, get), recording every request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.issues: dict[int, dict] = {42: {"number": 42, "title": "CSV export loses rows", "state": "open",
                                             "state_reason": None, "html_url": "https://github.com/acme/app/issues/42"},
                                        43: {"number": 43, "title": "Dark mode", "state": "open", "state_reason": None,
                                             "html_url": "https://github.com/acme/app/issues/43"}}
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> dict:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = {"method": self.command, "path": urlsplit(self.path).path,
                           "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                fake.requests.append(request)
                return request

            def do_POST(self) -> None:  # noqa: N802
                request = self._record()
                if request["path"] != "/repos/acme/app/issues":
                    return self._answer(404, {"message": "Not Found"})
                data = json.loads(request["body"])
                number = max(fake.issues) + 1
                fake.issues[number] = {"number": number, "title": data["title"], "body": data.get("body"),
                                       "state": "open", "state_reason": None,
                                       "html_url": f"https://github.com/acme/app/issues/{number}"}
                self._answer(201, fake.issues[number])

            def do_GET(self) -> None:  # noqa: N802
                request = self._record()
                number = request["path"].rpartition("/")[2]
                issue = fake.issues.get(int(number)) if number.isdigit() else None
                self._answer(200, issue) if issue else self._answer(404, {"message": "Not Found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"


@pytest.fixture
def github():
    server = FakeGitHub().start()
    yield server
    server.stop()


def _file_config(github: FakeGitHub, smtp_port: int) -> dict:
    return {**TEST_CONFIG,
            "trackers": [{"name": "github", "type": "github", "repo": "acme/app", "token_env": "GITHUB_TOKEN",
                          "secret_env": "GITHUB_WEBHOOK_SECRET", "api_url": github.url}],
            "email": {"host": "127.0.0.1", "port": smtp_port, "sender": "Acme CX <cx@acme.example>",
                      "starttls": False}}


ENVIRON = {"GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET}


def _issues_event(app, number: int, action: str, reason: str | None, *, delivery: str | None = None,
                  secret: str = GITHUB_SECRET, event: str = "issues"):
    """A webhook as GitHub sends it: X-GitHub-Event, X-GitHub-Delivery and X-Hub-Signature-256 over the raw body."""
    body = json.dumps({"action": action, "issue": {
        "number": number, "title": "CSV export loses rows", "state": "closed" if action == "closed" else "open",
        "state_reason": reason, "html_url": f"https://github.com/acme/app/issues/{number}"},
        "repository": {"full_name": "acme/app"}, "sender": {"login": "dev"}}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return app.http.post(f"{app.url}/webhooks/github", content=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "X-Hub-Signature-256": signature})


def _post_of(app, channel: str, item_id: int) -> dict:
    return wait_for(lambda: next((p for p in app.posts(channel) if p["metadata"]["event_payload"]["item_id"] == item_id),
                                 None), what=f"item {item_id}'s post")


def _open_link_modal(app, item_id: int, channel: str, user: str = "U0ANA") -> dict:
    post = _post_of(app, channel, item_id)
    overflow = next(e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"] if e["type"] == "overflow")
    value = overflow_value(OverflowChoice.LINK_ISSUE, item_id)
    assert value in [o["value"] for o in overflow["options"]]
    before = len(app.fake.views())
    app.click(ActionId.MORE, "", user=user, channel=channel, ts=post["ts"], selected_option=value)
    return wait_for(lambda: [v for v in app.fake.views()[before:] if v.get("callback_id") == ViewId.LINK_ISSUE],
                    what="the link modal")[-1]["view"]


def _links(app, count: int) -> None:
    """The modal is acked before its transaction commits: wait for the links to be stored."""
    def stored() -> bool:
        with app.runtime.session() as session:
            return session.scalar(select(func.count()).select_from(IssueLink)) >= count
    wait_for(stored, what=f"{count} issue link(s)")
    app.idle()


def _text(view: dict, input_id: InputId, value: str) -> dict:
    return {input_id: {input_id: {"type": "plain_text_input", "value": value}}}


def _dm(app, user: str) -> list[dict]:
    return app.fake.messages(f"D{user}")


def test_two_detractors_linked_to_one_issue_are_told_once_when_it_ships(make_app, github, smtp, tmp_path,
                                                                        database_url):
    controller, mailbox = smtp
    app = make_app(make_config(_file_config(github, controller.port), environ=ENVIRON))
    with app.runtime.session() as session:
        upsert_account(session, AccountRecord(name="Globex", domains=("globex.example",), owner="U0BEN", arr=120000),
                       now=datetime.now(UTC))
    maya = app.post_webhook({"id": "d-1", "kind": "nps", "score": 2, "comment": "The CSV export loses rows",
                             "customer": {"email": "maya@acme.example", "name": "Maya Chen", "account": "Acme"}}).json()["id"]
    sam = app.post_webhook({"id": "d-2", "kind": "nps", "score": 3, "comment": "Exports drop half our data",
                            "customer": {"email": "sam@globex.example", "name": "Sam Ortiz"}}).json()["id"]
    # Ana claims Maya's item; Sam's stays unclaimed: his account's owner, Ben, is asked.
    app.click(ActionId.CLAIM, item_value(maya), user="U0ANA", channel="C0SUCCESS", ts=_post_of(app, "C0SUCCESS", maya)["ts"])

    # 1. Through the Slack modal: a wrong reference is answered inside the modal, then the issue's URL links it.
    view = _open_link_modal(app, maya, "C0SUCCESS")
    assert validate_blocks(view["blocks"]) == []
    wrong = app.submit_view(view, _text(view, InputId.ISSUE_REF, "https://github.com/other/repo/issues/42"), user="U0ANA")
    assert wrong.json()["response_action"] == "errors"
    assert "Not an issue of a configured tracker" in wrong.json()["errors"][InputId.ISSUE_REF]
    linked = app.submit_view(view, _text(view, InputId.ISSUE_REF, "https://github.com/acme/app/issues/42"), user="U0ANA")
    assert linked.status_code == 200 and not linked.content
    _links(app, 1)
    # 2. From a script.
    config_file = tmp_path / "cxloop.toml"
    config_file.write_text(_toml(_file_config(github, controller.port)))
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": None, "CXLOOP_CONFIG": str(config_file),
           "GENERIC_WEBHOOK_SECRET": WEBHOOK_SECRET, **ENVIRON}
    result = CliRunner().invoke(main, ["link", str(sam), "acme/app#42"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(main, ["link", str(sam), "https://github.com/acme/app/issues/42"], env=env)
    assert again.exit_code == 2 and "Already linked" in again.output
    app.runtime.queued()
    app.idle()
    # The issue's title was read from GitHub's API, with the configured token.
    [fetch] = [r for r in github.requests if r["method"] == "GET"]
    assert fetch["path"] == "/repos/acme/app/issues/42"
    assert fetch["headers"]["authorization"] == f"Bearer {GITHUB_TOKEN}"
    thread = app.fake.thread("C0SUCCESS", _post_of(app, "C0SUCCESS", maya)["ts"])
    assert any("linked this to <https://github.com/acme/app/issues/42|acme/app#42>" in m["text"] or
               "acme/app#42" in json.dumps(m["blocks"]) for m in thread)

    # A forged webhook changes nothing.
    assert _issues_event(app, 42, "closed", "completed", secret="wrong").status_code == 401
    app.idle()
    assert _dm(app, "U0ANA") == [] and _dm(app, "U0BEN") == []

    delivery = str(uuid.uuid4())
    answer = _issues_event(app, 42, "closed", "completed", delivery=delivery)
    assert answer.status_code == 200 and answer.json() == {"status": "applied", "asked": 2, "reported": 0}
    app.idle()
    [ana_dm] = _dm(app, "U0ANA")
    [ben_dm] = _dm(app, "U0BEN")
    for dm, who in ((ana_dm, "Maya Chen"), (ben_dm, "Sam Ortiz")):
        shown = json.dumps(dm["blocks"])
        assert "acme/app#42" in shown and who in shown and "Shipped" in shown
        assert validate_blocks(dm["blocks"]) == []
        assert ActionId.SHIP_SEND in [e["action_id"] for b in dm["blocks"] if b["type"] == "actions"
                                      for e in b["elements"]]
    assert "Sam Ortiz" not in json.dumps(ana_dm["blocks"])
    # Each item's message shows the issue with its live status.
    maya_post = app.fake.message("C0SUCCESS", _post_of(app, "C0SUCCESS", maya)["ts"])
    assert "<https://github.com/acme/app/issues/42|acme/app#42> (shipped)" in json.dumps(maya_post["blocks"])
    # So does the VIP card of Sam's account.
    card = _slash_vip(app, "globex", user="U0ANA").json()
    assert "<https://github.com/acme/app/issues/42|acme/app#42> (shipped)" in json.dumps(card["blocks"])
    # Both threads say it shipped and who is asked.
    assert any("shipped" in m["text"] for m in app.fake.thread("C0SUCCESS", _post_of(app, "C0SUCCESS", sam)["ts"]))

    # GitHub redelivers the same delivery, then sends a second `closed`: nothing changes.
    assert _issues_event(app, 42, "closed", "completed", delivery=delivery).json()["status"] == "duplicate"
    assert _issues_event(app, 42, "closed", "completed").json()["status"] == "unchanged"
    app.idle()
    assert len(_dm(app, "U0ANA")) == 1 and len(_dm(app, "U0BEN")) == 1

    # Ana sends: one e-mail to Maya, through the item's reply channel; a second click sends nothing.
    send = next(e for b in ana_dm["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == ActionId.SHIP_SEND)
    app.click(ActionId.SHIP_SEND, send["value"], user="U0ANA", channel="DU0ANA", ts=ana_dm["ts"])
    [mail] = wait_for(lambda: mailbox.messages, what="the e-mail to Maya")
    assert mail["to"] == ["maya@acme.example"] and "CSV export loses rows has just shipped" in mail["message"].get_content()
    app.click(ActionId.SHIP_SEND, send["value"], user="U0ANA", channel="DU0ANA", ts=ana_dm["ts"])
    app.idle()
    assert len(mailbox.messages) == 1
    with app.runtime.session() as session:
        told = session.scalars(select(IssueLink).where(IssueLink.told_at.is_not(None))).all()
        assert [(link.item_id, link.told_by) for link in told] == [(maya, "U0ANA")]
    # Ben skips Sam: no e-mail.
    skip = next(e for b in ben_dm["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == ActionId.SHIP_SKIP)
    app.click(ActionId.SHIP_SKIP, skip["value"], user="U0BEN", channel="DU0BEN", ts=ben_dm["ts"])
    app.idle()
    assert len(mailbox.messages) == 1

    # /cxloop demand ranks the issue with its customers and ARR.
    demand = app.slash("demand", user="U0ANA", channel="C0SUCCESS").json()["text"]
    assert "acme/app#42" in demand and "2 customers" in demand and "$120,000 ARR" in demand and "shipped" in demand
    # The dashboard's demand table: the issue, its 2 customers, ARR, 1 VIP account (Globex), 1 told, days from feedback to shipped.
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=DASHBOARD_TOKEN)
    page = app.http.get(f"{app.url}/dashboard", headers={"Authorization": f"Bearer {DASHBOARD_TOKEN}"})
    row = re.search(r'<tr data-issue="acme/app#42">(.*?)</tr>', page.text).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[0] == '<a href="https://github.com/acme/app/issues/42" rel="noreferrer">acme/app#42</a>'
    assert cells[2:9] == ["2", "120,000", "1", "2", "shipped", "0", "1"] and float(cells[9]) < 1
    # Every Slack message (the claimed item's overflow with "Link to issue…" among them) was accepted.
    with app.runtime.session() as session:
        assert session.scalars(select(OutboxMessage.last_error).where(OutboxMessage.status == "dead")).all() == []


def test_send_to_all_tells_each_of_my_customers_once(make_app, github, smtp):
    controller, mailbox = smtp
    app = make_app(make_config(_file_config(github, controller.port), environ=ENVIRON))
    ids = [app.post_webhook({"id": f"a-{n}", "kind": "nps", "score": 1, "comment": "Need dark mode",
                             "customer": {"email": f"c{n}@initech.example", "name": f"Customer {n}"}}).json()["id"]
           for n in range(3)]
    for item_id in ids:
        app.click(ActionId.CLAIM, item_value(item_id), user="U0CARA", channel="C0SUCCESS",
                  ts=_post_of(app, "C0SUCCESS", item_id)["ts"])
        view = _open_link_modal(app, item_id, "C0SUCCESS", user="U0CARA")
        assert app.submit_view(view, _text(view, InputId.ISSUE_REF, "#43"), user="U0CARA").status_code == 200
    _links(app, 3)
    assert _issues_event(app, 43, "closed", "completed").json()["asked"] == 1
    app.idle()
    [dm] = _dm(app, "U0CARA")
    send_all = next(e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]
                    if e["action_id"] == ActionId.SHIP_SEND_ALL)
    assert send_all["text"]["text"] == "Send to all 3"
    app.click(ActionId.SHIP_SEND_ALL, send_all["value"], user="U0CARA", channel="DU0CARA", ts=dm["ts"])
    wait_for(lambda: len(mailbox.messages) == 3, what="three e-mails")
    app.click(ActionId.SHIP_SEND_ALL, send_all["value"], user="U0CARA", channel="DU0CARA", ts=dm["ts"])
    app.idle()
    assert sorted(m["to"][0] for m in mailbox.messages) == [f"c{n}@initech.example" for n in range(3)]


def test_create_a_new_issue_from_the_modal_through_the_outbox(make_app, github, smtp):
    controller, _ = smtp
    app = make_app(make_config(_file_config(github, controller.port), environ=ENVIRON))
    item_id = app.post_webhook({"id": "n-1", "kind": "nps", "score": 0, "comment": "SSO login fails every Monday",
                                "customer": {"email": "lee@umbrella.example", "name": "Lee Park"}}).json()["id"]
    view = _open_link_modal(app, item_id, "C0SUCCESS")
    title_input = next(b for b in view["blocks"] if b.get("block_id") == InputId.ISSUE_TITLE)
    body_input = next(b for b in view["blocks"] if b.get("block_id") == InputId.ISSUE_BODY)
    assert title_input["element"]["initial_value"] == "SSO login fails every Monday"
    assert "Lee Park" in body_input["element"]["initial_value"]
    empty = app.submit_view(view, {**_text(view, InputId.ISSUE_REF, ""), **_text(view, InputId.ISSUE_TITLE, " ")},
                            user="U0ANA")
    assert empty.json()["response_action"] == "errors"
    values = {**_text(view, InputId.ISSUE_TITLE, "SSO fails on Mondays"),
              **_text(view, InputId.ISSUE_BODY, body_input["element"]["initial_value"])}
    assert app.submit_view(view, values, user="U0ANA").status_code == 200
    _links(app, 1)
    [create] = wait_for(lambda: [r for r in github.requests if r["method"] == "POST"], what="the issue's creation")
    app.idle()
    sent = json.loads(create["body"])
    assert sent["title"] == "SSO fails on Mondays" and "SSO login fails every Monday" in sent["body"]
    assert create["headers"]["authorization"] == f"Bearer {GITHUB_TOKEN}"
    with app.runtime.session() as session:
        issue = session.scalar(select(TrackerIssue))
        assert (issue.key, issue.state) == ("44", "open")
    thread = app.fake.thread("C0SUCCESS", _post_of(app, "C0SUCCESS", item_id)["ts"])
    assert any("acme/app#44" in json.dumps(m["blocks"]) for m in thread)
    # The team's weekly report lists it among the active issues behind customer feedback.
    now = app.runtime.now()
    with app.runtime.session() as session:
        team = app.runtime.config.team("success")
        week = iso_week_label(now.astimezone(ZoneInfo(team.timezone)).date())
        _, blocks = report_message(build_weekly_report(session, team=team, week=week, now=now))
    assert ("Active issues related to customer feedback:* <https://github.com/acme/app/issues/44|acme/app#44> "
            "(1 customer)") in json.dumps(blocks)


def test_not_planned_and_reopened_are_reported_in_the_thread_without_asking(make_app, github, smtp):
    controller, mailbox = smtp
    app = make_app(make_config(_file_config(github, controller.port), environ=ENVIRON))
    item_id = app.post_webhook({"id": "p-1", "kind": "nps", "score": 4, "comment": "Dark mode please",
                                "customer": {"email": "kim@initech.example"}}).json()["id"]
    view = _open_link_modal(app, item_id, "C0SUCCESS")
    app.submit_view(view, _text(view, InputId.ISSUE_REF, "43"), user="U0ANA")
    _links(app, 1)
    assert _issues_event(app, 43, "closed", "not_planned").json() == {"status": "applied", "asked": 0, "reported": 1}
    assert _issues_event(app, 43, "reopened", None).json()["reported"] == 1
    app.idle()
    texts = [m["text"] for m in app.fake.thread("C0SUCCESS", _post_of(app, "C0SUCCESS", item_id)["ts"])]
    assert any("closed as not planned" in t for t in texts) and any("was reopened" in t for t in texts)
    assert _dm(app, "U0ANA") == [] and mailbox.messages == []
    # Unused events and other repositories are acknowledged and ignored.
    assert _issues_event(app, 43, "labeled", None).status_code == 202
    assert _issues_event(app, 43, "closed", "completed", event="ping").json()["status"] == "ignored"
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status == "dead")) == 0


def test_tracker_config_is_validated():
    base = {**TEST_CONFIG, "trackers": [{"name": "github", "type": "github", "repo": "acme/app",
                                         "token_env": "GITHUB_TOKEN", "secret_env": "GITHUB_WEBHOOK_SECRET"}]}
    with pytest.raises(ConfigError) as missing:
        make_config(base)
    assert "trackers[0].secret_env: environment variable GITHUB_WEBHOOK_SECRET is not set" in str(missing.value)
    assert "trackers[0].token_env" in str(missing.value)
    clash = {**base, "trackers": [{**base["trackers"][0], "name": "generic"}]}
    with pytest.raises(ConfigError, match="also a source's name"):
        make_config(clash, environ=ENVIRON)
    with pytest.raises(ConfigError, match=r"trackers\[0\]: repo: 'not a repo' is not owner/repo"):
        make_config({**base, "trackers": [{**base["trackers"][0], "repo": "not a repo"}]}, environ=ENVIRON)
    config = make_config(base, environ=ENVIRON)
    assert config.tracker("github").api_base == "https://api.github.com"
    assert GITHUB_TOKEN in config.secret_values() and GITHUB_SECRET in config.secret_values()


def _toml(data: dict) -> str:
    """Just enough TOML for the test configuration (tables of scalars and lists)."""
    def value(v):
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    lines = [f"default_team = {value(data['default_team'])}"]
    for key in ("teams", "sources", "routes", "trackers"):
        for entry in data.get(key, []):
            lines.append(f"[[{key}]]")
            for k, v in entry.items():
                if isinstance(v, dict):
                    inner = ", ".join(f"{ik} = {value(iv)}" for ik, iv in v.items())
                    lines.append(f"{k} = {{ {inner} }}")
                else:
                    lines.append(f"{k} = {value(v)}")
    email = data["email"]
    lines.append("[email]")
    lines += [f"{k} = {value(v)}" for k, v in email.items()]
    return "\n".join(lines) + "\n"


def test_an_unowned_item_is_offered_in_its_team_channel(make_app, github, smtp):
    controller, mailbox = smtp
    app = make_app(make_config(_file_config(github, controller.port), environ=ENVIRON))
    item_id = app.post_webhook({"id": "u-1", "kind": "nps", "score": 1, "comment": "Exports are broken",
                                "customer": {"email": "ivy@hooli.example", "name": "Ivy Ng"}}).json()["id"]
    view = _open_link_modal(app, item_id, "C0SUCCESS")
    app.submit_view(view, _text(view, InputId.ISSUE_REF, "#42"), user="U0ANA")
    _links(app, 1)
    before = len(app.posts("C0SUCCESS"))
    assert _issues_event(app, 42, "closed", "completed").json()["asked"] == 1
    [offer] = wait_for(lambda: app.posts("C0SUCCESS")[before:], what="the offer in the team channel")
    assert "Ivy Ng" in json.dumps(offer["blocks"]) and _dm(app, "U0ANA") == []
    send = next(e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == ActionId.SHIP_SEND)
    app.click(ActionId.SHIP_SEND, send["value"], user="U0DAN", channel="C0SUCCESS", ts=offer["ts"])
    [mail] = wait_for(lambda: mailbox.messages, what="the e-mail to Ivy")
    assert mail["to"] == ["ivy@hooli.example"]
    # The offer now says who told her, and has no Send button left.
    updated = wait_for(lambda: "Told by" in json.dumps(app.fake.message("C0SUCCESS", offer["ts"])["blocks"]) and
                       app.fake.message("C0SUCCESS", offer["ts"]), what="the offer re-rendered")
    assert ActionId.SHIP_SEND not in json.dumps(updated["blocks"])


def test_only_who_may_add_notes_may_link_and_only_who_may_reply_may_send(make_app, github, smtp):
    controller, mailbox = smtp
    config = _file_config(github, controller.port)
    config["teams"] = [{**config["teams"][0], "permissions": {"note": ["U0ANA"], "reply": ["U0ANA"]}},
                       *config["teams"][1:]]
    app = make_app(make_config(config, environ=ENVIRON))
    item_id = app.post_webhook({"id": "x-1", "kind": "nps", "score": 2, "comment": "Slow",
                                "customer": {"email": "zoe@acme.example"}}).json()["id"]
    view = _open_link_modal(app, item_id, "C0SUCCESS")  # Ana may
    # Ben's own click is refused before any modal opens; a submission made by hand is refused inside it.
    post = _post_of(app, "C0SUCCESS", item_id)
    before = len(app.fake.views())
    app.click(ActionId.MORE, "", user="U0BEN", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(OverflowChoice.LINK_ISSUE, item_id))
    wait_for(lambda: any("U0BEN" == e.get("user") for e in app.fake.ephemerals("C0SUCCESS")), what="the refusal")
    assert len(app.fake.views()) == before
    refused = app.submit_view(view, _text(view, InputId.ISSUE_REF, "#42"), user="U0BEN")
    assert refused.json()["response_action"] == "errors"
    assert "only" in refused.json()["errors"][InputId.ISSUE_REF].lower()
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(IssueLink)) == 0
        assert session.scalar(select(func.count()).select_from(TrackerIssue)) == 0
    # Ana links it; when it ships the unowned item is offered in the channel, where Ben may not send.
    app.submit_view(view, _text(view, InputId.ISSUE_REF, "#42"), user="U0ANA")
    _links(app, 1)
    before = len(app.posts("C0SUCCESS"))
    assert _issues_event(app, 42, "closed", "completed").json()["asked"] == 1
    [offer] = wait_for(lambda: app.posts("C0SUCCESS")[before:], what="the offer")
    send = next(e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == ActionId.SHIP_SEND)
    refusals = len(app.fake.ephemerals("C0SUCCESS"))
    app.click(ActionId.SHIP_SEND, send["value"], user="U0BEN", channel="C0SUCCESS", ts=offer["ts"])
    wait_for(lambda: len(app.fake.ephemerals("C0SUCCESS")) > refusals, what="Ben's refusal")
    app.idle()
    assert mailbox.messages == []
    app.click(ActionId.SHIP_SEND, send["value"], user="U0ANA", channel="C0SUCCESS", ts=offer["ts"])
    [mail] = wait_for(lambda: mailbox.messages, what="Ana's e-mail")
    assert mail["to"] == ["zoe@acme.example"]


def test_an_issue_already_closed_when_linked_shows_so_and_asks_nobody(make_app, github, smtp):
    controller, mailbox = smtp
    github.issues[43].update(state="closed", state_reason="completed")
    app = make_app(make_config(_file_config(github, controller.port), environ=ENVIRON))
    item_id = app.post_webhook({"id": "c-1", "kind": "nps", "score": 3, "comment": "Dark mode",
                                "customer": {"email": "al@acme.example"}}).json()["id"]
    view = _open_link_modal(app, item_id, "C0SUCCESS")
    app.submit_view(view, _text(view, InputId.ISSUE_REF, "https://github.com/acme/app/issues/43"), user="U0ANA")
    _links(app, 1)
    wait_for(lambda: any(r["method"] == "GET" for r in github.requests), what="the issue's read")
    app.idle()
    with app.runtime.session() as session:
        issue = session.scalar(select(TrackerIssue))
        assert (issue.state, issue.state_reason, issue.shipped_at) == ("closed", "completed", None)
    assert "acme/app#43> (shipped)" in json.dumps(
        app.fake.message("C0SUCCESS", _post_of(app, "C0SUCCESS", item_id)["ts"])["blocks"])
    # GitHub's own delivery of that close, arriving late, asks nobody either.
    assert _issues_event(app, 43, "closed", "completed").json()["status"] == "unchanged"
    app.idle()
    assert _dm(app, "U0ANA") == [] and mailbox.messages == []
