"""The public-prosecution channel (رئاسة النيابة العامة): a confidential service with its own
data and staff.  Its nameko entrypoints only validate, call the domain and serialise.

A complaint goes to the prosecution office competent for the place of the facts; only the
staff of that office see it (anyone else gets NotFound, as for a file that does not exist),
each of their views is written to the access log, and a sealed identity shows as a pseudonym
until a chief prosecutor unseals it with a logged reason.  Every fact leaves through the
outbox as `prosecution.complaint_registered` or `prosecution.step_recorded`, carrying the
complainant's contact for the SMS and counts for statistics, nothing more.
"""
from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from services.common.amqp import rpc
from services.common.db import Database, utcnow
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.common.liveness import Liveness
from services.common.logs import LogContext, bind_tracking_number
from services.common.metrics import MetricsServer
from services.common.outbox import Outbox as OutboxRelay, add_event
from services.common.phones import normalize_phone
from services.common.schemas import AttachmentFile, load
from services.prosecution import domain
from services.prosecution.directory import load_shipped
from services.prosecution.models import (AccessLogEntry, Accused, Attachment, Base, Complaint, Court,
                                         Outbox, TimelineEntry)
from services.prosecution.schemas import (ACTION_SCHEMAS, AccessLogView, ActorSchema, ComplaintFiling,
                                          ComplaintSummary, CourtView, DocumentsSchema, InboxFilters, StaffView,
                                          TrackingView, UnsealRequest, identity)

STEP_ERRORS = (ValidationFailed, NotFound, TransitionRefused)


class ShippedCourts(DependencyProvider):
    """Loads the shipped directory of courts (what is missing of it) when the service starts."""

    def start(self):
        database = next(ext for ext in self.container.dependencies if isinstance(ext, Database))
        with database.sessionmaker() as session:
            load_shipped(session)
            session.commit()


def _validated(schema_class, data) -> dict:
    try:
        return load(schema_class, data)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages)


class ProsecutionService:
    name = "prosecution"
    liveness = Liveness()  # LIVENESS_FILE: Kubernetes' probes read it
    metrics = MetricsServer()  # METRICS_PORT: Prometheus scrapes it
    log_context = LogContext(domain.normalize_tracking_code)

    db = Database(Base.metadata)
    outbox = OutboxRelay(Outbox)
    courts = ShippedCourts()

    @rpc
    def health(self):
        return {"service": self.name, "status": "ok"}

    # --- the directory

    @rpc
    def list_offices(self):
        """Every court (so every prosecution office) with the cities a court of first instance serves."""
        rows = self.db.scalars(select(Court).options(selectinload(Court.cities)).order_by(Court.code))
        return CourtView(many=True).dump(rows)

    def _directory(self) -> domain.Directory:
        return domain.Directory(CourtView(many=True).dump(
            self.db.scalars(select(Court).options(selectinload(Court.cities)))))

    # --- filing

    @rpc(expected_exceptions=(ValidationFailed,))
    def file_complaint(self, payload):
        """Commit the complaint, assigned to the competent office, with its event; then its code."""
        data = _validated(ComplaintFiling, payload)
        office = self._directory().competent_office(data["category"], data["facts_city"])
        if office is None:
            raise ValidationFailed({"facts_city": ["invalid_choice"]})
        if data["client_reference"]:
            existing = self._by_reference(data["client_reference"])
            if existing is not None:
                return self._receipt(existing, replayed=True)
        for _attempt in range(3):
            complaint = self._new_complaint(data, office)
            try:
                self.db.commit()
                break
            except IntegrityError:
                # a tracking code collision (2^-50) or the same client_reference sent twice
                self.db.rollback()
                if data["client_reference"]:
                    existing = self._by_reference(data["client_reference"])
                    if existing is not None:
                        return self._receipt(existing, replayed=True)
        else:
            raise RuntimeError("could not allocate a tracking code")
        bind_tracking_number(complaint.tracking_code)
        self.outbox.relay_pending()
        return self._receipt(complaint)

    def _by_reference(self, reference):
        return self.db.scalar(select(Complaint).where(Complaint.client_reference == reference))

    def _new_complaint(self, data, office):
        person = data["complainant"]
        complaint = Complaint(
            tracking_code=domain.new_tracking_code(), client_reference=data["client_reference"],
            office_code=office, category=data["category"], facts_date=data["facts_date"],
            facts_city=data["facts_city"], facts_place=data["facts_place"], account=data["account"],
            language=data["language"], status=domain.RECEIVED, submitted_at=utcnow(),
            complainant_status=person["status"], complainant_id_type=person["id_type"],
            complainant_id_number=person["id_number"], complainant_first_name=person["first_name"],
            complainant_last_name=person["last_name"], complainant_birth_date=person["birth_date"],
            complainant_nationality=person["nationality"], complainant_address=person["address"],
            complainant_country=person["country"], complainant_phone=person["phone"],
            complainant_email=person["email"], identity_sealed=data["identity_sealed"],
            pseudonym=domain.new_pseudonym() if data["identity_sealed"] else None)
        complaint.updated_at = complaint.submitted_at
        complaint.accused = [Accused(position=position, **accused)
                             for position, accused in enumerate(data["accused"])]
        complaint.attachments = [Attachment(added_at=complaint.submitted_at, **attachment)
                                 for attachment in data["attachments"]]
        complaint.timeline = [TimelineEntry(at=complaint.submitted_at, step="received", status=domain.RECEIVED,
                                            detail={"office_code": office})]
        self.db.add(complaint)
        self.db.flush()
        add_event(self.db, Outbox, "prosecution.complaint_registered", {
            **self._facts(complaint, "received", complaint.submitted_at),
            "submitted_at": complaint.submitted_at.isoformat()})
        return complaint

    @staticmethod
    def _facts(complaint, step, at) -> dict:
        """What every event of the channel carries: the contact for the SMS, counts for stats."""
        return {"tracking_code": complaint.tracking_code, "office_code": complaint.office_code,
                "category": complaint.category, "month": domain.month_of(at), "step": step,
                "status": complaint.status,
                "citizen": {"language": complaint.language, "phone": complaint.complainant_phone,
                            "email": complaint.complainant_email}}

    @staticmethod
    def _receipt(complaint, replayed=False):
        """`replayed`: this client_reference was filed before; nothing new was stored."""
        return {"tracking_code": complaint.tracking_code, "status": complaint.status,
                "office_code": complaint.office_code, "submitted_at": complaint.submitted_at.isoformat(),
                "replayed": replayed}

    # --- finding a complaint

    def _find(self, tracking_code, lock=False, full=False):
        canonical = domain.normalize_tracking_code(tracking_code)
        if canonical is None:
            return None
        query = select(Complaint).where(Complaint.tracking_code == canonical)
        if lock:
            query = query.with_for_update()  # two clerks acting at once take turns
        if full:
            query = query.options(selectinload(Complaint.accused), selectinload(Complaint.attachments),
                                  selectinload(Complaint.timeline)).execution_options(populate_existing=True)
        return self.db.scalar(query)

    def _complainants(self, tracking_code, phone, lock=False, full=False):
        """The complaint if `phone` is the one given at filing; one NotFound for a wrong code or phone."""
        complaint = self._find(tracking_code, lock=lock, full=full)
        typed = normalize_phone(phone or "")
        if complaint is None or typed is None or typed != complaint.complainant_phone:
            raise NotFound()
        return complaint

    def _offices(self, actor, tracking_code, lock=False, full=False):
        """The complaint if the actor's office has it; otherwise NotFound, as if it did not exist."""
        complaint = self._find(tracking_code, lock=lock, full=full)
        if complaint is None or not domain.in_scope(actor, complaint.office_code):
            raise NotFound()
        return complaint

    # --- the complainant

    def _tracking_view(self, complaint):
        return {**TrackingView().dump(complaint), "can_add_documents": domain.is_open(complaint)}

    @rpc(expected_exceptions=(NotFound,))
    def track(self, tracking_code, phone):
        """Where the complaint stands and its dated steps, for whoever has its code and phone."""
        return self._tracking_view(self._complainants(tracking_code, phone, full=True))

    @rpc(expected_exceptions=STEP_ERRORS)
    def add_documents(self, tracking_code, phone, attachments):
        """More evidence while the file is open; it answers a request for information."""
        data = _validated(DocumentsSchema, {"attachments": attachments})
        complaint = self._complainants(tracking_code, phone, lock=True)
        now = utcnow()
        detail = domain.add_documents(complaint, now)
        for attachment in data["attachments"]:
            self.db.add(Attachment(complaint_id=complaint.id, added_at=now, **attachment))
        self.db.add(TimelineEntry(complaint_id=complaint.id, at=now, step="documents_added",
                                  status=complaint.status,
                                  detail={**detail, "documents": len(data["attachments"])}))
        self.db.commit()
        return self._tracking_view(self._find(complaint.tracking_code, full=True))

    # --- the office

    @rpc(expected_exceptions=(ValidationFailed,))
    def office_inbox(self, actor, filters=None):
        """The office's complaints, the oldest change first (what waits longest comes first)."""
        actor = _validated(ActorSchema, actor)
        filters = _validated(InboxFilters, filters)
        query = select(Complaint).where(Complaint.office_code == actor["office_code"])
        if filters["status"]:
            query = query.where(Complaint.status == filters["status"])
        if filters["category"]:
            query = query.where(Complaint.category == filters["category"])
        rows = self.db.scalars(query.order_by(Complaint.updated_at, Complaint.id))
        return ComplaintSummary(many=True).dump(rows)

    def _log_access(self, actor, complaint, action, reason=None):
        self.db.add(AccessLogEntry(at=utcnow(), actor_id=actor["id"], actor_name=actor["name"],
                                   actor_role=actor["role"], tracking_code=complaint.tracking_code,
                                   action=action, reason=reason))

    def _staff_view(self, complaint):
        person = {"sealed": True, "pseudonym": complaint.pseudonym} if complaint.identity_sealed \
            else {"sealed": False, **identity(complaint)}
        return {**StaffView().dump(complaint), "complainant": person,
                "actions": domain.allowed_actions(complaint)}

    @rpc(expected_exceptions=STEP_ERRORS)
    def office_view(self, actor, tracking_code):
        """The whole file for its office's staff (a sealed identity stays sealed); the view is logged."""
        actor = _validated(ActorSchema, actor)
        complaint = self._offices(actor, tracking_code, full=True)
        self._log_access(actor, complaint, "view")
        self.db.commit()
        return self._staff_view(complaint)

    @rpc(expected_exceptions=STEP_ERRORS)
    def act(self, actor, tracking_code, action, data=None):
        """One of domain.ACTIONS on the file, a step in its timeline and an event (an SMS to the
        complainant); answers the file's inbox row."""
        actor = _validated(ActorSchema, actor)
        if action not in domain.ACTIONS:
            raise ValidationFailed({"action": ["invalid_choice"]})
        values = _validated(ACTION_SCHEMAS[action], data)
        if action == "forward" and self.db.get(Court, values["to_office_code"]) is None:
            raise ValidationFailed({"to_office_code": ["invalid_choice"]})
        complaint = self._offices(actor, tracking_code, lock=True)
        now = utcnow()
        detail = domain.act(complaint, action, values, now)
        step = domain.ACTIONS[action].step
        self.db.add(TimelineEntry(complaint_id=complaint.id, at=now, step=step, status=complaint.status,
                                  detail=detail, actor_name=actor["name"]))
        add_event(self.db, Outbox, "prosecution.step_recorded", {
            **self._facts(complaint, step, now),
            "register_number": detail.get("register_number"), "reason": detail.get("reason"),
            "from_office_code": detail.get("from_office_code"), "to_office_code": detail.get("to_office_code")})
        self.db.commit()
        self.outbox.relay_pending()
        return ComplaintSummary().dump(complaint)

    @rpc(expected_exceptions=STEP_ERRORS)
    def office_attachment(self, actor, tracking_code, attachment_id):
        """{blob_key, filename, content_type, size} of one of the file's documents; logged."""
        actor = _validated(ActorSchema, actor)
        complaint = self._offices(actor, tracking_code)
        try:
            attachment_id = int(attachment_id)
        except (TypeError, ValueError):
            raise NotFound()
        attachment = self.db.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                             Attachment.complaint_id == complaint.id))
        if attachment is None:
            raise NotFound()
        self._log_access(actor, complaint, "attachment")
        self.db.commit()
        return AttachmentFile().dump(attachment)

    @rpc(expected_exceptions=STEP_ERRORS)
    def access_log(self, actor, tracking_code):
        """Who opened the file and why, newest first: for the chief prosecutor of its office."""
        actor = _validated(ActorSchema, actor)
        if actor["role"] not in domain.ACCESS_LOG_READERS:
            raise NotFound()
        complaint = self._offices(actor, tracking_code)
        entries = self.db.scalars(select(AccessLogEntry).where(
            AccessLogEntry.tracking_code == complaint.tracking_code).order_by(AccessLogEntry.id.desc()))
        return AccessLogView(many=True).dump(entries)

    @rpc(expected_exceptions=STEP_ERRORS)
    def unseal_identity(self, actor, tracking_code, reason):
        """A sealed complainant's identity, for a chief prosecutor who says why; logged with the reason.
        The file stays sealed for everyone else."""
        actor = _validated(ActorSchema, actor)
        if actor["role"] not in domain.UNSEALERS:
            raise NotFound()
        complaint = self._offices(actor, tracking_code)
        # only once the file is the actor's: a refused reason must not tell that it exists
        data = _validated(UnsealRequest, {"reason": reason})
        if not complaint.identity_sealed:
            raise TransitionRefused("not_sealed")
        self._log_access(actor, complaint, "unseal", data["reason"])
        self.db.commit()
        return identity(complaint)

    @timer(interval=1)
    def relay_outbox(self):
        """Catches what the fast path after a commit could not publish."""
        self.outbox.relay_pending()
