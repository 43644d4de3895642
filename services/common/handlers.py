"""How a service consumes an event: validated against its contract, handled once, retried
with backoff when the handler fails, and parked in a dead-letter queue rather than dropped.
Where a handler allows it, the events that arrive together are handled in one transaction.
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
from nameko.exceptions import ContainerBeingKilled

from services.common import config
from services.common.amqp import BROKER_GONE
from services.common.db import utcnow
from services.common.events import InvalidEvent, load_event, source_of
from services.common.logs import bind_tracking_number, event_tracking_number
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


class BatchedEventHandler(ReliableEventHandler):
    """Hands its method, as one list, every event of its queue that has arrived by the time the
    service's consumer has read what the broker sent (at most the prefetch, MAX_WORKERS): one
    worker, one transaction and one outbox relay for the lot instead of one each.  A lone event
    goes the ordinary way.  If the lot fails, each of its events goes again on its own, with
    ReliableEventHandler's retries and parking: one bad event holds back none of the others.
    Nothing is acked before the lot's commit."""

    def setup(self):
        super().setup()
        self._arrived = []

    def handle_message(self, body, message):
        self._arrived.append((body, message))
        if len(self._arrived) == 1:
            # runs once the consumer's greenthread waits on the socket, i.e. has read all that came
            eventlet.spawn_n(self._hand_over)

    def _hand_over(self):
        arrived, self._arrived = self._arrived, []
        if len(arrived) == 1:
            super().handle_message(*arrived[0])
            return
        try:
            self.container.spawn_worker(self, ([body for body, _message in arrived],), {}, context_data={},
                                        handle_result=functools.partial(self._handle_lot_result, arrived))
        except ContainerBeingKilled:
            for _body, message in arrived:
                self.queue_consumer.requeue_message(message)

    def _handle_lot_result(self, arrived, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            for _body, message in arrived:
                self.handle_message_processed(message)
        else:
            log.warning("%s failed on %s %s events handled together; each goes again alone: %r",
                        self.method_name, len(arrived), self.event_type, exc_info[1])
            # from a greenthread of its own: this worker still holds its place in the pool
            eventlet.spawn_n(self._one_by_one, arrived)
        return result, exc_info

    def _one_by_one(self, arrived):
        for body, message in arrived:
            super().handle_message(body, message)


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


def consumes(event_name: str, processed_model, together: bool = False):
    """Decorate `method(self, event)` to handle `event_name` exactly once.

    The service must have `db` (a Database session).  The processed-event row is written
    in the handler's own transaction, so a redelivered event finds it and changes nothing;
    the message is acked only after that commit.  What the handler staged in the service's
    `outbox` is relayed straight after the commit.

    With `together`, the events that arrive together are handled in one transaction
    (BatchedEventHandler): only for a method that neither commits nor calls anything outside
    the service's database.  They are taken in the order of their tracking numbers, so that two
    such transactions lock complaints in the same order.
    """
    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, payload):
            # a list is the events of a BatchedEventHandler
            events = [load_event(event_name, each) for each in payload] if isinstance(payload, list) \
                else [load_event(event_name, payload)]
            if len(events) > 1:
                events.sort(key=lambda event: str(event_tracking_number(event)))
            session = self.db
            consumer = f"{self.name}.{method.__name__}"
            for event in events:
                if not _claim(session, processed_model, consumer, str(event["event_id"])):
                    continue  # handled before (this is a redelivery)
                lag = (utcnow() - event["occurred_at"]).total_seconds()
                EVENT_LAG_SECONDS.labels(self.name, event_name).observe(max(0.0, lag))
                if len(events) > 1:
                    bind_tracking_number(event_tracking_number(event))
                method(self, event)
            session.commit()
            if staged_messages(session):
                self.outbox.relay_pending()

        handler = BatchedEventHandler if together else ReliableEventHandler
        return handler.decorator(source_of(event_name), event_name)(wrapper)

    return decorator
