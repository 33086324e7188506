"""manifest.yml grants the scope of every Slack Web API method the code calls.

The methods are derived from the source (every `<x>.<web_client_method>(...)` call and every
`api_call("…")` in bot/ and handlers/), so a new call without its scope fails here, not in a
real workspace with `missing_scope`.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from slack_sdk import WebClient

from bot.slack.scopes import METHOD_SCOPES, REQUIRED_SCOPES, manifest_scopes, method_name

ROOT = Path(__file__).resolve().parents[3]
# WebClient helpers that call more than one method.
COMPOSITE = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
_WEB_METHODS = {name for name in dir(WebClient)
                if not name.startswith("_") and "_" in name and callable(getattr(WebClient, name))} - {"api_call"}


@functools.cache  # parsing every module takes ~2 s; the source does not change during a run
def called_methods() -> dict[str, set[str]]:
    """API method -> the files that call it (the fake Slack is a server, not a caller)."""
    found: dict[str, set[str]] = {}
    for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("handlers").rglob("*.py")]:
        if "sandbox" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: tuple[str, ...] = ()
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "api_call"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                names = (str(node.args[0].value),)
            # Any reference, called or passed on (`_read_channel(client, client.conversations_history, …)`).
            attr = node.attr if isinstance(node, ast.Attribute) else ""
            if attr in COMPOSITE:
                names = COMPOSITE[attr]
            elif attr in _WEB_METHODS:
                names = (method_name(attr),)
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_derivation_sees_the_calls_that_matter():
    methods = called_methods()
    for method in ("chat.postMessage", "conversations.history", "conversations.replies", "conversations.join",
                   "files.getUploadURLExternal", "files.completeUploadExternal", "views.open"):
        assert method in methods, method


def test_every_called_method_has_a_known_scope():
    unknown = sorted(set(called_methods()) - set(METHOD_SCOPES))
    assert not unknown, f"add these methods and their scopes to bot/slack/scopes.py: {unknown}"


def test_manifest_grants_the_scope_of_every_called_method():
    granted = manifest_scopes()
    missing = {method: METHOD_SCOPES[method] for method in called_methods()
               if METHOD_SCOPES.get(method) and not set(METHOD_SCOPES[method]) & granted}
    assert not missing, f"manifest.yml lacks a scope for: {missing}"
    assert {"files:write", "channels:join", "channels:history", "groups:history"} <= granted


def test_manifest_and_the_required_table_agree():
    # doctor checks REQUIRED_SCOPES against the token: it must be exactly what the manifest asks for.
    assert manifest_scopes() == set(REQUIRED_SCOPES)
    called = called_methods()
    for method, scopes in METHOD_SCOPES.items():
        if method in called and scopes:
            assert set(scopes) & set(REQUIRED_SCOPES), method
