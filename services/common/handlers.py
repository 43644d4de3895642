"""How a service consumes an event: validated against its contract, handled once, retried
with backoff when the handler fails, and parked in a dead-letter queue rather than dropped.
"""
import functools
import logging
import random
from collections import Counter

import eventlet
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler

from services.common import config
from services.common.amqp import BROKER_GONE
from services.common.db import utcnow
from services.common.events import InvalidEvent, load_event, source_of
from services.common.metrics import (BROKER_QUEUES, DEAD_LETTERS, EVENT_LAG_SECONDS, EVENT_RETRIES,
                                     EVENTS_PARKED, metrics_port)
from services.common.outbox import staged_messages

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "chikaya.dead-letters"


def dead_letter_queue_name(service: str) -> str:
    return f"dead-letters.{service}"


class ReliableEventHandler(EventHandler):
    """nameko's event handler, but a failure is retried with backoff, then parked."""

    def setup(self):
        super().setup()
        self._attempts = Counter()
        self.max_attempts = int(self.container.config.get("EVENT_RETRY_ATTEMPTS", 5))
        self.base_delay = float(self.container.config.get("EVENT_RETRY_BASE_DELAY", 0.5))
        uri = self.container.config.get("AMQP_URI") or config.amqp_uri()
        service = self.container.service_name
        exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
        self._parking = Queue(dead_letter_queue_name(service), exchange=exchange,
                              routing_key=service, durable=True)
        self._publisher = Publisher(uri, use_confirms=True, mandatory=True,
                                    declare=[exchange, self._parking])
        # declared up front, so an operator finds the (empty) queue before anything fails
        with Connection(uri) as connection:
            self._parking(connection.default_channel).declare()
        if metrics_port(self.container.config):
            BROKER_QUEUES.watch(self, uri, [(DEAD_LETTERS, self._parking.name)])

    def stop(self):
        BROKER_QUEUES.unwatch(self)
        super().stop()

    def kill(self):
        BROKER_QUEUES.unwatch(self)
        super().kill()

    def handle_message_processed(self, message, result=None, exc_info=None):
        try:
            self._settle(message, exc_info)
        except BROKER_GONE as exc:
            # the broker dropped the connection (a restart): it has the message back and
            # delivers it again, and the handler takes it once (services/common/amqp.py)
            log.warning("%s: %s not settled with the broker, it comes again: %r", self.method_name,
                        self.event_type, exc)
            try:
                self.queue_consumer.requeue_message(message)  # in case only the parking failed
            except BROKER_GONE:
                pass

    def _settle(self, message, exc_info):
        """Ack, retry later, or park and ack."""
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        key = (message.payload or {}).get("event_id") if isinstance(message.payload, dict) else None
        self._attempts[key] += 1
        permanent = issubclass(exc_info[0], InvalidEvent)
        if permanent or self._attempts[key] >= self.max_attempts:
            self._park(message, exc_info)
            EVENTS_PARKED.labels(self.container.service_name, self.method_name, self.event_type,
                                 "invalid" if permanent else "exhausted").inc()
            self._attempts.pop(key, None)
            self.queue_consumer.ack_message(message)
            return
        delay = min(30, self.base_delay * 2 ** self._attempts[key]) * random.uniform(0.5, 1)
        EVENT_RETRIES.labels(self.container.service_name, self.method_name, self.event_type).inc()
        log.warning("%s failed on %s (attempt %s), retrying in %.1fs: %r", self.method_name,
                    self.event_type, self._attempts[key], delay, exc_info[1])
        eventlet.sleep(delay)
        self.queue_consumer.requeue_message(message)

    def _park(self, message, exc_info):
        """Keep the message, and why it failed, where an operator can see and replay it."""
        headers = {
            "x-original-exchange": message.delivery_info.get("exchange"),
            "x-original-routing-key": message.delivery_info.get("routing_key"),
            "x-consumer": f"{self.container.service_name}.{self.method_name}",
            "x-error": repr(exc_info[1])[:1000],
        }
        self._publisher.publish(message.payload, exchange=self._parking.exchange,
                                routing_key=self._parking.routing_key, headers=headers)
        log.error("parked %s for %s in %s: %r", self.event_type, self.method_name,
                  self._parking.name, exc_info[1])


@functools.cache
def _claim_statement(table: sa.Table) -> sa.TextClause:
    """The same SQL on PostgreSQL and SQLite; a text, since SQLAlchemy 2.0 compiles an ON CONFLICT
    insert construct again on every run and a text only once."""
    return sa.text(f"INSERT INTO {table.name} (consumer, event_id, processed_at)"
                   " VALUES (:consumer, :event_id, :processed_at) ON CONFLICT DO NOTHING"
                   ).bindparams(sa.bindparam("processed_at", type_=table.c.processed_at.type))


def _claim(session, processed_model, consumer: str, event_id: str) -> bool:
    """Write the processed-event row in the handler's transaction, one statement; False if the
    row is there already.  A concurrent delivery of the same event waits on the row's key until
    this transaction ends, then finds it (committed) or takes its place (rolled back)."""
    claimed = session.execute(_claim_statement(processed_model.__table__),
                              {"consumer": consumer, "event_id": event_id, "processed_at": utcnow()})
    return claimed.rowcount == 1


def consumes(event_name: str, processed_model):
    """Decorate `method(self, event)` to handle `event_name` exactly once.

    The service must have `db` (a Database session).  The processed-event row is written
    in the handler's own transaction, so a redelivered event finds it and changes nothing;
    the message is acked only after that commit.  What the handler staged in the service's
    `outbox` is relayed straight after the commit.
    """
    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, payload):
            event = load_event(event_name, payload)
            session = self.db
            consumer = f"{self.name}.{method.__name__}"
            if not _claim(session, processed_model, consumer, str(event["event_id"])):
                return  # handled before (this is a redelivery)
            lag = (utcnow() - event["occurred_at"]).total_seconds()
            EVENT_LAG_SECONDS.labels(self.name, event_name).observe(max(0.0, lag))
            method(self, event)
            session.commit()
            if staged_messages(session):
                self.outbox.relay_pending()

        return ReliableEventHandler.decorator(source_of(event_name), event_name)(wrapper)

    return decorator
