"""Config-sized lists stay within Slack's limits: 50 blocks a message, 100 options a select."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.web import SlackResponse

from bot.intake.escalations import escalate_modal, team_options
from bot.sandbox.fake_slack import validate_blocks, validate_view
from bot.schedule.reminders import checkin_blocks
from bot.slack.client import classify_failure
from bot.slack.ids import InputId
from bot.vip.picks import Pick
from models import Account
from tests.conftest import TEST_CONFIG, make_config

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def _due(n: int) -> list[Pick]:
    return [Pick(Account(id=i, name=f"Acme <{i}> & Co", cadence_days=30, vip=True,
                         next_due_at=NOW - timedelta(days=i)), 100 - i,
                 ("1 open detractor (lowest score 2)", f"check-in {i} days overdue"), i) for i in range(1, n + 1)]


def test_a_check_in_dm_for_25_accounts_is_within_50_blocks():
    blocks = checkin_blocks(_due(25), candidates=25)
    assert len(blocks) == 50 and validate_blocks(blocks) == []
    assert "VIPs to touch today" in blocks[0]["text"]["text"] and "Acme &lt;1&gt; &amp; Co" in blocks[0]["text"]["text"]
    assert sum(b["type"] == "actions" for b in blocks) == 25  # every account keeps its buttons
    for block in blocks:
        Block.parse(block).validate_json()


def test_a_longer_list_ends_with_how_to_see_the_rest():
    blocks = checkin_blocks(_due(25), candidates=40)
    assert len(blocks) <= 50 and validate_blocks(blocks) == []
    assert "16 more" in blocks[-1]["elements"][0]["text"] and "/vip picks" in blocks[-1]["elements"][0]["text"]


def test_the_escalate_team_select_loads_its_options_past_100_teams():
    teams = [{"name": f"team-{i:03d}", "channel": f"C0T{i:03d}"} for i in range(150)]
    config = make_config({**TEST_CONFIG, "teams": teams, "routes": [], "default_team": "team-000"})
    view = escalate_modal(channel_id="C0SALES", message_ts="1.2", message_text="hi", config=config)
    assert validate_view(view) == []
    View(**view).validate_json()
    team = next(b for b in view["blocks"] if b["block_id"] == InputId.TEAM.value)["element"]
    assert team["type"] == "external_select" and team["initial_option"]["value"] == "team-000"
    assert len(team_options(config)) == 100
    assert [o["value"] for o in team_options(config, "TEAM-14")] == [f"team-14{i}" for i in range(10)]
    small = escalate_modal(channel_id="C0SALES", message_ts="1.2", message_text="hi", config=make_config())
    assert any(b["element"]["type"] == "static_select" and len(b["element"]["options"]) == 2
               for b in small["blocks"] if b["type"] == "input")


def _failure(error: str, **extra):
    from slack_sdk.errors import SlackApiError

    response = SlackResponse(client=None, http_verb="POST", api_url="https://slack.com/api/files.getUploadURLExternal",
                             req_args={"params": {"channel": "C0SUCCESS"}}, data={"ok": False, "error": error, **extra},
                             headers={}, status_code=200)
    return classify_failure(SlackApiError(error, response))


def test_workspace_errors_are_permanent_and_say_what_the_admin_does():
    scope = _failure("missing_scope", needed="files:write", provided="chat:write")
    assert scope.kind == "permanent"
    assert scope.error.startswith("missing_scope files:write:") and "manifest.yml" in scope.error
    assert "reinstall" in scope.error and "files.getUploadURLExternal" in scope.error
    for error, words in {"not_in_channel": "/invite", "channel_not_found": "C0SUCCESS", "is_archived": "archived",
                         "invalid_auth": "SLACK_BOT_TOKEN", "account_inactive": "SLACK_BOT_TOKEN",
                         "token_revoked": "SLACK_BOT_TOKEN", "not_authed": "SLACK_BOT_TOKEN"}.items():
        failure = _failure(error)
        assert failure.kind == "permanent" and failure.error.startswith(error) and words in failure.error, error
    assert _failure("invalid_blocks").kind == "permanent"
    assert _failure("internal_error").kind == "transient"
