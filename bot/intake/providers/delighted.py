"""Delighted: native webhooks for survey responses (source `type = "delighted"`).

Format: Delighted's API documentation, "Webhooks" (https://app.delighted.com/docs/api/webhooks). Every
request is a JSON POST `{"event_type", "event_id", "event_data"}`; the event types are
`survey_response.created` (the moment a score is given; rarely with a comment),
`survey_response.updated` (score or comment changed; usually where the comment arrives) and
`unsubscribe.created`. For a survey response, `event_data` is the survey response object: `id`,
`person` {id, email, name, created_at}, `survey_type`, `score`, `comment`, `permalink`, `created_at`,
`updated_at` (unix seconds), `person_properties`, `notes`, `tags`, `additional_answers`.

The response id becomes cxloop's `id`, so the `.updated` event that adds the comment updates the stored
item and its Slack message instead of posting a second time. The response's `updated_at` is the item's
source version (a `.updated` beats a `.created` of the same second): a `.created` arriving after the
`.updated`, or any replayed older event, changes nothing.

Signature: every webhook carries `X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>`,
keyed with the project's private API key (Delighted: Integrations → API). So `secret_env` names the
variable holding that API key; one cxloop source per Delighted project (each project has its own key).
Delighted signs no timestamp, so there is no freshness check: a replayed request can only repeat a
response cxloop already has (same id → duplicate), and an older one is stale (its `updated_at` is older).

Kinds: Delighted's `survey_type` picks the kind. `nps` → nps (0–10), `csat` → csat (1–5), `ces` → ces
(1–7). Other types (5-star, smileys, thumbs, eNPS, PMF …) are answered 202 "ignored" with the reason.

Options (`[sources.options]`):
- `survey_types`: extra or replacement mappings of Delighted `survey_type` → cxloop kind, e.g.
  `{ enps = "nps" }`. A value of `"ignore"` drops that survey type.
- `ces_scale`: `7` (default) or `5`, the scale of a Delighted CES project. cxloop's CES is 1–7, so a 5-point
  answer is placed on it keeping Delighted's buckets (1→1, 2→2, 3→4, 4→6, 5→7); the answer as given is
  kept in `source_ref.delighted_score`.
"""

from __future__ import annotations

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
    require_header,
    require_valid_options,
    same,
    short_text,
    tag_list,
)

if TYPE_CHECKING:  # bot.config imports the adapters to check their options (config.py)
    from bot.config import SourceConfig

SIGNATURE_HEADER = "X-Delighted-Webhook-Signature"
RESPONSE_EVENTS = ("survey_response.created", "survey_response.updated")
# The event's stage, the second part of the source version: an update beats a create of the same second.
STAGES = {"survey_response.created": 0, "survey_response.updated": 1}
DEFAULT_SURVEY_TYPES: dict[str, str] = {"nps": "nps", "csat": "csat", "ces": "ces"}
# A 5-point CES answer on cxloop's 1–7 scale, keeping Delighted's disagree / neutral / agree buckets.
CES5_TO_CES7 = {1: 1, 2: 2, 3: 4, 4: 6, 5: 7}


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Problems in a delighted source's `options`, one message per key (empty when fine)."""
    problems = []
    unknown = set(options) - {"survey_types", "ces_scale"}
    if unknown:
        problems.append(f"options: unknown key(s) {', '.join(sorted(unknown))} (known: survey_types, ces_scale)")
    mapping = options.get("survey_types", {})
    if not isinstance(mapping, Mapping):
        problems.append("options.survey_types: must be a table of Delighted survey type = cxloop kind")
    else:
        for name, kind in mapping.items():
            if kind != "ignore" and kind not in SURVEY_KINDS:
                problems.append(f"options.survey_types.{name}: {kind!r} is not one of "
                                f"{', '.join(SURVEY_KINDS)} or 'ignore'")
    if options.get("ces_scale", 7) not in (5, 7):
        problems.append("options.ces_scale: must be 5 or 7")
    return problems


def _unix(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


# Delighted person_properties: base.customer_from_properties with "subscription plan" among the plan names
# (ahead of "tier") and a VIP property of 1 counted as yes.
_PLAN_KEYS = ("plan", "plan name", "pricing plan", "subscription plan", "tier")


# --- the adapter ----------------------------------------------------------------------------------------

class DelightedAdapter:
    check_options = staticmethod(check_options)

    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None:
        given = require_header(headers, SIGNATURE_HEADER).strip()
        if given[:7].lower() == "sha256=":
            given = given[7:]
        expected = hmac_digest(secret, body).hex()
        if not same(expected, given.lower()):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        # A source cxloop cannot apply: 500, so Delighted keeps the event and retries after the fix.
        require_valid_options(source, check_options)
        data = decode_json_object(body)
        event_type = data.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise PayloadError(422, "event_type is missing", field="event_type")
        if event_type not in RESPONSE_EVENTS:
            return Ignored(f"Delighted event {event_type[:64]!r} is not a survey response")
        response = data.get("event_data")
        if not isinstance(response, dict):
            raise PayloadError(422, "event_data must be the survey response object", field="event_data")
        response_id = response.get("id")
        if isinstance(response_id, bool) or not isinstance(response_id, str | int) or not str(response_id).strip():
            raise PayloadError(422, "event_data.id (the survey response id) is missing", field="event_data.id")
        survey_type = response.get("survey_type")
        if not isinstance(survey_type, str) or not survey_type.strip():
            raise PayloadError(422, "event_data.survey_type is missing", field="event_data.survey_type")
        survey_type = survey_type.strip().lower()

        mapping = {**DEFAULT_SURVEY_TYPES,
                   **{str(k).strip().lower(): v for k, v in source.options.get("survey_types", {}).items()}}
        kind = mapping.get(survey_type, "ignore")
        if kind == "ignore":
            return Ignored(f"Delighted survey type {survey_type[:40]!r} is not scored by cxloop "
                           "(options.survey_types maps a survey type onto nps, csat, ces or psat)")
        score = response.get("score")
        if isinstance(score, bool) or not isinstance(score, int):
            raise PayloadError(422, "event_data.score must be a whole number", field="event_data.score")
        source_ref: dict[str, Any] = {"delighted_response_id": str(response_id), "delighted_survey_type": survey_type}
        if kind == "ces" and source.options.get("ces_scale", 7) == 5:
            if score not in CES5_TO_CES7:
                raise PayloadError(422, f"event_data.score {score} is outside the 5-point CES scale 1–5",
                                   field="event_data.score")
            source_ref.update(delighted_score=score, delighted_scale="1-5")
            score = CES5_TO_CES7[score]

        person = response.get("person") if isinstance(response.get("person"), dict) else {}
        if person.get("id") is not None:
            source_ref["delighted_person_id"] = str(person["id"])
        properties = response.get("person_properties")
        properties = dict(properties) if isinstance(properties, dict) else {}
        permalink = clean_text(response.get("permalink"))
        return [{
            "id": str(response_id).strip(),
            "kind": kind,
            "score": score,
            "comment": clean_text(response.get("comment")),
            "customer": {
                "email": email_or_none(person.get("email")),
                "name": short_text(person.get("name"), 255),
                **customer_from_properties(properties, plan_names=_PLAN_KEYS, numeric_vip=True),
                "properties": properties,
            },
            "tags": tag_list(response.get("tags")),
            "url": permalink if permalink and permalink.lower().startswith(("https://", "http://")) else None,
            "created_at": _unix(response.get("created_at")),
            "updated_at": _unix(response.get("updated_at")) or _unix(response.get("created_at")),
            "version": STAGES[event_type],
            "source_ref": source_ref,
        }]


ADAPTER = DelightedAdapter()
