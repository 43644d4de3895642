"""Notify's nameko entrypoints: tell the citizen, once, on every channel they gave, of each step
of their complaint that concerns them (its filing, its receipt by the administration, a
question, the answer, its closing, a transfer, a reopening, a missed deadline) and of each step
of a prosecution complaint; tell the administration before its deadline and its supervisor
after it; retry what a provider could not take yet."""
import logging
import time
from datetime import timedelta

from nameko.timer import timer
from sqlalchemy import select, update

from services.common.amqp import rpc
from services.common.db import Database, utcnow
from services.common.handlers import consumes
from services.common.liveness import Liveness
from services.common.logs import LogContext, redact
from services.common.metrics import MetricsServer
from services.common.outbox import Outbox as OutboxRelay, add_event
from services.notify import domain
from services.notify.administrations import AdministrationDirectory
from services.notify.metrics import NOTIFICATIONS, PROVIDER_SECONDS
from services.notify.models import Base, Delivery, Outbox, ProcessedEvent
from services.notify.providers import PermanentFailure, Providers, TemporaryFailure
from services.notify.schemas import DeliveryView
from services.notify.settings import RetrySettings

log = logging.getLogger(__name__)


class NotifyService:
    name = "notify"
    liveness = Liveness()  # LIVENESS_FILE: Kubernetes' probes read it

    db = Database(Base.metadata)
    outbox = OutboxRelay(Outbox)
    providers = Providers()
    directory = AdministrationDirectory()
    retry = RetrySettings()
    metrics = MetricsServer()  # METRICS_PORT: Prometheus scrapes it
    log_context = LogContext()

    @consumes("complaint.submitted", ProcessedEvent)
    def on_complaint_submitted(self, event):
        """The tracking number."""
        self._tell(domain.messages_for_submission(event))

    @consumes("complaint.acknowledged", ProcessedEvent)
    def on_acknowledged(self, event):
        """The administration received it and started processing."""
        self._tell(domain.messages_for_lifecycle("complaint.acknowledged", event))

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
        name = self.directory.name(event["administration_code"], event["citizen"]["language"])
        self._tell(domain.messages_for_lifecycle("complaint.transferred", event, administration=name))

    @consumes("complaint.reopened", ProcessedEvent)
    def on_reopened(self, event):
        self._tell(domain.messages_for_lifecycle("complaint.reopened", event))

    @consumes("complaint.deadline_passed", ProcessedEvent)
    def on_deadline_passed(self, event):
        self._tell(domain.messages_for_lifecycle("complaint.deadline_passed", event))

    @consumes("prosecution.complaint_registered", ProcessedEvent)
    def on_prosecution_complaint_registered(self, event):
        """The prosecution complaint's tracking code."""
        self._tell(domain.messages_for_prosecution("prosecution.complaint_registered", event))

    @consumes("prosecution.step_recorded", ProcessedEvent)
    def on_prosecution_step_recorded(self, event):
        self._tell(domain.messages_for_prosecution("prosecution.step_recorded", event))

    # The administration's messages have handlers of their own, so that routing not answering
    # (which retries them) never holds back the citizen's message about the same event.

    @consumes("complaint.deadline_approaching", ProcessedEvent)
    def remind_administration(self, event):
        """The reminder to the administration's complaints desk; the citizen is not written to."""
        self._tell(self._for_administration("complaint.deadline_approaching", event))

    @consumes("complaint.deadline_passed", ProcessedEvent)
    def tell_supervisor(self, event):
        self._tell(self._for_administration("complaint.deadline_passed", event))

    def _for_administration(self, event_name, event):
        """The administration's e-mail about `event`, if the directory has an address for it.
        Routing not answering raises DirectoryUnavailable: the event is retried, not dropped."""
        code = event["administration_code"]
        contacts = self.directory.contacts(code)
        message = None
        if contacts:
            name = self.directory.name(code, contacts["contact_language"]) or code
            message = domain.message_for_administration(event_name, event, contacts, name)
        if message is None:
            log.warning("%s: the directory has no address for %s; no e-mail about %s",
                        event_name, code, event["tracking_number"])
            return []
        return [message]

    def _tell(self, messages):
        """Send the messages of one event, each on its channel.

        The queued deliveries, each with its first attempt begun, commit together with the
        processed-event row BEFORE any provider is called, so a redelivered event finds that
        row and sends nothing again (a concurrent duplicate waits on that row until the commit,
        then finds it: services/common/handlers.py).  Each attempt then settles in its own
        commit, with its notification.sent event; @consumes relays those events after
        returning.  If this worker dies before an attempt settles, the attempt's lease runs out
        and retry_due_deliveries takes it over.
        """
        deliveries = [self._queue(message) for message in messages]
        self.db.commit()
        for delivery in deliveries:
            self._attempt(delivery)
            self.db.commit()

    def _queue(self, message):
        delivery = Delivery(
            event_id=message.event_id, tracking_number=message.tracking_number,
            channel=message.channel, recipient=message.recipient, template=message.template,
            language=message.language, status="queued", attempts=1, next_attempt_at=self._lease_end(),
            provider=self.providers[message.channel].name,
            subject=message.subject, body=message.body, html=message.html)
        self.db.add(delivery)
        return delivery

    def _lease_end(self):
        """Until when an attempt begun now holds its delivery: `next_attempt_at` while it runs."""
        return utcnow() + timedelta(seconds=self.retry.lease)

    def _attempt(self, delivery):
        """Attempt number `delivery.attempts`, already begun on record (with a lease as its
        next_attempt_at): hand the delivery to its provider, and record what came of it.

        An earlier attempt may have reached the provider without its answer being recorded:
        its process died during the call, or the provider answered too late.  So before sending
        again, the provider is asked whether it already has the message (README, "Faults").
        """
        client = self.providers[delivery.channel]
        message = domain.Message(
            channel=delivery.channel, recipient=delivery.recipient, template=delivery.template,
            language=delivery.language, tracking_number=delivery.tracking_number,
            event_id=delivery.event_id, body=delivery.body, subject=delivery.subject, html=delivery.html)
        started = time.monotonic()
        try:
            taken = client.find(message, since=delivery.created_at) if delivery.attempts > 1 else None
            if taken:
                log.info("%s for %s: the provider already had it from an earlier attempt",
                         delivery.channel, delivery.tracking_number)
            delivery.provider_id = taken or client.send(message)
        except PermanentFailure as exc:
            self._fail(delivery, f"refused: {exc}")
        except Exception as exc:  # TemporaryFailure, or anything unforeseen: try again later
            if not isinstance(exc, TemporaryFailure):
                log.exception("%s for %s: unexpected failure", delivery.channel, delivery.tracking_number)
            self._retry_later(delivery, exc)
        else:
            delivery.status, delivery.error, delivery.next_attempt_at = "sent", None, None
            NOTIFICATIONS.labels(delivery.channel, delivery.provider, "sent").inc()
            add_event(self.db, Outbox, "notification.sent", {
                "tracking_number": delivery.tracking_number, "channel": delivery.channel,
                "template": delivery.template, "language": delivery.language,
                "provider": delivery.provider})
        finally:
            PROVIDER_SECONDS.labels(delivery.channel, delivery.provider).observe(time.monotonic() - started)

    def _retry_later(self, delivery, exc):
        reason = str(exc) or repr(exc)
        now = utcnow()
        if now - delivery.created_at >= timedelta(seconds=self.retry.give_up_after):
            self._fail(delivery, f"gave up after {delivery.attempts} attempts: {reason}")
            return
        delivery.error = redact(reason)[:1000]  # kept in clear for operators: no address in it
        delivery.next_attempt_at = now + timedelta(seconds=self.retry.delay(delivery.attempts))
        NOTIFICATIONS.labels(delivery.channel, delivery.provider, "retried").inc()
        # a provider's reason may name the recipient ("the 'To' number +212... is not valid")
        log.warning("%s for %s: attempt %d failed (%s); next at %s", delivery.channel,
                    delivery.tracking_number, delivery.attempts, redact(reason), delivery.next_attempt_at)

    @staticmethod
    def _fail(delivery, reason):
        delivery.status, delivery.error, delivery.next_attempt_at = "failed", redact(reason)[:1000], None
        NOTIFICATIONS.labels(delivery.channel, delivery.provider, "failed").inc()
        log.warning("%s for %s failed: %s", delivery.channel, delivery.tracking_number, redact(reason))

    @timer(interval=1)
    def retry_due_deliveries(self):
        """Try again the deliveries whose next attempt is due, oldest first: those a provider
        could not take yet, and those whose attempt's lease ran out (its process died).

        Each is claimed by beginning its next attempt, with a new lease, where its
        next_attempt_at still has the value read, so that of several notify processes only
        one sends it.
        """
        due = self.db.execute(
            select(Delivery.id, Delivery.next_attempt_at)
            .where(Delivery.status == "queued", Delivery.next_attempt_at <= utcnow())
            .order_by(Delivery.next_attempt_at).limit(self.retry.batch)).all()
        self.db.commit()
        for delivery_id, due_at in due:
            claimed = self.db.execute(
                update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "queued",
                                       Delivery.next_attempt_at == due_at)
                .values(next_attempt_at=self._lease_end(), attempts=Delivery.attempts + 1))
            self.db.commit()
            if claimed.rowcount != 1:
                continue
            self._attempt(self.db.get(Delivery, delivery_id))
            self.db.commit()
        if due:
            self.outbox.relay_pending()

    @rpc
    def provider_status(self, provider, provider_id, status, error=None):
        """A provider's report on a message it took (Twilio's status callback, through the
        gateway): delivered, or undelivered/failed with its error code.  Other statuses
        (queued, sending, sent) say nothing new.  False when no delivery has that id."""
        delivery = self.db.scalars(select(Delivery).where(
            Delivery.provider == provider, Delivery.provider_id == provider_id)).first()
        if delivery is None:
            return False
        if status == "delivered" and delivery.status == "sent":
            delivery.status = "delivered"
            NOTIFICATIONS.labels(delivery.channel, provider, "delivered").inc()
        elif status in ("undelivered", "failed") and delivery.status in ("sent", "delivered"):
            self._fail(delivery, f"{provider} reports {status}" + (f" (error {error})" if error else ""))
        self.db.commit()
        return True

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
