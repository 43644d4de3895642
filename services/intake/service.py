"""Intake's nameko entrypoints: validate, call the domain, serialise."""
import os

from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from nameko.timer import Timer, timer
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only, selectinload

from services.common.amqp import rpc
from services.common.db import Database, utcnow
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.common.handlers import consumes
from services.common.liveness import Liveness
from services.common.logs import LogContext, bind_tracking_number
from services.common.metrics import MetricsServer, inc_after_commit
from services.common.outbox import Outbox as OutboxRelay, add_event
from services.common.schemas import AttachmentFile, AttachmentSchema, load
from services.intake import domain
from services.intake.metrics import COMPLAINTS_ANSWERED, COMPLAINTS_FILED, COMPLAINTS_OVERDUE
from services.intake.models import (AccessLogEntry, Attachment, Base, Complaint, Message, Note,
                                    Outbox, ProcessedEvent, TimelineEntry)
from services.intake.schemas import (AccessLogView, ActorSchema, AgentView, AnswerSchema, AttachmentReceipt,
                                     CitizenMessage, CloseSchema, ComplaintSummary, InboxFilters,
                                     InformationRequest, NoteSchema, PublicRequestFilters,
                                     PublicRequestView, RatingSchema, ReopenSchema, TrackingView,
                                     TransferSchema, load_submission)

STEP_ERRORS = (ValidationFailed, NotFound, TransitionRefused)
DEADLINE_BATCH = 500


def setting(container_config: dict, name: str):
    """A setting from the nameko container config first, then the environment."""
    value = container_config.get(name)
    return value if value is not None else os.environ.get(name)


class LifecycleSettings(DependencyProvider):
    """The deadline and reopening settings (domain.Settings), read once when the service starts."""

    def setup(self):
        self.settings = domain.Settings.read(lambda name: setting(self.container.config, name))

    def get_dependency(self, worker_ctx):
        return self.settings


class DeadlineTimer(Timer):
    """Ticks every DEADLINE_CHECK_SECONDS (container config, then environment) or `interval`."""

    def setup(self):
        configured = setting(self.container.config, "DEADLINE_CHECK_SECONDS")
        if configured not in (None, ""):
            self.interval = float(configured)


def _validated(schema_class, data) -> dict:
    try:
        return load(schema_class, data)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages)


def _iso(moment):
    return moment.isoformat() if moment is not None else None


class IntakeService:
    name = "intake"
    liveness = Liveness()  # LIVENESS_FILE: Kubernetes' probes read it
    metrics = MetricsServer()  # METRICS_PORT: Prometheus scrapes it
    log_context = LogContext(domain.normalize_tracking_number)

    db = Database(Base.metadata)
    outbox = OutboxRelay(Outbox)
    settings = LifecycleSettings()

    # --- filing

    @rpc(expected_exceptions=(ValidationFailed,))
    def submit(self, payload):
        """Commit the complaint and its `complaint.submitted` event together, then give its number."""
        try:
            data = load_submission(payload)
        except ValidationError as exc:
            raise ValidationFailed(exc.messages)
        # a client_reference filed before is recognised by its unique constraint, so a new
        # filing (nearly all of them) costs no extra query
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
        COMPLAINTS_FILED.labels(complaint.type).inc()
        bind_tracking_number(complaint.tracking_number)
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
            complainant_phone=person["phone"], status="submitted", submitted_at=utcnow())
        complaint.attachments = [Attachment(**attachment) for attachment in data["attachments"]]
        complaint.timeline = [TimelineEntry(status="submitted", at=complaint.submitted_at)]
        # written with its event in one flush, at the commit (where a collision is caught)
        self.db.add(complaint)
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

    # --- loading and showing a complaint

    def _find(self, tracking_number, lock=False, full=False):
        canonical = domain.normalize_tracking_number(tracking_number)
        if canonical is None:
            return None
        query = select(Complaint).where(Complaint.tracking_number == canonical)
        if lock:
            query = query.with_for_update()  # two agents acting at once take turns
        if full:
            query = query.options(
                selectinload(Complaint.attachments), selectinload(Complaint.timeline),
                selectinload(Complaint.messages).selectinload(Message.attachments),
                selectinload(Complaint.notes)).execution_options(populate_existing=True)
        return self.db.scalar(query)

    def _citizens_complaint(self, tracking_number, contact, lock=False, full=False):
        complaint = self._find(tracking_number, lock=lock, full=full)
        if not complaint or not domain.contact_matches(
                complaint.complainant_email, complaint.complainant_phone, contact):
            raise NotFound()  # one answer for "no such number" and "wrong contact"
        return complaint

    def _agents_complaint(self, actor, tracking_number, lock=False, full=False):
        """The complaint if the actor may see it; otherwise NotFound, as if it did not exist."""
        complaint = self._find(tracking_number, lock=lock, full=full)
        if not complaint or not domain.in_scope(actor, complaint.administration_code):
            raise NotFound()
        return complaint

    def _clock(self, complaint, now):
        return {"deadline_at": _iso(domain.current_deadline(complaint, now)),
                "days_left": domain.days_left(complaint, now),
                "overdue": domain.is_overdue(complaint, now),
                "paused": complaint.paused_at is not None}

    def _summary(self, complaint, now):
        return {**ComplaintSummary().dump(complaint), **self._clock(complaint, now)}

    def _answer_and_rating(self, complaint):
        answer = None
        if complaint.answered_at is not None:
            message = next((m for m in reversed(complaint.messages) if m.kind == "answer"), None)
            answer = {"text": complaint.answer_text, "at": _iso(complaint.answered_at),
                      "attachments": AttachmentReceipt(many=True).dump(message.attachments)
                      if message else []}
        rating = None
        if complaint.rating_score is not None:
            rating = {"score": complaint.rating_score, "comment": complaint.rating_comment}
        return {"answer": answer, "rating": rating}

    def _tracking_view(self, complaint, now):
        return {**TrackingView().dump(complaint), **self._clock(complaint, now),
                **self._answer_and_rating(complaint),
                **domain.citizen_options(complaint, now, self.settings)}

    def _agent_view(self, complaint, now):
        return {**AgentView().dump(complaint), **self._clock(complaint, now),
                **self._answer_and_rating(complaint),
                "actions": domain.allowed_agent_actions(complaint)}

    # --- what changes, and tells others

    def _add_to_timeline(self, complaint, **entry):
        # added by id rather than through complaint.timeline, which would load the whole list
        self.db.add(TimelineEntry(complaint_id=complaint.id, **entry))

    def _add_message(self, complaint, at, author, kind, text, attachments=(), author_name=None):
        message = Message(complaint_id=complaint.id, at=at, author=author, author_name=author_name,
                          kind=kind, text=text)
        message.attachments = [Attachment(complaint_id=complaint.id, **attachment)
                               for attachment in attachments]
        self.db.add(message)
        return message

    @staticmethod
    def _snapshot(complaint):
        """What an administration's consumer needs to receive the complaint again."""
        return {
            "type": complaint.type, "subject": complaint.subject,
            "description": complaint.description, "region": complaint.region,
            "language": complaint.language,
            "complainant": {"full_name": complaint.complainant_full_name,
                            "status": complaint.complainant_status,
                            "id_type": complaint.complainant_id_type,
                            "id_number": complaint.complainant_id_number,
                            "email": complaint.complainant_email, "phone": complaint.complainant_phone},
            "attachments": [AttachmentSchema().dump(attachment) for attachment in complaint.attachments],
            "submitted_at": complaint.submitted_at.isoformat(),
        }

    def _stage(self, name, about, actor_kind, **data):
        """Stage a lifecycle event about complaint `about` in this transaction; it is published
        after the commit."""
        add_event(self.db, Outbox, name, {
            "tracking_number": about.tracking_number,
            "administration_code": about.administration_code,
            "type": about.type, "region": about.region, "status": about.status,
            "actor": actor_kind,
            "citizen": {"language": about.language, "email": about.complainant_email,
                        "phone": about.complainant_phone},
            **data})

    def _commit(self):
        self.db.commit()
        self.outbox.relay_pending()

    def _log_access(self, actor, complaint, action, at):
        self.db.add(AccessLogEntry(at=at, actor_id=actor["id"], actor_name=actor["name"],
                                   actor_role=actor["role"], tracking_number=complaint.tracking_number,
                                   action=action))

    # --- the citizen

    @rpc(expected_exceptions=(NotFound,))
    def track(self, tracking_number, contact):
        """The complaint's status, clock, messages and timeline, for whoever knows its number and contact."""
        complaint = self._citizens_complaint(tracking_number, contact, full=True)
        return self._tracking_view(complaint, utcnow())

    def _citizen_step(self, tracking_number, contact, step):
        """Run `step(complaint, now)` on the locked complaint, commit, and show the new state."""
        complaint = self._citizens_complaint(tracking_number, contact, lock=True)
        now = utcnow()
        step(complaint, now)
        self._commit()
        return self._tracking_view(self._find(complaint.tracking_number, full=True), now)

    @rpc(expected_exceptions=STEP_ERRORS)
    def add_message(self, tracking_number, contact, text, attachments):
        """A message and/or documents; it ends a request for information (the clock resumes)."""
        self._citizens_complaint(tracking_number, contact)  # a refused body must not tell it exists
        data = _validated(CitizenMessage, {"text": text, "attachments": attachments})

        def step(complaint, now):
            resumed = domain.add_message(complaint, now)
            self._add_message(complaint, now, "citizen", "message", data["text"], data["attachments"])
            self._add_to_timeline(complaint, at=now, event="citizen_message",
                                  status="in_progress" if resumed else None,
                                  detail={"attachments": len(data["attachments"])})
            self._stage("complaint.citizen_replied", complaint, "citizen",
                        attachments_added=len(data["attachments"]))
        return self._citizen_step(tracking_number, contact, step)

    @rpc(expected_exceptions=STEP_ERRORS)
    def rate(self, tracking_number, contact, score, comment=None):
        self._citizens_complaint(tracking_number, contact)  # a refused body must not tell it exists
        data = _validated(RatingSchema, {"score": score, "comment": comment})

        def step(complaint, now):
            domain.rate(complaint, data["score"], data["comment"])
            self._add_to_timeline(complaint, at=now, event="rated", detail={"score": data["score"]})
            self._stage("complaint.rated", complaint, "citizen", score=data["score"])
        return self._citizen_step(tracking_number, contact, step)

    @rpc(expected_exceptions=STEP_ERRORS)
    def confirm(self, tracking_number, contact):
        """The citizen is satisfied with the answer: closed."""
        def step(complaint, now):
            domain.confirm(complaint, now)
            self._closed(complaint, now, "citizen")
        return self._citizen_step(tracking_number, contact, step)

    @rpc(expected_exceptions=STEP_ERRORS)
    def reopen(self, tracking_number, contact, reason):
        """Back to the same administration with a new deadline, within the window."""
        self._citizens_complaint(tracking_number, contact)  # a refused body must not tell it exists
        data = _validated(ReopenSchema, {"reason": reason})

        def step(complaint, now):
            domain.reopen(complaint, now, self.settings)
            self._add_message(complaint, now, "citizen", "reopening", data["reason"])
            self._add_to_timeline(complaint, at=now, event="reopened", status=complaint.status,
                                  detail={"reopen_count": complaint.reopen_count})
            self._stage("complaint.reopened", complaint, "citizen", reason=data["reason"],
                        reopen_count=complaint.reopen_count, deadline_at=_iso(complaint.deadline_at),
                        complaint=self._snapshot(complaint))
        return self._citizen_step(tracking_number, contact, step)

    @rpc(expected_exceptions=(NotFound,))
    def citizen_attachment(self, tracking_number, contact, attachment_id):
        complaint = self._citizens_complaint(tracking_number, contact)
        return AttachmentFile().dump(self._attachment_of(complaint, attachment_id))

    def _attachment_of(self, complaint, attachment_id):
        try:
            attachment_id = int(attachment_id)
        except (TypeError, ValueError):
            raise NotFound()
        attachment = self.db.scalar(select(Attachment).where(
            Attachment.id == attachment_id, Attachment.complaint_id == complaint.id))
        if attachment is None:
            raise NotFound()
        return attachment

    def _closed(self, complaint, now, actor_kind):
        self._add_to_timeline(complaint, at=now, event="closed", status="closed",
                              detail={key: value for key, value in (
                                  ("reason", complaint.closed_reason),
                                  ("duplicate_of", complaint.duplicate_of)) if value})
        self._stage("complaint.closed", complaint, actor_kind, reason=complaint.closed_reason,
                    duplicate_of=complaint.duplicate_of)

    # --- the administration

    @rpc(expected_exceptions=(ValidationFailed,))
    def inbox(self, actor, filters=None):
        """The complaints the actor may see, soonest deadline first (none yet: last)."""
        actor = _validated(ActorSchema, actor)
        filters = _validated(InboxFilters, filters)
        query = select(Complaint)
        administration = domain.inbox_administration(actor, filters)
        if administration is not None:
            query = query.where(Complaint.administration_code == administration)
        if filters.get("status"):
            query = query.where(Complaint.status == filters["status"])
        if filters.get("type"):
            query = query.where(Complaint.type == filters["type"])
        if filters.get("subject"):
            query = query.where(Complaint.subject.icontains(filters["subject"], autoescape=True))
        now = utcnow()
        rows = [complaint for complaint in self.db.scalars(query)
                if filters.get("overdue") is None
                or domain.is_overdue(complaint, now) == filters["overdue"]]
        rows.sort(key=lambda complaint: (domain.current_deadline(complaint, now) is None,
                                         domain.current_deadline(complaint, now) or now,
                                         complaint.submitted_at))
        return [self._summary(complaint, now) for complaint in rows]

    @rpc(expected_exceptions=STEP_ERRORS)
    def agent_view(self, actor, tracking_number):
        """Everything about the complaint, complainant's identity included: the view is logged."""
        actor = _validated(ActorSchema, actor)
        complaint = self._agents_complaint(actor, tracking_number, full=True)
        now = utcnow()
        self._log_access(actor, complaint, "view", now)
        self.db.commit()
        return self._agent_view(complaint, now)

    @rpc(expected_exceptions=STEP_ERRORS)
    def agent_attachment(self, actor, tracking_number, attachment_id):
        actor = _validated(ActorSchema, actor)
        complaint = self._agents_complaint(actor, tracking_number)
        attachment = self._attachment_of(complaint, attachment_id)
        self._log_access(actor, complaint, "attachment", utcnow())
        self.db.commit()
        return AttachmentFile().dump(attachment)

    @rpc(expected_exceptions=STEP_ERRORS)
    def access_log(self, actor, tracking_number):
        """Who viewed the complaint, newest first: for supervisors and platform administrators."""
        actor = _validated(ActorSchema, actor)
        if actor["role"] not in domain.ACCESS_LOG_READERS:
            raise NotFound()
        complaint = self._agents_complaint(actor, tracking_number)
        entries = self.db.scalars(select(AccessLogEntry).where(
            AccessLogEntry.tracking_number == complaint.tracking_number)
            .order_by(AccessLogEntry.id.desc()))
        return AccessLogView(many=True).dump(entries)

    def _in_scope_first(self, actor, tracking_number) -> None:
        """NotFound for a complaint outside the actor's scope before the body is validated, so
        that a refused body cannot tell that another administration's complaint exists."""
        self._agents_complaint(_validated(ActorSchema, actor), tracking_number)

    def _agent_step(self, actor, tracking_number, step):
        """Run `step(actor, complaint, now)` on the locked complaint, commit, give its inbox row."""
        actor = _validated(ActorSchema, actor)
        complaint = self._agents_complaint(actor, tracking_number, lock=True)
        now = utcnow()
        step(actor, complaint, now)
        self._commit()
        return self._summary(complaint, now)

    @rpc(expected_exceptions=STEP_ERRORS)
    def acknowledge(self, actor, tracking_number):
        def step(actor, complaint, now):
            domain.acknowledge(complaint, now, self.settings)
            self._add_to_timeline(complaint, at=now, event="acknowledged", status=complaint.status)
            self._stage("complaint.acknowledged", complaint, "agent")
        return self._agent_step(actor, tracking_number, step)

    @rpc(expected_exceptions=STEP_ERRORS)
    def request_information(self, actor, tracking_number, message):
        """Asks the citizen for more; the deadline clock pauses until they reply."""
        self._in_scope_first(actor, tracking_number)
        data = _validated(InformationRequest, {"message": message})

        def step(actor, complaint, now):
            domain.request_information(complaint, now)
            self._add_message(complaint, now, "administration", "information_request", data["message"],
                              author_name=actor["name"])
            self._add_to_timeline(complaint, at=now, event="information_requested",
                                  status=complaint.status)
            self._stage("complaint.information_requested", complaint, "agent", message=data["message"])
        return self._agent_step(actor, tracking_number, step)

    @rpc(expected_exceptions=STEP_ERRORS)
    def answer(self, actor, tracking_number, text, attachments=None):
        self._in_scope_first(actor, tracking_number)
        data = _validated(AnswerSchema, {"text": text, "attachments": attachments or []})

        def step(actor, complaint, now):
            days = domain.answer(complaint, data["text"], now, self.settings)
            self._add_message(complaint, now, "administration", "answer", data["text"],
                              data["attachments"], author_name=actor["name"])
            self._add_to_timeline(complaint, at=now, event="answered", status=complaint.status)
            self._stage("complaint.answered", complaint, "agent", answer=data["text"],
                        received_at=_iso(complaint.received_at), days_to_answer=days)
            inc_after_commit(self.db, COMPLAINTS_ANSWERED.labels(complaint.administration_code))
        return self._agent_step(actor, tracking_number, step)

    @rpc(expected_exceptions=STEP_ERRORS)
    def close(self, actor, tracking_number, reason, duplicate_of=None):
        self._in_scope_first(actor, tracking_number)
        data = _validated(CloseSchema, {"reason": reason, "duplicate_of": duplicate_of})

        def step(actor, complaint, now):
            if data["duplicate_of"] is not None:
                original = self._find(data["duplicate_of"])
                if original is None or original.id == complaint.id:
                    raise ValidationFailed({"duplicate_of": ["invalid"]})
            domain.close(complaint, data["reason"], now, data["duplicate_of"])
            self._closed(complaint, now, "agent")
        return self._agent_step(actor, tracking_number, step)

    @rpc(expected_exceptions=STEP_ERRORS)
    def transfer(self, actor, tracking_number, to_administration_code, reason):
        """To the competent administration at once; routing queues it there (the citizen is told)."""
        self._in_scope_first(actor, tracking_number)
        data = _validated(TransferSchema, {"to_administration_code": to_administration_code,
                                           "reason": reason})

        def step(actor, complaint, now):
            leaving = domain.transfer(complaint, data["to_administration_code"], now)
            detail = {"from_administration_code": leaving,
                      "administration_code": complaint.administration_code, "reason": data["reason"]}
            self._add_to_timeline(complaint, at=now, event="transferred", status=complaint.status,
                                  detail=detail)
            self._stage("complaint.transferred", complaint, "agent", from_administration_code=leaving,
                        reason=data["reason"], complaint=self._snapshot(complaint))
        return self._agent_step(actor, tracking_number, step)

    @rpc(expected_exceptions=STEP_ERRORS)
    def add_note(self, actor, tracking_number, text):
        """An internal note: never on the citizen's timeline, never in an event."""
        self._in_scope_first(actor, tracking_number)
        data = _validated(NoteSchema, {"text": text})

        def step(actor, complaint, now):
            self.db.add(Note(complaint_id=complaint.id, at=now, author_id=actor["id"],
                             author_name=actor["name"], text=data["text"]))
        return self._agent_step(actor, tracking_number, step)

    # --- what anyone may see

    @rpc(expected_exceptions=(ValidationFailed,))
    def public_requests(self, filters=None):
        """Complaints as the public may see them (the gateway's Open311 GET requests), newest
        first: codes, dates and the clock only, never the complainant nor what they wrote."""
        filters = _validated(PublicRequestFilters, filters)
        query = select(Complaint)
        if filters["tracking_numbers"] or filters["client_references"]:
            numbers = {domain.normalize_tracking_number(typed) for typed in filters["tracking_numbers"]}
            query = query.where(or_(Complaint.tracking_number.in_(numbers - {None}),
                                    Complaint.client_reference.in_(filters["client_references"])))
        else:
            if filters["services"]:
                query = query.where(or_(*(and_(Complaint.administration_code == service["administration_code"],
                                               Complaint.type == service["type"])
                                          for service in filters["services"])))
            if filters["statuses"]:
                query = query.where(Complaint.status.in_(filters["statuses"]))
            if filters["submitted_from"] is not None:
                query = query.where(Complaint.submitted_at >= filters["submitted_from"])
            if filters["submitted_until"] is not None:
                query = query.where(Complaint.submitted_at <= filters["submitted_until"])
        query = query.order_by(Complaint.submitted_at.desc(), Complaint.id.desc()).limit(filters["limit"])
        now = utcnow()
        return [{**PublicRequestView().dump(complaint),
                 "deadline_at": _iso(domain.current_deadline(complaint, now)),
                 "overdue": domain.is_overdue(complaint, now)}
                for complaint in self.db.scalars(query)]

    # --- the clock

    @DeadlineTimer.decorator(interval=60)
    def check_deadlines(self):
        """Reminds before the deadline, flags it passed, closes answers left without reply (each once)."""
        now = utcnow()
        settings = self.settings
        # exactly the complaints due_action has something for, so none is starved by the batch size
        # (a paused complaint's stored deadline_at does not count the running pause yet)
        reminder_due = and_(Complaint.reminder_sent_at.is_(None), Complaint.paused_at.is_(None),
                            Complaint.deadline_at > now,
                            Complaint.deadline_at <= now + settings.deadline_reminder_days_left * domain.DAY)
        passed = and_(Complaint.overdue_notified_at.is_(None),
                      or_(and_(Complaint.paused_at.is_(None), Complaint.deadline_at < now),
                          and_(Complaint.paused_at.is_not(None),
                               Complaint.deadline_at < Complaint.paused_at)))
        clock_due = and_(Complaint.deadline_at.is_not(None), Complaint.status.not_in(domain.CLOCK_STOPPED),
                         or_(reminder_due, passed))
        answered_long_ago = and_(Complaint.status == "answered",
                                 Complaint.answered_at <= now - settings.auto_close_days * domain.DAY)
        query = (select(Complaint).where(or_(clock_due, answered_long_ago)).order_by(Complaint.id)
                 .limit(DEADLINE_BATCH).with_for_update(skip_locked=True))
        for complaint in self.db.scalars(query):
            action = domain.take_due_action(complaint, now, settings)
            if action == "auto_close":
                self._closed(complaint, now, "system")
            elif action == "deadline_passed":
                self._add_to_timeline(complaint, at=now, event="deadline_passed")
                self._stage("complaint.deadline_passed", complaint, "system",
                            deadline_at=_iso(complaint.deadline_at))
                inc_after_commit(self.db, COMPLAINTS_OVERDUE.labels(complaint.administration_code))
            elif action == "deadline_approaching":
                self._stage("complaint.deadline_approaching", complaint, "system",
                            deadline_at=_iso(domain.current_deadline(complaint, now)),
                            days_left=domain.days_left(complaint, now))
        self._commit()

    # --- routing's and notify's events: each comes back for every complaint, so each loads
    # only what it needs (no personal data to decrypt) and writes only what changed

    def _routing_stage(self, tracking_number):
        """The complaint, locked, with only the columns routing's events read (domain.routed,
        domain.delivered); the columns they set need not be loaded."""
        complaint = self.db.scalar(
            select(Complaint).where(Complaint.tracking_number == tracking_number)
            .options(load_only(Complaint.status, Complaint.administration_code, Complaint.received_at))
            .with_for_update())
        if complaint is None:
            raise LookupError(f"no complaint {tracking_number}")  # retried, then parked
        return complaint

    @consumes("complaint.routed", ProcessedEvent, together=True)
    def on_routed(self, event):
        complaint = self._routing_stage(event["tracking_number"])
        domain.routed(complaint, event["administration_code"], event["triage"])
        self._add_to_timeline(complaint, status="triage" if event["triage"] else "routed",
                              at=event["occurred_at"],
                              detail={"administration_code": event["administration_code"]})

    @consumes("complaint.delivered", ProcessedEvent, together=True)
    def on_delivered(self, event):
        complaint = self._routing_stage(event["tracking_number"])
        domain.delivered(complaint, event["administration_code"], event["occurred_at"], self.settings)
        self._add_to_timeline(complaint, status="received", at=event["occurred_at"],
                              detail={"administration_code": event["administration_code"]})

    @consumes("notification.sent", ProcessedEvent, together=True)
    def on_notification_sent(self, event):
        # one INSERT finds the complaint by its number; with no such complaint, complaint_id is
        # NULL and the NOT NULL constraint fails the handler (retried, then parked)
        complaint_id = (select(Complaint.id).where(Complaint.tracking_number == event["tracking_number"])
                        .scalar_subquery())
        self.db.add(TimelineEntry(complaint_id=complaint_id, event="notification_sent", at=event["occurred_at"],
                                  detail={"channel": event["channel"], "template": event["template"]}))

    @timer(interval=1)
    def relay_outbox(self):
        """Catches what the fast path after a commit could not publish."""
        self.outbox.relay_pending()
