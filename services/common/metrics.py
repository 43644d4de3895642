"""Prometheus metrics.

A process that has METRICS_PORT set (container config, then environment) serves its registry on
that port at /metrics, one server per process however many services it runs: the nameko services
through the MetricsServer dependency, the ministry consumer with `--metrics-port`, the gateway
from gunicorn's master (gateway/gunicorn_config.py).  Measured here for every service:

- chikaya_entrypoint_duration_seconds{service, entrypoint, outcome}: each RPC call, event
  handled and timer tick (outcome: ok | refused, an expected exception | error)
- chikaya_event_lag_seconds{service, event}: from an event's occurred_at to its handling
- chikaya_event_retries_total, chikaya_events_parked_total{reason: invalid | exhausted}
  (services.common.handlers)
- chikaya_outbox_relayed_total, chikaya_outbox_relay_failures_total{reason: unroutable | broker}

and read from the database or the broker when Prometheus scrapes, so a stuck process cannot
report a stale figure:

- chikaya_outbox_messages{service}, chikaya_outbox_oldest_age_seconds{service}: the backlog
- chikaya_queue_messages{queue}, chikaya_queue_consumers{queue}: the queues a service consumes
- chikaya_dead_letter_messages{queue}: `dead-letters.<service>`, `complaints.dead-letters`
- chikaya_administration_queue_messages{administration}, ..._consumers{administration}

The queue figures come from a passive declare (which changes nothing on the broker): messages
ready, not those a consumer holds unacknowledged.
"""
import logging
import os
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone

import amqp.exceptions
import sqlalchemy as sa
from kombu import Connection
from kombu.exceptions import OperationalError
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.orm import Session

from services.common import config
from services.common.logs import outcome

log = logging.getLogger(__name__)

ENTRYPOINT_SECONDS = Histogram(
    "chikaya_entrypoint_duration_seconds",
    "Time a service took to handle an RPC call, an event or a timer tick.",
    ["service", "entrypoint", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
EVENT_LAG_SECONDS = Histogram(
    "chikaya_event_lag_seconds", "From the moment an event happened to the moment a service handles it.",
    ["service", "event"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600))
EVENT_RETRIES = Counter(
    "chikaya_event_retries_total", "Event handlings that failed and were tried again after a wait.",
    ["service", "handler", "event"])
EVENTS_PARKED = Counter(
    "chikaya_events_parked_total",
    "Events parked in the service's dead-letter queue: invalid (breaks its contract) or exhausted (retries).",
    ["service", "handler", "event", "reason"])
OUTBOX_RELAYED = Counter(
    "chikaya_outbox_relayed_total", "Outbox messages the broker confirmed.", ["service"])
OUTBOX_RELAY_FAILURES = Counter(
    "chikaya_outbox_relay_failures_total",
    "Outbox messages not relayed yet: unroutable (no queue bound) or broker (unreachable).",
    ["service", "reason"])


def metrics_port(container_config: dict) -> str | None:
    return container_config.get("METRICS_PORT") or os.environ.get("METRICS_PORT") or None


_server_lock = threading.Lock()
_serving_on = None


def serve(port) -> None:
    """Serve the default registry on `port` at /metrics, once per process."""
    global _serving_on
    with _server_lock:
        if _serving_on is None:
            start_http_server(int(port))
            _serving_on = int(port)
        elif _serving_on != int(port):
            log.warning("metrics are served on port %s already; port %s is not used", _serving_on, port)


# --- counting only what was committed ------------------------------------------------------

_AFTER_COMMIT = "metrics_after_commit"


def inc_after_commit(session: Session, counter) -> None:
    """Add one to `counter` (a labelled child) if and when the session's transaction commits."""
    session.info.setdefault(_AFTER_COMMIT, []).append(counter)


@sa.event.listens_for(Session, "after_commit")
def _count_committed(session):
    for counter in session.info.pop(_AFTER_COMMIT, ()):
        counter.inc()


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session, _previous_transaction):
    session.info.pop(_AFTER_COMMIT, None)


# --- read when scraped ---------------------------------------------------------------------

QUEUE, DEAD_LETTERS, ADMINISTRATION = "queue", "dead_letters", "administration"


class BrokerQueues:
    """How many messages wait in the queues that the running services and consumers watch, and
    how many consumers each has, asked of the broker when Prometheus scrapes.

    `watch(owner, amqp_uri, queues)`: `queues` is a list of (kind, queue name) or a function
    giving one (for a set that grows); a queue that does not exist yet is left out.
    """

    def __init__(self):
        self._watched = {}
        self._lock = threading.Lock()

    def watch(self, owner, amqp_uri: str, queues) -> None:
        with self._lock:
            self._watched[owner] = (amqp_uri, queues)

    def unwatch(self, owner) -> None:
        with self._lock:
            self._watched.pop(owner, None)

    @staticmethod
    def _families():
        return {
            (QUEUE, "messages"): GaugeMetricFamily(
                "chikaya_queue_messages", "Messages ready in a queue a service consumes.", labels=["queue"]),
            (QUEUE, "consumers"): GaugeMetricFamily(
                "chikaya_queue_consumers", "Consumers of a queue a service consumes.", labels=["queue"]),
            (DEAD_LETTERS, "messages"): GaugeMetricFamily(
                "chikaya_dead_letter_messages", "Messages parked in a dead-letter queue for an operator.",
                labels=["queue"]),
            (ADMINISTRATION, "messages"): GaugeMetricFamily(
                "chikaya_administration_queue_messages",
                "Complaints waiting in an administration's queue for its consumer.", labels=["administration"]),
            (ADMINISTRATION, "consumers"): GaugeMetricFamily(
                "chikaya_administration_queue_consumers",
                "Consumers of an administration's queue (0: its consumer is down).", labels=["administration"]),
        }

    def describe(self):
        return list(self._families().values())

    def collect(self):
        families = self._families()
        with self._lock:
            watched = list(self._watched.values())
        by_uri = defaultdict(set)
        for amqp_uri, queues in watched:
            by_uri[amqp_uri].update(queues() if callable(queues) else queues)
        for amqp_uri, queues in by_uri.items():
            for kind, name, ready, consumers in self._read(amqp_uri, sorted(queues)):
                label = name.split(".", 1)[1] if kind == ADMINISTRATION else name
                families[(kind, "messages")].add_metric([label], ready)
                if (kind, "consumers") in families:
                    families[(kind, "consumers")].add_metric([label], consumers)
        return list(families.values())

    def existing(self, amqp_uri, names) -> set[str]:
        """Which of these queues exist now."""
        return {name for _kind, name, _ready, _consumers in self._read(amqp_uri, [(QUEUE, name) for name in names])}

    @staticmethod
    def _read(amqp_uri, queues):
        found = []
        try:
            with Connection(amqp_uri, connect_timeout=3) as connection:
                channel = connection.channel()
                for kind, name in queues:
                    try:
                        _name, ready, consumers = channel.queue_declare(queue=name, passive=True)
                    except amqp.exceptions.NotFound:
                        channel = connection.channel()  # the broker closed the one that asked
                        continue
                    found.append((kind, name, ready, consumers))
        except (OSError, OperationalError, amqp.exceptions.AMQPError) as exc:
            log.warning("queue depths not read from the broker: %r", exc)
        return found


class OutboxBacklog:
    """How many messages wait in each service's outbox and how old the oldest is, read from the
    service's database when Prometheus scrapes."""

    def __init__(self):
        self._watched = {}
        self._lock = threading.Lock()

    def watch(self, owner, service: str, sessionmaker, model) -> None:
        with self._lock:
            self._watched[owner] = (service, sessionmaker, model)

    def unwatch(self, owner) -> None:
        with self._lock:
            self._watched.pop(owner, None)

    @staticmethod
    def _families():
        return (GaugeMetricFamily("chikaya_outbox_messages", "Messages waiting in a service's outbox.",
                                  labels=["service"]),
                GaugeMetricFamily("chikaya_outbox_oldest_age_seconds",
                                  "Age of the oldest message waiting in a service's outbox (0: none waits).",
                                  labels=["service"]))

    def describe(self):
        return list(self._families())

    def collect(self):
        messages, oldest = self._families()
        with self._lock:
            watched = list(self._watched.values())
        for service, sessionmaker, model in watched:
            try:
                with sessionmaker() as session:
                    count, first = session.execute(
                        sa.select(sa.func.count(), sa.func.min(model.created_at))).one()
            except sa.exc.SQLAlchemyError as exc:
                log.warning("%s's outbox backlog not read: %r", service, exc)
                continue
            messages.add_metric([service], count)
            age = (datetime.now(timezone.utc) - first).total_seconds() if first is not None else 0
            oldest.add_metric([service], max(0.0, age))
        return [messages, oldest]


BROKER_QUEUES = BrokerQueues()
OUTBOX_BACKLOG = OutboxBacklog()
REGISTRY.register(BROKER_QUEUES)
REGISTRY.register(OUTBOX_BACKLOG)


# --- the nameko dependency -----------------------------------------------------------------

class MetricsServer(DependencyProvider):
    """Serves the process's metrics on METRICS_PORT, times every entrypoint of its service, and
    (while served) reports the depth of the queues the service consumes."""

    def setup(self):
        self.service = self.container.service_name
        self._started = {}
        self.port = metrics_port(self.container.config)
        if self.port:
            serve(self.port)

    def start(self):
        if not self.port:
            return
        queues = set()
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, EventHandler):
                queues.add((QUEUE, entrypoint.queue.name))
            elif isinstance(entrypoint, Rpc):
                queues.add((QUEUE, f"rpc-{self.service}"))
        BROKER_QUEUES.watch(self, self.container.config.get("AMQP_URI") or config.amqp_uri(), queues)

    def stop(self):
        BROKER_QUEUES.unwatch(self)

    kill = stop

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            ENTRYPOINT_SECONDS.labels(self.service, worker_ctx.entrypoint.method_name,
                                      outcome(worker_ctx, exc_info)).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx):
        self._started.pop(worker_ctx, None)
