"""Intake's RPC payloads.  Validation errors are message codes (`required`, `too_long`, ...)
that the gateway turns into sentences in the citizen's language.
"""
from marshmallow import (Schema, ValidationError, fields, post_dump, post_load, validate, validates,
                         validates_schema)

from services.common.regions import region_codes
from services.common.schemas import (CODES, ComplainantBase, StrippedSchema, attachment_list, id_number_field, load,
                                     optional_email_field)
from services.intake import domain


def text(max_length: int, min_length: int = 1):
    return fields.String(
        required=True, error_messages=CODES,
        validate=[validate.Length(min=min_length, error="too_short" if min_length > 1 else "required"),
                  validate.Length(max=max_length, error="too_long")])


def choice(options):
    return fields.String(required=True, error_messages=CODES,
                         validate=validate.OneOf(options, error="invalid_choice"))


class ComplainantSchema(ComplainantBase):
    full_name = text(120, min_length=3)
    status = choice(domain.COMPLAINANT_STATUSES)
    id_type = choice(domain.ID_TYPES)
    id_number = id_number_field()
    email = optional_email_field()
    phone = fields.String(load_default=None, allow_none=True, error_messages=CODES)

    @validates_schema(skip_on_field_errors=False)
    def needs_a_contact(self, data, **_kwargs):
        if not data.get("email") and not data.get("phone"):
            raise ValidationError("contact_required", field_name="contact")


ADMINISTRATION_CODE = validate.Regexp(r"^[A-Z][A-Z0-9_]{1,23}$", error="invalid_choice")


class ComplaintSubmission(StrippedSchema):
    type = choice(domain.REQUEST_TYPES)
    administration_code = fields.String(required=True, error_messages=CODES, validate=ADMINISTRATION_CODE)
    subject = text(200, min_length=5)
    description = text(5000, min_length=20)
    region = fields.String(required=True, error_messages=CODES)
    language = choice(domain.LANGUAGES)
    complainant = fields.Nested(ComplainantSchema, required=True, error_messages=CODES)
    attachments = attachment_list()
    # lets a client retry a submission whose answer it never received without filing twice
    client_reference = fields.String(load_default=None, allow_none=True,
                                     validate=validate.Regexp(r"^[A-Za-z0-9-]{8,64}$"))

    @validates("region")
    def known_region(self, value, **_kwargs):
        if value not in region_codes():
            raise ValidationError("invalid_choice")


def load_submission(data: dict) -> dict:
    return load(ComplaintSubmission, data)


# --- the lifecycle's payloads

class ActorSchema(StrippedSchema):
    """Who acts, as the gateway authenticated them."""
    id = text(64)
    name = text(120)
    role = choice(domain.ROLES)
    administration_code = fields.String(load_default=None, allow_none=True, validate=ADMINISTRATION_CODE)

    @validates_schema
    def agents_belong_to_an_administration(self, data, **_kwargs):
        if data["role"] not in domain.PLATFORM_ROLES and not data.get("administration_code"):
            raise ValidationError("required", field_name="administration_code")


class CitizenMessage(StrippedSchema):
    """A message, documents, or both."""
    text = fields.String(load_default="", validate=validate.Length(max=5000, error="too_long"))
    attachments = attachment_list()

    @validates_schema(skip_on_field_errors=True)
    def says_something(self, data, **_kwargs):
        if not data["text"] and not data["attachments"]:
            raise ValidationError("required", field_name="text")


class InformationRequest(StrippedSchema):
    message = text(5000)


class AnswerSchema(StrippedSchema):
    text = text(10000)
    attachments = attachment_list()


class CloseSchema(StrippedSchema):
    reason = choice(domain.AGENT_CLOSE_REASONS)
    duplicate_of = fields.String(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def duplicate_names_the_original(self, data, **_kwargs):
        if data["reason"] != "duplicate":
            return
        if not data["duplicate_of"]:
            raise ValidationError("required", field_name="duplicate_of")
        if domain.normalize_tracking_number(data["duplicate_of"]) is None:
            raise ValidationError("invalid", field_name="duplicate_of")

    @post_load
    def canonical_number(self, data, **_kwargs):
        data["duplicate_of"] = (domain.normalize_tracking_number(data["duplicate_of"])
                                if data["reason"] == "duplicate" else None)
        return data


class TransferSchema(StrippedSchema):
    to_administration_code = fields.String(required=True, error_messages=CODES,
                                           validate=ADMINISTRATION_CODE)
    reason = text(1000)


class NoteSchema(StrippedSchema):
    text = text(5000)


class RatingSchema(StrippedSchema):
    score = fields.Integer(required=True, strict=True, error_messages=CODES,
                           validate=validate.Range(min=1, max=5, error="invalid_choice"))
    comment = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(max=1000, error="too_long"))


class ReopenSchema(StrippedSchema):
    reason = text(2000)


class InboxFilters(StrippedSchema):
    status = fields.String(validate=validate.OneOf(domain.STATUSES, error="invalid_choice"))
    type = fields.String(validate=validate.OneOf(domain.REQUEST_TYPES, error="invalid_choice"))
    subject = fields.String(validate=validate.Length(max=200, error="too_long"))
    overdue = fields.Boolean(allow_none=True)
    # platform roles only; None lists every administration's complaints
    administration_code = fields.String(allow_none=True, validate=ADMINISTRATION_CODE)


# --- what intake shows

class TimelineEntryView(Schema):
    at = fields.AwareDateTime()
    status = fields.String()
    event = fields.String()
    detail = fields.Dict()

    @post_dump
    def drop_empty(self, data, **_kwargs):
        return {key: value for key, value in data.items() if value not in (None, {})}


class AttachmentReceipt(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    message_id = fields.Integer(allow_none=True)  # None: filed with the complaint


class MessageView(Schema):
    at = fields.AwareDateTime()
    author = fields.String(data_key="from")  # citizen | administration
    kind = fields.String()  # message | information_request | answer | reopening
    text = fields.String()
    attachments = fields.List(fields.Nested(AttachmentReceipt))


class AgentMessageView(MessageView):
    author_name = fields.String(allow_none=True)


class NoteView(Schema):
    at = fields.AwareDateTime()
    author_id = fields.String()
    author_name = fields.String()
    text = fields.String()


class AccessLogView(Schema):
    at = fields.AwareDateTime()
    actor_id = fields.String()
    actor_name = fields.String()
    actor_role = fields.String()
    action = fields.String()


class ComplaintSummary(Schema):
    """An inbox row; the computed clock fields (deadline_at, days_left, overdue) are added."""
    tracking_number = fields.String()
    type = fields.String()
    subject = fields.String()
    status = fields.String()
    administration_code = fields.String()
    submitted_at = fields.AwareDateTime()
    reopen_count = fields.Integer()


class TrackingView(ComplaintSummary):
    """What a citizen who proved they filed the complaint may see of it (the clock, the answer,
    the rating and what the page may offer are added)."""
    region = fields.String()
    language = fields.String()
    received_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_reason = fields.String(allow_none=True)
    duplicate_of = fields.String(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentReceipt))  # filed ones and later ones
    timeline = fields.List(fields.Nested(TimelineEntryView))
    messages = fields.List(fields.Nested(MessageView))


class AgentView(TrackingView):
    """Everything, for the administration's agents: identity, messages, internal notes."""
    description = fields.String()
    personal_data_erased_at = fields.AwareDateTime(allow_none=True)  # services.intake.retention
    messages = fields.List(fields.Nested(AgentMessageView))
    notes = fields.List(fields.Nested(NoteView))
    complainant = fields.Method("identity")

    def identity(self, complaint):
        return {"full_name": complaint.complainant_full_name, "status": complaint.complainant_status,
                "id_type": complaint.complainant_id_type, "id_number": complaint.complainant_id_number,
                "email": complaint.complainant_email, "phone": complaint.complainant_phone}


# --- what anyone may see (the gateway's Open311 GeoReport API): codes, dates and the clock,
# never the complainant, the subject or anything else they wrote

class PublicService(StrippedSchema):
    """One Open311 service: a request type at one administration."""
    administration_code = fields.String(required=True, error_messages=CODES, validate=ADMINISTRATION_CODE)
    type = choice(domain.REQUEST_TYPES)


class PublicRequestFilters(StrippedSchema):
    """`tracking_numbers` and `client_references`, when either is given, override the other filters."""
    tracking_numbers = fields.List(fields.String(), load_default=list,
                                   validate=validate.Length(max=1000, error="too_long"))
    client_references = fields.List(fields.String(validate=validate.Regexp(r"^[A-Za-z0-9-]{8,64}$")),
                                    load_default=list, validate=validate.Length(max=1000, error="too_long"))
    services = fields.List(fields.Nested(PublicService), load_default=list)
    statuses = fields.List(fields.String(validate=validate.OneOf(domain.STATUSES, error="invalid_choice")),
                           load_default=list)
    submitted_from = fields.AwareDateTime(load_default=None, allow_none=True)
    submitted_until = fields.AwareDateTime(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=1000, error_messages=CODES,
                           validate=validate.Range(min=1, max=1000, error="invalid"))


class PublicRequestView(Schema):
    """A complaint as the public may see it; the clock (deadline_at, overdue) is added."""
    tracking_number = fields.String()
    type = fields.String()
    administration_code = fields.String()
    status = fields.String()
    region = fields.String()
    submitted_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_reason = fields.String(allow_none=True)
    reopen_count = fields.Integer()
