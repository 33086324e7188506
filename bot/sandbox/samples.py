"""Realistic sample responses for `cxloop simulate` and the sandbox."""

from __future__ import annotations

import random
import uuid
from typing import Any

CUSTOMERS = [
    ("Maya Chen", "maya.chen@acme.example", "Acme Corp", "enterprise", True),
    ("Luis Ortega", "luis@globex.example", "Globex", "growth", False),
    ("Priya Raman", "priya.raman@initech.example", "Initech", "enterprise", True),
    ("Tom Becker", "tom.becker@umbrella.example", "Umbrella Health", "starter", False),
    ("Aiko Tanaka", "aiko@hooli.example", "Hooli", "growth", False),
    ("Sam Okoye", "sam.okoye@stark.example", "Stark Industries", "enterprise", True),
]

COMMENTS = {
    "detractor": [
        "The app is painfully slow since the last update and the dashboard keeps crashing.",
        "We were billed twice this month and nobody from support answered for four days.",
        "Too expensive for what it does. Onboarding took weeks and the docs are out of date.",
        "Exports are broken again. This is the third bug this quarter that blocks our team.",
    ],
    "passive": [
        "Does the job, but the reporting UI is confusing and hard to navigate.",
        "Fine overall. Would love a Salesforce integration and an API for bulk updates.",
        "Support was helpful, though it took a while to get a real answer.",
    ],
    "promoter": [
        "Love it! Support resolved our issue in minutes and the new dashboard is great.",
        "Setup was easy and our whole team uses it every day. Great value for the price.",
        "Fantastic product, reliable and fast. Recommended it to two other teams already.",
    ],
}

ESCALATIONS = [
    ("Checkout outage for EU customers", "high", "Customers in the EU cannot complete payment since 09:10 UTC."),
    ("Data export missing rows", "normal", "Enterprise customer reports CSV exports dropping the last 200 rows."),
    ("SSO login loop", "urgent", "Every user of the account is stuck in a login redirect loop."),
]


def sample_payload(rng: random.Random | None = None) -> dict[str, Any]:
    rng = rng or random.Random()
    name, email, account, plan, vip = rng.choice(CUSTOMERS)
    customer = {"name": name, "email": email, "account": account, "plan": plan, "vip": vip}
    if rng.random() < 0.12:
        subject, priority, comment = rng.choice(ESCALATIONS)
        return {"id": f"esc-{uuid.uuid4().hex[:10]}", "kind": "escalation", "subject": subject,
                "priority": priority, "comment": comment, "customer": customer,
                "url": "https://support.example.com/tickets/" + str(rng.randint(1000, 9999))}
    kind = rng.choices(["nps", "csat", "ces"], weights=[6, 3, 1])[0]
    if kind == "nps":
        score = rng.choice([0, 2, 3, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10, 10])
        category = "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"
    elif kind == "csat":
        score = rng.randint(1, 5)
        category = "detractor" if score <= 2 else "passive" if score == 3 else "promoter"
    else:
        score = rng.randint(1, 7)
        category = "detractor" if score <= 3 else "passive" if score <= 5 else "promoter"
    return {"id": f"resp-{uuid.uuid4().hex[:10]}", "kind": kind, "score": score,
            "comment": rng.choice(COMMENTS[category]), "customer": customer,
            "tags": rng.sample(["web", "mobile", "q4-survey", "renewal"], k=rng.randint(0, 2)),
            "url": "https://surveys.example.com/responses/" + str(rng.randint(10000, 99999))}
