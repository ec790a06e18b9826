"""coopflow's own metrics, in Prometheus' text format at ``/metrics``.

Counted as they happen (in each web process): completions by step, refusals by step and code.
Read from the store at each scrape (the same for every process): open and overdue tasks by
organisation, the outbox by state, open incidents. The Temporal SDK's own metrics (workflow task
and activity latency, schedule-to-start, and coopflow's store write latency, recorded through the
SDK's meter in the write activity) are served by each worker at ``COOPFLOW_METRICS_BIND``; where
the web app runs in the same process as a worker (``coopflow dev``), ``/metrics`` includes them.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.engine import Engine

from domain import format_time

disable_created_metrics()  # a _created series beside every counter says nothing a scrape needs
REGISTRY = CollectorRegistry()
COMPLETIONS = Counter("coopflow_completions", "Tasks completed, by step.", ["step"], registry=REGISTRY)
REFUSALS = Counter("coopflow_refusals", "Completions refused, by step and error code.", ["step", "code"],
                   registry=REGISTRY)
CHANGES = Counter("coopflow_changes", "Changes to running projects, by kind.", ["kind"], registry=REGISTRY)

OPEN_TASKS = text("SELECT assignee, COUNT(*), SUM(CASE WHEN due_at < :now THEN 1 ELSE 0 END) FROM task "
                  "WHERE status = 'open' GROUP BY assignee")
OUTBOX = text("SELECT status, COUNT(*) FROM outbox GROUP BY status")
INCIDENTS = text("SELECT COUNT(*) FROM incident")


class StoreGauges(Collector):
    """What the store holds now: read at each scrape, so every web process tells the same."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_tasks = GaugeMetricFamily("coopflow_tasks_open", "Open tasks, by assigned organisation.",
                                       labels=["org"])
        overdue = GaugeMetricFamily("coopflow_tasks_overdue", "Open tasks past their due date, by organisation.",
                                    labels=["org"])
        outbox = GaugeMetricFamily("coopflow_outbox", "Mails in the outbox, by state.", labels=["status"])
        incidents = GaugeMetricFamily("coopflow_incidents_open", "Projects paused because the store refused "
                                      "their events.")
        now = format_time(datetime.now(UTC))
        with self.engine.connect() as conn:
            for org, count, late in conn.execute(OPEN_TASKS, {"now": now}):
                open_tasks.add_metric([org], count)
                overdue.add_metric([org], late)
            for status, count in conn.execute(OUTBOX):
                outbox.add_metric([status], count)
            incidents.add_metric([], conn.execute(INCIDENTS).scalar_one())
        yield from (open_tasks, overdue, outbox, incidents)


def exposition(engine: Engine, sdk_bind: str = "") -> bytes:
    """The text a Prometheus scrape gets: coopflow's metrics, then the SDK's when they are in this process."""
    registry = CollectorRegistry()
    registry.register(StoreGauges(engine))
    text = generate_latest(REGISTRY) + generate_latest(registry)
    if sdk_bind:
        try:
            with urllib.request.urlopen(f"http://{sdk_bind}/metrics", timeout=2) as answer:
                text += answer.read()
        except OSError:
            text += b"# the Temporal SDK's metrics did not answer at " + sdk_bind.encode() + b"\n"
    return text
