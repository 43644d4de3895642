"""The transactional outbox: a message is written in the same transaction as the fact it
announces, then relayed to RabbitMQ with publisher confirms, `mandatory` and persistent
delivery.  A row leaves the outbox only once the broker has confirmed it, so a crash at
any point means the message is sent again later, never lost: consumers are idempotent.
"""
import logging
import random
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from amqp.exceptions import AMQPError
from kombu import Exchange
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.extensions import DependencyProvider
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.common import config
from services.common.crypto import EncryptedJSON
from services.common.db import Database, UTCDateTime, utcnow
from services.common.events import make_event, source_of
from services.common.metrics import OUTBOX_BACKLOG, OUTBOX_RELAY_FAILURES, OUTBOX_RELAYED, metrics_port

log = logging.getLogger(__name__)

BATCH_SIZE = 200
ROUNDS_PER_CALL = 3
STAGED = "outbox_staged"
MAX_BACKOFF_SECONDS = 60


class OutboxMixin:
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    exchange: Mapped[str] = mapped_column(sa.String(100))
    routing_key: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict] = mapped_column(EncryptedJSON)  # an event can carry a complainant's contact
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


def event_exchange_name(source_service: str) -> str:
    """nameko's convention, so `@event_handler(source, name)` receives what we relay."""
    return f"{source_service}.events"


def add_event(session: Session, outbox_model, name: str, data: dict, event_id=None) -> dict:
    """Stage event `name` in the caller's transaction; it is published after the commit."""
    payload = make_event(name, data, event_id=event_id)
    add_message(session, outbox_model, event_exchange_name(source_of(name)), name, payload)
    return payload


def add_message(session: Session, outbox_model, exchange: str, routing_key: str, payload: dict):
    """Stage a message for any exchange (e.g. the per-ministry topic exchange)."""
    session.add(outbox_model(exchange=exchange, routing_key=routing_key, payload=payload))
    session.info[STAGED] = True


def staged_messages(session: Session) -> bool:
    """Whether this session staged outbox messages since the last call (which resets it)."""
    return session.info.pop(STAGED, False)


class OutboxRelay:
    """Publishes pending outbox rows, oldest first; safe to run in several processes at once."""

    def __init__(self, sessionmaker, outbox_model, amqp_uri: str, service: str):
        self.sessionmaker = sessionmaker
        self.model = outbox_model
        self.service = service
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)
        self._declared = set()
        # one relay at a time per process, so the timer and a writer never publish a row twice
        self._running = threading.Lock()
        self._due = False

    def _exchange(self, name: str) -> Exchange:
        return Exchange(name, type="topic", durable=True)

    def relay_pending(self) -> int:
        """Publish what is due; returns how many rows left the outbox.  It never raises: its
        callers have committed already (a complaint filed must not be answered with an error
        because the database or the broker went away just after), and what it could not
        relay now, the service's timer relays later.

        A caller that finds a relay of this process running leaves its rows to it (and gets
        0): that relay goes round again for them.  So many writers at once make a few batches
        rather than queueing for a round each.  After ROUNDS_PER_CALL rounds a thread of its
        own goes on, so that the caller (a worker about to answer) is not held for long."""
        self._due = True
        sent = rounds = 0
        # `_due` is looked at again after each release: rows announced meanwhile are not left behind
        while self._due and self._running.acquire(blocking=False):
            try:
                while self._due and rounds < ROUNDS_PER_CALL:
                    self._due = False
                    rounds += 1
                    sent += self._relay_once()
            finally:
                self._running.release()
            if rounds == ROUNDS_PER_CALL:
                if self._due:
                    threading.Thread(target=self.relay_pending, daemon=True).start()
                break
        return sent

    def _relay_once(self) -> int:
        try:
            return self._relay_due()
        except (SQLAlchemyError, OperationalError, AMQPError, OSError) as exc:
            log.warning("%s's outbox not relayed now; its timer tries again: %r", self.service, exc)
            return 0

    def _relay_due(self) -> int:
        published = []
        with self.sessionmaker() as session:
            query = (sa.select(self.model)
                     .where(self.model.next_attempt_at <= utcnow())
                     .order_by(self.model.id).limit(BATCH_SIZE))
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for row in session.scalars(query):
                try:
                    exchange = self._exchange(row.exchange)
                    declare = [] if row.exchange in self._declared else [exchange]
                    # the AMQP timestamp (Unix seconds) is when the fact was staged: consumers
                    # measure their lag from it
                    self.publisher.publish(row.payload, exchange=exchange, routing_key=row.routing_key,
                                           declare=declare, timestamp=int(row.created_at.timestamp()))
                    self._declared.add(row.exchange)
                except (UndeliverableMessage, OperationalError, AMQPError, OSError) as exc:
                    # unroutable (no consumer queue bound yet) or the broker is away: keep the
                    # row and try it again later
                    row.attempts += 1
                    delay = min(MAX_BACKOFF_SECONDS, 2 ** min(row.attempts, 6)) * random.uniform(0.5, 1)
                    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                    row.last_error = repr(exc)[:1000]
                    log.warning("outbox %s %s not relayed (attempt %s): %r",
                                row.routing_key, row.id, row.attempts, exc)
                    unroutable = isinstance(exc, UndeliverableMessage)
                    OUTBOX_RELAY_FAILURES.labels(self.service, "unroutable" if unroutable else "broker").inc()
                    if unroutable:
                        continue  # one unroutable message must not hold back the others
                    break
                published.append(row.id)
            if published:  # one statement for the batch
                session.execute(sa.delete(self.model).where(self.model.id.in_(published)))
            session.commit()
        if published:
            OUTBOX_RELAYED.labels(self.service).inc(len(published))
        return len(published)


class Outbox(DependencyProvider):
    """Gives workers the service's relay; its timer and its writers call `relay_pending()`."""

    def __init__(self, outbox_model):
        self.model = outbox_model

    def start(self):
        database = next(ext for ext in self.container.dependencies if isinstance(ext, Database))
        uri = self.container.config.get("AMQP_URI") or config.amqp_uri()
        self.relay = OutboxRelay(database.sessionmaker, self.model, uri, self.container.service_name)
        if metrics_port(self.container.config):
            OUTBOX_BACKLOG.watch(self, self.container.service_name, database.sessionmaker, self.model)

    def stop(self):
        OUTBOX_BACKLOG.unwatch(self)

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.relay
