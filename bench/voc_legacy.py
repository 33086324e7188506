"""cxloop's voice-of-customer analysis as it was before issue 17, kept for `python -m bench voc` only.

TextBlob's polarity alone for sentiment, and the first theme taxonomy matched without negation. Nothing
in the product imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.intake.keywords import tokenize
from bot.intake.sentiment import label_for, textblob_polarity

LEGACY_THEMES: dict[str, tuple[str, ...]] = {
    "pricing": (
        "price", "prices", "pricing", "priced", "pricey", "expensive", "overpriced", "cost", "costs",
        "costly", "cheap", "cheaper", "afford", "affordable", "unaffordable", "value for money",
        "discount", "discounts", "fee", "fees",
    ),
    "billing": (
        "billing", "bill", "bills", "billed", "invoice*", "charge", "charges", "charged",
        "overcharged", "double charged", "refund*", "payment", "payments", "credit card", "receipt",
        "receipts", "renewal", "auto renew", "cancel my subscription", "cancel subscription",
    ),
    "bugs": (
        "bug", "bugs", "buggy", "crash*", "error", "errors", "broken", "breaks", "glitch*",
        "doesn't work", "does not work", "not working", "stopped working", "doesn't load",
        "freeze", "freezes", "freezing", "froze", "defect", "defects", "regression",
    ),
    "performance": (
        "slow", "slower", "slowly", "slowness", "sluggish", "lag", "lags", "laggy", "lagging",
        "latency", "load time", "loading time", "takes forever", "performance", "speed", "fast",
        "faster", "timeout", "timeouts", "timed out", "hangs", "hanging",
    ),
    "reliability": (
        "outage*", "downtime", "went down", "is down", "was down", "been down", "goes down",
        "down again", "unavailable", "unreliable", "reliable", "reliability", "uptime", "offline",
        "server error", "data loss", "lost data", "lost my data", "intermittent", "intermittently",
        "flaky", "unstable", "stability",
    ),
    "onboarding": (
        "onboarding", "onboard", "getting started", "get started", "setup", "set up", "setting up",
        "sign up", "signup", "signing up", "learning curve", "walkthrough", "tutorial", "tutorials",
        "training", "free trial", "implementation",
    ),
    "support": (
        "support", "customer service", "customer support", "help desk", "helpdesk", "agent", "agents",
        "response time", "responded", "ticket", "tickets", "live chat", "account manager", "csm",
        "representative", "helpful", "unhelpful",
    ),
    "usability": (
        "usability", "ux", "ui", "user interface", "interface", "intuitive", "unintuitive",
        "confusing", "confused", "easy to use", "hard to use", "difficult to use", "user friendly",
        "clunky", "cluttered", "navigation", "navigate", "layout", "complicated", "design",
    ),
    "feature_request": (
        "feature request", "feature requests", "wish", "would love", "would be nice",
        "would be great", "please add", "can you add", "could you add", "add support for", "missing",
        "lacks", "lacking", "roadmap", "need a way", "no way to", "ability to", "option to",
    ),
    "integrations": (
        "integration*", "integrate*", "api", "apis", "webhook*", "plugin", "plugins", "connector",
        "connectors", "zapier", "salesforce", "hubspot", "zendesk", "intercom", "jira", "slack",
        "microsoft teams", "google sheets", "sync", "syncing", "import", "export",
    ),
    "documentation": (
        "documentation", "docs", "doc", "help center", "help article", "help articles",
        "knowledge base", "guide", "guides", "manual", "instructions", "faq", "faqs", "examples",
        "api reference", "readme",
    ),
    "security": (
        "security", "secure", "insecure", "privacy", "gdpr", "hipaa", "soc 2", "soc2", "sso", "saml",
        "2fa", "mfa", "two factor", "password", "passwords", "breach", "hacked", "phishing",
        "vulnerability", "vulnerabilities", "permissions", "encryption", "encrypted", "compliance",
        "audit log", "audit logs",
    ),
}  # fmt: skip


def legacy_sentiment(text: str | None) -> str:
    """The label TextBlob's polarity alone gave."""
    if not text or not text.strip():
        return "neutral"
    return label_for(textblob_polarity(text))


def _compile(taxonomy: dict[str, tuple[str, ...]]) -> list[tuple[str, list[tuple[tuple[str, ...], bool]]]]:
    compiled = []
    for theme, keywords in taxonomy.items():
        compiled.append((theme, [(tuple(tokenize(k.rstrip("*"))), k.endswith("*")) for k in keywords]))
    return compiled


_COMPILED = _compile(LEGACY_THEMES)


def _keyword_in(tokens: list[str], words: tuple[str, ...], prefix: bool) -> bool:
    last = len(words) - 1
    # The fast reject the old matcher had (its first word must be a token), so comments/s compare fairly.
    if not (last == 0 and prefix) and words[0] not in tokens:
        return False
    for start in range(len(tokens) - last):
        if all((tokens[start + i].startswith(w) if prefix and i == last else tokens[start + i] == w)
               for i, w in enumerate(words)):
            return True
    return False


def legacy_themes(text: str | None) -> list[str]:
    """Theme names whose keywords appear in `text` (whole tokens, "*" a prefix), as before."""
    tokens = tokenize((text or "")[:20_000])
    return [theme for theme, keywords in _COMPILED if any(_keyword_in(tokens, w, p) for w, p in keywords)]


def legacy_analyze(texts: Iterable[str]) -> list[tuple[str, list[str]]]:
    return [(legacy_sentiment(text), legacy_themes(text)) for text in texts]
