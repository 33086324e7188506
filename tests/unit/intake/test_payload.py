"""bot/intake/payload.py parse_generic_payload: raw webhook bytes → payload, or a 400/413/422 naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.intake.payload import MAX_BODY_BYTES, PayloadError, parse_generic_payload


def parse(payload) -> object:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_generic_payload(body)


def refused(payload) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        parse(payload)
    return caught.value


def assert_422(payload, field: str) -> PayloadError:
    error = refused(payload)
    assert error.status == 422, (error.status, error.message)
    assert error.field == field, (error.field, error.message)
    answer = error.as_json()
    assert answer["field"] == field
    assert answer["error"].startswith(f"{field}: ")
    assert {"field": field, "message": answer["error"].removeprefix(f"{field}: ")} in answer["errors"]
    return error


# --- scores per kind ------------------------------------------------------------------------------

RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "psat": (1, 5)}


@pytest.mark.parametrize("kind", list(RANGES))
def test_score_bounds_accepted(kind: str) -> None:
    low, high = RANGES[kind]
    assert parse({"id": "r", "kind": kind, "score": low}).score == low
    assert parse({"id": "r", "kind": kind, "score": high}).score == high


@pytest.mark.parametrize("kind", list(RANGES))
def test_score_just_outside_bounds_refused(kind: str) -> None:
    low, high = RANGES[kind]
    for score in (low - 1, high + 1):
        error = assert_422({"id": "r", "kind": kind, "score": score}, "score")
        assert str(score) in error.message and kind.upper() in error.message


def test_nps_range_message_matches_readme() -> None:
    error = assert_422({"id": "r", "kind": "nps", "score": 42}, "score")
    assert error.as_json()["error"] == "score: 42 is outside the NPS range 0–10"


@pytest.mark.parametrize("kind", ["nps", "csat"])
def test_minus_one_and_eleven_refused(kind: str) -> None:
    assert_422({"id": "r", "kind": kind, "score": -1}, "score")
    assert_422({"id": "r", "kind": kind, "score": 11}, "score")


@pytest.mark.parametrize("score", ["7", 7.0, " 7 ", 7])
def test_integral_scores_accepted(score) -> None:
    payload = parse({"id": "r", "score": score})
    assert payload.score == 7 and type(payload.score) is int


@pytest.mark.parametrize("score", [7.5, True, False, "seven", "7.5", [7], {"v": 7}])
def test_non_integral_scores_refused(score) -> None:
    assert_422({"id": "r", "score": score}, "score")


def test_huge_integer_score_is_422_not_a_crash() -> None:
    assert_422({"id": "r", "score": 10**30}, "score")
    assert_422({"id": "r", "score": -(10**30)}, "score")


def test_infinite_float_score_is_422() -> None:
    assert_422(b'{"id": "r", "score": 1e400}', "score")


@pytest.mark.parametrize("kind", list(RANGES))
def test_survey_without_score_refused(kind: str) -> None:
    assert_422({"id": "r", "kind": kind}, "score")
    assert_422({"id": "r", "kind": kind, "score": None}, "score")


def test_escalation_with_score_refused() -> None:
    assert_422({"id": "r", "kind": "escalation", "subject": "Down", "score": 3}, "score")


def test_escalation_without_subject_or_comment_refused() -> None:
    assert_422({"id": "r", "kind": "escalation"}, "subject")
    assert_422({"id": "r", "kind": "escalation", "subject": "   ", "comment": ""}, "subject")


def test_escalation_with_subject_or_comment_accepted() -> None:
    with_subject = parse({"id": "e", "kind": "escalation", "subject": "Outage", "priority": "high"})
    assert (with_subject.kind, with_subject.score, with_subject.subject, with_subject.priority) == (
        "escalation", None, "Outage", "high")
    assert parse({"id": "e", "kind": "escalation", "comment": "It is down"}).comment == "It is down"


# --- id and kind -----------------------------------------------------------------------------------


def test_missing_id_refused() -> None:
    assert_422({"score": 5}, "id")


@pytest.mark.parametrize("value", ["", "   ", "x" * 256])
def test_empty_or_oversized_id_refused(value) -> None:
    assert_422({"id": value, "score": 5}, "id")


def test_numeric_id_becomes_a_string() -> None:
    assert parse({"id": 42, "score": 5}).id == "42"
    assert parse({"id": " r-1 ", "score": 5}).id == "r-1"


def test_boolean_id_refused() -> None:
    assert_422({"id": True, "score": 5}, "id")


@pytest.mark.parametrize("value", [None, 1.5, [], {}])
def test_null_or_wrong_type_id_names_field_id(value) -> None:
    assert_422({"id": value, "score": 5}, "id")


@pytest.mark.parametrize("value", [None, 1.5, [], {}])
def test_null_or_wrong_type_id_is_still_422(value) -> None:
    assert refused({"id": value, "score": 5}).status == 422


def test_kind_defaults_to_nps() -> None:
    payload = parse({"id": "r", "score": 10})
    assert payload.kind == "nps"


@pytest.mark.parametrize("kind", ["survey", "NPS", "", None])
def test_unknown_kind_refused(kind) -> None:
    assert_422({"id": "r", "kind": kind, "score": 5}, "kind")


# --- body shape -------------------------------------------------------------------------------------


def test_truncated_json_is_400() -> None:
    error = refused(b'{"id": "r", "score": 5')
    assert error.status == 400


def test_empty_body_is_400() -> None:
    assert refused(b"").status == 400


@pytest.mark.parametrize("body", [b'[{"id": "r", "score": 5}]', b'"hello"', b"42", b"null"])
def test_non_object_json_is_422(body: bytes) -> None:
    error = refused(body)
    assert error.status == 422
    assert "object" in error.message


def test_non_utf8_body_is_400() -> None:
    error = refused(b'{"id": "r", "score": 5, "comment": "caf\xe9"}')
    assert error.status == 400


def test_body_over_one_megabyte_is_413() -> None:
    comment = "x" * MAX_BODY_BYTES
    error = refused(json.dumps({"id": "r", "score": 5, "comment": comment}).encode())
    assert error.status == 413


def test_body_just_under_the_limit_is_parsed() -> None:
    skeleton = json.dumps({"id": "r", "score": 5, "comment": ""}).encode()
    body = json.dumps({"id": "r", "score": 5, "comment": "x" * (MAX_BODY_BYTES - len(skeleton))}).encode()
    assert len(body) == MAX_BODY_BYTES
    assert refused(body).field == "comment"  # over 100 000 characters: a 422, not a 413
    small = json.dumps({"id": "r", "score": 5, "comment": "x" * 100_000}).encode()
    assert len(parse_generic_payload(small).comment) == 100_000


def test_unknown_fields_are_ignored() -> None:
    assert parse({"id": "r", "score": 5, "nps_campaign": "q3"}).score == 5


# --- created_at -----------------------------------------------------------------------------------


def test_created_at_iso_with_offset_is_converted_to_utc() -> None:
    payload = parse({"id": "r", "score": 5, "created_at": "2024-05-01T12:00:00+02:00"})
    assert payload.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert payload.created_at.utcoffset().total_seconds() == 0


def test_created_at_iso_z() -> None:
    payload = parse({"id": "r", "score": 5, "created_at": "2024-05-01T10:00:00Z"})
    assert payload.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", [1714557600, 1714557600.0])
def test_created_at_unix_seconds_is_utc(value) -> None:
    payload = parse({"id": "r", "score": 5, "created_at": value})
    assert payload.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert payload.created_at.utcoffset().total_seconds() == 0


def test_created_at_missing_is_none() -> None:
    assert parse({"id": "r", "score": 5}).created_at is None


@pytest.mark.parametrize("value", ["yesterday", "2024-13-45", True])
def test_bad_created_at_refused(value) -> None:
    assert_422({"id": "r", "score": 5, "created_at": value}, "created_at")


def test_out_of_range_created_at_names_created_at() -> None:
    assert_422({"id": "r", "score": 5, "created_at": 10**20}, "created_at")


def test_out_of_range_created_at_is_still_422() -> None:
    assert refused({"id": "r", "score": 5, "created_at": 10**20}).status == 422


# --- url, customer, comment, tags -----------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://crm.example/r/1", "http://crm.example/r/1", "HTTPS://X.EXAMPLE/"])
def test_http_urls_accepted(url: str) -> None:
    assert parse({"id": "r", "score": 5, "url": url}).url == url


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", "ftp://x.example/f",
                                 "data:text/html,hi", "crm.example/r/1"])
def test_non_http_url_refused(url: str) -> None:
    assert_422({"id": "r", "score": 5, "url": url}, "url")


@pytest.mark.parametrize("email", ["not-an-email", "@acme.example", "ann@", "ann smith@acme.example"])
def test_invalid_customer_email_refused(email: str) -> None:
    assert_422({"id": "r", "score": 5, "customer": {"email": email}}, "customer.email")


def test_customer_fields_are_kept() -> None:
    payload = parse({"id": "r", "score": 5, "customer": {
        "email": "Ann@Acme.Example", "name": "Ann", "account": "Acme", "account_id": 99, "plan": "Enterprise",
        "segment": "SMB", "vip": True, "properties": {"region": "EU"}}})
    customer = payload.customer
    assert customer.email == "ann@acme.example"
    assert (customer.name, customer.account, customer.account_id) == ("Ann", "Acme", 99)
    assert (customer.plan, customer.segment, customer.vip, customer.properties) == (
        "Enterprise", "SMB", True, {"region": "EU"})


def test_customer_defaults() -> None:
    customer = parse({"id": "r", "score": 5}).customer
    assert customer.email is None and customer.vip is False and customer.properties == {}


def test_null_comment_is_ok() -> None:
    assert parse({"id": "r", "score": 5, "comment": None}).comment is None


def test_blank_comment_means_absent() -> None:
    assert parse({"id": "r", "score": 5, "comment": "  \n "}).comment is None


def test_comment_over_limit_refused() -> None:
    assert_422({"id": "r", "score": 5, "comment": "x" * 100_001}, "comment")


def test_tags_list_of_strings() -> None:
    assert parse({"id": "r", "score": 5, "tags": ["beta", "Renewal"]}).tags == ["beta", "Renewal"]


def test_tags_must_be_a_list() -> None:
    assert_422({"id": "r", "score": 5, "tags": "beta"}, "tags")


def test_every_invalid_field_is_named() -> None:
    error = refused({"id": "r", "score": 5, "url": "javascript:x", "customer": {"email": "nope"}})
    assert error.status == 422
    fields = {e["field"] for e in error.errors}
    assert {"url", "customer.email"} <= fields


def test_full_readme_example_payload() -> None:
    payload = parse({"id": "r-1", "kind": "nps", "score": 3, "comment": "Too slow",
                     "customer": {"email": "ann@acme.example"}})
    assert (payload.id, payload.kind, payload.score, payload.comment, payload.customer.email) == (
        "r-1", "nps", 3, "Too slow", "ann@acme.example")


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"id": 1, "score": ' + b"9" * 5000 + b"}"],
                         ids=["nested too deep", "number too long"])
def test_json_the_parser_cannot_handle_is_a_400_not_a_crash(body: bytes) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_generic_payload(body)
    assert caught.value.status == 400
