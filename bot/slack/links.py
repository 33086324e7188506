"""Links into Slack that any reader of a channel can open."""

from __future__ import annotations


def message_link(channel: str, ts: str) -> str:
    # slack.com/archives redirects to the right workspace; works for anyone in the channel.
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"
