"""Stats' nameko entrypoints: record each event's fact, move the counters by what the fact
changed (same transaction), answer with the statistics."""
from sqlalchemy.dialects import postgresql, sqlite

from services.common.amqp import rpc
from services.common.db import Database
from services.common.handlers import consumes
from services.common.liveness import Liveness
from services.common.logs import LogContext
from services.common.metrics import MetricsServer
from services.stats import counters, domain, reports
from services.stats.models import Base, ComplaintFact, ProcessedEvent, ProsecutionStep

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class StatsService:
    name = "stats"
    liveness = Liveness()  # LIVENESS_FILE: Kubernetes' probes read it
    metrics = MetricsServer()  # METRICS_PORT: Prometheus scrapes it
    log_context = LogContext()

    db = Database(Base.metadata)

    def _fact(self, tracking_number):
        """The complaint's facts, created by whichever of its events comes first, and locked
        so two events of one complaint handled at once apply one after the other."""
        insert = _INSERT[self.db.bind.dialect.name]
        self.db.execute(insert(ComplaintFact)
                        .values(tracking_number=tracking_number)
                        .on_conflict_do_nothing(index_elements=["tracking_number"]))
        return self.db.get(ComplaintFact, tracking_number, with_for_update=True)

    def _record(self, rule, event):
        """Apply a domain rule to the complaint's facts, and move the counters by what that changed."""
        fact = self._fact(event["tracking_number"])
        before = counters.of_complaint(fact)
        rule(fact, event)
        counters.add(self.db, counters.difference(before, counters.of_complaint(fact)))

    def _record_prosecution_step(self, event):
        """A forwarding counts at the office that declined the complaint, the other steps where
        the complaint is."""
        step = ProsecutionStep(event_id=str(event["event_id"]), step=event["step"], month=event["month"],
                               category=event["category"],
                               office_code=event.get("from_office_code") or event["office_code"])
        self.db.add(step)
        counters.add(self.db, counters.of_prosecution_step(step))

    @consumes("complaint.submitted", ProcessedEvent)
    def on_submitted(self, event):
        self._record(domain.record_submitted, event)

    @consumes("complaint.routed", ProcessedEvent)
    def on_routed(self, event):
        self._record(domain.record_routed, event)

    @consumes("complaint.delivered", ProcessedEvent)
    def on_delivered(self, event):
        self._record(domain.record_delivered, event)

    # every lifecycle event has this consumer at least, so none waits unrouted in intake's outbox

    @consumes("complaint.acknowledged", ProcessedEvent)
    def on_acknowledged(self, event):
        self._record(domain.record_step, event)

    @consumes("complaint.information_requested", ProcessedEvent)
    def on_information_requested(self, event):
        self._record(domain.record_step, event)

    @consumes("complaint.citizen_replied", ProcessedEvent)
    def on_citizen_replied(self, event):
        self._record(domain.record_step, event)

    @consumes("complaint.answered", ProcessedEvent)
    def on_answered(self, event):
        self._record(domain.record_answered, event)

    @consumes("complaint.closed", ProcessedEvent)
    def on_closed(self, event):
        self._record(domain.record_closed, event)

    @consumes("complaint.transferred", ProcessedEvent)
    def on_transferred(self, event):
        self._record(domain.record_transferred, event)

    @consumes("complaint.rated", ProcessedEvent)
    def on_rated(self, event):
        self._record(domain.record_rated, event)

    @consumes("complaint.reopened", ProcessedEvent)
    def on_reopened(self, event):
        self._record(domain.record_reopened, event)

    @consumes("complaint.deadline_approaching", ProcessedEvent)
    def on_deadline_approaching(self, event):
        self._record(domain.record_step, event)

    @consumes("complaint.deadline_passed", ProcessedEvent)
    def on_deadline_passed(self, event):
        self._record(domain.record_deadline_passed, event)

    @consumes("prosecution.complaint_registered", ProcessedEvent)
    def on_prosecution_complaint_registered(self, event):
        self._record_prosecution_step(event)

    @consumes("prosecution.step_recorded", ProcessedEvent)
    def on_prosecution_step_recorded(self, event):
        self._record_prosecution_step(event)

    @rpc
    def totals(self):
        return reports.totals(self.db)
