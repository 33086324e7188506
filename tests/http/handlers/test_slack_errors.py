"""A click that fails after its ack (the database gone mid-click) is answered privately, not silently."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from bot.slack.ids import ActionId, item_value
from handlers.slack_errors import DATABASE_DOWN
from models import FollowUp
from tests.conftest import wait_for


def test_a_claim_the_database_cannot_store_is_answered_and_changes_nothing(make_app):
    app = make_app()
    item_id = app.post_webhook({"id": "err-1", "kind": "nps", "score": 1, "comment": "Slow."}).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    with app.runtime.engine.begin() as conn:
        # Every state change writes its audit event here (Postgres: the BI view cx_events goes with it).
        cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
        conn.execute(text(f"DROP TABLE follow_up_events{cascade}"))

    assert app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS",
                     ts=post["ts"]).status_code == 200
    wait_for(lambda: any(DATABASE_DOWN[:40] in json.dumps(e) for e in app.fake.ephemerals()
                         if e.get("user") == "U0ANA"), what="the private reply")
    with app.runtime.session() as session:
        assert session.scalar(select(FollowUp.status).where(FollowUp.item_id == item_id)) == "open"
