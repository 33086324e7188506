"""Reading provider exports (bot/intake/history.py): which column is which, per format, and why a row
or a file is refused. No database: the VIP book is empty here."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.intake.history import AccountIndex, ImportError_, Options, Preparer, read_rows
from tests.conftest import make_config

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def prepared(text: str, options: Options) -> list:
    header, rows = read_rows(io.StringIO(text), options)
    accounts = AccountIndex.__new__(AccountIndex)
    accounts.by_external, accounts.by_email, accounts.by_domain, accounts.accounts = {}, {}, {}, {}
    return Preparer(header, options, make_config(), accounts, NOW).prepare(list(rows))


def test_typeform_export_with_named_score_and_comment_columns() -> None:
    text = ("#,How likely are you to recommend us?,What should we improve?,email,plan,Submit Date (UTC),Network ID\n"
            "abc123,3,The export is broken,ann@acme.example,Pro,2025-04-01 10:00:00,n1\n")
    options = Options(format="typeform", source="typeform", score_column="How likely are you to recommend us?",
                      comment_column="what should we improve?")
    [(line, row)] = prepared(text, options)
    assert line == 2
    assert (row["external_id"], row["score"], row["comment"], row["plan"]) == ("abc123", 3, "The export is broken",
                                                                              "Pro")
    assert row["received_at"] == datetime(2025, 4, 1, 10, tzinfo=UTC)
    assert "Network ID" not in row["properties"] and row["imported_at"] == NOW


def test_typeform_without_a_score_column_is_refused_whole() -> None:
    with pytest.raises(ImportError_, match="--score-column"):
        read_rows(io.StringIO("#,Rating\nx,3\n"), Options(format="typeform", source="typeform"))
    with pytest.raises(ImportError_, match="no column 'Score'"):
        read_rows(io.StringIO("#,Rating\nx,3\n"), Options(format="typeform", source="t", score_column="Score"))


def test_surveymonkey_second_header_row_is_skipped_and_names_joined() -> None:
    text = ("Respondent ID,Collector ID,End Date,Email Address,First Name,Last Name,How likely?,Why?\n"
            ",,,,,,Response,Open-Ended Response\n"
            "114,9,03/01/2025 05:12:01 PM,bo@beta.example,Bo,Beta,9,Fast support\n")
    options = Options(format="surveymonkey", source="sm", score_column="How likely?", comment_column="Why?")
    [(line, row)] = prepared(text, options)
    assert line == 3 and row["customer_name"] == "Bo Beta" and row["category"] == "promoter"
    assert row["received_at"] == datetime(2025, 3, 1, 17, 12, 1, tzinfo=UTC)


def test_bad_rows_say_why_with_their_line() -> None:
    text = ("Response ID,Score,Comment,Email,Created At\n"
            "1,7,ok,not-an-address,2025-01-01\n"
            "2,4,fine,x@y.example,the day before yesterday\n"
            "3,,,x@y.example,2025-01-01\n")
    rows = dict(prepared(text, Options(format="delighted", source="delighted")))
    assert "email" in rows[2]
    assert "created date 'the day before yesterday'" in rows[3]
    assert rows[4] == "score: is required for kind 'nps' (0–10)"



def test_nul_characters_are_dropped_as_from_a_webhook_and_other_text_kept() -> None:
    options = Options(format="delighted", source="delighted")
    rows = dict(prepared("Response ID,Score,Comment,Email,Created At,City\n"
                         "1,9,Fast\x00 support,a@b.example,2025-01-01,Bonn\n"
                         "2,9,Café\x00 is great,a@b.example,2025-01-01,Köln\n"
                         "3,9,Plain ASCII,a@b.example,2025-01-01,Bonn\x00\n", options))
    assert (rows[2]["comment"], rows[3]["comment"], rows[4]["comment"]) == ("Fast support", "Café is great",
                                                                            "Plain ASCII")
    assert [rows[line]["properties"] for line in (2, 3, 4)] == [{"City": "Bonn"}, {"City": "Köln"}, {"City": "Bonn"}]
    [(_, row)] = prepared("Response ID,Score,Comment,Email,Created At,Städte\n1,9,Fast\x00 support,a@b.example,"
                          "2025-01-01,Köln\n", options)
    assert (row["comment"], row["properties"]) == ("Fast support", {"Städte": "Köln"})
