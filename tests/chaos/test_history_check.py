"""The history check that keeps a retried post from appearing twice, in a busy channel.

Not marked `chaos`: it needs no processes and runs with `make test`. The chaos tests exercise the
check through real workers; this one covers what they cannot reach in minutes, a post that has
more than one page of newer messages above it.
"""

from __future__ import annotations

from datetime import timedelta

from bot.delivery.handlers import METADATA_EVENT_TYPE, _find_posted
from bot.sandbox.fake_slack import FakeSlack
from bot.slack.client import make_client
from models.base import utcnow

CHANNEL = "C0BUSY"


def test_an_earlier_post_is_found_below_more_than_a_page_of_newer_messages():
    with FakeSlack(token="xoxb-history") as fake:
        client = make_client("xoxb-history", fake.base_url)
        queued_at = utcnow() - timedelta(seconds=1)
        posted = client.chat_postMessage(channel=CHANNEL, text="item 7",
                                         metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"item_id": 7}})
        for index in range(450):  # conversations.history answers at most 200 per page
            client.chat_postMessage(channel=CHANNEL, text=f"later message {index}")

        assert _find_posted(client, CHANNEL, 7, queued_at) == posted["ts"]
        assert _find_posted(client, CHANNEL, 8, queued_at) is None
        pages = [call for call in fake.calls("conversations.history") if call["args"].get("cursor")]
        assert len(pages) >= 2, "the check should have followed the cursor past the first page"
