"""How an item is named wherever it is listed: one builder for the digest, `/cxloop mine|open`, the App
Home, reminders, modals, the VIP account card and the dashboard.

    NPS 3 · Detractor — Maya Chen (Acme) ⭐
    Escalation (high) — Server down

Raw text: escape it (bot.slack.mrkdwn) before it goes into mrkdwn or HTML.
"""

from __future__ import annotations

from typing import Any

KIND_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "psat": "PSAT", "escalation": "Escalation"}
UNKNOWN_CUSTOMER = "unknown customer"


def _one_line(text: Any) -> str:
    return " ".join(text.split()) if isinstance(text, str) else ""


def plural(count: int, word: str, *, grouped: bool = False) -> str:
    """'1 detractor', '3 detractors'; `grouped`: '1,234 responses'."""
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {word}{'' if count == 1 else 's'}"


def theme_label(theme: str) -> str:
    """ "feature request" for the key "feature_request": how a theme reads everywhere (page, charts, Slack,
    reports, filters). Underscores in Slack would also risk italics."""
    return theme.replace("_", " ")


def kind_label(kind: str) -> str:
    """ "NPS", "CSAT", "Escalation"; an unknown kind in capitals."""
    return KIND_LABELS.get((kind or "").lower(), _one_line(kind).upper())


def score_label(kind: str, score: int | None, priority: str | None = None) -> str:
    """ "NPS 3", "CSAT", "Escalation (high)"."""
    text = kind_label(kind) + (f" {score}" if score is not None else "")
    if kind == "escalation" and _one_line(priority):
        text += f" ({_one_line(priority).lower()})"
    return text


def customer_label(name: str | None, email: str | None, account: str | None = None, subject: str | None = None,
                   *, unknown: str = UNKNOWN_CUSTOMER) -> str:
    """ "Maya Chen (Acme)": the name, else the e-mail, else the subject; the account when it says more."""
    who = _one_line(name) or _one_line(email) or _one_line(subject) or unknown
    if _one_line(account) and _one_line(account) != who:
        who += f" ({_one_line(account)})"
    return who


def item_label(item: Any, *, customer: bool = True) -> str:
    """The label of an Item (or a row with its columns; missing ones count as empty).

    customer=False leaves the customer out where the page is already about them (a VIP account's card):
    "NPS 3 · Detractor", "Escalation (high) — Server down"."""
    kind = getattr(item, "kind", "") or ""
    head = score_label(kind, getattr(item, "score", None), getattr(item, "priority", None))
    category = _one_line(getattr(item, "category", None))
    if category:
        head += f" · {category.capitalize()}"
    if not customer:
        subject = _one_line(getattr(item, "subject", None)) if kind == "escalation" else ""
        return f"{head} — {subject}" if subject else head
    who = customer_label(getattr(item, "customer_name", None), getattr(item, "customer_email", None),
                         getattr(item, "account_name", None), getattr(item, "subject", None))
    return f"{head} — {who}" + (" ⭐" if getattr(item, "vip", False) else "")
