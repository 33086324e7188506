"""The file `cxloop demo` leaves in its directory (database URL, configuration, dashboard token), read by
the commands run beside it. Small on purpose: every `cxloop` command reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

DEMO_STATE_FILE = "cxloop-demo.json"


def read_demo_state(directory: str | Path = ".") -> dict[str, str] | None:
    """What the last `cxloop demo` run in `directory` recorded, or None (no demo ran here, or an unreadable file)."""
    try:
        state = json.loads((Path(directory) / DEMO_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not isinstance(state.get("database_url"), str):
        return None
    return {k: v for k, v in state.items() if isinstance(v, str)}


def write_demo_state(state: dict[str, str], directory: str | Path = ".") -> Path:
    path = Path(directory) / DEMO_STATE_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(state, out, indent=2)
    os.chmod(path, 0o600)  # an older file may have been created with wider permissions
    return path
