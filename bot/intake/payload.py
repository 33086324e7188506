"""The generic webhook payload: the one shape every provider adapter produces, and how a body becomes it.

`parse_generic_payload` turns raw bytes into a `GenericPayload` or a `PayloadError` carrying the HTTP
status (400 unreadable JSON, 413 too large, 422 wrong shape) and the field at fault. Nothing here
touches the database: bot/intake/ingest.py stores what this module accepts.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.common.email_address import normalise_email
from bot.common.validation import error_location
from bot.common.vocabulary import KINDS, SCORE_RANGES, SURVEY_KINDS

MAX_BODY_BYTES = 1_000_000
MAX_COMMENT_CHARS = 100_000
MAX_VERSION = 2**63 - 1  # fits the 19 digits of source_version


class PayloadError(Exception):
    """A body we refuse, with the HTTP status and the field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None, errors: list[dict] | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.errors = errors or ([{"field": field, "message": message}] if field else [])

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.field:
            body["field"] = self.field
        if self.errors:
            body["errors"] = self.errors
        return body


def _strip(value: Any) -> Any:
    return value.strip() or None if isinstance(value, str) else value


def _integral_score(value: Any) -> Any:
    # Survey tools send 7, "7" or 7.0; all mean 7. 7.5 or True are mistakes, not scores.
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not a boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def _parse_timestamp(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be an ISO 8601 date-time or unix seconds")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("is not a plausible unix time") from None
    return value


def _parse_day(value: Any) -> Any:
    """A day from "2024-03-01", an ISO 8601 date-time (its UTC day) or unix seconds; blank is absent."""
    value = _parse_timestamp(_strip(value))
    if isinstance(value, str) and len(value) > 10:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD), an ISO 8601 date-time or unix seconds") from None
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    return value


def day_or_none(value: Any) -> date | None:
    """A free-form property as a day (as `customer.since` reads it), or None when it is not one."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        day = _parse_day(value)
        return day if isinstance(day, date) else (date.fromisoformat(day) if isinstance(day, str) else None)
    except (ValueError, TypeError, OverflowError):
        return None


def _whole_number(value: Any) -> Any:
    # 7 or "7"; true, 7.5 or "seven" are not versions.
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not a boolean")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return value


def _sender_id(value: Any) -> Any:
    # A string or a whole number; true/1.5/[] are payload bugs, and true must not collide with 1.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a string or an integer")
    return str(value)


def _fits_account_id(value: str | int | None) -> str | int | None:
    if value is not None and len(str(value)) > 255:
        raise ValueError("must be at most 255 characters")
    return value


def OptionalText(max_length: int):  # noqa: N802 — reads as a type in the models below
    """A string of at most max_length characters; blank or null means absent."""
    return Annotated[Annotated[str, Field(max_length=max_length)] | None, BeforeValidator(_strip)]


class Customer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: OptionalText(320) = None
    name: OptionalText(255) = None
    account: OptionalText(255) = None
    # A number or a string; stored as text in a 255-character column, so longer is the sender's error.
    account_id: Annotated[str | int | None, AfterValidator(_fits_account_id)] = None
    plan: OptionalText(100) = None
    segment: OptionalText(100) = None
    role: OptionalText(100) = None
    # The day they became a customer (tenure start): "2024-03-01", an ISO date-time or unix seconds.
    since: Annotated[date | None, BeforeValidator(_parse_day)] = None
    vip: bool = False
    properties: dict[str, Any] = {}

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalise_email(value) if value is not None else None


class GenericPayload(BaseModel):
    """The generic webhook body (README: 'Sending responses')."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, BeforeValidator(_sender_id), Field(description="the sender's id for this response")]
    kind: Literal[KINDS] = "nps"  # type: ignore[valid-type]
    score: Annotated[int | None, BeforeValidator(_integral_score)] = None
    comment: OptionalText(MAX_COMMENT_CHARS) = None
    customer: Customer = Customer()
    tags: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=50)] = []
    url: OptionalText(3000) = None
    created_at: Annotated[datetime | None, BeforeValidator(_parse_timestamp)] = None
    # The sender's version of this response (README: "Sending responses"): an event whose
    # (updated_at, version) is not newer than the stored one changes nothing. Adapters set them from
    # the provider's own update time and event stage.
    updated_at: Annotated[datetime | None, BeforeValidator(_parse_timestamp)] = None
    version: Annotated[Annotated[int, Field(ge=0, le=MAX_VERSION, strict=True)] | None,
                       BeforeValidator(_whole_number)] = None
    subject: OptionalText(500) = None
    priority: OptionalText(32) = None
    # Who handled the conversation (an e-mail, a name or the helpdesk's id), for the cut by agent.
    agent: OptionalText(255) = None
    # Where the item lives at its source (e.g. {"zendesk_ticket_id": 123}), for calls back on resolve.
    source_ref: dict[str, Any] = {}

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > 255:
            raise ValueError("must be a non-empty string of at most 255 characters")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("created_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value else None

    @model_validator(mode="after")
    def _score_fits_kind(self) -> GenericPayload:
        if self.kind in SURVEY_KINDS:
            low, high = SCORE_RANGES[self.kind]
            if self.score is None:
                raise PydanticFieldError("score", f"is required for kind {self.kind!r} ({low}–{high})")
            if not low <= self.score <= high:
                raise PydanticFieldError("score", f"{self.score} is outside the {self.kind.upper()} range {low}–{high}")
        elif self.score is not None:
            raise PydanticFieldError("score", "escalations carry no score (use priority)")
        if self.kind == "escalation" and not (self.subject or self.comment):
            raise PydanticFieldError("subject", "an escalation needs a subject or a comment")
        return self


class PydanticFieldError(ValueError):
    """A model-level check that still names its field in the 422 answer."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def validate_payload(data: Any, *, storable_already: bool = False) -> GenericPayload:
    """A decoded body (or a provider adapter's output) → payload, or PayloadError 422 naming the field.
    `storable_already`: the caller knows every string in `data` is storable as it is (see storable)."""
    if not isinstance(data, dict):
        raise PayloadError(422, "body must be a JSON object", field="(body)")
    try:
        # storable: adapters also pass on what a provider's API answered, which no decode step cleaned.
        payload = GenericPayload.model_validate(data if storable_already else storable(data))
        for field, value in (("customer.properties", payload.customer.properties), ("source_ref", payload.source_ref)):
            try:
                json.dumps(value, allow_nan=False)
            except ValueError:  # 1e999 decodes to inf, which Postgres's jsonb refuses at commit
                raise PayloadError(422, f"{field}: numbers must be finite", field=field) from None
        return payload
    except (TypeError, ValueError, OverflowError) as exc:
        if not isinstance(exc, ValidationError):
            # A shape pydantic could not even compare (e.g. a number far out of range): still the sender's error.
            raise PayloadError(422, f"body has a value of the wrong type: {str(exc)[:200]}", field="(body)") from None
        errors = []
        for error in exc.errors():
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, PydanticFieldError):
                errors.append({"field": cause.field, "message": cause.message})
                continue
            location = error_location(error["loc"]) or "(body)"
            errors.append({"field": location, "message": error["msg"].removeprefix("Value error, ")})
        first = errors[0]
        raise PayloadError(422, f"{first['field']}: {first['message']}", field=first["field"], errors=errors) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _storable_text(value: str) -> str:
    # A lone surrogate ("\ud800" in JSON) cannot be encoded as UTF-8, so neither the database nor our
    # JSON answer could hold it; NUL is refused by Postgres in text and jsonb. Neither carries meaning.
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii():
        return value  # no surrogate in it: the check below would pass (and costs more)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    return value


def storable(value: Any) -> Any:
    """A decoded JSON value whose strings (keys too) can be stored and echoed: see _storable_text."""
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, dict):
        return {_storable_text(k) if isinstance(k, str) else k: storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def loads_json(body: bytes) -> Any:
    """A webhook body as strict JSON (UTF-8, no NaN/Infinity) with storable strings; PayloadError 400 if not."""
    try:
        # json.loads(bytes) would let UTF-8-encoded surrogates through ("surrogatepass"): decode strictly.
        data = json.loads(body.decode("utf-8-sig"), parse_constant=_refuse_constant)
        return storable(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers syntax errors and numbers too long to convert; RecursionError, deep nesting.
        raise PayloadError(400, f"body is not valid JSON: {str(exc)[:200]}") from None


def parse_generic_payload(body: bytes) -> GenericPayload:
    """Raw bytes → payload, or PayloadError (400 for unreadable JSON, 422 for a wrong shape)."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError(413, f"body is larger than {MAX_BODY_BYTES} bytes")
    return validate_payload(loads_json(body))
