"""Intake's nameko entrypoints: validate, call the domain, serialise."""
from marshmallow import ValidationError
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.db import Database
from services.common.errors import NotFound, ValidationFailed
from services.common.handlers import consumes
from services.common.outbox import Outbox as OutboxRelay, add_event
from services.intake import domain
from services.intake.models import (Attachment, Base, Complaint, Outbox, ProcessedEvent,
                                    TimelineEntry)
from services.intake.schemas import TrackingView, load_submission


class IntakeService:
    name = "intake"

    db = Database(Base.metadata)
    outbox = OutboxRelay(Outbox)

    @rpc(expected_exceptions=(ValidationFailed,))
    def submit(self, payload):
        """Commit the complaint and its `complaint.submitted` event together, then give its number."""
        try:
            data = load_submission(payload)
        except ValidationError as exc:
            raise ValidationFailed(exc.messages)
        if data["client_reference"]:
            existing = self.db.scalar(select(Complaint).where(
                Complaint.client_reference == data["client_reference"]))
            if existing is not None:
                return self._receipt(existing, replayed=True)
        for _attempt in range(3):
            complaint = self._new_complaint(data)
            try:
                self.db.commit()
                break
            except IntegrityError:
                # a tracking number collision (2^-60) or the same client_reference sent twice
                self.db.rollback()
                if data["client_reference"]:
                    existing = self.db.scalar(select(Complaint).where(
                        Complaint.client_reference == data["client_reference"]))
                    if existing is not None:
                        return self._receipt(existing, replayed=True)
        else:
            raise RuntimeError("could not allocate a tracking number")
        self.outbox.relay_pending()
        return self._receipt(complaint)

    def _new_complaint(self, data):
        person = data["complainant"]
        complaint = Complaint(
            tracking_number=domain.new_tracking_number(), client_reference=data["client_reference"],
            type=data["type"], administration_code=data["administration_code"],
            subject=data["subject"], description=data["description"], region=data["region"],
            language=data["language"], complainant_full_name=person["full_name"],
            complainant_status=person["status"], complainant_id_type=person["id_type"],
            complainant_id_number=person["id_number"], complainant_email=person["email"],
            complainant_phone=person["phone"], status="submitted")
        complaint.attachments = [Attachment(**attachment) for attachment in data["attachments"]]
        complaint.timeline = [TimelineEntry(status="submitted", at=complaint.submitted_at)]
        self.db.add(complaint)
        self.db.flush()
        add_event(self.db, Outbox, "complaint.submitted", {
            "tracking_number": complaint.tracking_number,
            "type": complaint.type,
            "administration_code": complaint.administration_code,
            "subject": complaint.subject,
            "description": complaint.description,
            "region": complaint.region,
            "language": complaint.language,
            "complainant": person,
            "attachments": data["attachments"],
            "submitted_at": complaint.submitted_at.isoformat(),
        })
        return complaint

    @staticmethod
    def _receipt(complaint, replayed=False):
        """`replayed`: this client_reference was filed before; nothing new was stored."""
        return {"tracking_number": complaint.tracking_number, "status": complaint.status,
                "administration_code": complaint.administration_code,
                "submitted_at": complaint.submitted_at.isoformat(), "replayed": replayed}

    @rpc(expected_exceptions=(NotFound,))
    def track(self, tracking_number, contact):
        """The complaint's status and timeline, for whoever knows its number and contact."""
        canonical = domain.normalize_tracking_number(tracking_number)
        complaint = canonical and self.db.scalar(
            select(Complaint).where(Complaint.tracking_number == canonical))
        if not complaint or not domain.contact_matches(
                complaint.complainant_email, complaint.complainant_phone, contact):
            raise NotFound()  # one answer for "no such number" and "wrong contact"
        return TrackingView().dump(complaint)

    def _complaint(self, tracking_number):
        return self.db.scalar(select(Complaint).where(Complaint.tracking_number == tracking_number))

    def _move_to(self, complaint, status, at, **detail):
        if domain.advances(complaint.status, status):
            complaint.status = status
        self._add_to_timeline(complaint, status=status, at=at, detail=detail)

    def _add_to_timeline(self, complaint, **entry):
        # added by id rather than through complaint.timeline, which would load the whole list
        self.db.add(TimelineEntry(complaint_id=complaint.id, **entry))

    @consumes("complaint.routed", ProcessedEvent)
    def on_routed(self, event):
        complaint = self._complaint(event["tracking_number"])
        complaint.administration_code = event["administration_code"]
        self._move_to(complaint, "triage" if event["triage"] else "routed", event["occurred_at"],
                      administration_code=event["administration_code"])

    @consumes("complaint.delivered", ProcessedEvent)
    def on_delivered(self, event):
        complaint = self._complaint(event["tracking_number"])
        self._move_to(complaint, "received", event["occurred_at"],
                      administration_code=event["administration_code"])

    @consumes("notification.sent", ProcessedEvent)
    def on_notification_sent(self, event):
        complaint = self._complaint(event["tracking_number"])
        self._add_to_timeline(complaint, event="notification_sent", at=event["occurred_at"],
                              detail={"channel": event["channel"], "template": event["template"]})

    @timer(interval=1)
    def relay_outbox(self):
        """Catches what the fast path after a commit could not publish."""
        self.outbox.relay_pending()
