"""Prometheus metrics: counters each process keeps, and gauges read from the database at scrape time.

Each process (serve, worker, clock) counts what it did itself; a scrape of `/metrics` on `cxloop serve`
adds the shared state every process can see (outbox backlog, dead rows, job runs from the ledger).
`cxloop worker --metrics-port` and `cxloop clock --metrics-port` expose their own counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import session_scope
from bot.delivery.outbox import outbox_backlog
from models import JobRun, OutboxMessage
from models.base import utcnow
from models.delivery import DEAD, PENDING

REGISTRY = CollectorRegistry(auto_describe=True)

ITEMS_INGESTED = Counter("cxloop_items_ingested", "Webhook items stored, by source, kind and outcome.",
                         ["source", "kind", "status"], registry=REGISTRY)
WEBHOOKS = Counter("cxloop_webhook_requests", "Webhook requests answered, by source and HTTP status.",
                   ["source", "code"], registry=REGISTRY)
DELIVERIES = Counter("cxloop_deliveries", "Outbox rows handled by this process's delivery worker, by result "
                     "(sent, retry, rate_limited, waiting, unreachable, dead).", ["result"], registry=REGISTRY)
# Slack wants an answer within 3 s; the buckets are fine below 100 ms, where an ack should be.
SLACK_ACK_SECONDS = Histogram("cxloop_slack_ack_seconds", "Time to answer a Slack request (the ack), by kind.",
                              ["kind"], registry=REGISTRY,
                              buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 10.0))


def record_delivery(result: str) -> None:
    DELIVERIES.labels(result=result).inc()


class DatabaseCollector(Collector):
    """Gauges that every process shares, read at scrape time (a few indexed counts)."""

    def __init__(self, factory: sessionmaker[Session]):
        self.factory = factory

    def collect(self):
        backlog = GaugeMetricFamily("cxloop_outbox_backlog", "Outbox rows waiting to be delivered.")
        dead = GaugeMetricFamily("cxloop_outbox_dead", "Outbox rows parked after too many failures.")
        oldest = GaugeMetricFamily("cxloop_outbox_oldest_pending_seconds", "Age of the oldest waiting outbox row.")
        runs = CounterMetricFamily("cxloop_job_runs", "Scheduled job runs recorded in the ledger, by job.",
                                   labels=["job"])
        up = GaugeMetricFamily("cxloop_database_up", "1 when the database answered this scrape.")
        try:
            with session_scope(self.factory) as session:
                counts = outbox_backlog(session)
                first = session.scalar(select(func.min(OutboxMessage.created_at))
                                       .where(OutboxMessage.status == PENDING))
                by_job = session.execute(select(JobRun.job, func.count()).group_by(JobRun.job)).all()
        except Exception:  # noqa: BLE001 — a scrape reports the database down rather than failing
            up.add_metric([], 0)
            yield up
            return

        up.add_metric([], 1)
        backlog.add_metric([], counts[PENDING])
        dead.add_metric([], counts[DEAD])
        oldest.add_metric([], max(0.0, (utcnow() - first).total_seconds()) if first else 0.0)
        for job, count in by_job:
            runs.add_metric([job], count)
        yield from (up, backlog, dead, oldest, runs)


def exposition(factory: sessionmaker[Session] | None = None) -> bytes:
    """The text format Prometheus scrapes: this process's counters plus, given a database, its gauges."""
    text = generate_latest(REGISTRY)
    if factory is not None:
        shared = CollectorRegistry(auto_describe=False)
        shared.register(DatabaseCollector(factory))
        text += generate_latest(shared)
    return text


def serve_metrics(port: int) -> None:
    """For `cxloop worker` / `cxloop clock`: this process's counters on http://0.0.0.0:<port>/metrics."""
    from prometheus_client import start_http_server

    start_http_server(port, registry=REGISTRY)
