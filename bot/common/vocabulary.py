"""The words cxloop's data is described in: survey kinds, their score ranges, categories, default themes.

Plain data, no dependencies: configuration, payload validation and the providers read it without
pulling in the scorers (textblob takes over a second to import).
"""

from __future__ import annotations

from dataclasses import dataclass

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
# Written from general customer-feedback language (support tickets, surveys, app reviews), not fitted
# to any data set. A theme is a topic a person would route or count on; the first keyword that
# matches is kept and shown ("bugs: 'keeps crashing'").
DEFAULT_THEMES: dict[str, tuple[str, ...]] = {
    "churn_risk": (
        "cancel", "cancelling", "canceling", "cancelled my", "canceled my", "cancel my subscription",
        "cancel subscription", "cancel our", "cancel my account", "switching to another", "switch to another",
        "switched to another", "switching providers", "switch providers", "moving to another", "move to another", "not renewing", "not renew", "won't renew", "will not renew",
        "won't be renewing", "not going to renew", "looking for alternatives", "looking for an alternative",
        "find an alternative", "another provider", "another vendor", "a competitor", "competitors",
        "take our business elsewhere", "take my business elsewhere", "go elsewhere", "going elsewhere",
        "thinking of leaving", "we are leaving", "we're leaving", "i'm leaving", "about to leave",
        "unsubscribe", "unsubscribed", "uninstall*", "delete my account", "close my account",
        "close our account", "last straw", "never again", "churn*",
    ),
    "data_loss": (
        "data loss", "lost data", "lost my data", "lost our data", "lost all", "lost everything",
        "lost my work", "lost my files", "lost my notes", "lost my progress", "lost our work", "losing data", "loses data", "loses my", "deleted my", "deleted all",
        "deleted our", "wiped", "erased", "disappeared", "vanished", "gone missing", "corrupt*",
        "overwritten", "overwrote", "data is gone", "data was gone", "can't recover", "cannot recover",
        "unable to recover", "restore my", "restore our",
    ),
    "pricing": (
        "price", "prices", "pricing", "priced", "pricey", "expensive", "overpriced", "cost", "costs",
        "costly", "cheap", "cheaper", "afford", "affordable", "unaffordable", "value for money",
        "discount", "discounts", "fee", "fees", "price increase", "too much money", "worth the money",
        "not worth", "paywall", "per seat", "free version", "in-app purchase*",
    ),
    "billing": (
        "billing", "bill", "bills", "billed", "invoice*", "charge", "charges", "charged",
        "overcharged", "double charged", "charged twice", "refund*", "payment", "payments", "credit card",
        "receipt", "receipts", "renewal", "auto renew", "auto-renew", "subscription", "subscriptions",
        "money back", "chargeback", "vat", "tax id", "purchase order",
    ),
    "bugs": (
        "bug", "bugs", "buggy", "crash*", "error", "errors", "error message", "broken", "breaks", "glitch*",
        "doesn't work", "does not work", "didn't work", "not working", "isn't working", "stopped working",
        "won't work", "doesn't load", "won't load", "won't open", "doesn't open", "won't start",
        "force close*", "keeps closing", "keeps stopping", "shuts down", "black screen", "white screen",
        "blank screen", "freeze", "freezes", "freezing", "froze", "frozen", "defect", "defects",
        "regression", "please fix", "fix it", "fix this", "fix the", "needs fixing", "fixed soon",
        "since the update", "since the last update", "after the update", "after the latest update",
        "after updating", "since updating", "latest update", "new update",
        "not showing", "doesn't show", "won't show", "not displaying", "not loading", "fails", "failed",
        "failing", "failure", "exception", "stuck", "can't log in", "cannot log in", "can't login",
        "can't sign in", "cannot sign in", "logs me out", "logged me out", "not syncing", "won't sync",
        "doesn't sync", "not responding", "unresponsive", "issue", "issues", "problem", "problems",
    ),
    "performance": (
        "slow", "slower", "slowly", "slowness", "sluggish", "lag", "lags", "laggy", "lagging",
        "latency", "load time", "loading time", "takes forever", "took forever", "performance", "speed",
        "fast", "faster", "timeout", "timeouts", "timed out", "times out", "time out", "hangs", "hanging",
        "battery", "drains", "memory", "cpu", "takes ages", "takes too long", "responsive",
    ),
    "reliability": (
        "outage*", "downtime", "went down", "is down", "was down", "been down", "goes down", "down again",
        "unavailable", "unreliable", "reliable", "reliability", "uptime", "offline", "server error",
        "server errors", "service interruption", "incident", "intermittent", "intermittently", "flaky",
        "unstable", "stability", "503", "502", "500 error",
    ),
    "onboarding": (
        "onboarding", "onboard", "getting started", "get started", "setup", "set up", "setting up",
        "sign up", "signup", "signing up", "learning curve", "walkthrough", "tutorial", "tutorials",
        "training", "free trial", "trial", "implementation", "first time", "first week", "kickoff",
        "migration", "migrating", "import my data",
    ),
    "support": (
        "support", "customer service", "customer support", "help desk", "helpdesk", "agent", "agents",
        "response time", "responded", "respond", "reply", "replied", "replies", "no response",
        "ticket", "tickets", "live chat", "chat", "account manager", "csm", "representative", "rep",
        "helpful", "unhelpful", "on hold", "still waiting", "never heard back", "escalat*", "staff",
        "contacted", "emailed",
    ),
    "usability": (
        "usability", "ux", "ui", "user interface", "interface", "intuitive", "unintuitive",
        "confusing", "confused", "easy to use", "hard to use", "difficult to use", "user friendly",
        "clunky", "cluttered", "navigation", "navigate", "layout", "complicated", "design", "hard to find",
        "can't find", "cannot find", "couldn't find", "too many clicks", "annoying", "menu", "menus",
        # Not "simple" or "easy" alone: "a simple ticket", "easy refund" are not about the product's use.
        "font", "dark mode", "screen", "button", "buttons", "simple to use", "easy to navigate", "ads", "pop up",
        "popups",
        "notification*",
    ),
    "feature_request": (
        # Explicit asks only: conditionals ("it would"), hopes and "missing" are as often about a bug.
        "feature request", "feature requests", "i wish", "wish it", "wish there", "wish they", "wish you",
        "would love", "would like", "i'd like", "i'd love", "we'd like", "we'd love", "would be nice",
        "would be great", "would be awesome", "would be better if", "would be helpful", "would be cool",
        "please add", "pls add", "plz add", "can you add", "could you add", "can you please add",
        "could you please add", "you should add", "should add", "add support for", "add an option",
        "add the option", "add the ability", "add a feature", "add a way", "add more", "please make it",
        "please allow", "please let us", "please let me", "please include", "please consider",
        "please bring back", "bring back", "give us the option", "give us an option", "give us the ability",
        "need a way", "needs a way", "need an option", "needs an option", "need the ability", "no way to",
        "no option to", "should be able to", "should have an option", "should have a way", "lacks", "lacking",
        "roadmap", "suggestion", "suggestions", "i suggest", "we suggest", "want to be able", "wishlist",
        "why can't i", "if only", "would pay for", "feature that", "a feature to", "is there a way",
        "is it possible to", "any chance", "can we get", "can we have", "could we get", "could we have",
        "hope they add", "hope you add", "hoping for", "looking forward to", "it needs", "needs more",
        "should have", "it should", "option for", "more options",
    ),
    "integrations": (
        "integration*", "integrate*", "api", "apis", "webhook*", "plugin", "plugins", "connector",
        "connectors", "zapier", "salesforce", "hubspot", "zendesk", "intercom", "jira", "slack",
        "microsoft teams", "google sheets", "google calendar", "outlook", "sync", "syncing", "import",
        "export", "csv", "sso",
    ),
    "documentation": (
        "documentation", "docs", "doc", "help center", "help article", "help articles",
        "knowledge base", "guide", "guides", "manual", "instructions", "faq", "faqs", "examples",
        "api reference", "readme", "release notes", "changelog", "how-to", "video tutorial*",
    ),
    "security": (
        "security", "secure", "insecure", "privacy", "gdpr", "hipaa", "soc 2", "soc2", "saml",
        "2fa", "mfa", "two factor", "password", "passwords", "breach", "hacked", "phishing", "spam",
        "vulnerability", "vulnerabilities", "permissions", "encryption", "encrypted", "compliance",
        "audit log", "audit logs", "suspicious", "unauthorized", "fraud*",
    ),
}  # fmt: skip

# Sentiment labels as people read them (the stored value is the key).
SENTIMENT_DISPLAY: dict[str, str] = {"negative": "Negative", "neutral": "Neutral", "positive": "Positive",
                                     "mixed": "Mixed", "not_analysed": "Not analysed (language)"}

# Themes that name a problem: a keyword right after a denial ("no bugs", "never crashes", "without any
# downtime", "not cancelling") does not count. Topic themes (billing, docs, support, …) keep the match:
# "no docs" or "can't export" is still about docs or export.
NEGATABLE_THEMES: frozenset[str] = frozenset({"bugs", "performance", "reliability", "data_loss", "churn_risk"})


@dataclass(frozen=True)
class SentimentWords:
    """A team's own words ([sentiment] in the config), in the theme keyword syntax: they decide before the
    built-in lexicon ("escalated to legal" negative, "kudos" positive)."""

    negative: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
