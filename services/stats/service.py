"""Stats' nameko entrypoints: record each event's fact, move the counters by what the fact
changed (same transaction), answer with the statistics."""
from types import SimpleNamespace

import sqlalchemy as sa

from services.common.amqp import rpc
from services.common.db import Database, utcnow
from services.common.handlers import consumes
from services.common.liveness import Liveness
from services.common.logs import LogContext
from services.common.metrics import MetricsServer
from services.stats import counters, domain, reports
from services.stats.models import Base, ComplaintFact, ProcessedEvent, ProsecutionStep

FACTS = ComplaintFact.__table__
# what an event may change in a complaint's facts (updated_at follows by itself)
CHANGEABLE = tuple(column.name for column in FACTS.c if column.name not in ("tracking_number", "updated_at"))


# Creates the complaint's facts at its first event, and locks and reads them, in one statement: the
# update of nothing on conflict is what locks an existing row and has it returned.  The same SQL on
# PostgreSQL and SQLite; a text, since SQLAlchemy 2.0 compiles an ON CONFLICT insert construct again
# on every run and a text only once (the other columns have server defaults).
LOCK_FACT = sa.text(
    "INSERT INTO complaint_facts (tracking_number, status, updated_at)"
    " VALUES (:tracking_number, :status, :updated_at)"
    " ON CONFLICT (tracking_number) DO UPDATE SET tracking_number = excluded.tracking_number"
    f" RETURNING {', '.join(column.name for column in FACTS.c)}"
).bindparams(sa.bindparam("updated_at", type_=FACTS.c.updated_at.type)).columns(*FACTS.c)
FIRST_STATUS = FACTS.c.status.default.arg
UPDATE_FACT = FACTS.update().where(FACTS.c.tracking_number == sa.bindparam("fact_tracking_number"))


class StatsService:
    name = "stats"
    liveness = Liveness()  # LIVENESS_FILE: Kubernetes' probes read it
    metrics = MetricsServer()  # METRICS_PORT: Prometheus scrapes it
    log_context = LogContext()

    db = Database(Base.metadata)

    def _fact(self, tracking_number):
        """The complaint's facts (a plain object with ComplaintFact's attributes), created by
        whichever of its events comes first, and locked so two events of one complaint handled at
        once apply one after the other."""
        row = self.db.execute(LOCK_FACT, {"tracking_number": tracking_number, "status": FIRST_STATUS,
                                          "updated_at": utcnow()}).one()
        return SimpleNamespace(**row._mapping)

    def _record(self, rule, event):
        """Apply a domain rule to the complaint's facts, write them back if it changed them, and
        move the counters by what that changed."""
        fact = self._fact(event["tracking_number"])
        before = {name: getattr(fact, name) for name in CHANGEABLE}
        counted_before = counters.of_complaint(fact)
        rule(fact, event)
        after = {name: getattr(fact, name) for name in CHANGEABLE}
        if after != before:
            self.db.execute(UPDATE_FACT, {"fact_tracking_number": fact.tracking_number, **after})
        counters.add(self.db, counters.difference(counted_before, counters.of_complaint(fact)))

    def _record_prosecution_step(self, event):
        """A forwarding counts at the office that declined the complaint, the other steps where
        the complaint is."""
        step = ProsecutionStep(event_id=str(event["event_id"]), step=event["step"], month=event["month"],
                               category=event["category"],
                               office_code=event.get("from_office_code") or event["office_code"])
        self.db.add(step)
        counters.add(self.db, counters.of_prosecution_step(step))

    @consumes("complaint.submitted", ProcessedEvent, together=True)
    def on_submitted(self, event):
        self._record(domain.record_submitted, event)

    @consumes("complaint.routed", ProcessedEvent, together=True)
    def on_routed(self, event):
        self._record(domain.record_routed, event)

    @consumes("complaint.delivered", ProcessedEvent, together=True)
    def on_delivered(self, event):
        self._record(domain.record_delivered, event)

    # every lifecycle event has this consumer at least, so none waits unrouted in intake's outbox

    @consumes("complaint.acknowledged", ProcessedEvent, together=True)
    def on_acknowledged(self, event):
        self._record(domain.record_step, event)

    @consumes("complaint.information_requested", ProcessedEvent, together=True)
    def on_information_requested(self, event):
        self._record(domain.record_step, event)

    @consumes("complaint.citizen_replied", ProcessedEvent, together=True)
    def on_citizen_replied(self, event):
        self._record(domain.record_step, event)

    @consumes("complaint.answered", ProcessedEvent, together=True)
    def on_answered(self, event):
        self._record(domain.record_answered, event)

    @consumes("complaint.closed", ProcessedEvent, together=True)
    def on_closed(self, event):
        self._record(domain.record_closed, event)

    @consumes("complaint.transferred", ProcessedEvent, together=True)
    def on_transferred(self, event):
        self._record(domain.record_transferred, event)

    @consumes("complaint.rated", ProcessedEvent, together=True)
    def on_rated(self, event):
        self._record(domain.record_rated, event)

    @consumes("complaint.reopened", ProcessedEvent, together=True)
    def on_reopened(self, event):
        self._record(domain.record_reopened, event)

    @consumes("complaint.deadline_approaching", ProcessedEvent, together=True)
    def on_deadline_approaching(self, event):
        self._record(domain.record_step, event)

    @consumes("complaint.deadline_passed", ProcessedEvent, together=True)
    def on_deadline_passed(self, event):
        self._record(domain.record_deadline_passed, event)

    @consumes("prosecution.complaint_registered", ProcessedEvent, together=True)
    def on_prosecution_complaint_registered(self, event):
        self._record_prosecution_step(event)

    @consumes("prosecution.step_recorded", ProcessedEvent, together=True)
    def on_prosecution_step_recorded(self, event):
        self._record_prosecution_step(event)

    @rpc
    def totals(self):
        return reports.totals(self.db)
