"""Every webhook parser under bad input: documented payloads with fields deleted, retyped, oversized and
unicode-heavy, and raw garbage.

Property (the contract bot/intake/receive.py relies on): a parser returns Ignored(reason) or payloads, and
each payload either validates (intake.validate_payload) into something the schema can store, or raises
PayloadError with a 4xx status; a provider API that answers nonsense raises ProviderUnavailable (503).
Any other exception would be a 500 with nothing useful for the sender. Every answer the endpoint would
give (error, ignored reason) must also render as JSON.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import String

from bot.config import SourceConfig
from bot.intake.ingest import _content_fields
from bot.intake.payload import GenericPayload, PayloadError, parse_generic_payload, validate_payload
from bot.intake.providers import adapter_for, surveymonkey
from bot.intake.providers.base import Ignored, ProviderUnavailable
from models import Item
from tests.fuzz.counting import counted
from tests.fuzz.strategies import (
    budget,
    encode_json,
    fixture_bytes,
    fixture_json,
    form_body,
    garbage_bytes,
    json_body,
    mutated,
    provider_fixtures,
)

JSON_HEADERS = {"content-type": "application/json"}
FORM_HEADERS = {"content-type": "application/x-www-form-urlencoded"}

# Column lengths the stored item must respect (Postgres enforces them; SQLite would not notice).
_COLUMN_LIMITS = {c.name: c.type.length for c in Item.__table__.columns if isinstance(c.type, String) and c.type.length}

GENERIC_BASES = [
    {"id": "r-1", "kind": "nps", "score": 3, "comment": "Too slow", "customer": {"email": "ann@acme.example"}},
    {"id": 42, "kind": "csat", "score": 2, "comment": "Meh", "tags": ["billing"], "url": "https://x.example/r/42",
     "created_at": "2024-05-14T16:41:07Z",
     "customer": {"email": "b@acme.example", "name": "Bo", "account": "Acme", "account_id": "A-1",
                  "plan": "Enterprise", "segment": "mid", "vip": True, "properties": {"seats": 40}}},
    {"id": "esc-1", "kind": "escalation", "subject": "Outage", "priority": "urgent", "created_at": 1715704867,
     "source_ref": {"ticket": 1}},
]

SOURCES = {
    "delighted": [{}, {"survey_types": {"enps": "nps"}, "ces_scale": 5}],
    "typeform": [{}, {"score_ref": "nps_score", "comment_ref": "why", "kind": "csat"}],
    "formbricks": [{}, {"score_question": "nps", "comment_question": "why", "kind": "nps"}],
    "wootric": [{}],
    "surveymonkey": [{}, {"score_question_id": "73575702", "comment_question_id": "73575703", "kind": "nps"}],
    "zendesk": [{}, {"subdomain": "acme", "escalate_tags": ["vip"], "escalate_priorities": ["urgent"]}],
    "intercom": [{}, {"app_id": "abc123", "escalate_tags": ["escalation"], "admin_id": "7"}],
}


def source(kind: str, options: dict, api: bool) -> SourceConfig:
    return SourceConfig(name=kind, type=kind, secret_env="FUZZ_SECRET", options=options,
                        api_url="https://api.example" if api else None)


def renders(body: dict) -> None:
    """What Starlette's JSONResponse does with an answer; it must not fail on anything a sender sent."""
    json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")


def assert_storable(payload: GenericPayload) -> None:
    """A validated payload fits the schema: lengths, text Postgres accepts, strict JSON in JSON columns."""
    fields = _content_fields(payload)
    for name, value in fields.items():
        column = {"customer_email": "customer_email", "account_external_id": "account_external_id"}.get(name, name)
        if isinstance(value, str):
            assert "\x00" not in value, f"{name} holds NUL, which Postgres refuses"
            value.encode("utf-8")  # a lone surrogate cannot be stored
            if column in _COLUMN_LIMITS:
                assert len(value) <= _COLUMN_LIMITS[column], f"{name} is longer than its column"
        elif isinstance(value, dict | list):
            text = json.dumps(value, allow_nan=False, ensure_ascii=False)
            text.encode("utf-8")
            assert "\\u0000" not in text, f"{name} holds NUL, which Postgres jsonb refuses"
    assert len(payload.id) <= _COLUMN_LIMITS["external_id"]
    if payload.score is not None:
        assert -(2**31) <= payload.score < 2**31


def check(adapter, src: SourceConfig, body: bytes, headers: dict, fetch) -> str:
    """Runs one parse and checks the contract; returns the outcome (for the assertion messages)."""
    try:
        parsed = adapter.parse(src, body, headers, fetch)
    except PayloadError as exc:
        assert 400 <= exc.status < 500, f"bad input answered {exc.status}: {exc.message}"
        renders(exc.as_json())
        return "refused"
    except ProviderUnavailable as exc:
        renders({"error": str(exc)})
        return "unavailable"
    if isinstance(parsed, Ignored):
        renders({"status": "ignored", "reason": parsed.reason})
        return "ignored"
    assert isinstance(parsed, list)
    for data in parsed:
        try:
            payload = validate_payload(data)
        except PayloadError as exc:
            assert 400 <= exc.status < 500
            renders(exc.as_json())
            continue
        assert_storable(payload)
    return "parsed"


def fetch_for(kind: str, data: st.DataObject):
    """A provider API whose answers are fuzzed too (SurveyMonkey details, Zendesk/Intercom look-ups)."""
    def fetch(path: str, *, fresh: bool = False):
        failure = data.draw(st.integers(0, 19), label="api failure")
        if failure == 0:
            raise ProviderUnavailable("down")
        if failure == 1:
            request = httpx.Request("GET", "https://api.example" + path)
            raise httpx.HTTPStatusError("x", request=request, response=httpx.Response(
                data.draw(st.sampled_from([401, 404, 429, 500])), request=request))
        if failure == 2:
            raise ValueError("not JSON")
        if kind == "surveymonkey":
            base = fixture_json("surveymonkey", "survey_details.json" if path.endswith("/details") and
                                "/responses/" not in path else "response_details.json")
        elif kind == "zendesk":
            base = {"user": {"email": "z@acme.example", "name": "Zed"}, "organization": {"name": "Acme",
                                                                                         "external_id": "A-9"}}
        else:
            base = {"type": "contact", "id": "c1", "email": "c@acme.example", "name": "Cee"}
        return data.draw(mutated(base), label="api answer")
    return fetch


def _cases(kind: str) -> list[tuple[str, int, bool]]:
    return [(kind, index, api) for index in range(len(SOURCES[kind])) for api in (False, True)
            if api or kind != "surveymonkey"]


@pytest.mark.parametrize("kind", list(SOURCES))
@settings(max_examples=budget(150))
@given(data=st.data())
@counted
def test_provider_parser_refuses_bad_input_with_a_4xx(kind, data):
    _, index, api = data.draw(st.sampled_from(_cases(kind)), label="source")
    src = source(kind, SOURCES[kind][index], api)
    adapter = adapter_for(kind)
    surveymonkey.clear_cache()
    if kind == "wootric" and data.draw(st.booleans(), label="form encoded"):
        name = data.draw(st.sampled_from(provider_fixtures("wootric", ".form")))
        from bot.intake.providers.wootric import parse_form
        body, headers = data.draw(form_body(parse_form(fixture_bytes("wootric", name)))), FORM_HEADERS
    else:
        name = data.draw(st.sampled_from(provider_fixtures(kind)))
        body, headers = data.draw(json_body(fixture_json(kind, name))), JSON_HEADERS
    check(adapter, src, body, headers, fetch_for(kind, data))


@pytest.mark.parametrize("kind", list(SOURCES))
@settings(max_examples=budget(60))
@given(body=garbage_bytes, content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                                         "", "text/plain"]))
@counted
def test_provider_parser_refuses_garbage_bytes(kind, body, content_type):
    src = source(kind, {}, False)
    headers = {"content-type": content_type} if content_type else {}
    check(adapter_for(kind), src, body, headers, lambda path: {})


@settings(max_examples=budget(250))
@given(data=st.data())
@counted
def test_generic_parser_refuses_bad_input_with_a_4xx(data):
    base = data.draw(st.sampled_from(GENERIC_BASES))
    body = data.draw(st.one_of(json_body(base), json_body(base), json_body(base), st.builds(
        lambda v: encode_json(v, ascii_only=True), mutated(base))), label="body")
    try:
        payload = parse_generic_payload(body)
    except PayloadError as exc:
        assert 400 <= exc.status < 500, exc.message
        renders(exc.as_json())
        return
    assert_storable(payload)


@settings(max_examples=budget(100))
@given(body=garbage_bytes)
@counted
def test_generic_parser_refuses_garbage_bytes(body):
    try:
        payload = parse_generic_payload(body)
    except PayloadError as exc:
        assert 400 <= exc.status < 500
        renders(exc.as_json())
        return
    assert_storable(payload)


def test_numbers_json_has_not_are_refused_not_stored():
    # JSON has no NaN or Infinity (Python's json accepts them) and 1e999 decodes to inf: Postgres's jsonb
    # refuses all three at commit, which was a 500.
    for body, status, field in ((b'{"id": "n", "score": 3, "customer": {"properties": {"x": NaN}}}', 400, None),
                                (b'{"id": "n", "score": 3, "source_ref": {"x": -Infinity}}', 400, None),
                                (b'{"id": "n", "score": 3, "customer": {"properties": {"x": 1e999}}}', 422,
                                 "customer.properties")):
        with pytest.raises(PayloadError) as refused:
            parse_generic_payload(body)
        assert (refused.value.status, refused.value.field) == (status, field)
    assert parse_generic_payload(b'{"id": "n", "score": 3, "customer": {"properties": {"x": 1.5}}}').score == 3
