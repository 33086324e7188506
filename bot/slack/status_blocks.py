"""Block Kit and Markdown of the drafted status report (bot/insights/status.py): the DM with its
"Share in channel" and "Markdown copy" buttons, the shared copy, and the Markdown modal.

Customer text is escaped and truncated here; plain dicts, no Slack calls, no database."""

from __future__ import annotations

from typing import Any

from bot.common.labels import plural, theme_label
from bot.insights.digest import nps_change
from bot.insights.status import Quote, StatusReport, Trend
from bot.slack.blocks import SECTION_TEXT_MAX, _button, _mrkdwn, _plain
from bot.slack.ids import ActionId, ViewId
from bot.slack.mrkdwn import escape_mrkdwn, escaped_truncated, truncate, user_mention

QUOTE_CHARS = 240
FALLBACK_MAX = 300
# A plain_text_input's initial_value holds at most 3000 characters: longer Markdown is split across inputs.
MARKDOWN_PART_CHARS = 3000
MARKDOWN_PARTS_MAX = 20
STATUS_ACTIONS_BLOCK = "cx_status_actions"
MARKDOWN_BLOCK = "cx_status_markdown"


def status_value(outbox_id: int) -> str:
    """The buttons carry the DM's outbox row id; the report is read back from that row."""
    return f"status:{outbox_id}"


def _theme(theme: str) -> str:
    return theme_label(theme).capitalize()


def _money(arr: float | None) -> str:
    return f"${arr:,.0f} ARR" if arr else ""


# Said, not left out: an empty section would look like a bug in the draft.
NO_KUDOS = "none — no promoter comment names a person or a team"


def _trend(t: Trend, against: str) -> str:
    """ "Bugs 17 (▲ 3 more than the 7 days before: 14)", "Usability 6 (same as the 7 days before)"."""
    delta = t.current - t.previous
    if not delta:
        return f"{t.name} {t.current} (same as {against})"
    return f"{t.name} {t.current} ({'▲' if delta > 0 else '▼'} {abs(delta)} {'more' if delta > 0 else 'fewer'} than {against}: {t.previous})"


def _nps_line(r: StatusReport) -> str:
    if r.nps.score is None:
        return "NPS: no NPS responses"
    line = f"NPS {r.nps.score:+d} from {plural(r.nps.responses, 'response')}"
    change = nps_change(r.nps.score, r.previous_nps.score, r.window.previous_label)
    return f"{line}, {change}" if change else line


def _activity_parts(r: StatusReport) -> list[str]:
    a = r.activity
    parts = [plural(a.claims, "claim"), plural(a.resolutions, "resolution"), plural(a.replies, "reply to a customer")
             if a.replies == 1 else f"{a.replies} replies to customers", plural(a.notes, "note"),
             plural(a.touches, "VIP touch") if a.touches == 1 else f"{a.touches} VIP touches"]
    if r.trackers:
        parts.append(f"{plural(a.told, 'customer')} told their issue shipped")
    return parts


def _who(q: Quote) -> str:
    return " · ".join(part for part in (q.customer, _money(q.arr), q.score_label) if part)


# --- Slack ------------------------------------------------------------------------------------------


def _section(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": _mrkdwn(truncate(text, SECTION_TEXT_MAX))}


def _quote_line(q: Quote) -> str:
    icon = "🔴" if q.tone == "critical" else "🟢"
    body = escaped_truncated(q.text, QUOTE_CHARS)
    who = escape_mrkdwn(_who(q))
    if q.link:
        who = f"<{q.link}|{who}>"
    return f"{icon} _“{body}”_ — {who}"


def _ref_line(label: str, link: str | None, note: str) -> str:
    text = escaped_truncated(label, 120)
    if link:
        text = f"<{link}|{text}>"
    return f"• {text}" + (f" — {escape_mrkdwn(note)}" if note else "")


def status_blocks(r: StatusReport) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of the report, without buttons (the shared copy uses these as they are)."""
    w = r.window.label
    blocks: list[dict[str, Any]] = [
        {"type": "header", "block_id": "cx_status_header",
         "text": _plain(f"📝 Status · {r.team} · {w}", 150)},
        _section("cx_status_figures", "\n".join([
            f"*Customers, {escape_mrkdwn(w)}:* {plural(r.responses, 'response')} "
            f"({r.previous_responses} in {escape_mrkdwn(r.window.previous_label)}); {escape_mrkdwn(_nps_line(r))}",
            "*Counts:* " + " · ".join(escape_mrkdwn(_trend(t, r.window.previous_label)) for t in r.trends)])),
    ]
    if r.themes:
        blocks.append(_section("cx_status_voc_head", f"*🗣️ Voice of the customer, {escape_mrkdwn(w)}*"))
        for index, (theme, quotes) in enumerate(r.themes):
            lines = [f"*{escape_mrkdwn(_theme(theme))}*"] + [_quote_line(q) for q in quotes]
            blocks.append(_section(f"cx_status_voc_{index}", "\n".join(lines)))
    else:
        blocks.append(_section("cx_status_voc_head", f"*🗣️ Voice of the customer, {escape_mrkdwn(w)}:* no "
                                                     "critical or glowing comments."))
    did = " · ".join(_activity_parts(r))
    blocks.append(_section("cx_status_did", f"*✅ What {user_mention(r.user_id)} did, {escape_mrkdwn(w)}:* {did}"))
    help_lines = ["*🆘 Open now, where help is needed*"]
    for listed in r.open_lists:
        if not listed.total:
            help_lines.append(f"{escape_mrkdwn(listed.title)}: none")
            continue
        help_lines.append(f"*{escape_mrkdwn(listed.title)}: {listed.total}*")
        help_lines += [_ref_line(ref.label, ref.link, ref.note) for ref in listed.items]
        if listed.total > len(listed.items):
            help_lines.append(f"… and {listed.total - len(listed.items)} more")
    blocks.append(_section("cx_status_open", "\n".join(help_lines)))
    if r.kudos:
        lines = [f"*👏 Kudos, {escape_mrkdwn(w)}*"]
        lines += [f"{_quote_line(k.quote)} (names *{escape_mrkdwn(k.named)}*)" for k in r.kudos]
        blocks.append(_section("cx_status_kudos", "\n".join(lines)))
    else:
        blocks.append(_section("cx_status_kudos", f"*👏 Kudos, {escape_mrkdwn(w)}:* {NO_KUDOS}"))
    if r.trackers:
        if r.active_issues:
            lines = ["*🐞 Active bugs related to customer feedback* (open linked issues, now)"]
            for issue in r.active_issues:
                label = escape_mrkdwn(issue.label)
                label = f"<{issue.url}|{label}>" if issue.url else label
                title = f" {escaped_truncated(issue.title, 100)}" if issue.title else ""
                extra = f" · {_money(issue.arr)}" if issue.arr else ""
                lines.append(f"• {label}{title} — {plural(issue.customers, 'customer')}{extra}")
            blocks.append(_section("cx_status_issues", "\n".join(lines)))
        else:
            blocks.append(_section("cx_status_issues", "*🐞 Active bugs related to customer feedback:* none open"))
    blocks.append({"type": "context", "block_id": "cx_status_footer", "elements": [_mrkdwn(truncate(
        f"Team {escape_mrkdwn(r.team)} · times in {escape_mrkdwn(r.timezone)} · trends compare with "
        f"{escape_mrkdwn(r.window.previous_label)} · open items as of now", 2000))]})
    fallback = (f"Status draft for {r.team}, {w}: {plural(r.responses, 'response')}, "
                + ", ".join(f"{t.name} {t.current}" for t in r.trends))
    return escaped_truncated(fallback, FALLBACK_MAX), blocks


def draft_dm(r: StatusReport, outbox_id: int) -> tuple[str, list[dict[str, Any]]]:
    """The DM: a draft line, the report, and Share in channel / Markdown copy."""
    text, blocks = status_blocks(r)
    note = {"type": "context", "block_id": "cx_status_draft", "elements": [_mrkdwn(
        "*Draft* — only you see this. Share it in the team channel as it is, or copy it as Markdown to edit "
        "for e-mail.")]}
    actions = {"type": "actions", "block_id": STATUS_ACTIONS_BLOCK, "elements": [
        _button(ActionId.STATUS_SHARE, "Share in channel", status_value(outbox_id), style="primary"),
        _button(ActionId.STATUS_MARKDOWN, "Markdown copy", status_value(outbox_id))]}
    return f"Draft: {text}", [blocks[0], note, *blocks[1:], actions]


def shared_blocks(blocks: list[dict[str, Any]], *, user_id: str) -> list[dict[str, Any]]:
    """The DM's blocks as posted in the team channel: no draft note, no buttons, who shared it."""
    kept = [b for b in blocks if b.get("block_id") not in (STATUS_ACTIONS_BLOCK, "cx_status_draft")]
    return [*kept, {"type": "context", "block_id": "cx_status_shared",
                    "elements": [_mrkdwn(f"Shared by {user_mention(user_id)}")]}]


def markdown_parts(markdown: str, size: int = MARKDOWN_PART_CHARS) -> list[str]:
    """The Markdown in boxes of at most `size` characters, each ending at the end of a line (a line longer
    than a box is the only thing ever cut), so every part pastes as whole sentences and closed emphasis."""
    parts: list[str] = []
    current = ""
    for line in markdown.splitlines(keepends=True):
        while len(line) > size:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:size])
            line = line[size:]
        if len(current) + len(line) > size:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [part.rstrip("\n") if index < len(parts) - 1 else part for index, part in enumerate(parts)]


def markdown_modal(markdown: str) -> dict[str, Any]:
    """The report as Markdown in prefilled inputs (copy with Ctrl/Cmd+A, C): one per 3000 characters."""
    parts = markdown_parts(markdown)[:MARKDOWN_PARTS_MAX]
    blocks: list[dict[str, Any]] = [{"type": "context", "elements": [_mrkdwn(
        "Select all in the box and copy; paste into an e-mail or doc." if len(parts) == 1 else
        f"The report is in {len(parts)} parts (Slack's limit per box): copy each in turn.")]}]
    for index, part in enumerate(parts):
        block_id = MARKDOWN_BLOCK if index == 0 else f"{MARKDOWN_BLOCK}_{index + 1}"
        blocks.append({"type": "input", "block_id": block_id, "optional": True,
                       "label": _plain("Markdown" if len(parts) == 1 else f"Markdown, part {index + 1}", 2000),
                       "element": {"type": "plain_text_input", "action_id": block_id, "multiline": True,
                                   "initial_value": part}})
    return {"type": "modal", "callback_id": ViewId.STATUS_MARKDOWN.value, "title": _plain("Status report", 24),
            "submit": _plain("Done", 24), "close": _plain("Close", 24), "blocks": blocks}


# --- Markdown (for e-mail) --------------------------------------------------------------------------


def _md(text: str) -> str:
    """Customer text in Markdown: one line, no emphasis or link syntax taking effect."""
    text = " ".join((text or "").split())
    for char in "\\`*_[]<>":
        text = text.replace(char, "\\" + char)
    return text


def _md_link(label: str, url: str | None) -> str:
    return f"[{label}]({url})" if url else label


def _md_quote(q: Quote) -> str:
    icon = "🔴" if q.tone == "critical" else "🟢"
    return f"- {icon} “{_md(truncate(q.text, QUOTE_CHARS * 2))}” — {_md_link(_md(_who(q)), q.link)}"


def status_markdown(r: StatusReport, *, user_name: str | None = None) -> str:
    w = r.window.label
    lines = [f"# Status · {r.team} · {w}", "",
             f"**Customers, {w}:** {plural(r.responses, 'response')} ({r.previous_responses} in "
             f"{r.window.previous_label}); {_nps_line(r)}",
             "", "**Counts:** " + " · ".join(_trend(t, r.window.previous_label) for t in r.trends), "",
             f"## Voice of the customer, {w}"]
    if not r.themes:
        lines.append("No critical or glowing comments.")
    for theme, quotes in r.themes:
        lines += ["", f"**{_theme(theme)}**", *[_md_quote(q) for q in quotes]]
    lines += ["", f"## What {user_name or 'I'} did, {w}", " · ".join(_activity_parts(r)), "",
              "## Open now, where help is needed"]
    for listed in r.open_lists:
        lines.append(f"**{listed.title}: {listed.total}**" if listed.total else f"{listed.title}: none")
        lines += [f"- {_md_link(_md(ref.label), ref.link)}" + (f" — {_md(ref.note)}" if ref.note else "")
                  for ref in listed.items]
        if listed.total > len(listed.items):
            lines.append(f"- … and {listed.total - len(listed.items)} more")
    if r.kudos:
        lines += ["", f"## Kudos, {w}"] + [f"{_md_quote(k.quote)} (names **{_md(k.named)}**)" for k in r.kudos]
    else:
        lines += ["", f"## Kudos, {w}", NO_KUDOS]
    if r.trackers:
        lines += ["", "## Active bugs related to customer feedback"]
        lines += [f"- {_md_link(_md(i.label), i.url)}" + (f" {_md(i.title)}" if i.title else "")
                  + f" — {plural(i.customers, 'customer')}" + (f" · {_money(i.arr)}" if i.arr else "")
                  for i in r.active_issues] or ["None open."]
    lines += ["", f"_Team {r.team}; times in {r.timezone}; trends compare with {r.window.previous_label}; "
                  "open items as of when this was drafted._"]
    return "\n".join(lines)
