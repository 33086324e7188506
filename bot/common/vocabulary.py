"""The words cxloop's data is described in: survey kinds, their score ranges, categories, default themes.

Plain data, no dependencies: configuration, payload validation and the providers read it without
pulling in the scorers (textblob takes over a second to import).
"""

from __future__ import annotations

SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "psat": (1, 5)}
SURVEY_KINDS: tuple[str, ...] = ("nps", "csat", "ces", "psat")
KINDS: tuple[str, ...] = (*SURVEY_KINDS, "escalation")

CATEGORIES: tuple[str, ...] = ("detractor", "passive", "promoter")

# Highest score that still counts as detractor / passive, per survey kind. CES is scored
# 1-7 with higher = easier, so low effort scores are the unhappy ones like everywhere else.
_UPPER_BOUNDS: dict[str, tuple[int, int]] = {
    "nps": (6, 8),
    "csat": (2, 3),
    "psat": (2, 3),
    "ces": (3, 5),
}


# Keyword syntax: words/phrases matched on whole tokens, so "bug" never matches "debugger".
# A trailing "*" makes the last word a prefix ("crash*" = crash/crashes/crashed/crashing);
# used only where every continuation means the same thing. Phrases are tokenised like the
# text, so "user-friendly" matches "user friendly" and vice versa.
DEFAULT_THEMES: dict[str, tuple[str, ...]] = {
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
