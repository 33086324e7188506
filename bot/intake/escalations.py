"""Escalations raised from Slack itself: the "Escalate to CX" message shortcut."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.common.email_address import email_or_none
from bot.config import AppConfig
from bot.intake.ingest import IngestResult, ingest_item
from bot.intake.payload import validate_payload
from bot.slack.ids import SEVERITIES, InputId, ViewId

SLACK_SOURCE = "slack"
NOTE_MAX = 2900
SELECT_OPTIONS_MAX = 100  # Slack's limit for a static_select and for one options response


def _team_option(name: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": name[:75]}, "value": name}


def team_options(config: AppConfig, query: str = "") -> list[dict[str, Any]]:
    """The escalate modal's team choices for what the user typed (all teams, at most 100, when empty)."""
    wanted = query.strip().lower()
    return [_team_option(team.name) for team in config.teams if wanted in team.name.lower()][:SELECT_OPTIONS_MAX]


def escalate_modal(*, channel_id: str, message_ts: str, message_text: str, config: AppConfig) -> dict[str, Any]:
    def plain(text: str) -> dict[str, str]:
        return {"type": "plain_text", "text": text}

    def option(value: str, label: str) -> dict[str, Any]:
        return {"text": plain(label[:75]), "value": value}

    def field(input_id: InputId, label: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
        return {"type": "input", "block_id": input_id.value, "label": plain(label), "optional": optional,
                "element": {**element, "action_id": input_id.value}}

    teams = [_team_option(team.name) for team in config.teams]
    # Past 100 teams the list comes from team_options() as the user types (handlers/slack_shortcuts.py).
    team_select = ({"type": "static_select", "options": teams, "initial_option": teams[0]}
                   if len(teams) <= SELECT_OPTIONS_MAX else
                   {"type": "external_select", "min_query_length": 0, "initial_option": teams[0]})
    severities = [option(key, label) for key, label in SEVERITIES.items()]
    return {
        "type": "modal", "callback_id": ViewId.ESCALATE.value, "title": plain("Escalate to CX"),
        "submit": plain("Escalate"), "close": plain("Cancel"),
        "private_metadata": json.dumps({"channel": channel_id, "ts": message_ts}),
        "blocks": [
            field(InputId.CUSTOMER, "Customer (e-mail or name)", {"type": "plain_text_input", "max_length": 255}),
            field(InputId.SEVERITY, "Severity", {"type": "static_select", "options": severities,
                                                 "initial_option": severities[1]}),
            field(InputId.TEAM, "Team", team_select),
            field(InputId.NOTE, "What happened", {"type": "plain_text_input", "multiline": True,
                                                  "max_length": NOTE_MAX,
                                                  **({"initial_value": message_text[:NOTE_MAX]} if message_text else {})},
                  optional=True),
        ],
    }


def escalate_from_slack(session: Session, *, config: AppConfig, channel_id: str, message_ts: str, team: str,
                        customer: str, severity: str, note: str | None, permalink: str | None, reporter: str,
                        now: datetime) -> IngestResult:
    """One escalation per Slack message: escalating the same message again is a duplicate."""
    customer = customer.strip()
    email = email_or_none(customer)
    who = {"email": email} if email else {"name": customer}
    payload = validate_payload({
        "id": f"{channel_id}-{message_ts}", "kind": "escalation", "priority": severity,
        "subject": f"Escalated from Slack by <@{reporter}>"[:500] if not note else note.strip().splitlines()[0][:200],
        "comment": note, "customer": who, "url": permalink, "tags": ["slack-escalation"],
        "source_ref": {"slack_channel": channel_id, "slack_ts": message_ts, "reporter": reporter},
    })
    return ingest_item(session, source=SLACK_SOURCE, payload=payload, config=config, now=now, team=team)
