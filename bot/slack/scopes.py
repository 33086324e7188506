"""Which OAuth scope each Slack Web API method cxloop calls needs, and what manifest.yml grants.

One table for three readers: the test that derives every method the code calls and checks the
manifest grants its scope, the strict fake Slack (which answers `missing_scope` like Slack does),
and `cxloop doctor` (which compares the token's granted scopes, from the `X-OAuth-Scopes` header,
with what cxloop needs). Scopes per method are Slack's documented "Required scopes" (bot tokens).
"""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.yml"

# method -> scopes, any one of which is enough (conversations.* take the scope of the channel's type).
# An empty tuple: Slack documents no scope for the method.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": (),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "conversations.join": ("channels:join",),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.history": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.members": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "usergroups.users.list": ("usergroups:read",),
    "usergroups.list": ("usergroups:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "views.open": (),
    "views.push": (),
    "views.update": (),
    "views.publish": (),
}

# Scopes a method's "any one of" list does not capture: which of them cxloop relies on, and why.
# (Each is also what `cxloop doctor` checks the granted token for.)
REQUIRED_SCOPES: dict[str, str] = {
    "chat:write": "post and update item messages, thread notes and ephemeral replies",
    "chat:write.public": "post to a team's public channel without being invited",
    "commands": "the /cxloop and /vip slash commands",
    "channels:history": "find an item's earlier post in a public channel before posting it again",
    "groups:history": "the same in a private team channel",
    "im:history": "find a DM (a reminder, a check-in) again when a customer's data is erased",
    "channels:join": "join a public team channel to read its history (the already-posted check, erasure)",
    "channels:read": "[teams.permissions] channel: who is in a team's public channel",
    "groups:read": "the same for a private team channel",
    "im:write": "open the DM for reminders and check-ins",
    "users:read": "names in App Home and digests",
    "users:read.email": "resolve owners and VIP owners given by e-mail",
    "usergroups:read": "user groups (S…) in [teams.permissions] and as a team lead",
    "files:write": "upload the weekly and monthly report charts",
}


def method_name(client_attribute: str) -> str:
    """`conversations_history` -> `conversations.history` (WebClient's attribute -> API method)."""
    return client_attribute.replace("_", ".")


def manifest_scopes(path: Path = MANIFEST_PATH) -> set[str]:
    """The bot scopes under oauth_config.scopes.bot in manifest.yml (a small, fixed layout; no YAML library)."""
    scopes: set[str] = set()
    in_bot = False
    indent = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped.strip():
            continue
        depth = len(stripped) - len(stripped.lstrip())
        if stripped.strip() == "bot:":
            in_bot, indent = True, depth
            continue
        if in_bot:
            if depth <= indent:
                break
            match = re.fullmatch(r"\s*-\s*([a-z:._]+)", stripped)
            if match:
                scopes.add(match.group(1))
    return scopes


def missing_scope_for(method: str, granted: set[str]) -> str | None:
    """The scope to name in a `missing_scope` answer, or None when the granted scopes allow the method."""
    needed = METHOD_SCOPES.get(method)
    if not needed or any(scope in granted for scope in needed):
        return None
    return needed[0]
