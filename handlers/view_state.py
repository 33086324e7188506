"""Reading a submitted modal's inputs. Every input's block_id and action_id is its InputId."""

from __future__ import annotations

from bot.slack.ids import MAX_ID, InputId


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def input_state(view: dict, input_id: InputId) -> dict:
    """The state of one input ({"type": …, "value" | "selected_option" | …}), or {} when absent.

    Every level is checked: a hand-made or broken submission must get "choose …" in the modal, not a
    listener that fails before its ack."""
    values = _dict(_dict(_dict(view).get("state")).get("values"))
    state = _dict(_dict(values.get(input_id.value)).get(input_id.value))
    # Inputs hold text (a value, a date, a user id) or a chosen option; anything else is as good as empty.
    return {key: value for key, value in state.items()
            if isinstance(value, str) or (key == "selected_option" and isinstance(value, dict))}


def selected_value(view: dict, input_id: InputId) -> str | None:
    """The value of a select's chosen option."""
    value = _dict(input_state(view, input_id).get("selected_option")).get("value")
    return value if isinstance(value, str) else None


def metadata_id(view: dict) -> int | None:
    """The record id a modal carries in private_metadata, if it is one."""
    raw = str(view.get("private_metadata") or "")
    # ASCII digits only ("¹".isdigit() is true too), and within the id column's range.
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID else None
