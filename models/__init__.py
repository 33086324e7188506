"""SQLAlchemy models, one module per aggregate. Schema only: queries live in bot/."""

from models.account import Account, AccountDomain, Contact, Touch
from models.audit import AuditEntry
from models.base import Base
from models.delivery import MessageQuote, OutboxMessage, SlackMessage
from models.followup import FollowUp, FollowUpEvent
from models.item import Item
from models.job_run import JobRun
from models.product import IssueLink, TrackerIssue
from models.rollup import ItemRollup, ThemeRollup, WaitMinuteRollup, WaitRollup
from models.slack_request import SlackRequestSeen
from models.topic import Topic, TopicMember, TopicRun
from models.webhook_event import WebhookEventSeen

__all__ = ["Account", "AccountDomain", "AuditEntry", "Base", "Contact", "Touch", "FollowUp", "FollowUpEvent", "IssueLink", "Item", "ItemRollup", "JobRun", "MessageQuote", "OutboxMessage", "SlackMessage", "SlackRequestSeen", "ThemeRollup", "Topic", "TopicMember", "TopicRun", "TrackerIssue", "WaitMinuteRollup", "WaitRollup", "WebhookEventSeen"]
