"""Where a pydantic error points, in the words of the file or body a user wrote."""

from __future__ import annotations

import re

# pydantic names the branches of a union in the error location ("literal['nps',…]", "list[…]", "str");
# they are not keys a user wrote.
_UNION_BRANCH = re.compile(r"^(?:[a-z-]+\[.*\]|str|int|float|bool|none|list|dict|function-\w+)$")


def error_location(loc: tuple) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif not _UNION_BRANCH.match(str(part)):
            key += f".{part}" if key else str(part)
    return key
