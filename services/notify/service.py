"""Notify's nameko entrypoints: tell the citizen, once, on every channel they gave, of each step
of their complaint that concerns them (its filing, a question, the answer, its closing, a
transfer, a reopening, a missed deadline)."""
import logging

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select

from services.common.db import Database
from services.common.handlers import consumes
from services.common.outbox import Outbox as OutboxRelay, add_event
from services.notify import domain
from services.notify.administrations import AdministrationNames
from services.notify.models import Base, Delivery, Outbox, ProcessedEvent
from services.notify.providers import Providers
from services.notify.schemas import DeliveryView

log = logging.getLogger(__name__)


class NotifyService:
    name = "notify"

    db = Database(Base.metadata)
    outbox = OutboxRelay(Outbox)
    providers = Providers()
    administration_name = AdministrationNames()

    @consumes("complaint.submitted", ProcessedEvent)
    def on_complaint_submitted(self, event):
        """The tracking number."""
        self._tell(domain.messages_for_submission(event))

    @consumes("complaint.information_requested", ProcessedEvent)
    def on_information_requested(self, event):
        self._tell(domain.messages_for_lifecycle("complaint.information_requested", event))

    @consumes("complaint.answered", ProcessedEvent)
    def on_answered(self, event):
        self._tell(domain.messages_for_lifecycle("complaint.answered", event))

    @consumes("complaint.closed", ProcessedEvent)
    def on_closed(self, event):
        self._tell(domain.messages_for_lifecycle("complaint.closed", event))

    @consumes("complaint.transferred", ProcessedEvent)
    def on_transferred(self, event):
        name = self.administration_name(event["administration_code"], event["citizen"]["language"])
        self._tell(domain.messages_for_lifecycle("complaint.transferred", event, administration=name))

    @consumes("complaint.reopened", ProcessedEvent)
    def on_reopened(self, event):
        self._tell(domain.messages_for_lifecycle("complaint.reopened", event))

    @consumes("complaint.deadline_passed", ProcessedEvent)
    def on_deadline_passed(self, event):
        self._tell(domain.messages_for_lifecycle("complaint.deadline_passed", event))

    def _tell(self, messages):
        """Send the messages of one event to the citizen, each on its channel.

        The queued deliveries commit together with the processed-event row BEFORE any
        provider is called, so a redelivered event finds that row and sends nothing again,
        even if this worker dies while sending (a concurrent duplicate fails on that commit
        and its retry finds the row).  Each delivery then settles in its own commit, with
        its notification.sent event; @consumes relays those events after returning.

        If the process dies between "queued" and "sent", the delivery stays queued: nothing
        resends it, because the provider may already have taken the message and the citizen
        must not get it twice.  `notify.deliveries` and `status = 'queued'` rows older than
        a minute show it to an operator.
        """
        deliveries = [self._queue(message) for message in messages]
        self.db.commit()
        for delivery, message in zip(deliveries, messages):
            self._send(delivery, message)
            self.db.commit()

    def _queue(self, message):
        delivery = Delivery(
            event_id=message.event_id, tracking_number=message.tracking_number,
            channel=message.channel, recipient=message.recipient, template=message.template,
            language=message.language, status="queued",
            provider=self.providers[message.channel].name)
        self.db.add(delivery)
        return delivery

    def _send(self, delivery, message):
        try:
            delivery.provider_id = self.providers[message.channel].send(message)
        except Exception as exc:  # whatever the provider raised, the attempt stays on record
            log.exception("%s for %s failed", message.channel, message.tracking_number)
            delivery.status, delivery.error = "failed", repr(exc)[:1000]
            return
        delivery.status = "sent"
        add_event(self.db, Outbox, "notification.sent", {
            "tracking_number": delivery.tracking_number, "channel": delivery.channel,
            "template": delivery.template, "language": delivery.language,
            "provider": delivery.provider})

    @rpc
    def deliveries(self, tracking_number):
        """The messages sent (or tried) for a complaint, oldest first."""
        rows = self.db.scalars(select(Delivery).where(Delivery.tracking_number == tracking_number)
                               .order_by(Delivery.id))
        return DeliveryView(many=True).dump(rows)

    @timer(interval=1)
    def relay_outbox(self):
        """Catches what the fast path after a commit could not publish."""
        self.outbox.relay_pending()
