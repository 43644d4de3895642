"""Intake's RPC payloads.  Validation errors are message codes (`required`, `too_long`, ...)
that the gateway turns into sentences in the citizen's language.
"""


from marshmallow import (EXCLUDE, Schema, ValidationError, fields, post_dump, post_load, pre_load,
                         validate,
                         validates, validates_schema)

from services.common.regions import region_codes
from services.intake import domain

CODES = {"required": "required", "null": "required", "invalid": "invalid", "type": "invalid"}


def text(max_length: int, min_length: int = 1):
    return fields.String(
        required=True, error_messages=CODES,
        validate=[validate.Length(min=min_length, error="too_short" if min_length > 1 else "required"),
                  validate.Length(max=max_length, error="too_long")])


def choice(options):
    return fields.String(required=True, error_messages=CODES,
                         validate=validate.OneOf(options, error="invalid_choice"))


class StrippedSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def strip_strings(self, data, **_kwargs):
        """Blank answers count as missing, so `"   "` is not a name."""
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if value == "":
                    continue
            cleaned[key] = value
        return cleaned


class ComplainantSchema(StrippedSchema):
    full_name = text(120, min_length=3)
    status = choice(domain.COMPLAINANT_STATUSES)
    id_type = choice(domain.ID_TYPES)
    id_number = fields.String(required=True, error_messages=CODES,
                              validate=validate.Regexp(r"^[A-Za-z0-9]{4,20}$", error="invalid_id_number"))
    email = fields.Email(load_default=None, allow_none=True,
                         error_messages={**CODES, "invalid": "invalid_email"},
                         validate=validate.Length(max=254, error="too_long"))
    phone = fields.String(load_default=None, allow_none=True, error_messages=CODES)

    @validates("phone")
    def phone_can_receive_sms(self, value, **_kwargs):
        if value is not None and domain.normalize_phone(value) is None:
            raise ValidationError("invalid_phone")

    @validates_schema(skip_on_field_errors=False)
    def needs_a_contact(self, data, **_kwargs):
        if not data.get("email") and not data.get("phone"):
            raise ValidationError("contact_required", field_name="contact")

    @post_load
    def normalize(self, data, **_kwargs):
        if data.get("phone"):
            data["phone"] = domain.normalize_phone(data["phone"])
        if data.get("email"):
            data["email"] = data["email"].lower()
        data["id_number"] = data["id_number"].upper()
        return data


class AttachmentSchema(StrippedSchema):
    blob_key = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9/_.-]{1,200}$"))
    filename = text(200)
    content_type = text(100)
    size = fields.Integer(required=True, validate=validate.Range(min=1))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class ComplaintSubmission(StrippedSchema):
    type = choice(domain.REQUEST_TYPES)
    administration_code = fields.String(
        required=True, error_messages=CODES,
        validate=validate.Regexp(r"^[A-Z][A-Z0-9_]{1,23}$", error="invalid_choice"))
    subject = text(200, min_length=5)
    description = text(5000, min_length=20)
    region = fields.String(required=True, error_messages=CODES)
    language = choice(domain.LANGUAGES)
    complainant = fields.Nested(ComplainantSchema, required=True, error_messages=CODES)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list,
                              validate=validate.Length(max=5, error="too_many_files"))
    # lets a client retry a submission whose answer it never received without filing twice
    client_reference = fields.String(load_default=None, allow_none=True,
                                     validate=validate.Regexp(r"^[A-Za-z0-9-]{8,64}$"))

    @validates("region")
    def known_region(self, value, **_kwargs):
        if value not in region_codes():
            raise ValidationError("invalid_choice")


def flatten_errors(messages: dict, prefix: str = "") -> dict:
    """marshmallow's nested errors as `{"complainant.email": ["invalid_email"]}`."""
    flat = {}
    for key, value in messages.items():
        name = f"{prefix}{key}" if key != "_schema" else prefix.rstrip(".") or "_schema"
        if isinstance(value, dict):
            flat.update(flatten_errors(value, f"{name}."))
        else:
            flat.setdefault(name, []).extend(value)
    return flat


def load_submission(data: dict) -> dict:
    """The cleaned submission, or ValidationError with flattened message codes."""
    try:
        return ComplaintSubmission().load(data)
    except ValidationError as exc:
        raise ValidationError(flatten_errors(exc.messages)) from exc




class TimelineEntryView(Schema):
    at = fields.AwareDateTime()
    status = fields.String()
    event = fields.String()
    detail = fields.Dict()

    @post_dump
    def drop_empty(self, data, **_kwargs):
        return {key: value for key, value in data.items() if value not in (None, {})}


class AttachmentReceipt(Schema):
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class TrackingView(Schema):
    """What a citizen who proved they filed the complaint may see of it."""
    tracking_number = fields.String()
    status = fields.String()
    type = fields.String()
    administration_code = fields.String()
    subject = fields.String()
    region = fields.String()
    language = fields.String()
    submitted_at = fields.AwareDateTime()
    attachments = fields.List(fields.Nested(AttachmentReceipt))
    timeline = fields.List(fields.Nested(TimelineEntryView))
