"""The event contracts: one marshmallow schema per fact, validated by producers and consumers.

An event is a flat JSON object: the envelope (`event_id`, `occurred_at`, `version`) plus
the data its consumers need.  Consumers ignore fields they do not know, so a producer
may add fields without a new version; removing or changing one needs a new `version`.
"""
import uuid
from datetime import datetime, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

# Administration codes with a meaning of their own, shared by every service:
UNKNOWN_ADMINISTRATION = "UNKNOWN"  # what a citizen who does not know the administration files
TRIAGE = "TRIAGE"  # the queue of complaints that a platform agent dispatches


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    occurred_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class ComplainantSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    full_name = fields.String(required=True)
    status = fields.String(required=True)
    id_type = fields.String(required=True)
    id_number = fields.String(required=True)
    email = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)  # E.164


class AttachmentSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    blob_key = fields.String(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)


class ComplaintSubmitted(EventSchema):
    """Intake committed a new complaint; it carries what routing, notify and stats need."""
    tracking_number = fields.String(required=True)
    type = fields.String(required=True)
    administration_code = fields.String(required=True)  # "UNKNOWN" when the citizen did not know
    subject = fields.String(required=True)
    description = fields.String(required=True)
    region = fields.String(required=True)
    language = fields.String(required=True, validate=validate.OneOf(["ar", "fr"]))
    complainant = fields.Nested(ComplainantSchema, required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    submitted_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)


class ComplaintRouted(EventSchema):
    """Routing chose the administration (or the triage queue) and queued it for its consumer."""
    tracking_number = fields.String(required=True)
    administration_code = fields.String(required=True)
    triage = fields.Boolean(required=True)
    type = fields.String(required=True)
    region = fields.String(required=True)


class ComplaintDelivered(EventSchema):
    """The administration's consumer handed the complaint to the administration's side."""
    tracking_number = fields.String(required=True)
    administration_code = fields.String(required=True)
    destination = fields.String(required=True)  # "inbox" or "webhook"


class NotificationSent(EventSchema):
    """Notify handed a message for the citizen to the SMS or e-mail provider."""
    tracking_number = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(["sms", "email"]))
    template = fields.String(required=True)
    language = fields.String(required=True)
    provider = fields.String(required=True)


class CitizenSchema(Schema):
    """Where and how to tell the citizen: carried by every event notify acts on."""
    class Meta:
        unknown = EXCLUDE

    language = fields.String(required=True, validate=validate.OneOf(["ar", "fr"]))
    email = fields.String(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)


class ComplaintSnapshot(Schema):
    """What an administration's consumer needs to receive a complaint again (transfer, reopening)."""
    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True)
    subject = fields.String(required=True)
    description = fields.String(required=True)
    region = fields.String(required=True)
    language = fields.String(required=True)
    complainant = fields.Nested(ComplainantSchema, required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    submitted_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)


class LifecycleEvent(EventSchema):
    """A step in a complaint's life after submission, taken by an agent, the citizen or the clock."""
    tracking_number = fields.String(required=True)
    administration_code = fields.String(required=True)
    type = fields.String(required=True)
    region = fields.String(required=True)
    status = fields.String(required=True)  # the status the step led to
    actor = fields.String(required=True, validate=validate.OneOf(["agent", "citizen", "system"]))
    citizen = fields.Nested(CitizenSchema, required=True)


class ComplaintAcknowledged(LifecycleEvent):
    pass


class InformationRequested(LifecycleEvent):
    message = fields.String(required=True)


class CitizenReplied(LifecycleEvent):
    """The citizen added a message or documents (ends an information request's pause)."""
    attachments_added = fields.Integer(required=True)


class ComplaintAnswered(LifecycleEvent):
    answer = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    days_to_answer = fields.Float(required=True)  # working clock: pauses excluded


class ComplaintClosed(LifecycleEvent):
    reason = fields.String(required=True)  # resolved, not_founded, outside_competence,
    # before_courts, duplicate, confirmed_by_citizen, no_reply_from_citizen
    duplicate_of = fields.String(allow_none=True, load_default=None)


class ComplaintTransferred(LifecycleEvent):
    from_administration_code = fields.String(required=True)
    reason = fields.String(required=True)
    complaint = fields.Nested(ComplaintSnapshot, required=True)


class ComplaintRated(LifecycleEvent):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))


class ComplaintReopened(LifecycleEvent):
    reason = fields.String(required=True)
    reopen_count = fields.Integer(required=True)
    deadline_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    complaint = fields.Nested(ComplaintSnapshot, required=True)


class DeadlineApproaching(LifecycleEvent):
    deadline_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    days_left = fields.Integer(required=True)


class DeadlinePassed(LifecycleEvent):
    deadline_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)


class ProsecutionEvent(EventSchema):
    """A fact of the public-prosecution channel.  Deliberately thin: what notify needs to tell the
    complainant (`citizen`, `tracking_code`, `step`) and what stats counts (`month`, `category`,
    `office_code`); never a name, an account of the facts or an accused."""
    tracking_code = fields.String(required=True)
    office_code = fields.String(required=True)  # the prosecution office (its court's code)
    category = fields.String(required=True)  # corruption, violence, ... (services.prosecution.domain)
    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))  # Moroccan time
    step = fields.String(required=True)  # received, registered, referred_to_police, ...
    status = fields.String(required=True)  # where the step left the complaint
    citizen = fields.Nested(CitizenSchema, required=True)  # phone always set: the channel's SMS


class ProsecutionComplaintRegistered(ProsecutionEvent):
    """A complaint to the public prosecution was committed: the complainant gets its tracking
    code (step "received"; `month` is the month it was filed in)."""
    submitted_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)


class ProsecutionStepRecorded(ProsecutionEvent):
    """The office moved the complaint a step on (`month`: the month of the step).  `register_number`
    with "registered", `reason` (a code) with "filed_without_action", the offices with "forwarded"."""
    register_number = fields.String(allow_none=True, load_default=None)
    reason = fields.String(allow_none=True, load_default=None)
    from_office_code = fields.String(allow_none=True, load_default=None)
    to_office_code = fields.String(allow_none=True, load_default=None)


# name -> (producing service, schema class, current version)
EVENTS = {
    "complaint.submitted": ("intake", ComplaintSubmitted, 1),
    "complaint.routed": ("routing", ComplaintRouted, 1),
    "complaint.delivered": ("routing", ComplaintDelivered, 1),
    "notification.sent": ("notify", NotificationSent, 1),
    "complaint.acknowledged": ("intake", ComplaintAcknowledged, 1),
    "complaint.information_requested": ("intake", InformationRequested, 1),
    "complaint.citizen_replied": ("intake", CitizenReplied, 1),
    "complaint.answered": ("intake", ComplaintAnswered, 1),
    "complaint.closed": ("intake", ComplaintClosed, 1),
    "complaint.transferred": ("intake", ComplaintTransferred, 1),
    "complaint.rated": ("intake", ComplaintRated, 1),
    "complaint.reopened": ("intake", ComplaintReopened, 1),
    "complaint.deadline_approaching": ("intake", DeadlineApproaching, 1),
    "complaint.deadline_passed": ("intake", DeadlinePassed, 1),
    "prosecution.complaint_registered": ("prosecution", ProsecutionComplaintRegistered, 1),
    "prosecution.step_recorded": ("prosecution", ProsecutionStepRecorded, 1),
}


class InvalidEvent(ValueError):
    pass


def source_of(name: str) -> str:
    return EVENTS[name][0]


# one instance per event: building a schema deep-copies its fields, and load/validate never
# change the instance, so every greenthread shares it
_SCHEMAS = {name: schema_class() for name, (_source, schema_class, _version) in EVENTS.items()}


def make_event(name: str, data: dict, event_id: uuid.UUID | None = None) -> dict:
    """Build the JSON-ready payload of event `name`, refusing data that breaks its contract."""
    version = EVENTS[name][2]
    payload = {
        "event_id": str(event_id or uuid.uuid4()),
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "version": version,
        **data,
    }
    errors = _SCHEMAS[name].validate(payload)
    if errors:
        raise InvalidEvent(f"{name}: {errors}")
    return payload


def load_event(name: str, payload: dict) -> dict:
    """Validate a received payload; a consumer never acts on an event that breaks the contract."""
    try:
        return _SCHEMAS[name].load(payload)
    except ValidationError as exc:
        raise InvalidEvent(f"{name}: {exc.messages}") from exc
