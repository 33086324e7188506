"""SurveyMonkey webhooks → generic payloads (source type "surveymonkey").

Follows SurveyMonkey's API v3 documentation (https://api.surveymonkey.com/v3/docs; source in
github.com/SurveyMonkey/public_api_docs, includes/_webhooks.md, _responses.md, _surveys.md and
_questions.md):

- **Webhooks carry ids only.** A callback is ``{"name", "filter_type", "filter_id", "event_type",
  "event_id", "object_type": "response", "object_id": <response id>, "event_datetime", "resources":
  {"respondent_id", "recipient_id", "collector_id", "survey_id", "user_id"}}``. Only
  ``response_completed`` is acted on; every other event type (``response_created``,
  ``response_updated``, ``response_disqualified``, ``collector_*``, …) is acknowledged and ignored.
- **Signature.** Each callback carries ``Sm-Apikey`` (the app's API key, or its Client ID for apps
  without one) and ``Sm-Signature``: base64 of HMAC-SHA1 over the raw body, keyed with
  ``"<API key or Client ID>&<API secret>"``. The source's ``secret_env`` holds exactly that key,
  ``<client id>&<secret>``; ``Sm-Apikey`` must equal the part before the ``&``.
- **Fetch.** The response is then read with ``GET /v3/surveys/{survey_id}/responses/{response_id}/details``
  (ids checked to be digits first) and the survey's questions with ``GET /v3/surveys/{survey_id}/details``
  (cached per source and survey for 10 minutes, and read again when an answer names a choice the
  cached copy lacks). Answers name choices by ``choice_id`` only; the choice's text comes from the
  survey's ``pages[].questions[].answers.choices[]``. Both calls use the source's ``api_url``
  (``https://api.surveymonkey.com``) and its ``api_token_env`` access token as a Bearer token. When
  the API cannot be reached the webhook is answered 503, so SurveyMonkey sends it again. A callback
  whose response is already stored is answered 200 duplicate before any fetch (``item_ids``).

Mapping (``options`` of the source, all optional):

- ``kind``: ``nps`` (default), ``csat``, ``ces`` or ``psat``.
- ``score_question_id``: the question holding the score. Default: the first question whose choices
  are numbered through the kind's whole scale (0–10 for NPS: "0 - Not at all likely", "1", …, "10"),
  else the first answer whose choice text is a number in the kind's range (or, for CSAT/CES/PSAT
  rating questions with unlabelled choices, whose choice weight is). A choice labelled "4 or more" is
  not a number. A respondent who skipped the score question is ignored.
- ``comment_question_id``: the question holding the comment. Default: the first open-ended text answer
  (an answer with ``text`` and no choice, row or "other" id).
- Customer: ``email_address`` / ``first_name`` / ``last_name`` of the response, else
  ``metadata.contact``, else a Contact Information (``demographic``) question's name, company and
  e-mail rows; ``custom_variables`` (and ``custom_value``) → ``customer.properties``, from which
  account, account id, plan, segment and VIP are read by common names (see
  ``bot.intake.providers.wootric.customer_from_properties``).
- ``analyze_url`` (else ``href``) → url; ``date_modified`` (else ``date_created``) → created_at and
  the source version (a callback answered from an older copy of the response changes nothing);
  ``source_ref`` = survey, response and collector ids. Responses whose ``response_status`` is not
  ``completed``, and survey previews (``collection_mode`` preview), are ignored.

Set-up: SurveyMonkey has no webhook screen; create one through the API
(``POST https://api.surveymonkey.com/v3/webhooks`` with ``{"name": "cxloop", "event_type":
"response_completed", "object_type": "survey", "object_ids": ["<survey id>"], "subscription_url":
"https://YOUR-HOST/webhooks/<source>"}``; SurveyMonkey first checks that the URL answers a HEAD
request with 200). Client ID, secret and access token are on the app's Settings page at
developer.surveymonkey.com → My Apps.
"""

from __future__ import annotations

import base64
import hmac
import re
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from bot.common.signing import SignatureError
from bot.common.vocabulary import SCORE_RANGES, SURVEY_KINDS
from bot.intake.payload import PayloadError, storable
from bot.intake.providers.base import (
    Fetch,
    Ignored,
    ProviderUnavailable,
    decode_json_object,
    email_or_none,
    hmac_digest,
    require_header,
)
from bot.intake.providers.wootric import customer_from_properties

if TYPE_CHECKING:  # bot.config imports the adapters to check their options (config.py)
    from bot.config import SourceConfig

SIGNATURE_HEADER = "Sm-Signature"
APIKEY_HEADER = "Sm-Apikey"
ACTED_ON = "response_completed"
OPTIONS = ("kind", "score_question_id", "comment_question_id")
PREVIEW_MODES = ("preview", "survey_preview")
SURVEY_TTL_SECONDS = 600
SURVEY_CACHE_SIZE = 128
_ID = re.compile(r"^[0-9]{1,20}$")
# "7", "0 - Not at all likely", "10 – Extremely likely"; not "4 or more", "1-10" or "2.5".
_NUMBERED = re.compile(r"^\s*(\d{1,2})\s*(?:$|[-–—:.)]\s*(?!\d)\S.*$)", re.DOTALL)

# (source name, api_url, survey id) → (fetched at, question index). Survey structure changes rarely;
# caching it keeps one webhook to one API call (SurveyMonkey apps have daily request limits).
_SURVEY_CACHE: dict[tuple[str, str, str], tuple[float, dict[str, dict[str, Any]]]] = {}
_CACHE_LOCK = threading.Lock()


class _Gone(Exception):
    """The API answered 404: the response (or survey) no longer exists."""


def _list(value: Any) -> list:
    """A list from the API as is; anything else (null, an object, a number) as no entries."""
    return value if isinstance(value, list) else []


def _digits(value: Any, field: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not _ID.match(value):
        raise PayloadError(422, f"{field}: must be a SurveyMonkey id (digits)", field=field)
    return value


def _get(fetch: Fetch, path: str, *, fresh: bool = False) -> dict[str, Any]:
    try:
        data = fetch(path, fresh=True) if fresh else fetch(path)
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if status == 404:
            raise _Gone(path) from None
        hint = " (check the access token in api_token_env and its scopes)" if status in (401, 403) else ""
        raise ProviderUnavailable(f"SurveyMonkey API answered {status}{hint}") from None
    except ValueError:
        raise ProviderUnavailable("SurveyMonkey API answered with a body that is not JSON") from None
    if not isinstance(data, dict):
        raise ProviderUnavailable("SurveyMonkey API answered with something other than a JSON object")
    # Its strings end up in our answer and the database: the same clean-up as a webhook body's.
    return storable(data)


def _index_survey(survey: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """question id → {"family", "subtype", "choices": {choice id: choice}, "rows": {row id: row}}."""
    index: dict[str, dict[str, Any]] = {}
    for page in _list(survey.get("pages")):
        if not isinstance(page, dict):
            continue
        for question in _list(page.get("questions")):
            if not isinstance(question, dict) or question.get("id") is None:
                continue
            answers = question.get("answers") if isinstance(question.get("answers"), dict) else {}
            choices = [c for c in _list(answers.get("choices")) if isinstance(c, dict)]
            for col in _list(answers.get("cols")):  # matrix menus keep their choices per column
                if isinstance(col, dict):
                    choices += [c for c in _list(col.get("choices")) if isinstance(c, dict)]
            index[str(question["id"])] = {
                "family": question.get("family"), "subtype": question.get("subtype"),
                "choices": {str(c["id"]): c for c in choices if c.get("id") is not None},
                "rows": {str(r["id"]): r for r in _list(answers.get("rows"))
                         if isinstance(r, dict) and r.get("id") is not None},
            }
    return index


class _Survey:
    """The survey's questions, fetched once per source and survey (and again if a choice is missing)."""

    def __init__(self, source: SourceConfig, survey_id: str, fetch: Fetch):
        self.key = (source.name, source.api_url or "", survey_id)
        self.survey_id, self.fetch = survey_id, fetch
        self.index: dict[str, dict[str, Any]] | None = None
        self.refreshed = False

    def _load(self, *, fresh: bool) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        with _CACHE_LOCK:
            cached = _SURVEY_CACHE.get(self.key)
        if cached and not fresh and now - cached[0] < SURVEY_TTL_SECONDS:
            return cached[1]
        try:
            index = _index_survey(_get(self.fetch, f"/v3/surveys/{self.survey_id}/details", fresh=fresh))
        except _Gone:
            index = {}
        with _CACHE_LOCK:
            _SURVEY_CACHE[self.key] = (now, index)
            while len(_SURVEY_CACHE) > SURVEY_CACHE_SIZE:
                _SURVEY_CACHE.pop(next(iter(_SURVEY_CACHE)))
        return index

    def question(self, question_id: str) -> dict[str, Any]:
        if self.index is None:
            self.index = self._load(fresh=False)
        return self.index.get(question_id, {})

    def choice(self, question_id: str, choice_id: str) -> dict[str, Any] | None:
        found = self.question(question_id).get("choices", {}).get(choice_id)
        if found is None and not self.refreshed:
            # Edited since we cached it: read it again, once per webhook.
            self.refreshed = True
            self.index = self._load(fresh=True)
            found = self.question(question_id).get("choices", {}).get(choice_id)
        return found


def _numbered(choice: Mapping[str, Any] | None) -> int | None:
    text = choice.get("text") if choice else None
    match = _NUMBERED.match(text) if isinstance(text, str) else None
    return int(match.group(1)) if match else None


def _weight(choice: Mapping[str, Any] | None) -> int | None:
    weight = choice.get("weight") if choice else None
    if isinstance(weight, int | float) and not isinstance(weight, bool) and float(weight).is_integer():
        return int(weight)
    return None


def _answered(details: Mapping[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(question id, answers) in the order the respondent saw them."""
    answered = []
    pages = details.get("pages")
    if not isinstance(pages, list):
        raise ProviderUnavailable("SurveyMonkey response details have no pages list")
    for page in pages:
        for question in _list(page.get("questions")) if isinstance(page, dict) else []:
            if isinstance(question, dict) and question.get("id") is not None:
                answers = [a for a in _list(question.get("answers")) if isinstance(a, dict)]
                answered.append((str(question["id"]), answers))
    return answered


class _Options:
    def __init__(self, source: SourceConfig):
        options = source.options or {}
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise PayloadError(422, f"options.{unknown[0]}: unknown option for a surveymonkey source "
                               f"(known: {', '.join(OPTIONS)})", field=f"options.{unknown[0]}")
        self.kind = options.get("kind", "nps")
        if self.kind not in SURVEY_KINDS:
            raise PayloadError(422, f"options.kind: must be one of {', '.join(SURVEY_KINDS)}", field="options.kind")
        self.score_question_id = self._question(options, "score_question_id")
        self.comment_question_id = self._question(options, "comment_question_id")

    @staticmethod
    def _question(options: Mapping[str, Any], key: str) -> str | None:
        return None if options.get(key) in (None, "") else _digits(options[key], f"options.{key}")


def _score(options: _Options, survey: _Survey, answered: list[tuple[str, list[dict[str, Any]]]]
           ) -> tuple[str, int] | Ignored:
    low, high = SCORE_RANGES[options.kind]

    def value(question_id: str, answer: Mapping[str, Any]) -> int | None:
        if answer.get("choice_id") is not None:
            choice = survey.choice(question_id, str(answer["choice_id"]))
            number = _numbered(choice)
            if number is None and options.kind != "nps":  # NPS choice weights are not scores
                number = _weight(choice)
            return number
        if options.score_question_id == question_id and isinstance(answer.get("text"), str):
            text = answer["text"].strip()
            return int(text) if text.isdigit() and len(text) < 4 else None
        return None

    if options.score_question_id:
        answers = dict(answered).get(options.score_question_id)
        if not answers:
            return Ignored(f"the respondent skipped the score question {options.score_question_id}")
        number = value(options.score_question_id, answers[0])
        if number is None:
            raise PayloadError(422, f"score: the answer to question {options.score_question_id} is not a "
                               "number", field="score")
        return options.score_question_id, number

    def full_scale(question_id: str) -> bool:
        numbers = {_numbered(c) for c in survey.question(question_id).get("choices", {}).values()}
        return set(range(low, high + 1)) <= numbers

    first: tuple[str, int] | None = None
    for question_id, answers in answered:
        for answer in answers:
            number = value(question_id, answer)
            if number is None or not low <= number <= high:
                continue
            if full_scale(question_id):
                return question_id, number
            first = first or (question_id, number)
    if first:
        return first
    raise PayloadError(422, f"score: no answer is a number {low}–{high}; set options.score_question_id",
                       field="score")


def _comment(options: _Options, answered: list[tuple[str, list[dict[str, Any]]]],
             score_question: str) -> str | None:
    for question_id, answers in answered:
        if options.comment_question_id:
            if question_id != options.comment_question_id:
                continue
            texts = [a["text"] for a in answers if isinstance(a.get("text"), str) and a["text"].strip()]
            return "\n".join(texts) or None
        if question_id == score_question:
            continue
        for answer in answers:
            plain = not any(answer.get(key) is not None for key in ("choice_id", "row_id", "other_id"))
            if plain and isinstance(answer.get("text"), str) and answer["text"].strip():
                return answer["text"]
    return None


def _contact_value(contact: Mapping[str, Any], key: str) -> Any:
    value = contact.get(key)
    return value.get("value") if isinstance(value, dict) else value


def _customer(details: Mapping[str, Any], survey: _Survey,
              answered: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    metadata = details.get("metadata") if isinstance(details.get("metadata"), dict) else {}
    contact = metadata.get("contact") if isinstance(metadata.get("contact"), dict) else {}
    found: dict[str, Any] = {}

    email = (email_or_none(details.get("email_address"))
             or email_or_none(_contact_value(contact, "email")))
    names = [details.get("first_name"), details.get("last_name")]
    if not any(isinstance(n, str) and n.strip() for n in names):
        names = [_contact_value(contact, "first_name"), _contact_value(contact, "last_name")]
    name = " ".join(n.strip() for n in names if isinstance(n, str) and n.strip())

    # A Contact Information question: its rows are typed (name, company, email, …).
    for question_id, answers in answered:
        question = survey.question(question_id)
        if question.get("family") != "demographic":
            continue
        for answer in answers:
            row = question.get("rows", {}).get(str(answer.get("row_id")), {})
            text = answer.get("text")
            if not isinstance(text, str) or not text.strip():
                continue
            if row.get("type") == "email" and not email:
                email = email_or_none(text)
            elif row.get("type") == "name" and not name:
                name = text.strip()
            elif row.get("type") == "company":
                found.setdefault("account", text.strip()[:255])

    variables = details.get("custom_variables") if isinstance(details.get("custom_variables"), dict) else {}
    properties: dict[str, Any] = dict(variables)
    if isinstance(details.get("custom_value"), str) and details["custom_value"].strip():
        properties["custom_value"] = details["custom_value"]
    if not email:
        email = next((email_or_none(value) for key, value in variables.items()
                      if str(key).lower() in ("email", "email_address", "e-mail")), None)
    # The respondent's own Contact Information answers beat custom variables.
    customer = {**customer_from_properties(variables), **found, "email": email, "properties": properties}
    if name:
        customer["name"] = name[:255]
    return customer


class SurveyMonkeyAdapter:
    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None:
        api_key, amp, api_secret = secret.partition("&")
        if not (amp and api_key and api_secret):
            # The operator's mistake, not the sender's; refused so nothing unverified gets through.
            raise SignatureError(f"the source secret must be '<API key or Client ID>&<API secret>' "
                                 f"(source {source.name!r})")
        given_key = require_header(headers, APIKEY_HEADER).strip()
        if not hmac.compare_digest(api_key.encode(), given_key.encode()):
            raise SignatureError(f"{APIKEY_HEADER} is not this app's API key / Client ID")
        given = require_header(headers, SIGNATURE_HEADER).strip()
        expected = base64.b64encode(hmac_digest(secret, body, "sha1")).decode()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def item_ids(self, source: SourceConfig, body: bytes, headers: Mapping[str, str]) -> list[str] | None:
        """The response id of a response_completed callback (what parse stores it under), before any fetch.

        With event_id: an event applied before whose response is stored is a duplicate without an API
        call (SurveyMonkey apps have daily request limits, and its API can be slow).
        """
        try:
            event = decode_json_object(body)
            if event.get("event_type") != ACTED_ON or event.get("object_type", "response") != "response":
                return None
            return [_digits(event.get("object_id"), "object_id")]
        except PayloadError:
            return None  # parse answers it with the field at fault

    def event_id(self, source: SourceConfig, body: bytes, headers: Mapping[str, str]) -> str | None:
        """The callback's event_id: a retry repeats it, an edit of the response is a new event."""
        try:
            event_id = decode_json_object(body).get("event_id")
        except PayloadError:
            return None
        return str(event_id) if isinstance(event_id, str | int) and not isinstance(event_id, bool) and \
            str(event_id).strip() else None

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        event = decode_json_object(body)
        event_type = event.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise PayloadError(422, "event_type: is required", field="event_type")
        if event_type != ACTED_ON:
            return Ignored(f"SurveyMonkey event {event_type[:40]!r}: cxloop acts on {ACTED_ON} only")
        if event.get("object_type", "response") != "response":
            return Ignored(f"SurveyMonkey {ACTED_ON} event about a {str(event['object_type'])[:40]!r}")
        response_id = _digits(event.get("object_id"), "object_id")
        resources = event.get("resources")
        if not isinstance(resources, dict):
            raise PayloadError(422, "resources: must be an object with survey_id", field="resources")
        survey_id = _digits(resources.get("survey_id"), "resources.survey_id")
        options = _Options(source)

        try:
            details = _get(fetch, f"/v3/surveys/{survey_id}/responses/{response_id}/details")
        except _Gone:
            return Ignored(f"SurveyMonkey response {response_id} no longer exists")
        status = details.get("response_status", "completed")
        if status != "completed":
            return Ignored(f"SurveyMonkey response {response_id} is {str(status)[:20]}, not completed")
        if details.get("collection_mode") in PREVIEW_MODES:
            return Ignored(f"SurveyMonkey response {response_id} is a survey preview")

        survey = _Survey(source, survey_id, fetch)
        answered = _answered(details)
        scored = _score(options, survey, answered)
        if isinstance(scored, Ignored):
            return scored
        score_question, score = scored

        url = next((u for u in (details.get("analyze_url"), details.get("href"))
                    if isinstance(u, str) and u.lower().startswith(("https://", "http://"))), None)
        source_ref: dict[str, Any] = {"surveymonkey_survey_id": survey_id,
                                      "surveymonkey_response_id": response_id}
        collector = details.get("collector_id") or resources.get("collector_id")
        if isinstance(collector, str | int) and not isinstance(collector, bool) and str(collector):
            source_ref["surveymonkey_collector_id"] = str(collector)
        return [{
            "id": response_id,
            "kind": options.kind,
            "score": score,
            "comment": _comment(options, answered, score_question),
            "customer": _customer(details, survey, answered),
            "url": url,
            "created_at": details.get("date_modified") or details.get("date_created"),
            "updated_at": details.get("date_modified") or details.get("date_created"),
            "source_ref": source_ref,
        }]


def clear_cache() -> None:
    """Forget cached survey structures (tests; or after editing a survey's choices)."""
    with _CACHE_LOCK:
        _SURVEY_CACHE.clear()


ADAPTER = SurveyMonkeyAdapter()
