"""Stats' nameko entrypoints: count complaints from the events, answer with the totals."""
from nameko.rpc import rpc
from sqlalchemy.dialects import postgresql, sqlite

from services.common.db import Database
from services.common.handlers import consumes
from services.common.liveness import Liveness
from services.stats import domain, reports
from services.stats.models import Base, ComplaintFact, ProcessedEvent

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class StatsService:
    name = "stats"
    liveness = Liveness()  # LIVENESS_FILE: Kubernetes' probes read it

    db = Database(Base.metadata)

    def _fact(self, tracking_number):
        """The complaint's facts, created by whichever of its events comes first, and locked
        so two events of one complaint handled at once apply one after the other."""
        insert = _INSERT[self.db.bind.dialect.name]
        self.db.execute(insert(ComplaintFact)
                        .values(tracking_number=tracking_number)
                        .on_conflict_do_nothing(index_elements=["tracking_number"]))
        return self.db.get(ComplaintFact, tracking_number, with_for_update=True)

    @consumes("complaint.submitted", ProcessedEvent)
    def on_submitted(self, event):
        domain.record_submitted(self._fact(event["tracking_number"]), event)

    @consumes("complaint.routed", ProcessedEvent)
    def on_routed(self, event):
        domain.record_routed(self._fact(event["tracking_number"]), event)

    @consumes("complaint.delivered", ProcessedEvent)
    def on_delivered(self, event):
        domain.record_delivered(self._fact(event["tracking_number"]), event)

    # every lifecycle event has this consumer at least, so none waits unrouted in intake's outbox

    @consumes("complaint.acknowledged", ProcessedEvent)
    def on_acknowledged(self, event):
        domain.record_step(self._fact(event["tracking_number"]), event)

    @consumes("complaint.information_requested", ProcessedEvent)
    def on_information_requested(self, event):
        domain.record_step(self._fact(event["tracking_number"]), event)

    @consumes("complaint.citizen_replied", ProcessedEvent)
    def on_citizen_replied(self, event):
        domain.record_step(self._fact(event["tracking_number"]), event)

    @consumes("complaint.answered", ProcessedEvent)
    def on_answered(self, event):
        domain.record_answered(self._fact(event["tracking_number"]), event)

    @consumes("complaint.closed", ProcessedEvent)
    def on_closed(self, event):
        domain.record_closed(self._fact(event["tracking_number"]), event)

    @consumes("complaint.transferred", ProcessedEvent)
    def on_transferred(self, event):
        domain.record_transferred(self._fact(event["tracking_number"]), event)

    @consumes("complaint.rated", ProcessedEvent)
    def on_rated(self, event):
        domain.record_rated(self._fact(event["tracking_number"]), event)

    @consumes("complaint.reopened", ProcessedEvent)
    def on_reopened(self, event):
        domain.record_reopened(self._fact(event["tracking_number"]), event)

    @consumes("complaint.deadline_approaching", ProcessedEvent)
    def on_deadline_approaching(self, event):
        domain.record_step(self._fact(event["tracking_number"]), event)

    @consumes("complaint.deadline_passed", ProcessedEvent)
    def on_deadline_passed(self, event):
        domain.record_deadline_passed(self._fact(event["tracking_number"]), event)

    @rpc
    def totals(self):
        return reports.totals(self.db)
