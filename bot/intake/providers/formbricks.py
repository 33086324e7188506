"""Formbricks: native webhooks for survey responses (source `type = "formbricks"`).

Format: Formbricks documentation, "Webhooks" (https://formbricks.com/docs/xm-and-surveys/core-features/
integrations/webhooks), and the sender in formbricks/formbricks (apps/web/app/api/(internal)/pipeline/
lib/processor.ts). A request is a JSON POST `{"webhookId", "event", "data"}`; `event` is
`responseCreated` (the first answer), `responseUpdated` (more answers) or `responseFinished` (the
respondent completed the survey). All three carry the response as answered so far in `data`: `id`,
`surveyId`, `createdAt`, `updatedAt`, `finished`, `data` (answers keyed by question id: numbers for NPS
and rating questions, strings for open text), `contact`, `contactAttributes`, `meta` {url, country,
userAgent}, `tags`, `variables`, `survey` {title, type, status}. The documentation prints each example
inside a JSON array; a body that is an array of such events is accepted too.

Every event maps to the response id, so a response posted at its first answer (the score) is updated in
place — stored item and Slack message — when later events add the comment or finish it. The source
version is the response's `updatedAt`, then the event's stage (created < updated < finished, so a later
stage wins at an equal time): a `responseCreated` delivered after `responseFinished` changes nothing. Formbricks'
"Test endpoint" request (`{"event": "testEndpoint"}`) is answered 202 "ignored".

Signature: Standard Webhooks, as the documentation's "Webhook Security with Standard Webhooks" describes:
headers `webhook-id`, `webhook-timestamp` (unix seconds) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{raw body}">` (several
space-separated signatures may be sent; one must match). The key is the webhook's signing secret,
`whsec_<base64>`, base64-decoded. Timestamps more than 5 minutes from now are refused.
One exception: when a webhook is being added, Formbricks tests the URL with a `{"event": "testEndpoint"}`
body signed with a secret it shows only after the test passed. That exact body is accepted unverified; it
is ignored and stores nothing, so saving the webhook in Formbricks works.

Options (`[sources.options]`), all optional:
- `score_question`: the id of the question holding the score. Default: the first answer that is a number
  (NPS or rating question).
- `comment_question`: the id of the question holding the comment. Default: the first answer that is text
  (skipping the score question and the "clicked" / "dismissed" / "accepted" of call-to-action and consent
  questions). Without a survey definition in the webhook the defaults cannot tell an open-text answer
  from a single-choice one: set `comment_question` when the survey has choice questions.
- `kind`: nps | csat | ces | psat, the kind of the score question (default nps).
A response with no score answer yet (e.g. responseCreated after a first question that is not the score)
is answered 202 "ignored"; the next event for it that has the score is stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.common.signing import SignatureError
from bot.common.vocabulary import SURVEY_KINDS
from bot.intake.payload import PayloadError
from bot.intake.providers.base import (
    Fetch,
    Ignored,
    check_timestamp,
    clean_text,
    customer_from_properties,
    decode_json,
    email_or_none,
    lookup_property,
    require_header,
    require_valid_options,
    same,
    short_text,
    tag_list,
)

if TYPE_CHECKING:  # bot.config imports the adapters to check their options (config.py)
    from bot.config import SourceConfig

RESPONSE_EVENTS = ("responseCreated", "responseUpdated", "responseFinished")
# The event's stage, the second part of the source version (a later stage wins at an equal updatedAt).
STAGES = {name: rank for rank, name in enumerate(RESPONSE_EVENTS)}
TEST_EVENT = {"event": "testEndpoint"}
SECRET_PREFIX = "whsec_"
# What call-to-action and consent questions store: not comments.
NON_TEXT_ANSWERS = frozenset({"clicked", "dismissed", "accepted"})
OPTIONS = ("score_question", "comment_question", "kind")


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Problems in a formbricks source's `options`, one message per key (empty when fine)."""
    problems = []
    unknown = set(options) - set(OPTIONS)
    if unknown:
        problems.append(f"options: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(OPTIONS)})")
    for key in ("score_question", "comment_question"):
        value = options.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"options.{key}: must be a Formbricks question id (a non-empty string)")
    if options.get("kind") is not None and options["kind"] not in SURVEY_KINDS:
        problems.append(f"options.kind: must be one of {', '.join(SURVEY_KINDS)}")
    return problems


def _is_test_event(body: bytes) -> bool:
    if len(body) > 200:
        return False
    try:
        return json.loads(body) == TEST_EVENT
    except (UnicodeDecodeError, ValueError):
        return False


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after `whsec_`, decoded."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the configured secret is not a Formbricks signing secret (whsec_…)") from None


def standard_signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` over "{id}.{timestamp}.{body}", as Formbricks signs."""
    digest = hmac.new(signing_key(secret), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _customer(attributes: Mapping[str, Any], contact: Mapping[str, Any]) -> dict[str, Any]:
    first, last = short_text(lookup_property(attributes, ("first name", "firstname")), 120), short_text(
        lookup_property(attributes, ("last name", "lastname")), 120)
    name = (short_text(lookup_property(attributes, ("name", "full name")), 255)
            or " ".join(p for p in (first, last) if p) or None)
    properties = dict(attributes)
    if contact.get("id") is not None:
        properties.setdefault("formbricks_contact_id", contact["id"])
    return {
        "email": email_or_none(lookup_property(attributes, ("email", "e mail"))),
        "name": name,
        **customer_from_properties(attributes),
        "properties": properties,
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pick_score(answers: Mapping[str, Any], question: str | None) -> tuple[str, Any] | None:
    if question:
        # Formbricks keeps a skipped optional question as "" (or leaves it out): not answered yet.
        return (question, answers[question]) if answers.get(question) not in (None, "", []) else None
    return next(((q, v) for q, v in answers.items() if _is_number(v)), None)


def _pick_comment(answers: Mapping[str, Any], question: str | None, score_question: str) -> str | None:
    if question:
        value = answers.get(question)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if isinstance(v, str | int | float))
        return clean_text(value)
    for q, value in answers.items():
        text = clean_text(value)
        if q != score_question and text and text.lower() not in NON_TEXT_ANSWERS:
            return text
    return None


class FormbricksAdapter:
    check_options = staticmethod(check_options)

    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None:
        if _is_test_event(body):
            return  # Formbricks' "Test endpoint": stores nothing (parse ignores it); see the docstring.
        webhook_id = require_header(headers, "webhook-id")
        timestamp = require_header(headers, "webhook-timestamp").strip()
        given = require_header(headers, "webhook-signature")
        check_timestamp(timestamp, now, name="webhook-timestamp")
        expected = standard_signature(secret, webhook_id, timestamp, body)
        # Several signatures may be sent (secret rotation), space-separated; one must match. Each is
        # compared in constant time, all of them, so the time taken does not tell which one failed.
        matches = [same(expected, candidate) for candidate in given.split()[:10]]
        if not any(matches):
            raise SignatureError("webhook-signature does not match the body")

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        options = source.options
        # A source cxloop cannot apply: 500, so the event is not mistaken for a bad body.
        require_valid_options(source, check_options)
        data = decode_json(body)
        events = data if isinstance(data, list) else [data]
        if not events:
            raise PayloadError(422, "body is an empty list", field="(body)")
        payloads, reasons = [], []
        for index, event in enumerate(events):
            at = f"[{index}]." if isinstance(data, list) else ""
            parsed = self._event(event, at, options)
            if isinstance(parsed, Ignored):
                reasons.append(parsed.reason)
            else:
                payloads.append(parsed)
        if not payloads:
            return Ignored("; ".join(dict.fromkeys(reasons)))
        return payloads

    def _event(self, event: Any, at: str, options: Mapping[str, Any]) -> dict[str, Any] | Ignored:
        if not isinstance(event, dict):
            raise PayloadError(422, "each event must be a JSON object", field=at.rstrip(".") or "(body)")
        name = event.get("event")
        if not isinstance(name, str) or not name:
            raise PayloadError(422, "event is missing", field=f"{at}event")
        if name == "testEndpoint":
            return Ignored("Formbricks test request")
        if name not in RESPONSE_EVENTS:
            return Ignored(f"Formbricks event {name[:64]!r} is not a survey response")
        response = event.get("data")
        if not isinstance(response, dict):
            raise PayloadError(422, "data must be the response object", field=f"{at}data")
        response_id = clean_text(response.get("id"))
        if not response_id:
            raise PayloadError(422, "data.id (the response id) is missing", field=f"{at}data.id")
        answers = response.get("data")
        if not isinstance(answers, dict):
            raise PayloadError(422, "data.data (the answers) must be an object", field=f"{at}data.data")

        score_question = clean_text(options.get("score_question"))
        picked = _pick_score(answers, score_question)
        if picked is None:
            return Ignored(f"Formbricks response {response_id[:40]!r} has no score answer yet")
        question, score = picked
        if not _is_number(score):
            raise PayloadError(422, f"the answer to the score question {question[:100]!r} is not a number",
                               field=f"{at}data.data.{question[:100]}")

        survey = response.get("survey") if isinstance(response.get("survey"), dict) else {}
        attributes = response.get("contactAttributes") or response.get("personAttributes")
        contact = response.get("contact")
        source_ref: dict[str, Any] = {"formbricks_response_id": response_id,
                                      "formbricks_score_question": question}
        if clean_text(response.get("surveyId")):
            source_ref["formbricks_survey_id"] = response["surveyId"]
        if clean_text(survey.get("title")):
            source_ref["formbricks_survey_title"] = survey["title"][:200]
        return {
            "id": response_id,
            "kind": options.get("kind") or "nps",
            "score": score,
            "comment": _pick_comment(answers, clean_text(options.get("comment_question")), question),
            "customer": _customer(attributes if isinstance(attributes, dict) else {},
                                  contact if isinstance(contact, dict) else {}),
            "tags": tag_list(response.get("tags")),
            "created_at": clean_text(response.get("createdAt")),
            "updated_at": clean_text(response.get("updatedAt")) or clean_text(response.get("createdAt")),
            "version": STAGES[name],
            "source_ref": source_ref,
        }


ADAPTER = FormbricksAdapter()
