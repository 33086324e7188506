"""Typeform: native webhooks for form responses (source `type = "typeform"`).

Format: Typeform's developer documentation, "Example webhook payload"
(https://www.typeform.com/developers/webhooks/example-payload/). A request is a JSON POST
`{"event_id", "event_type": "form_response", "form_response": {…}}` where `form_response` has `form_id`,
`token` (the response id), `response_url`, `landed_at`, `submitted_at` (ISO 8601), `hidden` (hidden fields),
`variables` ([{key, type, text|number}]), `definition` ({id, title, fields: [{id, ref, type, title}]}) and
`answers` ([{type, <value under the key named by type>, field: {id, type, ref?}}]). Rating,
opinion_scale and number questions answer `{"type": "number", "number": …}`; short_text / long_text answer
`{"type": "text", "text": …}`. Other event types (e.g. `form_response_partial`) are answered 202 "ignored".

Signature: "Secure your webhooks" (https://www.typeform.com/developers/webhooks/secure-your-webhooks/):
`Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>`, keyed with the webhook's secret.
Typeform signs no timestamp, so there is no freshness check: a replay can only repeat a response cxloop
already has (same token → duplicate); `submitted_at` is the source version, so an older delivery of the
same token changes nothing.

Mapping: `form_response.token` → id; the score answer → score; the comment answer → comment;
`submitted_at` (else `landed_at`) → created_at; `response_url` → url; e-mail from a hidden field named
`email`, else a variable named `email`, else the first e-mail answer; hidden fields → customer.properties
(plan, segment, account, account_id, name and vip read from common names); source_ref
{"typeform_form_id", "typeform_token"}.

Options (`[sources.options]`), all optional:
- `score_ref`: the ref (or id) of the question holding the score. Default: the first nps, opinion_scale
  or rating answer; if there is none, the first number answer.
- `comment_ref`: the ref (or id) of the question holding the comment. Default: the first long_text answer,
  else the first short_text answer.
- `kind`: nps | csat | ces | psat. Default: csat when the score question is a rating, nps otherwise
  (a 0–10 opinion scale).
A response without an answer to the score question (it was optional and skipped) is answered 202 "ignored".
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.common.signing import SignatureError
from bot.common.vocabulary import SURVEY_KINDS
from bot.intake.payload import PayloadError
from bot.intake.providers.base import (
    Fetch,
    Ignored,
    clean_text,
    customer_from_properties,
    decode_json_object,
    email_or_none,
    hmac_digest,
    lookup_property,
    require_header,
    require_valid_options,
    same,
    short_text,
)

if TYPE_CHECKING:  # bot.config imports the adapters to check their options (config.py)
    from bot.config import SourceConfig

SIGNATURE_HEADER = "Typeform-Signature"
SCORE_FIELD_TYPES = ("nps", "opinion_scale", "rating")
OPTIONS = ("score_ref", "comment_ref", "kind")


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Problems in a typeform source's `options`, one message per key (empty when fine)."""
    problems = []
    unknown = set(options) - set(OPTIONS)
    if unknown:
        problems.append(f"options: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(OPTIONS)})")
    for key in ("score_ref", "comment_ref"):
        value = options.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"options.{key}: must be a Typeform field ref (a non-empty string)")
    if options.get("kind") is not None and options["kind"] not in SURVEY_KINDS:
        problems.append(f"options.kind: must be one of {', '.join(SURVEY_KINDS)}")
    return problems


def _customer(hidden: Mapping[str, Any], email: str | None) -> dict[str, Any]:
    return {
        "email": email,
        "name": short_text(lookup_property(hidden, ("name", "full name")), 255),
        **customer_from_properties(hidden),
        "properties": dict(hidden),
    }


def _answer_text(answer: Mapping[str, Any]) -> str | None:
    """A text answer's text; for a choice question named by comment_ref, the chosen label(s)."""
    if answer.get("type") == "choice" and isinstance(answer.get("choice"), dict):
        return clean_text(answer["choice"].get("label") or answer["choice"].get("other"))
    if answer.get("type") == "choices" and isinstance(answer.get("choices"), dict):
        labels = answer["choices"].get("labels")
        labels = [label for label in labels if isinstance(label, str)] if isinstance(labels, list) else []
        return clean_text(", ".join(labels))
    return clean_text(answer.get("text"))


class _Answers:
    """The answers of one response, addressable by field ref or id, with each field's type."""

    def __init__(self, form_response: Mapping[str, Any]):
        definition = form_response.get("definition")
        fields = definition.get("fields") if isinstance(definition, dict) else None
        fields = fields if isinstance(fields, list) else []
        self.fields = {f["id"]: f for f in fields if isinstance(f, dict) and isinstance(f.get("id"), str)}
        self.items: list[dict[str, Any]] = []
        for answer in form_response["answers"]:
            if not isinstance(answer, dict) or not isinstance(answer.get("field"), dict):
                continue
            field = answer["field"]
            known = self.fields.get(field["id"], {}) if isinstance(field.get("id"), str) else {}
            self.items.append({**answer, "_ref": field.get("ref") or known.get("ref"),
                               "_field_type": field.get("type") or known.get("type")})

    def defines(self, ref: str) -> bool:
        return any(ref in (f.get("ref"), f.get("id")) for f in self.fields.values())

    def by_ref(self, ref: str) -> dict[str, Any] | None:
        return next((a for a in self.items if ref in (a["_ref"], a["field"].get("id"))), None)

    def first(self, field_types: tuple[str, ...], answer_type: str) -> dict[str, Any] | None:
        return next((a for a in self.items if a["_field_type"] in field_types and a.get("type") == answer_type),
                    None)


def _find(answers: _Answers, ref: str, option: str, form_id: str) -> dict[str, Any] | None:
    """The answer to the question a `*_ref` option names; None when that question was skipped."""
    answer = answers.by_ref(ref)
    if answer is None and answers.fields and not answers.defines(ref):
        raise PayloadError(422, f"form {form_id[:40]!r} has no question with ref {ref[:100]!r} "
                           f"(options.{option})", field=f"options.{option}")
    return answer


class TypeformAdapter:
    check_options = staticmethod(check_options)

    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None:
        given = require_header(headers, SIGNATURE_HEADER)
        expected = "sha256=" + base64.b64encode(hmac_digest(secret, body)).decode()
        if not same(expected, given):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        options = source.options
        # A source cxloop cannot apply: 500, so Typeform retries after the configuration is fixed.
        require_valid_options(source, check_options)
        data = decode_json_object(body)
        event_type = data.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise PayloadError(422, "event_type is missing", field="event_type")
        if event_type != "form_response":
            return Ignored(f"Typeform event {event_type[:64]!r} is not a completed form response")
        response = data.get("form_response")
        if not isinstance(response, dict):
            raise PayloadError(422, "form_response must be an object", field="form_response")
        token = clean_text(response.get("token"))
        if not token:
            raise PayloadError(422, "form_response.token (the response id) is missing", field="form_response.token")
        form_id = clean_text(response.get("form_id"))
        if not form_id:
            raise PayloadError(422, "form_response.form_id is missing", field="form_response.form_id")
        if not isinstance(response.get("answers", []), list):
            raise PayloadError(422, "form_response.answers must be a list", field="form_response.answers")
        answers = _Answers({**response, "answers": response.get("answers") or []})

        if options.get("score_ref"):
            score_answer = _find(answers, options["score_ref"].strip(), "score_ref", form_id)
        else:
            score_answer = answers.first(SCORE_FIELD_TYPES, "number") or answers.first(("number",), "number")
        if score_answer is None:
            return Ignored(f"Typeform response {token[:40]!r} has no answer to the score question")
        score = score_answer.get("number")
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise PayloadError(422, "the score answer is not a number "
                               f"(question {str(score_answer['_ref'] or score_answer['field'].get('id'))[:100]!r})",
                               field="form_response.answers")
        kind = options.get("kind") or ("csat" if score_answer["_field_type"] == "rating" else "nps")

        if options.get("comment_ref"):
            comment_answer = _find(answers, options["comment_ref"].strip(), "comment_ref", form_id)
        else:
            comment_answer = answers.first(("long_text",), "text") or answers.first(("short_text",), "text")
        comment = _answer_text(comment_answer) if comment_answer else None

        hidden = response.get("hidden") if isinstance(response.get("hidden"), dict) else {}
        listed = response.get("variables") if isinstance(response.get("variables"), list) else []
        variables = {v["key"]: v.get(v["type"]) for v in listed
                     if isinstance(v, dict) and isinstance(v.get("key"), str) and isinstance(v.get("type"), str)}
        email_answer = answers.first(("email",), "email")
        email = (email_or_none(lookup_property(hidden, ("email", "e mail")))
                 or email_or_none(lookup_property(variables, ("email",)))
                 or email_or_none(email_answer.get("email") if email_answer else None))
        url = clean_text(response.get("response_url"))
        return [{
            "id": token,
            "kind": kind,
            "score": score,
            "comment": comment,
            "customer": _customer(hidden, email),
            "url": url if url and url.lower().startswith(("https://", "http://")) else None,
            "created_at": clean_text(response.get("submitted_at")) or clean_text(response.get("landed_at")),
            "updated_at": clean_text(response.get("submitted_at")) or clean_text(response.get("landed_at")),
            "source_ref": {"typeform_form_id": form_id, "typeform_token": token},
        }]


ADAPTER = TypeformAdapter()
