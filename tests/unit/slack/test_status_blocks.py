"""The status report's Markdown copy: boxes of at most 3000 characters that end at line ends."""

from __future__ import annotations

from bot.slack.status_blocks import MARKDOWN_PART_CHARS, markdown_modal, markdown_parts


def test_markdown_is_split_at_line_ends_and_loses_nothing() -> None:
    lines = [f"- quote {n}: " + "the export keeps failing since Monday " * 3 for n in range(60)]
    lines.append("_Figures as of when this was drafted._")
    markdown = "\n".join(lines)
    parts = markdown_parts(markdown)
    assert len(parts) > 1 and all(len(part) <= MARKDOWN_PART_CHARS for part in parts)
    # Every box ends a line: no sentence or emphasis is cut in two.
    assert all(part.splitlines()[-1] in lines for part in parts)
    assert "\n".join(parts) == markdown
    modal = markdown_modal(markdown)
    boxes = [b["element"]["initial_value"] for b in modal["blocks"] if b["type"] == "input"]
    assert boxes == parts


def test_a_line_longer_than_a_box_is_the_only_thing_cut() -> None:
    markdown = "# Status\n" + "x" * (MARKDOWN_PART_CHARS + 10) + "\nend"
    parts = markdown_parts(markdown)
    assert all(len(part) <= MARKDOWN_PART_CHARS for part in parts)
    assert "".join(parts).replace("\n", "") == markdown.replace("\n", "")
    assert parts[-1].endswith("end")
