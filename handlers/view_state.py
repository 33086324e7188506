"""Reading a submitted modal's inputs. Every input's block_id and action_id is its InputId."""

from __future__ import annotations

from bot.slack.ids import InputId


def input_state(view: dict, input_id: InputId) -> dict:
    """The state of one input ({"type": …, "value" | "selected_option" | …}), or {} when absent."""
    return ((view.get("state") or {}).get("values") or {}).get(input_id.value, {}).get(input_id.value) or {}


def selected_value(view: dict, input_id: InputId) -> str | None:
    """The value of a select's chosen option."""
    return (input_state(view, input_id).get("selected_option") or {}).get("value")


def metadata_id(view: dict) -> int | None:
    """The record id a modal carries in private_metadata, if it is one."""
    raw = str(view.get("private_metadata") or "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None
