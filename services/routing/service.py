"""Routing's nameko entrypoints: the directory, and sending each complaint to its queue."""
import uuid

from kombu import Connection, Exchange, Queue
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from services.common import config
from services.common.amqp import rpc
from services.common.db import Database
from services.common.errors import NotFound, ValidationFailed
from services.common.handlers import consumes
from services.common.liveness import Liveness
from services.common.logs import LogContext
from services.common.metrics import (ADMINISTRATION, BROKER_QUEUES, DEAD_LETTERS, MetricsServer,
                                     inc_after_commit, metrics_port)
from services.common.outbox import Outbox as OutboxRelay, add_event, add_message
from services.routing import domain, topology
from services.routing.directory import FIELDS, load_shipped
from services.routing.metrics import COMPLAINTS_ROUTED
from services.routing.models import Administration, Base, Outbox, ProcessedEvent, RoutingDecision
from services.routing.schemas import RoutedComplaint


class AdministrationQueues(DependencyProvider):
    """Declares an administration's durable queue before the first complaint is sent to it.

    Only on first use: a quorum queue is a Raft group of its own, and a hundred of them
    that no complaint has reached yet cost the broker for nothing.

    While metrics are served, reports the depth and consumers of complaints.dead-letters and of
    every administration's queue that existed when routing started or that it declared since
    (a queue holds complaints only once routing declared it): an administration whose queue
    has complaints and no consumer is one whose consumer is down.
    """

    def setup(self):
        self.amqp_uri = self.container.config.get("AMQP_URI") or config.amqp_uri()
        self.declared = set()
        self.existing = set()

    def start(self):
        database = next(ext for ext in self.container.dependencies if isinstance(ext, Database))
        with database.sessionmaker() as session:
            load_shipped(session)
            session.commit()
            codes = set(session.scalars(select(Administration.code))) | {domain.TRIAGE}
        if metrics_port(self.container.config):
            queues = {topology.queue_name(code): code for code in codes}
            self.existing = {queues[name] for name in BROKER_QUEUES.existing(self.amqp_uri, queues)}
            BROKER_QUEUES.watch(self, self.amqp_uri, self._watched_queues)

    def _watched_queues(self):
        return [(DEAD_LETTERS, topology.DEAD_LETTER_QUEUE)] + [
            (ADMINISTRATION, topology.queue_name(code)) for code in self.existing | self.declared]

    def stop(self):
        BROKER_QUEUES.unwatch(self)

    kill = stop

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


class KnownAdministrations(DependencyProvider):
    """The directory's codes found so far, so routing a complaint does not query the directory.

    Safe without invalidation: an entry is never removed nor its code changed (the RPCs and the
    import only add entries or update their other fields).  A code not found is looked up again
    each time, since an import or another routing process may have added it meanwhile.
    """

    def setup(self):
        self.codes = set()

    def knows(self, session, code: str) -> bool:
        if code not in self.codes and session.get(Administration, code) is not None:
            self.codes.add(code)
        return code in self.codes

    def get_dependency(self, worker_ctx):
        return self


# built once: a schema instance holds no state between dumps, and building one is not cheap
ROUTED_COMPLAINT = RoutedComplaint()
# Core, not an ORM object: routing never reads the row back, so the flush's bookkeeping is saved
INSERT_DECISION = insert(RoutingDecision.__table__)


class RoutingService:
    name = "routing"
    liveness = Liveness()  # LIVENESS_FILE: Kubernetes' probes read it
    metrics = MetricsServer()  # METRICS_PORT: Prometheus scrapes it
    log_context = LogContext()

    db = Database(Base.metadata)
    outbox = OutboxRelay(Outbox)
    queues = AdministrationQueues()
    directory = KnownAdministrations()

    @rpc
    def list_administrations(self):
        rows = self.db.scalars(select(Administration).order_by(Administration.kind, Administration.code))
        return [self._administration_view(row) for row in rows]

    @rpc(expected_exceptions=(ValidationFailed,))
    def add_administration(self, entry):
        """Add an administration to the directory (the platform administrator's page) and
        declare its queue, so complaints wait there until its consumer runs."""
        entry = {key: str((entry or {}).get(key) or "").strip() for key in FIELDS}
        errors = domain.administration_errors(entry)
        if not errors and self.db.get(Administration, entry["code"]) is not None:
            errors = {"code": ["already_exists"]}
        if errors:
            raise ValidationFailed(errors)
        administration = Administration(**entry)
        self.db.add(administration)
        try:
            self.db.commit()
        except IntegrityError:  # the same code added at the same moment
            raise ValidationFailed({"code": ["already_exists"]}) from None
        self.queues.ensure({administration.code})
        return self._administration_view(administration)

    @staticmethod
    def _administration_view(row):
        return {key: getattr(row, key) for key in FIELDS}

    @rpc
    def administration_contacts(self):
        """{code: {contact_email, supervisor_email, contact_language}}: who notify writes to
        about each administration's deadlines.  Kept out of list_administrations, which is public."""
        return {row.code: {field: getattr(row, field) for field in domain.CONTACT_FIELDS}
                for row in self.db.scalars(select(Administration))}

    @rpc(expected_exceptions=(ValidationFailed, NotFound))
    def set_administration_contacts(self, code, contacts):
        """The platform administrator's change of an administration's contacts."""
        administration = self.db.get(Administration, code)
        if administration is None:
            raise NotFound(code)
        contacts = domain.clean_contacts(contacts or {})
        errors = domain.contacts_errors(contacts)
        if errors:
            raise ValidationFailed(errors)
        for field, value in contacts.items():
            setattr(administration, field, value)
        self.db.commit()
        return contacts

    @consumes("complaint.submitted", ProcessedEvent, together=True)
    def on_submitted(self, event):
        self._route(event, event, domain.SUBMITTED)

    @consumes("complaint.transferred", ProcessedEvent, together=True)
    def on_transferred(self, event):
        """To the administration the agent chose; a code the directory lacks goes to triage."""
        self._route(event, event["complaint"], domain.TRANSFERRED)

    @consumes("complaint.reopened", ProcessedEvent, together=True)
    def on_reopened(self, event):
        """Back to the administration that answered, marked with how often it was reopened."""
        self._route(event, event["complaint"], domain.REOPENED, reopen_count=event["reopen_count"])

    def _route(self, event, complaint, reason, reopen_count=None):
        """Send `complaint` to the queue of the administration `event` names (or triage), record
        the decision and announce complaint.routed, all through the outbox in one transaction."""
        requested = event["administration_code"]
        known = {requested} if self.directory.knows(self.db, requested) else set()
        code, triage = domain.decide(requested, known)
        self.queues.ensure({code})
        self.db.execute(INSERT_DECISION, {"tracking_number": event["tracking_number"], "reason": reason,
                                          "requested_code": requested, "administration_code": code,
                                          "triage": triage})
        # the event id makes the message id stable, so a redelivery is recognisable downstream
        message = ROUTED_COMPLAINT.dump({
            **complaint, "message_id": uuid.uuid5(uuid.NAMESPACE_URL, f"routed:{event['event_id']}"),
            "tracking_number": event["tracking_number"], "administration_code": code,
            "requested_administration_code": requested, "triage": triage,
            "submitted_at": complaint["submitted_at"].isoformat(), "reason": reason,
            "reopen_count": reopen_count})
        add_message(self.db, Outbox, topology.ROUTED_EXCHANGE, code, message)
        inc_after_commit(self.db, COMPLAINTS_ROUTED.labels(code, reason))
        add_event(self.db, Outbox, "complaint.routed", {
            "tracking_number": event["tracking_number"], "administration_code": code,
            "triage": triage, "type": complaint["type"], "region": complaint["region"]})

    @timer(interval=1)
    def relay_outbox(self):
        self.outbox.relay_pending()
