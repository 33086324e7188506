"""SQLAlchemy models, one module per aggregate. Schema only: queries live in bot/."""

from models.base import Base
from models.delivery import OutboxMessage, SlackMessage
from models.followup import FollowUp, FollowUpEvent
from models.item import Item

__all__ = ["Base", "FollowUp", "FollowUpEvent", "Item", "OutboxMessage", "SlackMessage"]
