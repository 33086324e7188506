"""A realistic demo workspace: a VIP book, two months of responses, and the team's follow-through.

`seed_demo` writes what the real paths write, through the same domain functions: accounts through
`vip_book.upsert_account`, touches through `vip.log_touch`, responses through `intake.ingest_item`,
claims and resolutions through `followups`. Each call gets the moment it "happened" as its `now`,
so timings (time to claim, to resolve, cadence status) look lived-in.

History must not be re-posted to Slack: the outbox rows of everything older than the demo's `now`
are marked sent, and each item gets the `SlackMessage` a worker would have recorded (a ts from the
time it was posted). The sandbox rebuilds its fake channels from those rows when it starts.

Deterministic for a given (seed, now), and idempotent: seeding a database that already holds the
demo changes nothing.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.common.periods import local_today, previous_week
from bot.config import AppConfig
from bot.followups.queries import unclaimed
from bot.followups.service import add_note, claim_followup, resolve_followup
from bot.insights.topics import compute_topics
from bot.intake.ingest import ingest_item
from bot.intake.payload import validate_payload
from bot.sandbox.fake_slack import DEFAULT_USERS
from bot.vip.accounts import log_touch
from bot.vip.book import AccountRecord, upsert_account
from models import Account, FollowUp, Item, OutboxMessage, SlackMessage
from models.delivery import PENDING, POST_ITEM, SENT

DEMO_CONFIG_PATH = Path(__file__).with_name("demo_config.toml")
# Written by `cxloop demo` in the directory it runs in: which database and configuration it serves (so CLI
# commands run beside it use the same ones) and its dashboard token (so bookmarked dashboard links survive a
# restart). Owner-readable only: the token opens the dashboard.
DEMO_ID_PREFIX = "demo-"
DEFAULT_SEED = 7
DEFAULT_ACCOUNTS = 500
DEFAULT_RESPONSES = 2000
DEFAULT_DAYS = 60
# Responses younger than this stay open: the team has not got to them yet.
FRESH_HOURS = 20

# The customers `cxloop simulate` and the sandbox's "Send a sample response" use: in the book too,
# so a sample response links to a VIP account, mentions its owner and shows on its card.
SAMPLE_ACCOUNTS = [
    ("Acme Corp", "acme.example", "strategic", [("Maya Chen", "maya.chen")]),
    ("Globex", "globex.example", "growth", [("Luis Ortega", "luis")]),
    ("Initech", "initech.example", "enterprise", [("Priya Raman", "priya.raman")]),
    ("Umbrella Health", "umbrella.example", "growth", [("Tom Becker", "tom.becker")]),
    ("Hooli", "hooli.example", "growth", [("Aiko Tanaka", "aiko")]),
    ("Stark Industries", "stark.example", "strategic", [("Sam Okoye", "sam.okoye")]),
]
_NAME_HEADS = [
    "Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware", "Adatum", "Lucerne",
    "Margie", "Fourth Coffee", "Blue Yonder", "Alpine Ski", "Coho", "Humongous", "Woodgrove", "Trey",
    "Bluebird", "Silverline", "Redwood", "Harbor", "Summit", "Evergreen", "Ironclad", "Brightwave", "Cobalt",
    "Granite", "Juniper", "Keystone", "Lakeside", "Meridian", "Nimbus", "Orchard", "Pinnacle", "Quartz",
    "Riverstone", "Sable", "Tidewater", "Umber", "Vantage", "Willow", "Yellowstone", "Zephyr", "Beacon",
    "Cedar", "Driftwood", "Falcon", "Gladstone",
]
_NAME_TAILS = [
    "Logistics", "Health", "Bank", "Retail", "Labs", "Energy", "Foods", "Media", "Analytics", "Airlines",
    "Insurance", "Robotics", "Travel", "Pharma", "Capital",
]
_TIERS = {"strategic": (14, 250_000, 900_000), "enterprise": (30, 60_000, 250_000), "growth": (60, 8_000, 60_000)}
_PLANS = {"strategic": "enterprise", "enterprise": "enterprise", "growth": "growth"}
_REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
_FIRST = ["Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam",
          "Mei", "Noah", "Olga", "Pavel", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen", "Yusuf", "Zoe"]
_LAST = ["Alvarez", "Brown", "Cohen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
         "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka", "Varga"]
_OTHER_DOMAINS = ["mail.example", "inbox.example", "startup.example", "freelance.example", "agency.example"]

# Comments by category: a few sentences each, joined so themes and sentiment vary between responses.
_DETRACTOR = [
    "The app is painfully slow since the last update.",
    "The dashboard keeps crashing when we filter by date.",
    "We were billed twice this month and the refund still has not arrived.",
    "Support took four days to answer a simple ticket.",
    "Too expensive for what it does compared to the alternatives.",
    "Exports are broken again and it blocks our month-end reporting.",
    "Onboarding took weeks and the docs are out of date.",
    "We had another outage on Monday morning, our team could not work.",
    "The Salesforce sync stopped working and nobody told us.",
    "SSO login loops for half of our users; security asked us to look at alternatives.",
    "The new navigation is confusing and my team keeps getting lost.",
    "Search is unreliable, results are missing half the time.",
    "Your renewal price went up 30% with no warning.",
]
_PASSIVE = [
    "Does the job, but the reporting UI is hard to navigate.",
    "Fine overall. Would love an API for bulk updates.",
    "Support was helpful, though it took a while to get a real answer.",
    "Solid product but the mobile app feels clunky.",
    "Good value, but we are missing a HubSpot integration.",
    "Works well most days; page load time could be faster.",
    "Setup was okay, the learning curve for new hires is steep.",
    "It would be great to have an option to schedule exports.",
    "Billing is clear now, but invoices should show the PO number.",
]
_PROMOTER = [
    "Love it! Support resolved our issue in minutes.",
    "Setup was easy and our whole team uses it every day.",
    "Fantastic product, reliable and fast.",
    "Great value for the price, recommended it to two other teams already.",
    "The new dashboard is great, everything we need on one screen.",
    "Our account manager is amazing and always responsive.",
    "The Slack integration saves us hours every week.",
    "Very intuitive, our new hires learn it in a day.",
    "Rock solid uptime this quarter, thank you.",
]
_ESCALATIONS = [
    ("Checkout outage for EU customers", "high", "Customers in the EU cannot complete payment since 09:10 UTC."),
    ("Data export missing rows", "normal", "CSV exports drop the last 200 rows for large workspaces."),
    ("SSO login loop", "urgent", "Every user of the account is stuck in a login redirect loop."),
    ("Invoice sent to the wrong contact", "normal", "The renewal invoice went to a former employee."),
    ("API rate limit errors", "high", "Nightly sync hits 429 errors since the plan change."),
]
_RESOLUTIONS = {
    "contacted": ["Called them, walked through the workaround.", "Emailed the customer with next steps.",
                  "Booked a call with their admin for Thursday."],
    "fixed": ["Engineering shipped a fix; confirmed with the customer.", "Refund issued and confirmed.",
              "Config issue on their side, fixed together on a call."],
    "no_response": ["Two emails, no answer. Will catch them at the QBR."],
    "not_actionable": ["Feedback passed to product; nothing to do for this account.",
                       "Thanked them; nothing else needed."],
    "churn_risk": ["Evaluating competitors; flagged to the account owner.", "Budget cuts; renewal at risk."],
}


@dataclass(frozen=True)
class DemoReport:
    seeded: bool  # False: the database already held the demo, nothing was written
    accounts: int
    items: int
    claimed: int
    resolved: int
    touches: int


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def _ts(moment: datetime, salt: int) -> str:
    # Slack ts: seconds.microseconds of the post; the salt keeps two posts in the same second apart.
    return f"{int(moment.timestamp())}.{salt % 1_000_000:06d}"


def _account_records(rng: random.Random, count: int, now: datetime) -> list[AccountRecord]:
    owners = [u["id"] for u in DEFAULT_USERS]
    names = [(name, domain, tier, contacts) for name, domain, tier, contacts in SAMPLE_ACCOUNTS]
    generated = [f"{head} {tail}" for head in _NAME_HEADS for tail in _NAME_TAILS]
    rng.shuffle(generated)
    for name in generated[:max(0, count - len(names))]:
        tier = rng.choices(list(_TIERS), weights=[1, 3, 6])[0]
        people = [(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", None) for _ in range(rng.randint(1, 3))]
        names.append((name, f"{_slug(name)}.example", tier, people))
    records = []
    for index, (name, domain, tier, people) in enumerate(names[:count]):
        cadence, arr_low, arr_high = _TIERS[tier]
        contacts = []
        for person, local in people:
            local = local or person.lower().replace(" ", ".")
            email = f"{local}@{domain}"
            if email not in (c[0] for c in contacts):
                contacts.append((email, person))
        records.append(AccountRecord(
            name=name, external_id=f"{DEMO_ID_PREFIX}acct-{index + 1:04d}", domains=(domain,), tier=tier, vip=True,
            owner=rng.choice(owners), cadence_days=cadence, plan=_PLANS[tier],
            arr=float(rng.randrange(arr_low, arr_high, 500)),
            renewal_on=(now + timedelta(days=rng.randint(5, 360))).date(),
            properties={"Region": rng.choice(_REGIONS)}, contacts=tuple(contacts)))
    return records


def _comment(rng: random.Random, category: str) -> str | None:
    if rng.random() < 0.22:
        return None  # many people only give a score
    pool = {"detractor": _DETRACTOR, "passive": _PASSIVE, "promoter": _PROMOTER}[category]
    return " ".join(rng.sample(pool, k=rng.choice([1, 1, 2])))


def _score(rng: random.Random, kind: str, progress: float) -> int:
    """A score whose mix improves over the period (progress 0 → 1), so the trend has a story."""
    detractor, promoter = 0.28 - 0.10 * progress, 0.42 + 0.12 * progress
    roll = rng.random()
    bands = {"nps": ([0, 1, 2, 3, 4, 5, 6], [7, 8], [9, 10]), "csat": ([1, 2], [3], [4, 5]),
             "ces": ([1, 2, 3], [4, 5], [6, 7])}[kind]
    band = bands[0] if roll < detractor else bands[2] if roll > 1 - promoter else bands[1]
    return rng.choice(band)


def _received_times(rng: random.Random, count: int, days: int, now: datetime) -> list[datetime]:
    """`count` moments over the last `days` days up to `now`: weekdays busier, afternoons busiest, sorted."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=days - 1 - d) for d in range(days)]
    # Weekends are quiet, and volume grows a little over the period.
    weights = [(0.35 if start.weekday() >= 5 else 1.0) * (0.85 + 0.3 * d / days) for d, start in enumerate(starts)]
    moments = []
    for day in rng.choices(range(days), weights=weights, k=count):
        moment = starts[day] + timedelta(hours=min(23.99, max(0.0, rng.gauss(14, 4))), seconds=rng.randint(0, 59))
        if moment >= now:  # today's share arrives before now
            moment = starts[day] + (now - starts[day]) * rng.random()
        moments.append(moment)
    return sorted(moments)


def _customer(rng: random.Random, records: list[AccountRecord]) -> dict[str, Any]:
    if rng.random() < 0.7:
        # Weighted towards the first accounts so some have a real history on their card.
        account = records[min(len(records) - 1, int(rng.paretovariate(1.2)) - 1)] if rng.random() < 0.3 \
            else rng.choice(records)
        email, name = rng.choice(account.contacts)
        return {"email": email, "name": name, "plan": account.plan}
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    return {"email": f"{name.lower().replace(' ', '.')}@{rng.choice(_OTHER_DOMAINS)}", "name": name,
            "plan": rng.choice(["starter", "growth"])}


def _payload(rng: random.Random, index: int, records: list[AccountRecord], progress: float) -> dict[str, Any]:
    customer = _customer(rng, records)
    kind = rng.choices(["nps", "csat", "ces", "escalation"], weights=[58, 28, 10, 4])[0]
    base = {"id": f"{DEMO_ID_PREFIX}{index + 1:05d}", "customer": customer,
            "url": f"https://surveys.example.com/responses/{100000 + index}"}
    if kind == "escalation":
        subject, priority, comment = rng.choice(_ESCALATIONS)
        return {**base, "kind": kind, "subject": subject, "priority": priority, "comment": comment,
                "url": f"https://support.example.com/tickets/{20000 + index}"}
    score = _score(rng, kind, progress)
    low, high = {"nps": (6, 8), "csat": (2, 3), "ces": (3, 5)}[kind]
    category = "detractor" if score <= low else "passive" if score <= high else "promoter"
    return {**base, "kind": kind, "score": score, "comment": _comment(rng, category),
            "tags": rng.sample(["web", "mobile", "q-survey", "renewal"], k=rng.choice([0, 0, 1, 2]))}


def _claimer(rng: random.Random, config: AppConfig, team: str) -> str:
    members = list(config.team(team).members) or [u["id"] for u in DEFAULT_USERS]
    return rng.choice(members)


def _handle(rng: random.Random, session: Session, *, config: AppConfig, item: Item, now: datetime) -> tuple[int, int]:
    """Claim and resolve like a busy team would: detractors and escalations first, promoters rarely."""
    if item.received_at > now - timedelta(hours=FRESH_HOURS):
        return 0, 0
    # Promoters get a thank-you and passives a look; detractors and escalations are always worked.
    chance = {"escalation": 0.97, "detractor": 0.92, "passive": 0.75, "promoter": 0.6}[item.category or "escalation"]
    if rng.random() > chance:
        return 0, 0
    user = _claimer(rng, config, item.team)
    # Escalations are claimed within the hour; the rest within a working day, usually a few hours.
    minutes = rng.lognormvariate(2.8, 0.8) if item.kind == "escalation" else rng.lognormvariate(4.8, 1.0)
    claimed_at = min(item.received_at + timedelta(minutes=minutes), now - timedelta(minutes=5))
    claim_followup(session, item_id=item.id, user_id=user, now=claimed_at)
    age_days = (now - item.received_at).total_seconds() / 86400
    # Old claims were all closed long ago; this week's are still being worked.
    if age_days < 7 and rng.random() < 0.4:
        if rng.random() < 0.3:
            add_note(session, item_id=item.id, user_id=user, now=claimed_at + timedelta(minutes=20),
                     text=rng.choice(["Left a voicemail, trying again tomorrow.", "Waiting on engineering.",
                                      "Asked the account owner for context."]))
        return 1, 0
    outcome = (rng.choices(list(_RESOLUTIONS), weights=[45, 25, 10, 12, 8])[0] if item.category != "promoter"
               else rng.choice(["contacted", "not_actionable"]))
    resolved_at = min(claimed_at + timedelta(hours=rng.lognormvariate(2.5, 1.0)), now - timedelta(minutes=1))
    resolve_followup(session, item_id=item.id, user_id=user, outcome=outcome,
                     note=rng.choice(_RESOLUTIONS[outcome]), now=resolved_at)
    return 1, 1


def _touches(rng: random.Random, session: Session, accounts: list[Account], now: datetime, days: int) -> int:
    count = 0
    notes = {"call": "Quarterly check-in call", "email": "Sent the release notes and asked for feedback",
             "meeting": "QBR with their team", "slack": "Quick sync in the shared channel",
             "social": "Congratulated them on their launch"}
    for account in accounts:
        # Most accounts are worked regularly; some slip, so the due lists have something in them.
        for _ in range(rng.choices([0, 1, 2, 3], weights=[2, 3, 3, 2])[0]):
            channel = rng.choice(list(notes))
            at = now - timedelta(days=rng.uniform(0.2, days), hours=0)
            log_touch(session, account_id=account.id, actor=account.owner or DEFAULT_USERS[0]["id"],
                      channel=channel, note=notes[channel], now=at)
            count += 1
    return count


def _mark_delivered(session: Session, now: datetime) -> None:
    """Everything queued so far is history: record it as a worker would have after posting it."""
    posted = set(session.scalars(select(SlackMessage.item_id)))
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.status == PENDING,
                                                           OutboxMessage.created_at <= now)):
        posted_at = row.created_at + timedelta(seconds=2)
        row.status, row.attempts, row.sent_at = SENT, 1, posted_at
        if row.kind == POST_ITEM and row.item_id not in posted:
            session.add(SlackMessage(item_id=row.item_id, channel=row.channel, ts=_ts(posted_at, row.item_id),
                                     posted_at=posted_at))
            posted.add(row.item_id)


def demo_seeded(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Item).where(
        Item.external_id == f"{DEMO_ID_PREFIX}{1:05d}")) > 0


def seed_demo(session: Session, *, config: AppConfig, now: datetime, rng: random.Random,
              accounts: int = DEFAULT_ACCOUNTS, responses: int = DEFAULT_RESPONSES,
              days: int = DEFAULT_DAYS) -> DemoReport:
    """Seed the demo workspace (see the module docstring). The caller commits."""
    if demo_seeded(session):
        return DemoReport(False, 0, 0, 0, 0, 0)
    source = next((s.name for s in config.sources), "generic")
    records = _account_records(rng, accounts, now)
    created = now - timedelta(days=days + 30)
    for record in records:
        upsert_account(session, record, now=created)
    session.flush()
    book = list(session.scalars(select(Account).where(Account.external_id.like(f"{DEMO_ID_PREFIX}%"))
                                .order_by(Account.id)))
    touches = _touches(rng, session, book, now, days)
    claimed = resolved = 0
    moments = _received_times(rng, responses, days, now)
    for index, received_at in enumerate(moments):
        payload = validate_payload(_payload(rng, index, records, index / max(1, responses - 1)))
        result = ingest_item(session, source=source, payload=payload, config=config, now=received_at)
        item = session.get(Item, result.item_id)
        got_claimed, got_resolved = _handle(rng, session, config=config, item=item, now=now)
        claimed, resolved = claimed + got_claimed, resolved + got_resolved
    session.flush()
    _mark_delivered(session, now)
    _discover_topics(session, config=config, now=now)
    return DemoReport(True, len(book), len(moments), claimed, resolved, touches)


def _discover_topics(session: Session, *, config: AppConfig, now: datetime) -> None:
    """Last week's topics, for all teams (the dashboard) and each team (its weekly report), as the weekly
    job would have left them: the demo's dashboard shows discovered topics from the start."""
    timezone = config.schedule.timezone or "UTC"
    week = previous_week(local_today(now, timezone))
    names = [team.name for team in config.teams]
    compute_topics(session, week=week, team=None, teams=names, timezone=timezone, now=now)
    for team in config.teams:
        compute_topics(session, week=previous_week(local_today(now, team.timezone)), team=team.name,
                       teams=[team.name], timezone=team.timezone, now=now)


def demo_summary(session: Session) -> dict[str, int]:
    """What the demo database holds now (for the command line)."""
    statuses = dict(session.execute(select(FollowUp.status, func.count()).group_by(FollowUp.status)).all())
    # "open": the unclaimed queue (bot.followups.queries); the open items that wait for nobody are counted apart.
    unclaimed_total = session.scalar(select(func.count()).select_from(FollowUp).where(*unclaimed())) or 0
    return {"accounts": session.scalar(select(func.count()).select_from(Account)) or 0,
            "items": session.scalar(select(func.count()).select_from(Item)) or 0,
            "open": unclaimed_total, "no_follow_up": statuses.get("open", 0) - unclaimed_total,
            "claimed": statuses.get("claimed", 0), "resolved": statuses.get("resolved", 0)}


