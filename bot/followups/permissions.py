"""Who may act on a team's items: `[teams.permissions]` in the config.

Every action that changes an item or speaks to its customer is checked: claim, unclaim, resolve,
reassign, reopen, reply (to the customer), note, snooze (the SLA) and follow-up dates. Reply and note
have keys of their own that default to the resolve rule; snooze and follow-up dates follow resolve.
A modal is checked when it opens and again when it is submitted (permissions may change between).

The check runs after Slack's ack, before the state change, and answers with the reason to tell the
user (or None when they may go ahead). A change decides in its own transaction (`check_permission`)
and its compare-and-set requires the follow-up version that decision read. Admins may always act. Membership of a channel or user
group is asked of Slack through a short-lived cache (bot/slack/directory.py); when Slack cannot
answer, the action is refused rather than allowed ("fail closed"), with a reason that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import AppConfig, TeamConfig
from bot.slack.directory import DirectoryUnavailable, SlackDirectory
from bot.slack.mrkdwn import escape_mrkdwn, mention_target
from models import FollowUp, Item

PermissionAction = Literal["claim", "unclaim", "resolve", "reassign", "reopen", "reply", "note", "snooze",
                           "follow_up"]
# How a refusal names the action: "You can't <verb> success items".
VERBS = {"reply": "reply to the customers of", "note": "add notes to", "snooze": "snooze",
         "follow_up": "set or push follow-up dates on"}


def is_permitted(action: str, user_id: str, team: TeamConfig, *, config: AppConfig,
                 directory: SlackDirectory) -> bool:
    """Raises DirectoryUnavailable when the answer depends on Slack and Slack cannot give it."""
    if config.is_admin(user_id):
        return True
    allowed = team.permissions.rule(action)
    # Cheap answers first, so a Slack look-up happens only when nothing local settles it.
    for who in allowed:
        if (who == "anyone" or who == user_id
                or (who == "members" and user_id in team.members) or (who == "lead" and team.lead == user_id)):
            return True
    for who in allowed:
        if who == "channel" and user_id in directory.channel_members(team.channel):
            return True
        group = team.lead if who == "lead" else who
        if group and group.startswith("S") and user_id in directory.usergroup_members(group):
            return True
    return False


def describe_allowed(allowed: list[str], team: TeamConfig, *, plain: bool = False) -> str:
    """Who is allowed, in mrkdwn (an ephemeral), or `plain` text (a modal's error, where mentions do not render)."""
    if plain:
        names = {"channel": f"members of the {team.name} team's channel", "members": f"the {team.name} team's members",
                 "lead": "its lead", "admins": "cxloop admins", "anyone": "anyone"}
        parts = [names.get(who) or (f"user group {who}" if who.startswith("S") else f"user {who}") for who in allowed]
    else:
        names = {"channel": f"members of <#{team.channel}>", "members": f"the {escape_mrkdwn(team.name)} team's members",
                 "lead": "its lead", "admins": "cxloop admins", "anyone": "anyone"}
        parts = [names.get(who) or mention_target(who) for who in allowed]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


@dataclass(frozen=True)
class Permission:
    """A decision and the state it relied on: the change must still find that state (compare-and-set)."""

    reason: str | None  # why not, or None when the user may go ahead
    version: int | None  # the follow-up version the decision read (None: the item is gone)


def check_permission(session: Session, action: PermissionAction, *, item_id: int, user_id: str,
                     config: AppConfig, directory: SlackDirectory, plain: bool = False) -> Permission:
    """Decide in the caller's transaction, on the state the change will then require in its WHERE
    (`expected_version`): read → decide → compare-and-set, so a reassignment committed in between
    makes the change lose instead of acting on a claim nobody authorised it to touch. Callers ask
    `permission_refusal` first, outside the transaction, so a Slack look-up this needs is usually cached."""
    row = session.execute(
        select(Item.team, FollowUp.claimed_by, FollowUp.version).join(FollowUp, FollowUp.item_id == Item.id)
        .where(Item.id == item_id)
    ).first()
    if row is None:
        return Permission(None, None)  # the change itself says the item is gone
    return Permission(_decide(action, row.team, row.claimed_by, user_id=user_id, config=config,
                              directory=directory, plain=plain), row.version)


def permission_refusal(open_session: Callable[[], AbstractContextManager[Session]], action: PermissionAction, *,
                       item_id: int, user_id: str, config: AppConfig, directory: SlackDirectory,
                       plain: bool = False) -> str | None:
    """Why `user_id` may not do `action` on the item, or None when they may (or the item is gone:
    the state change itself then says so). Reads the item in its own short session, then asks Slack
    (if it must) outside any transaction: for opening a modal, and before a change's own
    `check_permission` (which then finds Slack's answer cached). `plain`: the reason is shown as a
    modal's error (plain text)."""
    if _unrestricted(action, config):
        return None  # the default: nobody configured a rule, so no read and no Slack look-up per click
    with open_session() as session:
        row = session.execute(
            select(Item.team, FollowUp.claimed_by).join(FollowUp, FollowUp.item_id == Item.id)
            .where(Item.id == item_id)
        ).first()
    if row is None:
        return None
    return _decide(action, row.team, row.claimed_by, user_id=user_id, config=config, directory=directory,
                   plain=plain)


def _unrestricted(action: PermissionAction, config: AppConfig) -> bool:
    return all(team.permissions.rule(policy) == ["anyone"] for team in config.teams
               for policy in ({"unclaim": ("claim", "reassign")}.get(action) or (action,)))


def _decide(action: PermissionAction, team_name: str | None, claimed_by: str | None, *, user_id: str,
            config: AppConfig, directory: SlackDirectory, plain: bool) -> str | None:
    if _unrestricted(action, config):
        return None
    team = next((t for t in config.teams if t.name == team_name), None)
    if team is None:
        return None  # a team removed from the config since: nobody configured a rule for it
    # Giving up your own claim is part of claiming; taking someone else's off them is a reassignment.
    policy = ("claim" if claimed_by in (None, user_id) else "reassign") if action == "unclaim" else action
    verb = ("take someone else's claim off" if action == "unclaim" and policy == "reassign"
            else VERBS.get(policy, policy))
    try:
        if is_permitted(policy, user_id, team, config=config, directory=directory):
            return None
    except DirectoryUnavailable as exc:
        return (f"I could not check whether you may {verb} this item: Slack did not answer ({exc}). "
                "Please try again in a minute.")
    allowed = describe_allowed(team.permissions.rule(policy), team, plain=plain)
    name = team.name if plain else escape_mrkdwn(team.name)
    return f"You can't {verb} {name} items: only {allowed} may. Ask a cxloop admin if that is wrong."


def team_member_refusal(user_id: str, team: TeamConfig, *, config: AppConfig, directory: SlackDirectory,
                        doing: str) -> str | None:
    """Why `user_id` may not `doing` as one of `team` (None: she may). A team's own are cxloop admins, its
    configured members and lead, and the members of its channel (asked of Slack; refused if Slack cannot say)."""
    if config.is_admin(user_id) or user_id in team.members or team.lead == user_id:
        return None
    try:
        if user_id in directory.channel_members(team.channel):
            return None
    except DirectoryUnavailable as exc:
        return (f"I could not check whether you are in the {escape_mrkdwn(team.name)} team: Slack did not answer "
                f"({exc}). Please try again in a minute.")
    return (f"Only members of the {escape_mrkdwn(team.name)} team (its members, or members of <#{team.channel}>) "
            f"can {doing}.")
