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


# Bug-report failure vocabulary. Sources: the "problem discovery" sentence patterns of Panichella et al.,
# "How can I improve my app? Classifying user reviews for software maintenance and evolution", ICSME
# 2015 (ARdoc/SURF: "[something] doesn't/won't [verb]", "can't [verb]", "app stops working", "keeps
# crashing", "after the update"), the failure symptoms of bug-report studies (crash, hang, freeze,
# force close, black/blank screen, "fails to"; Bettenburg et al., "What makes a good bug report?",
# FSE 2008) and what users try first (reinstall, restart). An operation that cannot be done
# ("can't open", "unable to sync") is a failure; "can't work"/"can't use" are left out ("I can't work
# without it" is praise).
_CANNOT = ("can't", "cannot", "couldn't", "won't", "wouldn't", "doesn't", "didn't", "unable to",
           "not able to", "fails to", "failed to", "failing to", "no longer")
_OPERATIONS = ("open", "opens", "load", "loads", "sync", "syncs", "save", "saves", "start", "starts", "launch",
               "connect", "log in", "login", "sign in", "download", "upload", "install", "update", "play",
               "send", "refresh", "access", "respond", "boot", "run", "runs", "works", "work")
_FAILURE_PHRASES: tuple[str, ...] = (
    *(f"{cannot} {operation}" for cannot in _CANNOT for operation in _OPERATIONS
      if not (cannot in ("can't", "cannot", "couldn't", "unable to", "not able to") and operation.startswith("work"))),
    "stops working", "stopped responding", "stops responding", "won't let me", "doesn't let me",
    "does not let me", "hangs", "freezes up", "force stop*", "force quit*", "keeps restarting",
    "keeps resetting", "keeps logging me out", "keeps kicking me out", "kicks me out", "kicked me out",
    "keep logging me out", "keep kicking me out", "keep crashing", "keep freezing", "keep restarting",
    "something went wrong", "an error occurred", "error occurred", "went wrong again",
    "signs me out", "keeps disconnecting", "disconnects", "nothing happens", "grey screen", "gray screen",
    "loading screen", "infinite loop", "endless loop", "malfunction*", "bugged", "reinstall*",
    "re-install*", "uninstalled and", "deleted and reinstalled", "restart my phone", "had to restart",
    "needs to be fixed", "need to fix", "needs to fix", "be fixed", "get fixed", "gets fixed", "not fixed",
    "fix asap", "fix soon", "fix that", "fix these", "fix them", "fix your", "after update", "since update",
    "after the recent update", "since the recent update", "after the new update", "since the new update",
    "after the last update", "after last update", "since last update", "did not work", "will not work",
    "wouldn't work", "don't work", "do not work", "not work anymore", "no longer works",
)
# Feature-request grammar. Sources: the request rules of Iacob & Harrison, "Retrieving and analyzing
# mobile apps feature requests from online reviews", MSR 2013 ("please add", "would be nice/great if",
# "I wish", "should have/be able to", "add (an) option/ability to", "needs (a|an|more)", "can you
# (please) add", "hope (you|they) (will) add", "would love (to see|it if)", "missing feature", "make it
# possible to", "allow (me|us|users) to"); the "feature request" patterns of Panichella et al. ICSME 2015
# ("[someone] should add/make", "it would be nice to", "I would like"); and English request grammar:
# a modal or "please" + a verb of adding or allowing, a wish + what is wished for. Bare "would love"/
# "would like" are gone ("would love this app" is praise); what is not an ask is told apart after the
# match (REQUEST_* below): "would like a refund", "should have bought another", "it should work",
# "it needs to be fixed" are billing, regret and bugs.
_ASKS = ("please", "pls", "plz", "can you", "can you please", "could you", "could you please", "can you guys",
         "could you guys", "would you", "can we", "could we", "can someone", "could someone", "you could",
         "they could", "maybe you could", "i suggest you", "i'd suggest you",
         "will you", "can they", "could they", "you should", "you guys should", "they should", "developers should",
         "devs should", "it should", "app should", "should", "you need to", "needs to", "maybe", "why not",
         "why don't you", "hope you", "hope you will", "hope they", "hope they will", "hopefully they",
         "hopefully you", "hope you guys")
_ADDING = ("add", "include", "implement", "allow", "enable", "introduce", "integrate", "offer", "provide",
           "consider", "support", "make an option", "make it possible", "create an option", "give the option", "make",
           "improve", "change", "give an option", "bring back", "put in", "put back", "create", "expose", "extend",
           "enhance", "expand", "give us", "give me", "let us", "let me", "let users", "port", "unlock")
_WANTING = ("would love", "i'd love", "we'd love", "would like", "i'd like", "we'd like", "i want", "we want",
            "would really like", "would really love", "really want", "i would prefer", "i'd prefer",
            "would appreciate")
_WANTED = ("to see", "to have", "to be able", "it if", "an option", "the option", "the ability", "a feature",
           "a way", "more options", "support for", "a setting", "the possibility", "if you could", "if there",
           "a", "an", "more", "some")
_REQUEST_PHRASES: tuple[str, ...] = (
    *(f"{ask} {adding}" for ask in _ASKS for adding in _ADDING),
    *(f"{wanting} {wanted}" for wanting in _WANTING for wanted in _WANTED),
    "should have", "should be an option", "should be a way", "there should be", "it should", "it needs",
    "app needs", "just needs", "only needs", "really needs",
    "needs an option", "needs the option", "needs the ability", "it would be better if",
    "would be better with", "would be nice to have", "would be great to have", "would be perfect if",
    "would be even better", "would make it better", "would make it perfect", "would make this app",
    "would be 5 stars", "would be five stars", "would give 5 stars", "would give five stars",
    "would give it 5", "would give it five", "5 stars if", "five stars if", "missing feature*",
    "feature missing", "only thing missing", "the only thing it needs", "make it possible to",
    "allow me to", "allow us to", "allow users to", "allow the user to", "let me choose", "let us choose",
    "let me change", "let us change", "let me customize", "let me customise", "let me set", "let us set",
    "let me edit", "let us edit", "let me pick", "let me select", "let me sort", "let me hide",
    "let me disable", "let me turn off", "could use a", "could use an",
    "could use more", "could use some", "in a future update", "in future updates", "in the next version",
    "hope to see", "looking forward to seeing", "it would help if", "would be useful",
    # Conditionals of a missing thing (Iacob & Harrison's "if only"/"would be … if" family).
    "if it had", "if it has", "if there was", "if there were", "if there is a way", "if you could",
    "if you can add", "if they could", "if you add", "if you added", "if they add", "if they added",
    "would be good if", "would be good to", "would be amazing if", "would be amazing to",
    "would be fantastic", "would be handy", "would be wonderful", "it'd be nice", "it'd be great",
    "it'd be cool", "it'd be awesome", "will be nice if", "will be great if", "will be better if",
    # Questions that ask for something absent ("why is there no …", "how about adding …").
    "why is there no", "why isn't there", "why can't we", "why can't you", "why don't you", "why no",
    "how about adding", "what about adding", "how about a", "how about an", "how about some",
    "hope there", "hopefully there", "suggest adding", "recommend adding", "my suggestion",
    # A feature the product lacks (I&H "lacks"): "doesn't support", "no support for".
    "doesn't support", "does not support", "don't support", "no support for", "no option for",
    "there is no option", "there's no option", "there is no way", "there's no way",
    "missing a", "missing an", "is missing the option", "is missing the ability",
    "doesn't have an option", "doesn't have a way", "doesn't have the option", "doesn't have the ability",
    "can't customize", "can't customise", "cannot customize", "cannot customise", "not customizable",
    "not customisable", "more customization", "more customisation", "customization options",
    "customisation options",
    # A proposal in the passive ("an export should be added", "dark mode needs to be implemented") or as a
    # need ("a search is needed", "we need an offline mode"): the modal of obligation + a verb of adding.
    *(f"{modal} be {done}" for modal in ("should", "could", "needs to", "need to", "has to", "must", "ought to")
      for done in ("added", "included", "implemented", "introduced", "enabled", "allowed", "supported",
                   "integrated", "offered", "provided", "made available", "optional",
                   "customizable", "customisable", "configurable", "adjustable", "expanded", "extended")),
    "is a must", "a must have", "we need a", "we need an", "we need more",
    *(f"{who} {adverb} need {what}" for who in ("we", "i") for adverb in ("really", "definitely", "badly",
                                                                            "desperately", "still", "urgently")
      for what in ("a", "an", "more", "the ability", "the option", "to be able", "support for")),
    "we need the ability", "we need the option", "we need to be able", "we need support", "we need some",
    "would like to request", "i want to request", "i'd like to request", "i would suggest", "i'd suggest",
    # An evaluative conditional with a degree word between ("would also be nice", "would be very useful",
    # "would be a great addition"): the same proposal as "would be nice" (Iacob & Harrison's family).
    *(f"{would} {adverb} be {good}" for would in ("would", "it'd", "will")
      for adverb in ("also", "really", "definitely", "certainly", "so", "truly")
      for good in ("nice", "great", "awesome", "helpful", "useful", "cool", "good if", "handy", "wonderful",
                   "fantastic", "amazing", "better if")),
    *(f"would be {adverb} {good}" for adverb in ("very", "really", "so", "extremely", "super", "incredibly",
                                                  "much", "even more", "a lot", "far", "more", "truly")
      for good in ("nice", "great", "awesome", "helpful", "useful", "cool", "good if", "handy", "better if",
                   "easier if", "convenient")),
    *(f"would be a {good} {thing}" for good in ("good", "great", "nice", "welcome", "useful", "cool", "helpful",
                                                  "wonderful", "big", "huge")
      for thing in ("idea", "addition", "feature", "improvement", "option", "enhancement")),
    "would be easier if", "would be more useful if", "would be convenient", "will be a good idea",
)

_STORED = ("data", "records", "files", "notes", "work", "contacts", "entries", "documents", "changes", "photos",
           "messages", "projects", "tasks", "history", "progress", "edits", "drafts", "uploads", "attachments")
# Stored work and what becomes of it, with words between (bot.intake.scoring.data_loss_at).
STORED_WORK: frozenset[str] = frozenset({*_STORED, "rows", "entry", "record", "file", "timesheets", "invoices",
                                         "workspace", "database", "spreadsheet", "backups", "backup", "details",
                                         "information", "info", "settings", "preferences", "configuration",
                                         "content", "conversations", "chats", "artifacts", "logs", "builds",
                                         "subscribers", "leads", "campaigns", "templates"})
LOSS_VERBS: frozenset[str] = frozenset({"lost", "lose", "loses", "losing", "wiped", "wipes", "wiping", "deleted",
                                        "deletes", "deleting", "erased", "erases", "drops", "dropped", "dropping",
                                        "overwrote", "overwritten", "corrupted", "corrupts", "vanished"})
LOSS_STATES: frozenset[str] = frozenset({"gone", "missing", "deleted", "lost", "wiped", "erased", "corrupted",
                                         "overwritten"})
# Between a verb of losing and what was lost, none of these: a preposition or conjunction starts another
# phrase ("get lost in the projects page", "lose time re-typing contacts into the CRM"), and these objects
# are idioms ("lost track", "dropped the ball", "lose patience").
LOSS_BREAKS: frozenset[str] = frozenset({
    "in", "into", "on", "onto", "to", "from", "for", "with", "at", "by", "and", "but", "because", "while", "when",
    "if", "track", "time", "ball", "patience", "interest", "hope", "sleep", "signal", "connection", "focus", "way",
    "sight", "count", "money", "weight", "access", "customers", "users", "touch",
})
# "I feel lost", "new users get lost": "lost" as an adjective of a person.
LOSS_ADJECTIVE_AFTER: frozenset[str] = frozenset({
    "feel", "feels", "felt", "feeling", "get", "gets", "got", "getting", "am", "i'm", "seem", "seems", "looked",
    "look", "looks", "totally", "completely", "bit", "little", "so",
})
# Who deleted, wiped or lost something: before the verb, a subject ("the update deleted all our files", "we
# lost data"); otherwise "deleted files", "lost files" are a noun with its adjective ("recover deleted
# records", "Deleted files can be restored").
LOSS_SUBJECTS: frozenset[str] = frozenset({
    "i", "we", "you", "they", "it", "he", "she", "that", "which", "who", "has", "have", "had", "was", "were",
    "got", "just", "accidentally", "completely", "somehow", "silently", "update", "sync", "app", "system",
    "migration", "import", "export", "integration", "bug", "also", "randomly", "then",
})
DATA_LOSS_PHRASES: tuple[str, ...] = (
    *(f"{stored} {state}" for stored in _STORED
      for state in ("are gone", "is gone", "were gone", "was gone", "got deleted", "were deleted", "was deleted",
                    "got lost", "were lost", "was lost", "went missing", "got wiped", "were wiped")),
    *(f"{lose} {whose} {stored}" for lose in ("lose", "loses", "losing", "lost") for stored in _STORED
      for whose in ("their", "your", "all", "all their", "all our", "all my", "the", "our", "my")),
)

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
        "cancelled our subscription", "canceled our subscription", "cancelled our account", "canceled our account",
        "cancelled our plan", "canceled our plan", "cancelled our contract", "canceled our contract",
        "cancel subscription", "cancel our", "cancel my account", "switching to another", "switch to another",
        "switched to another", "switching providers", "switch providers", "moving to another", "move to another", "not renewing", "not renew", "won't renew", "will not renew",
        "won't be renewing", "not going to renew", "looking for alternatives", "looking for an alternative",
        "evaluating alternatives", "considering alternatives", "exploring alternatives", "looking at alternatives",
        "looking at other vendors", "looking at other tools", "evaluating other vendors", "shopping around",
        "downgrade to", "downgrading to", "downgrade our", "downgrade my", "look at alternatives",
        "look for alternatives", "look for another",
        # Renewal in doubt: the doubt must be said ("whether we should renew"); "our contract is up, we're
        # happy to renew" and "we are evaluating the new reports" are not a risk.
        "going to stop using", "going to stop ordering", "going to stop buying", "stop using your",
        "stop doing business", "never order again", "never ordering again", "never buying again",
        "won't be ordering", "won't order again", "won't be using", "no longer use",
        "whether we should renew", "whether to renew", "whether we renew", "not sure we will renew",
        "not sure we'll renew", "unsure about renewing", "might not renew", "may not renew", "doubt we'll renew",
        "doubt we will renew", "evaluating other", "evaluating competitors", "evaluating a competitor",
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
        # What was stored, and what became of it ("half of our customer records are gone", "users lose their
        # work", "the notes got deleted"): a noun of stored work + a verb of losing.
        *DATA_LOSS_PHRASES,
    ),
    "pricing": (
        "price", "prices", "pricing", "priced", "pricey", "expensive", "overpriced", "cost", "costs",
        "costly", "cheap", "cheaper", "afford", "affordable", "unaffordable", "value for money",
        "discount", "discounts", "fee", "fees", "price increase", "too much money", "worth the money",
        "not worth", "paywall", "per seat", "free version", "in-app purchase*",
    ),
    "billing": (
        "card declined", "card got declined", "card was declined", "payment declined", "payment failed",
        "transaction failed", "transfer failed",
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
        "failing", "failure", "exception", "stuck", "login loop*", "redirect loop*", "infinite loop",
        "stuck in a loop", "can't log in", "cannot log in", "can't login",
        "can't sign in", "cannot sign in", "logs me out", "logged me out", "not syncing", "won't sync",
        "doesn't sync", "not responding", "unresponsive", "issue", "issues", "problem", "problems",
        # Figures that disagree ("the totals in the reports don't match the projects"), not a screenshot
        # that no longer matches the UI (documentation).
        *(f"{figures} {verb} match" for figures in ("data", "numbers", "totals", "figures", "counts", "report",
                                                     "reports", "balance", "balances", "amounts", "values",
                                                     "metrics", "results", "stats", "dashboard", "invoice")
          for verb in ("doesn't", "don't", "does not", "do not", "no longer", "never")),
        "mismatch", "mismatches", "inconsistent numbers", "inconsistent data", "numbers are wrong", "wrong numbers",
        "wrong totals",
        # Failure vocabulary of bug reports (see _FAILURE_PHRASES): "can't open", "unable to sync", …
        *_FAILURE_PHRASES,
    ),
    "performance": (
        "slow", "slower", "slowly", "slowness", "sluggish", "lag", "lags", "laggy", "lagging",
        "latency", "load time", "loading time", "takes forever", "took forever", "performance", "speed",
        "fast", "faster", "timeout", "timeouts", "timed out", "times out", "time out", "hangs", "hanging",
        "battery", "drains", "memory", "cpu", "takes ages", "takes too long", "responsive",
        "take forever", "taking forever", "forever to load", "ages to load", "slow to load", "take ages",
        "takes hours to", "take hours to", "taking hours to",
        "take too long", "taking too long",
    ),
    "reliability": (
        "outage*", "downtime", "went down", "is down", "was down", "been down", "goes down", "down again",
        "unavailable", "unreliable", "reliable", "reliability", "uptime", "server error",
        "scheduled maintenance", "maintenance window", "during maintenance", "unplanned maintenance",
        "call dropped", "calls dropped", "call drops", "calls drop", "connection dropped", "keeps dropping",
        "dropped calls", "dropped the call", "call keeps dropping", "calls keep dropping",
        # The service offline, not a way of using it ("an offline mode", "works offline" ask for a feature).
        "went offline", "is offline", "was offline", "were offline", "been offline", "goes offline", "offline again",
        "offline for",
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
        "contacted", "emailed", "hold time", "talk to a human", "speak to a human",
        "a real person", "chatbot", "transferred me", "got transferred", "passed around", "passed from",
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
        "wish the", "wish your",
        "would be nice", "would be great", "would be awesome", "would be better if", "would be helpful",
        "would be cool", "add support for", "add an option", "add the option", "add the ability",
        "add a feature", "add a way", "add more", "bring back", "give us the option", "give us an option",
        "give us the ability", "need a way", "needs a way", "need an option", "needs an option",
        "need the ability", "no way to", "no option to", "should be able to", "lacks", "lacking",
        "roadmap", "suggestion", "suggestions", "i suggest", "we suggest", "want to be able", "wishlist",
        "why can't i", "if only", "would pay for", "a feature to", "is there a way", "is it possible to",
        "any chance", "any plans for", "any plans to", "any plan to", "any plan for", "are there plans",
        "can we get", "can we have", "could we get", "could we have", "hoping for",
        "needs more", "option for", "more options",
        # Request grammar (see _REQUEST_PHRASES): "please add", "can you include", "would love to see",
        # "should have an option", "would be 5 stars if", "it needs a", "missing feature".
        *_REQUEST_PHRASES,
    ),
    "integrations": (
        "integration*", "integrate*", "api", "apis", "webhook*", "plugin", "plugins", "connector",
        "connectors", "zapier", "salesforce", "hubspot", "zendesk", "intercom", "jira", "slack",
        "microsoft teams", "google sheets", "google calendar", "outlook", "sync", "syncing", "import",
        "export", "csv", "sso",
    ),
    "documentation": (
        "documentation", "docs", "doc", "help center", "help centre", "help article", "help articles",
        "support articles", "help pages",
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
# Themes that name an ask: a denial right before it ("doesn't allow me to", "you shouldn't add") undoes it
# (only two words back: a request often follows a complaint, "it doesn't work. please add …"), and so
# does an ask about the product working ("would be 5 stars if it worked", "please make it work").
REQUEST_THEMES: frozenset[str] = frozenset({"feature_request"})
REQUEST_NEGATION_WINDOW = 2
# A sentence that opens with a verb of adding is an imperative, a request ("Add a widget.", "Needs a
# search."): the telegraphic style of reviews, English imperative mood. Named by the theme it feeds.
REQUEST_IMPERATIVE_VERBS: tuple[str, ...] = (
    "add", "include", "allow", "enable", "implement", "introduce", "integrate", "bring back", "put back",
    "make it possible", "give us", "give me", "let us", "let me", "let users", "provide", "offer", "support",
    "expose", "enhance", "expand", "make", "change", "improve", "need a", "need an", "need more", "need some", "need the option",
    "need the ability", "need support", "needs a", "needs an", "needs more", "needs some", "needs the option",
    "needs the ability", "needs support",
)
# Verbs of the list above that are as often nouns opening a sentence ("Support took four days", "Change
# is hard", "Offer expired"): an imperative only when an object follows ("Support a second calendar", "Change
# the default", "Offer us a monthly plan"), i.e. a determiner, a pronoun or a quantifier.
REQUEST_NOUN_VERBS: frozenset[str] = frozenset({"support", "change", "offer", "need"})
REQUEST_OBJECT_STARTERS: frozenset[str] = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "my", "our", "your", "their", "us", "me", "them", "it",
    "users", "more", "multiple", "other", "some", "any", "all", "every", "each", "both", "for", "to", "two",
    "several", "another", "custom", "different",
})
# The object of "make"/"change"/"improve" that is the product itself ("please improve the app", "make it
# better") is a verdict, not a proposal; it proposes only with a complement of what it should become
# ("make it available on tablets", "make it so that …").
REQUEST_PRODUCT_OBJECTS: frozenset[str] = frozenset({"it", "this", "app", "game", "that", "things", "everything"})
REQUEST_VAGUE_VERBS: frozenset[str] = frozenset({"make", "change", "improve"})
REQUEST_PROPOSING_COMPLEMENTS: frozenset[str] = frozenset({
    "available", "compatible", "so", "possible", "optional", "customizable", "customisable", "adjustable",
    "accessible", "sync", "able", "support", "show", "remember", "save", "use", "run", "into", "for", "on",
    "to", "with", "by", "back",
})
# Where the thing asked for comes before the ask ("hope it's fixed in the next version"): phrases of time.
REQUEST_POSTPOSED: frozenset[str] = frozenset({"future", "next", "update", "updates", "version", "seeing", "see"})
# What follows a wish that makes it a service request, not a product one ("I'd like a refund").
REQUEST_NOT_A_FEATURE: frozenset[str] = frozenset({
    "refund", "reply", "response", "answer", "callback", "call", "credit", "money", "explanation", "apology",
    "word", "manager", "supervisor", "help", "reimbursement", "contact",
    # "let me know", "give me a call", "make sure", "let me down", "let me tell you", "give it a try":
    # service, instruction and idiom, not a proposal.
    "know", "sure", "down", "tell", "say", "explain", "start", "begin", "try", "shot", "chance", "break",
    # What an order, a bill or a mailbox misses ("we are missing an invoice") is not a product's lack.
    "payment", "invoice", "receipt", "order", "package", "delivery", "shipment", "parcel", "item", "items",
    "email", "charge", "deadline", "meeting",
    # Seats and quotes are a purchase ("we need a few more seats"); "make the most of", "make no mistake" idioms.
    "seats", "seat", "licenses", "license", "licences", "licence", "quote", "most", "mistake", "no",
    "discount", "deal",
})
# A service asked for after the ask's words ("it would be nice if someone could call me back"): no feature.
REQUEST_SERVICE_PHRASES: tuple[tuple[str, ...], ...] = (
    ("call", "me"), ("call", "us"), ("call", "back"), ("get", "back", "to"), ("reply", "to"), ("respond", "to"),
    ("reach", "out"), ("contact", "me"), ("contact", "us"), ("email", "me"), ("email", "us"), ("write", "back"),
)
# After an imperative's first noun, a finite verb means the "verb" was a noun, the subject: "Enable button
# is greyed out", "Provide feedback is all we were asked".
REQUEST_SUBJECT_VERBS: frozenset[str] = frozenset({
    "is", "are", "was", "were", "has", "had", "isn't", "aren't", "wasn't", "doesn't", "didn't", "does", "did",
    "keeps", "kept", "gets", "got", "seems", "looks", "works", "worked", "shows", "showed",
})
# "should have" + a past participle is regret ("should have bought another"), not an ask ("should have
# widgets"): English perfect modals. Irregular participles listed; regular ones end in -ed/-en.
REQUEST_PARTICIPLES: frozenset[str] = frozenset({
    "been", "bought", "gone", "known", "done", "got", "gotten", "made", "read", "taken", "thought", "seen",
    "had", "left", "kept", "told", "paid", "sent", "spent", "put", "stayed", "listened", "come", "run",
    "said", "heard", "found", "went", "chose", "chosen", "given", "let",
})
REQUEST_ABOUT_FAILURE: frozenset[str] = frozenset({
    "work", "works", "worked", "working", "crash", "crashing", "crashed", "crashes", "load", "loaded",
    "loading", "fixed", "fix", "stop", "stopped", "freeze", "freezing",
    # What a bug report names ("hope you make the glitches go away", "please make it usable again").
    "bug", "bugs", "buggy", "glitch", "glitches", "glitchy", "error", "errors", "problem", "problems", "issue",
    "issues", "usable", "playable", "functional", "broken", "lag", "lagging",
})
# Words between an ask and what it asks for, skipped before REQUEST_NOT_A_FEATURE ("offer a full refund").
REQUEST_DETERMINERS: frozenset[str] = frozenset({
    "a", "an", "the", "my", "our", "your", "some", "any", "me", "us", "full", "proper", "decent", "real", "quick",
    "few", "couple", "of", "more", "extra", "additional",
})
# The rest of this block tells apart what only looks like an ask, each a general construction of English
# (no word here is taken from a benchmark). Rating hyperbole: a wish about the stars, not the product ("I
# wish I could give it zero stars", "if there was a 0 star option"); a real rating conditional names the
# top of the scale and a condition ("would be 5 stars if it had folders", not "… if I could").
REQUEST_RATING_WORDS: frozenset[str] = frozenset({"star", "stars", "rating", "ratings"})
REQUEST_RATING_DEGREES: frozenset[str] = frozenset({
    "0", "zero", "negative", "minus", "no", "less", "lower", "fewer", "half", "more", "higher", "6", "six",
    "10", "ten", "100", "1000", "infinite", "extra",
})
REQUEST_CONDITIONS: frozenset[str] = frozenset({"if", "when", "once", "after", "with"})
# "I wish I had found it sooner", "I wish I never downloaded it": a wish about the speaker's own past is
# regret (English counterfactual "wish" + past perfect), not an ask of the product.
REQUEST_REGRET_VERBS: frozenset[str] = frozenset({"hadn't", "never", "didn't", "knew", "could've", "would've",
                                                  "did"})
# "Wish you all the best", "I wish you guys good luck": ditransitive "wish" + a noun is a greeting; the
# optative "wish you would add" is an ask.
REQUEST_WISH_ADDRESSEES: frozenset[str] = frozenset({"you", "them", "him", "her", "everyone", "u", "y'all"})
REQUEST_GREETINGS: frozenset[str] = frozenset({
    "all", "luck", "good", "best", "success", "well", "happy", "merry", "the", "a", "continued", "much", "lots",
    "many", "great", "every", "more",
})
# "I suggest you stay away", "I recommend everyone download it": advice to other users, not to the makers.
REQUEST_ADVICE_WORDS: frozenset[str] = frozenset({
    "stay", "avoid", "look", "find", "download", "get", "buy", "try", "use", "uninstall", "delete", "save", "go",
    "skip", "not", "don't", "keep", "install", "pass", "steer", "run", "this", "it", "everyone", "anyone",
    "people", "others", "getting", "trying", "using", "downloading", "avoiding",
})
# "You should support the developers", "please support this indie dev": backing the makers, not a platform.
REQUEST_SUPPORTED_PEOPLE: frozenset[str] = frozenset({
    "dev", "devs", "developer", "developers", "team", "creator", "creators", "app", "game", "project",
    "company", "them", "him", "her", "indie", "author", "authors", "this", "these", "guys", "artist", "artists",
})
# "It should be illegal", "it should be banned": moral condemnation, not a design proposal.
REQUEST_CONDEMNATION: frozenset[str] = frozenset({
    "illegal", "banned", "removed", "ashamed", "embarrassed", "sued", "deleted", "arrested", "fired", "punished",
    "pulled", "shut", "reported", "investigated", "criminal", "prosecuted", "taken",
})
# "Why can't I log in?": a question about an operation that fails is a bug report, not a wish.
REQUEST_FAILED_OPERATIONS: frozenset[str] = frozenset({
    "open", "log", "login", "sign", "signin", "load", "access", "launch", "start", "play", "connect", "download",
    "install", "update", "send", "receive", "get", "watch", "stream", "register",
})


@dataclass(frozen=True)
class SentimentWords:
    """A team's own words ([sentiment] in the config), in the theme keyword syntax: they decide before the
    built-in lexicon ("escalated to legal" negative, "kudos" positive)."""

    negative: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
