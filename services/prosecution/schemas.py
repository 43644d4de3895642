"""The prosecution's RPC payloads.  Validation errors are message codes (`required`,
`too_long`, ...) keyed by dotted field names (`complainant.phone`, `accused.1.legal_name`),
which the gateway turns into sentences next to each field in the complainant's language.
"""
from datetime import date

from marshmallow import Schema, ValidationError, fields, post_dump, post_load, validate, validates, validates_schema

from services.common.schemas import (CODES, AttachmentSchema, ComplainantBase, StrippedSchema, attachment_list,
                                     id_number_field, optional_email_field)
from services.prosecution import domain

DATE_CODES = {**CODES, "invalid": "invalid_date"}
CODE = validate.Regexp(r"^[A-Z][A-Z0-9_]{1,39}$", error="invalid_choice")


def text(max_length: int, min_length: int = 1, required: bool = True):
    checks = [validate.Length(max=max_length, error="too_long")]
    if min_length > 1:
        checks.insert(0, validate.Length(min=min_length, error="too_short"))
    if required:
        return fields.String(required=True, error_messages=CODES, validate=checks)
    return fields.String(load_default=None, allow_none=True, error_messages=CODES, validate=checks)


def choice(options, required: bool = True):
    check = validate.OneOf(options, error="invalid_choice")
    if required:
        return fields.String(required=True, error_messages=CODES, validate=check)
    return fields.String(load_default=None, allow_none=True, error_messages=CODES, validate=check)


def past_date():
    return fields.Date(required=True, error_messages=DATE_CODES)


class ComplainantSchema(ComplainantBase):
    status = choice(domain.COMPLAINANT_STATUSES)
    id_type = choice(domain.ID_TYPES)
    id_number = id_number_field()
    first_name = text(80, min_length=2)
    last_name = text(80, min_length=2)
    birth_date = past_date()
    nationality = text(80, min_length=2)
    address = text(300, min_length=5)
    country = text(80, min_length=2)  # of residence
    # required: the tracking code and every step are sent to it by SMS
    phone = fields.String(required=True, error_messages=CODES)
    email = optional_email_field()

    @validates("birth_date")
    def born_in_the_past(self, value, **_kwargs):
        if value >= date.today() or value.year < 1900:
            raise ValidationError("invalid_date")


class AccusedSchema(StrippedSchema):
    """A natural person needs a name, a legal person its name; an unknown person (ضد مجهول)
    needs nothing, though whatever is known helps."""
    kind = choice(domain.ACCUSED_KINDS)
    first_name = text(80, required=False)
    last_name = text(80, required=False)
    legal_name = text(200, min_length=2, required=False)
    commercial_register = fields.String(load_default=None, allow_none=True, error_messages=CODES,
                                        validate=validate.Regexp(r"^[A-Za-z0-9/ -]{1,40}$", error="invalid"))
    description = text(2000, required=False)

    @validates_schema(skip_on_field_errors=True)
    def named_as_its_kind_needs(self, data, **_kwargs):
        if data["kind"] == "natural_person" and not data.get("last_name") and not data.get("first_name"):
            raise ValidationError("required", field_name="last_name")
        if data["kind"] == "legal_person" and not data.get("legal_name"):
            raise ValidationError("required", field_name="legal_name")

    @post_load
    def keep_what_the_kind_uses(self, data, **_kwargs):
        if data["kind"] != "natural_person":
            data["first_name"] = data["last_name"] = None
        if data["kind"] != "legal_person":
            data["legal_name"] = data["commercial_register"] = None
        return data


class ComplaintFiling(StrippedSchema):
    category = choice(tuple(domain.CATEGORIES))
    facts_date = past_date()
    facts_city = fields.String(required=True, error_messages=CODES, validate=CODE)
    facts_place = text(300, required=False)  # the street, the building, the office...
    account = text(10000, min_length=30)
    language = choice(domain.LANGUAGES)
    complainant = fields.Nested(ComplainantSchema, required=True, error_messages=CODES)
    accused = fields.List(fields.Nested(AccusedSchema), required=True, error_messages=CODES,
                          validate=[validate.Length(min=1, error="required"),
                                    validate.Length(max=domain.MAX_ACCUSED, error="too_many_accused")])
    identity_sealed = fields.Boolean(load_default=False, error_messages=CODES)
    attachments = attachment_list()
    # lets a client retry a filing whose answer it never received without filing twice
    client_reference = fields.String(load_default=None, allow_none=True,
                                     validate=validate.Regexp(r"^[A-Za-z0-9-]{8,64}$"))

    @validates("facts_date")
    def not_in_the_future(self, value, **_kwargs):
        if value > date.today():
            raise ValidationError("date_in_future")

    @validates_schema(skip_on_field_errors=True)
    def sealing_only_for_corruption(self, data, **_kwargs):
        if data["identity_sealed"] and data["category"] not in domain.SEALABLE_CATEGORIES:
            raise ValidationError("sealing_not_offered", field_name="identity_sealed")


# --- what staff send with an action (domain.ACTIONS)

class RegisterSchema(StrippedSchema):
    # as the office writes it in its register of complaints, e.g. 1234/3101/2026
    register_number = fields.String(required=True, error_messages=CODES,
                                    validate=validate.Regexp(r"^[0-9A-Za-z/ .-]{1,40}$", error="invalid"))


class InformationRequest(StrippedSchema):
    message = text(2000)  # sent to the complainant with the step


class FilingDecision(StrippedSchema):
    reason = choice(domain.FILING_REASONS)


class ForwardSchema(StrippedSchema):
    to_office_code = fields.String(required=True, error_messages=CODES, validate=CODE)


class NoFields(StrippedSchema):
    pass


ACTION_SCHEMAS = {
    "register": RegisterSchema,
    "refer_to_police": NoFields,
    "request_information": InformationRequest,
    "file_without_action": FilingDecision,
    "launch_prosecution": NoFields,
    "refer_to_investigating_judge": NoFields,
    "forward": ForwardSchema,
}


class ActorSchema(StrippedSchema):
    """Who acts, as the gateway authenticated them: prosecution staff of one office."""
    id = text(64)
    name = text(120)
    role = choice(domain.ROLES)
    office_code = fields.String(required=True, error_messages=CODES, validate=CODE)


class InboxFilters(StrippedSchema):
    status = choice(domain.STATUSES, required=False)
    category = choice(tuple(domain.CATEGORIES), required=False)


class UnsealRequest(StrippedSchema):
    reason = text(1000, min_length=10)


class DocumentsSchema(StrippedSchema):
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True, error_messages=CODES,
                              validate=[validate.Length(min=1, error="required"),
                                        validate.Length(max=5, error="too_many_files")])


# --- what the prosecution shows

class TimelineEntryView(Schema):
    at = fields.AwareDateTime()
    step = fields.String()
    status = fields.String()
    detail = fields.Dict()

    @post_dump
    def drop_empty(self, data, **_kwargs):
        return {key: value for key, value in data.items() if value not in (None, {})}


class StaffTimelineEntryView(TimelineEntryView):
    actor_name = fields.String(allow_none=True)


class AttachmentReceipt(Schema):
    id = fields.Integer()
    added_at = fields.AwareDateTime()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class AccusedView(Schema):
    kind = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    legal_name = fields.String(allow_none=True)
    commercial_register = fields.String(allow_none=True)
    description = fields.String(allow_none=True)


class ComplaintSummary(Schema):
    """An inbox row: no personal data."""
    tracking_code = fields.String()
    category = fields.String()
    status = fields.String()
    office_code = fields.String()
    facts_city = fields.String()
    register_number = fields.String(allow_none=True)
    identity_sealed = fields.Boolean()
    submitted_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class TrackingView(Schema):
    """What the complainant, proved by the code and their phone, sees of the file."""
    tracking_code = fields.String()
    category = fields.String()
    status = fields.String()
    office_code = fields.String()
    register_number = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    submitted_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentReceipt))
    timeline = fields.List(fields.Nested(TimelineEntryView))


class StaffView(ComplaintSummary):
    """The file for the staff of its office; the identity is added by the service (sealed or not)."""
    facts_date = fields.Date()
    facts_place = fields.String(allow_none=True)
    account = fields.String()
    language = fields.String()
    decision_reason = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    personal_data_erased_at = fields.AwareDateTime(allow_none=True)  # services.prosecution.retention
    accused = fields.List(fields.Nested(AccusedView))
    attachments = fields.List(fields.Nested(AttachmentReceipt))
    timeline = fields.List(fields.Nested(StaffTimelineEntryView))


def identity(complaint) -> dict:
    return {"status": complaint.complainant_status, "id_type": complaint.complainant_id_type,
            "id_number": complaint.complainant_id_number, "first_name": complaint.complainant_first_name,
            "last_name": complaint.complainant_last_name,
            "birth_date": complaint.complainant_birth_date and complaint.complainant_birth_date.isoformat(),
            "nationality": complaint.complainant_nationality, "address": complaint.complainant_address,
            "country": complaint.complainant_country, "phone": complaint.complainant_phone,
            "email": complaint.complainant_email}


class AccessLogView(Schema):
    at = fields.AwareDateTime()
    actor_id = fields.String()
    actor_name = fields.String()
    actor_role = fields.String()
    action = fields.String()
    reason = fields.String(allow_none=True)


class CourtView(Schema):
    code = fields.String()
    kind = fields.String()
    name_ar = fields.String()
    name_fr = fields.String()
    office_ar = fields.String()
    office_fr = fields.String()
    appeal_court = fields.String(allow_none=True)
    cities = fields.List(fields.Nested(lambda: CityView()))


class CityView(Schema):
    code = fields.String()
    name_ar = fields.String()
    name_fr = fields.String()
