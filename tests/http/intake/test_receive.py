"""One slow provider never slows Slack: provider API calls run on their own bounded pool, share one
pooled client per source, and a replayed webhook is recognised before any API call.

The attack: many SurveyMonkey webhooks (each needing an API call) against a provider API that takes
seconds; and the same signed webhook replayed 48 times. A local HTTP server plays the slow API: each
response-details call is held until the test releases it (or for at most HOLD_SECONDS), so "slow"
does not depend on sleeps, and the ack bounds (ACK_BOUND_SECONDS) are far below the hold.
Real HTTP (uvicorn), a real database (SQLite and Postgres), the fake Slack.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import func, select

from bot.delivery import outbound
from bot.intake.providers import surveymonkey
from models import Item
from tests.conftest import _TLS, TEST_CONFIG, make_config, wait_for
from tests.http.intake.providers.test_more import (
    SM_API_KEY,
    SM_API_SECRET,
    SM_TOKEN,
    SURVEY_ID,
    fixture,
    surveymonkey_headers,
)
from tests.http.intake.providers.test_support import ZENDESK_SECRET, _FakeZendeskApi, zendesk_headers

HOLD_SECONDS = 5.0  # how long the slow API holds a call that is never released
ACK_BOUND_SECONDS = 1.0  # Slack allows 3 s; a starved ack waited for a whole HOLD_SECONDS
RESPONSE_PREFIX = f"/v3/surveys/{SURVEY_ID}/responses/"


class SlowSurveyMonkeyAPI:
    """Response details for any response id, each call held until `release` is set; survey details at once."""

    def __init__(self):
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.details = fixture("surveymonkey", "response_details.json")
        self.survey = fixture("surveymonkey", "survey_details.json")
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real APIs: a pooled client reuses connections

            def do_GET(self):  # noqa: N802 — http.server's naming
                with api.lock:
                    api.paths.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {SM_TOKEN}":
                    return self._send(401, b'{"error": {"id": "1010"}}')
                if self.path.startswith(RESPONSE_PREFIX):
                    with api.lock:
                        api.in_flight += 1
                        api.most_in_flight = max(api.most_in_flight, api.in_flight)
                    api.release.wait(HOLD_SECONDS)
                    with api.lock:
                        api.in_flight -= 1
                    return self._send(200, api.details)
                if self.path == f"/v3/surveys/{SURVEY_ID}/details":
                    return self._send(200, api.survey)
                return self._send(404, b'{"error": {"id": "1020"}}')

            def _send(self, status: int, raw: bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # 50 connections at once must not wait in a 5-deep listen backlog

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self, prefix: str = RESPONSE_PREFIX) -> int:
        with self.lock:
            return sum(path.startswith(prefix) for path in self.paths)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_api():
    surveymonkey.clear_cache()
    api = SlowSurveyMonkeyAPI()
    yield api
    api.stop()
    surveymonkey.clear_cache()


def sm_config(api_url: str):
    data = copy.deepcopy(TEST_CONFIG)
    data["sources"] += [{"name": "surveymonkey", "type": "surveymonkey", "secret_env": "SM_SECRET",
                         "api_url": api_url, "api_token_env": "SM_TOKEN"}]
    return make_config(data, environ={"SM_SECRET": f"{SM_API_KEY}&{SM_API_SECRET}", "SM_TOKEN": SM_TOKEN})


def completed(response_id: int | str) -> bytes:
    event = json.loads(fixture("surveymonkey", "response_completed.json"))
    event["object_id"] = event["resources"]["respondent_id"] = str(response_id)
    return json.dumps(event).encode()


def item_count(app) -> int:
    with app.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(Item))


def timed(call) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = call()
    return time.perf_counter() - started, response


@pytest.fixture
def senders():
    """Concurrent webhook senders: their own pool and connections, as 50 separate deliveries are."""
    pool = ThreadPoolExecutor(max_workers=64)
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=100), verify=_TLS)
    yield pool, client
    pool.shutdown(wait=True, cancel_futures=True)
    client.close()


def send_all(app, senders, bodies: list[bytes]):
    pool, client = senders
    return [pool.submit(client.post, f"{app.url}/webhooks/surveymonkey", content=body,
                        headers=surveymonkey_headers(body)) for body in bodies]


def test_fifty_slow_provider_calls_do_not_delay_slack_acks_or_healthz(make_app, slow_api, senders):
    app = make_app(sm_config(slow_api.url))
    futures = send_all(app, senders, [completed(900000000 + n) for n in range(50)])
    # The provider's pool is full of calls the API holds (HOLD_SECONDS each unless released).
    wait_for(lambda: slow_api.in_flight >= outbound.PROVIDER_FETCH_WORKERS, 10, what="the pool's calls in flight")

    ack_seconds, ack = timed(lambda: app.slash("open", user="U0ANA", channel="C0SUCCESS"))
    health_seconds, health = timed(lambda: app.http.get(f"{app.url}/healthz"))
    generic_seconds, generic = timed(lambda: app.post_webhook(
        {"id": "other-source-1", "kind": "nps", "score": 9, "comment": "fine"}))
    still_held = slow_api.in_flight
    slow_api.release.set()

    assert ack.status_code == 200 and ack_seconds < ACK_BOUND_SECONDS, (ack.status_code, ack_seconds)
    assert health.status_code == 200 and health_seconds < ACK_BOUND_SECONDS, health_seconds
    # Another source's webhooks are not held behind the slow one either.
    assert generic.status_code == 202 and generic_seconds < ACK_BOUND_SECONDS, generic_seconds
    assert still_held >= outbound.PROVIDER_FETCH_WORKERS  # measured while the slow calls were in flight

    # Nothing was lost: the held webhooks all complete once the API answers, each with its one call.
    answers = [future.result(timeout=30) for future in futures]
    assert [a.status_code for a in answers] == [202] * 50, {a.status_code for a in answers}
    assert slow_api.calls() == 50
    assert slow_api.most_in_flight <= outbound.PROVIDER_FETCH_WORKERS  # bounded
    assert item_count(app) == 51


def test_48_replays_of_one_surveymonkey_webhook_make_one_api_call(make_app, slow_api, senders):
    app = make_app(sm_config(slow_api.url))
    body = completed(118052219061)
    futures = send_all(app, senders, [body] * 48)
    wait_for(lambda: slow_api.in_flight >= 1, 10, what="the first look-up")
    slow_api.release.set()
    answers = [future.result(timeout=30) for future in futures]

    statuses = sorted((a.status_code, a.json()["status"]) for a in answers)
    assert statuses == [(200, "duplicate")] * 47 + [(202, "accepted")], statuses
    assert len({a.json()["id"] for a in answers}) == 1
    assert slow_api.calls() == 1  # the response's details, once
    assert slow_api.calls(f"/v3/surveys/{SURVEY_ID}/details") == 1  # its questions, once

    # Later replays (SurveyMonkey retries, an attacker) are answered from the database, no API call.
    for _ in range(3):
        again = app.http.post(f"{app.url}/webhooks/surveymonkey", content=body, headers=surveymonkey_headers(body))
        assert (again.status_code, again.json()["status"], again.json()["updated"]) == (200, "duplicate", False)
    assert len(slow_api.paths) == 2
    app.wait_for_post("C0SUCCESS")
    app.idle()
    assert len(app.posts("C0SUCCESS")) == 1 and item_count(app) == 1


def test_a_full_provider_pool_answers_503_with_retry_after_and_loses_nothing(make_app, slow_api, senders,
                                                                            monkeypatch):
    monkeypatch.setattr(outbound, "PROVIDER_FETCH_WORKERS", 2)
    monkeypatch.setattr(outbound, "PROVIDER_QUEUE_LIMIT", 1)
    app = make_app(sm_config(slow_api.url))
    bodies = [completed(700000000 + n) for n in range(5)]
    futures = send_all(app, senders, bodies)
    wait_for(lambda: slow_api.in_flight == 2, 10, what="both workers' calls in flight")
    # 2 running + 1 waiting are admitted; the other 2 are refused at once, while the API still holds.
    refused = wait_for(lambda: [f.result() for f in futures if f.done()] if sum(f.done() for f in futures) >= 2
                       else None, 10, what="the refusals")
    ack_seconds, ack = timed(lambda: app.slash("open", user="U0ANA", channel="C0SUCCESS"))
    slow_api.release.set()

    assert [r.status_code for r in refused] == [503, 503]
    assert all(int(r.headers["retry-after"]) > 0 and "retry later" in r.json()["error"] for r in refused)
    assert ack.status_code == 200 and ack_seconds < ACK_BOUND_SECONDS
    answers = [future.result(timeout=30) for future in futures]
    assert sorted(a.status_code for a in answers) == [202, 202, 202, 503, 503]

    # The refused ones are accepted when the provider retries them.
    for body, answer in zip(bodies, answers, strict=True):
        if answer.status_code == 503:
            retried = app.http.post(f"{app.url}/webhooks/surveymonkey", content=body,
                                    headers=surveymonkey_headers(body))
            assert retried.status_code == 202, retried.text
    assert item_count(app) == 5


@pytest.fixture
def zendesk_api():
    """The Zendesk users/organizations API of test_providers_support, counting each call."""
    _FakeZendeskApi.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeZendeskApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_zendesk_replays_share_one_look_up_per_user_and_organization(make_app, zendesk_api, senders):
    data = copy.deepcopy(TEST_CONFIG)
    data["sources"] += [{"name": "zendesk-api", "type": "zendesk", "secret_env": "ZENDESK_WEBHOOK_SECRET",
                         "api_url": zendesk_api}]
    app = make_app(make_config(data, environ={"ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET}))
    body = fixture("zendesk", "ticket_created.json")
    pool, client = senders
    futures = [pool.submit(client.post, f"{app.url}/webhooks/zendesk-api", content=body,
                           headers=zendesk_headers(body)) for _ in range(24)]
    answers = [future.result(timeout=30) for future in futures]
    assert sorted(a.status_code for a in answers) == [200] * 23 + [202]
    for _ in range(3):  # and one after the other
        again = app.http.post(f"{app.url}/webhooks/zendesk-api", content=body, headers=zendesk_headers(body))
        assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    # One call for the requester and one for the organization, not two per webhook.
    assert sorted(path for path, _ in _FakeZendeskApi.seen) == ["/api/v2/organizations/8447346622462.json",
                                                                "/api/v2/users/8447388091187.json"]
