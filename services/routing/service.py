"""Routing's nameko entrypoints: the directory, and sending each complaint to its queue."""
import uuid

from kombu import Connection, Exchange, Queue
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select

from services.common import config
from services.common.db import Database
from services.common.handlers import consumes
from services.common.outbox import Outbox as OutboxRelay, add_event, add_message
from services.routing import domain, topology
from services.routing.directory import load_shipped
from services.routing.models import Administration, Base, Outbox, ProcessedEvent, RoutingDecision
from services.routing.schemas import RoutedComplaint


class AdministrationQueues(DependencyProvider):
    """Declares an administration's durable queue before the first complaint is sent to it."""

    def setup(self):
        self.amqp_uri = self.container.config.get("AMQP_URI") or config.amqp_uri()
        self.declared = set()

    def start(self):
        database = next(ext for ext in self.container.dependencies if isinstance(ext, Database))
        with database.sessionmaker() as session:
            load_shipped(session)
            session.commit()
            codes = set(session.scalars(select(Administration.code)))
        self.ensure(codes | {domain.TRIAGE})

    def ensure(self, codes):
        missing = set(codes) - self.declared
        if not missing:
            return
        exchange = Exchange(topology.ROUTED_EXCHANGE, type="topic", durable=True)
        dead_letters = Exchange(topology.DEAD_LETTER_EXCHANGE, type="fanout", durable=True)
        with Connection(self.amqp_uri) as connection:
            channel = connection.default_channel
            Queue(topology.DEAD_LETTER_QUEUE, exchange=dead_letters, durable=True)(channel).declare()
            for code in missing:
                Queue(topology.queue_name(code), exchange=exchange, routing_key=code, durable=True,
                      queue_arguments=topology.queue_arguments())(channel).declare()
        self.declared |= missing

    def get_dependency(self, worker_ctx):
        return self


class RoutingService:
    name = "routing"

    db = Database(Base.metadata)
    outbox = OutboxRelay(Outbox)
    queues = AdministrationQueues()

    @rpc
    def list_administrations(self):
        rows = self.db.scalars(select(Administration).order_by(Administration.kind, Administration.code))
        return [{"code": row.code, "name_ar": row.name_ar, "name_fr": row.name_fr, "kind": row.kind}
                for row in rows]

    @consumes("complaint.submitted", ProcessedEvent)
    def on_submitted(self, event):
        known = set(self.db.scalars(select(Administration.code).where(
            Administration.code == event["administration_code"])))
        code, triage = domain.decide(event["administration_code"], known)
        self.queues.ensure({code})
        self.db.add(RoutingDecision(tracking_number=event["tracking_number"], triage=triage,
                                    requested_code=event["administration_code"],
                                    administration_code=code))
        # the event id makes the message id stable, so a redelivery is recognisable downstream
        message = RoutedComplaint().dump({
            **event, "message_id": uuid.uuid5(uuid.NAMESPACE_URL, f"routed:{event['event_id']}"),
            "administration_code": code, "requested_administration_code": event["administration_code"],
            "triage": triage, "submitted_at": event["submitted_at"].isoformat()})
        add_message(self.db, Outbox, topology.ROUTED_EXCHANGE, code, message)
        add_event(self.db, Outbox, "complaint.routed", {
            "tracking_number": event["tracking_number"], "administration_code": code,
            "triage": triage, "type": event["type"], "region": event["region"]})

    @timer(interval=1)
    def relay_outbox(self):
        self.outbox.relay_pending()
