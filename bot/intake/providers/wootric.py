"""InMoment (formerly Wootric) outgoing webhooks → generic payloads (source type "wootric").

Follows Wootric's "Outgoing Webhooks" documentation (https://docs.wootric.com/webhooks/, source in
github.com/Wootric/slate, source/includes/_webhooks.md):

- **Events.** "Response created" (an end user answered), "Response updated" (the score was changed or
  feedback added) and "Decline created" (the end user dismissed the survey). The body is either
  URL-encoded (``response[id]=1128&response[score]=7&response[text]=&…&response[end_user_properties]
  [pricing_plan]=Enterprise&…&event_name=created&account_token=NPS-…&survey_mode=NPS&timestamp=…``) or
  the same object as JSON (``{"response": {…}, "event_name": "created", "survey_mode": "NPS", …}``);
  both formats are documented and both are accepted. A decline carries ``decline[…]`` instead of
  ``response[…]`` and no score.
- **Signature.** Wootric signs every request: ``X-Wootric-Signature: sha1=<hex HMAC-SHA1 of the raw
  body>``, keyed with the account's secret token shown on the Outgoing Webhooks settings page. The
  source's ``secret_env`` holds that token. Wootric sends no timestamp, so a replayed request is
  recognised by its response id instead (the same id again is a duplicate, never a second post), and
  the response's ``updated_at`` (then the event: updated beats created) is the source version, so an
  older event delivered or replayed after a newer one changes nothing.

Mapping: ``response[id]`` → ``id`` (``source_ref.wootric_response_id``); ``survey_mode`` NPS / CSAT /
CES → kind ``nps`` / ``csat`` / ``ces`` (absent → ``nps``); ``score``; ``text`` → comment;
``email`` → customer e-mail (Wootric lets that identifier be any unique value: one that is not an
e-mail address goes to ``properties.wootric_email`` instead); ``external_id`` and
``end_user_properties`` → ``customer.properties``, from which account, account id, plan, segment, name
and VIP are read by common property names (``company``, ``account_id``, ``pricing_plan``, ``segment``,
``vip``, …; see ``customer_from_properties``). Declines and unknown events are ignored (202).

Set-up: in Wootric / InMoment, Settings → Outgoing Webhooks: add ``https://YOUR-HOST/webhooks/<source>``,
tick "Response created", "Response updated" (and "Decline created" if you like: it is acknowledged and
ignored), and copy the secret token shown there into the variable ``secret_env`` names.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from bot.common.signing import SignatureError
from bot.intake.payload import PayloadError
from bot.intake.providers.base import (
    Fetch,
    Ignored,
    decode_json_object,
    email_or_none,
    hmac_digest,
    require_header,
)

if TYPE_CHECKING:  # bot.config imports the adapters to check their options (config.py)
    from bot.config import SourceConfig

SIGNATURE_HEADER = "X-Wootric-Signature"
MAX_FORM_FIELDS = 1000
MAX_DEPTH = 5
SURVEY_MODES = {"NPS": "nps", "CSAT": "csat", "CES": "ces"}
# The event's stage, the second part of the source version.
STAGES = {"created": 0, None: 0, "updated": 1}
# Wootric's form-encoded dates look like "2016-08-04 13:57:26 -0700".
_FORM_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S.%f %z")
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


# --- shared with other adapters whose customers carry free-form properties ---------------------

# Customer fields read from free-form properties (custom variables, end-user properties), by the
# names teams commonly use; first match wins, keys compared case-insensitively.
PROPERTY_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "customer_name"),
    "account": ("account", "account_name", "company", "company_name", "organization", "organization_name",
                "org_name"),
    "account_id": ("account_id", "company_id", "organization_id", "org_id"),
    "plan": ("plan", "plan_name", "pricing_plan", "subscription_plan", "billing_plan"),
    "segment": ("segment", "customer_segment", "tier", "customer_tier"),
}
FIELD_LIMITS = {"name": 255, "account": 255, "account_id": 255, "plan": 100, "segment": 100}
_TRUE = {"true", "yes", "1", "y"}


def customer_from_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Customer fields (name, account, account_id, plan, segment, vip) found in free-form properties."""
    lowered = {str(key).strip().lower(): value for key, value in properties.items()}
    found: dict[str, Any] = {}
    for field, names in PROPERTY_NAMES.items():
        for name in names:
            value = lowered.get(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
                found[field] = str(value).strip()[:FIELD_LIMITS[field]]
                break
    for name in ("vip", "is_vip"):
        value = lowered.get(name)
        if isinstance(value, bool):
            found["vip"] = value
            break
        if isinstance(value, str | int) and str(value).strip():
            found["vip"] = str(value).strip().lower() in _TRUE
            break
    return found


def as_id(value: Any) -> Any:
    """Ids as the provider sent them, but "30" and 30 the same (form bodies carry only strings)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return value


# --- the body ------------------------------------------------------------------------------------


def parse_form(body: bytes) -> dict[str, Any]:
    """A Rack-style form body (``a[b][c]=1&a[d][]=2``) → nested dicts (lists for ``[]``)."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text.strip()),
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(400, f"body is not a URL-encoded form: {str(exc)[:120]}") from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise PayloadError(400, f"form field name {key[:80]!r} is not well formed", field=key[:80])
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        if len(path) > MAX_DEPTH:
            raise PayloadError(400, f"form field {key[:80]!r} is nested too deeply", field=key[:80])
        node: Any = root
        for index, part in enumerate(path):
            last = index == len(path) - 1
            if part == "":
                if not isinstance(node, list) or not last:
                    raise PayloadError(400, f"form field {key[:80]!r} mixes lists and objects", field=key[:80])
                node.append(value)
                break
            if not isinstance(node, dict):
                raise PayloadError(400, f"form field {key[:80]!r} mixes lists and objects", field=key[:80])
            if last:
                if isinstance(node.get(part), dict | list):
                    raise PayloadError(400, f"form field {key[:80]!r} is both a value and an object",
                                       field=key[:80])
                node[part] = value
            else:
                child = node.setdefault(part, [] if path[index + 1] == "" else {})
                if not isinstance(child, dict | list):
                    raise PayloadError(400, f"form field {key[:80]!r} is both a value and an object",
                                       field=key[:80])
                node = child
    return root


def _decode(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or (not content_type and body.lstrip()[:1] == b"{"):
        return decode_json_object(body)
    return parse_form(body)


def _timestamp(value: Any) -> Any:
    """Form dates ("2016-08-04 13:57:26 -0700") → ISO 8601; JSON dates are ISO 8601 already."""
    if isinstance(value, str):
        for fmt in _FORM_DATE_FORMATS:
            try:
                return datetime.strptime(value.strip(), fmt).isoformat()
            except ValueError:
                continue
    return value or None


class WootricAdapter:
    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None:
        given = require_header(headers, SIGNATURE_HEADER).strip()
        expected = "sha1=" + hmac_digest(secret, body, "sha1").hex()
        # Constant time; hex digits may arrive in either case.
        if not hmac.compare_digest(expected.encode(), given.lower().encode()):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        data = _decode(body, headers)
        if not data:
            raise PayloadError(400, "body is empty")
        event = data.get("event_name")
        if "decline" in data and "response" not in data:
            decline = data["decline"] if isinstance(data["decline"], dict) else {}
            which = f" {str(decline['id'])[:40]}" if decline.get("id") not in (None, "") else ""
            return Ignored(f"Wootric decline{which}: the end user dismissed the survey without answering")
        if "response" not in data:
            return Ignored(f"Wootric event {str(event)[:40]!r} carries no response")
        if event not in ("created", "updated", None):
            return Ignored(f"Wootric response event {str(event)[:40]!r} is not one cxloop acts on")
        response = data["response"]
        if not isinstance(response, dict):
            raise PayloadError(422, "response: must be an object", field="response")
        response_id = response.get("id")
        if response_id in (None, "") or isinstance(response_id, dict | list | bool):
            raise PayloadError(422, "response[id]: is required", field="response[id]")

        mode = data.get("survey_mode") or "NPS"
        kind = SURVEY_MODES.get(str(mode).strip().upper()) if isinstance(mode, str) else None
        if kind is None:
            raise PayloadError(422, f"survey_mode: {str(mode)[:20]!r} is not NPS, CSAT or CES",
                               field="survey_mode")

        end_user = response.get("end_user") if isinstance(response.get("end_user"), dict) else {}
        props = response.get("end_user_properties")
        if props is None:
            props = end_user.get("properties", {})
        if not isinstance(props, dict):
            raise PayloadError(422, "response[end_user_properties]: must be an object",
                               field="response[end_user_properties]")
        properties: dict[str, Any] = dict(props)
        raw_email = response.get("email", end_user.get("email"))
        # Not an address (a user id, a list): kept in properties, and the item has no e-mail rather than a 422.
        email = email_or_none(raw_email)
        if raw_email and not email:
            properties["wootric_email"] = str(raw_email)[:320]
        external_id = response.get("external_id", end_user.get("external_id"))
        if external_id not in (None, ""):
            properties["external_id"] = external_id
        customer: dict[str, Any] = {"email": email, **customer_from_properties(props), "properties": properties}

        source_ref = {"wootric_response_id": as_id(response_id)}
        for key, name in (("end_user_id", "wootric_end_user_id"), ("survey_id", "wootric_survey_id")):
            if response.get(key) not in (None, ""):
                source_ref[name] = as_id(response[key])
        return [{
            "id": str(response_id),
            "kind": kind,
            "score": response.get("score"),
            "comment": response.get("text"),
            "customer": customer,
            "created_at": _timestamp(response.get("created_at")),
            "updated_at": _timestamp(response.get("updated_at") or response.get("created_at")
                                     or data.get("timestamp")),
            "version": STAGES[event],
            "source_ref": source_ref,
        }]


ADAPTER = WootricAdapter()
