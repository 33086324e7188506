"""/healthz, /readyz, /metrics and the request id that follows a webhook to its Slack post."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

from sqlalchemy import text

from bot.logs import RedactSecrets, RequestIdFilter
from bot.slack.ids import ActionId, item_value
from models import OutboxMessage
from models.base import utcnow
from models.delivery import POST_MESSAGE
from tests.conftest import wait_for

NPS_1 = {"id": "obs-1", "kind": "nps", "score": 1, "comment": "Billing charged us twice, furious about it.",
         "customer": {"email": "jo@initech.example", "name": "Jo Park", "account": "Initech"}}


def _metric(body: str, name: str, **labels: str) -> float:
    """One sample's value from the Prometheus text format (0 when the series does not exist yet)."""
    for line in body.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_liveness_and_readiness_say_what_is_wrong(make_app):
    app = make_app(worker=False)
    assert app.http.get(f"{app.url}/healthz").json() == {"status": "ok"}
    ready = app.http.get(f"{app.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["migrations"]["current"] == ready.json()["migrations"]["head"]

    # A backlog past the limit (nobody delivering) makes the app not ready, with the reason.
    now = utcnow()
    with app.runtime.session() as session:
        session.add_all([OutboxMessage(kind=POST_MESSAGE, channel="C0SUCCESS", available_at=now, created_at=now,
                                       payload={"text": f"n{i}"}) for i in range(1000)])
    stuck = app.http.get(f"{app.url}/readyz")
    assert stuck.status_code == 503 and stuck.json()["outbox"]["backlog"] == 1000
    assert any("backlog" in problem for problem in stuck.json()["problems"])
    assert app.http.get(f"{app.url}/healthz").status_code == 200

    # A database behind the code's migrations is not ready either, and says which command fixes it.
    with app.runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox"))
        conn.execute(text("UPDATE alembic_version SET version_num = '20261122_0001'"))
    behind = app.http.get(f"{app.url}/readyz")
    assert behind.status_code == 503 and "cxloop db upgrade" in json.dumps(behind.json())


def test_metrics_count_intake_delivery_acks_and_backlog(make_app):
    app = make_app()
    before = app.http.get(f"{app.url}/metrics").text
    item_id = app.post_webhook(NPS_1).json()["id"]
    app.post_webhook(NPS_1)  # a retry: counted as a duplicate, not a second item
    assert app.post_webhook(NPS_1, source="no-such-source").status_code == 404
    [post] = app.wait_for_post("C0SUCCESS")
    app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    app.idle()

    after = wait_for(lambda: (body := app.http.get(f"{app.url}/metrics").text)
                     and _metric(body, "cxloop_deliveries_total", result="sent")
                     >= _metric(before, "cxloop_deliveries_total", result="sent") + 2
                     and _metric(body, "cxloop_outbox_backlog") == 0 and body,
                     what="the post and the claim's update and thread note to be delivered and counted")
    assert app.http.get(f"{app.url}/metrics").headers["content-type"].startswith("text/plain")

    def delta(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)
    assert delta("cxloop_items_ingested_total", source="generic", kind="nps", status="accepted") == 1
    assert delta("cxloop_items_ingested_total", source="generic", kind="nps", status="duplicate") == 1
    assert delta("cxloop_webhook_requests_total", source="unknown", code="404") == 1
    assert delta("cxloop_slack_ack_seconds_count", kind="interaction") == 1
    assert _metric(after, "cxloop_database_up") == 1
    assert "cxloop_job_runs" in after and "cxloop_outbox_dead" in after


def test_the_request_id_follows_a_webhook_to_its_slack_post_and_logs_hide_the_comment(make_app):
    collect = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collect)
    root.setLevel(logging.INFO)
    try:
        app = make_app()
        response = app.post_webhook(NPS_1, headers={"X-Request-Id": "delighted-req-7781"})
        assert response.headers["x-request-id"] == "delighted-req-7781"
        app.wait_for_post("C0SUCCESS")
        posted = wait_for(lambda: [r for r in collect.records if r.getMessage().startswith("posted item")],
                          what="the delivery log line")
        assert posted[0].request_id == "delighted-req-7781"
        intake = [r for r in collect.records if r.getMessage().startswith("webhook generic/")]
        assert intake and intake[0].request_id == "delighted-req-7781"
        # A header that is not a sane token is replaced, not echoed into the logs.
        other = app.post_webhook({**NPS_1, "id": "obs-2"}, headers={"X-Request-Id": "bad id; DROP <script>"})
        assert re.fullmatch(r"[0-9a-f]{16}", other.headers["x-request-id"])
        app.idle()
    finally:
        root.removeHandler(collect)
        root.setLevel(old_level)
    at_info = [r.getMessage() for r in collect.records if r.levelno >= logging.INFO]
    assert at_info and not any("Billing charged us twice" in message for message in at_info)


def test_the_redactor_hides_secrets_tokens_and_query_tokens():
    redact = RedactSecrets(["test-webhook-secret-value", "short"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s with %s to %s", (
        "test-webhook-secret-value", "xoxb-1234-5678-abcdef", "/dashboard?token=s3cr3t&team=a"), None)
    redact.filter(record)
    message = record.getMessage()
    assert "test-webhook-secret-value" not in message and "xoxb-1234" not in message and "s3cr3t" not in message
    assert message.count("[redacted]") == 3 and "team=a" in message
    # Too-short "secrets" would redact ordinary words; they are ignored.
    assert RedactSecrets(["short"]).redact("a short note") == "a short note"


def test_a_row_waiting_ten_minutes_shows_as_the_oldest_pending_age(make_app):
    app = make_app(worker=False)
    old = utcnow() - timedelta(minutes=10)
    with app.runtime.session() as session:
        session.add(OutboxMessage(kind=POST_MESSAGE, channel="C0SUCCESS", available_at=old, created_at=old,
                                  payload={"text": "waiting"}))
    body = app.http.get(f"{app.url}/metrics").text
    assert 590 <= _metric(body, "cxloop_outbox_oldest_pending_seconds") <= 700


def test_secrets_named_by_the_config_are_redacted_once_it_is_loaded():
    from bot.logs import configure_logging, redact_also
    from tests.conftest import WEBHOOK_SECRET, make_config

    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging("INFO", secrets=())
        [ours] = [h for h in root.handlers if h.get_name() == "cxloop"]
        redact_also(make_config().secret_values())  # GENERIC_WEBHOOK_SECRET's value, a name redaction misses
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "verifying with %s", (WEBHOOK_SECRET,), None)
        assert all(f.filter(record) for f in ours.filters)
        assert WEBHOOK_SECRET not in record.getMessage() and "[redacted]" in record.getMessage()
    finally:
        root.handlers[:] = before
