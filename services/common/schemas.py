"""What the services' RPC payloads share: blank answers dropped, validation errors as message
codes (`required`, `too_long`, ...) keyed by dotted field names, the attachments the gateway
stored, and the checks on a complainant's identity document and contact.
"""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates

from services.common.phones import normalize_phone

CODES = {"required": "required", "null": "required", "invalid": "invalid", "type": "invalid"}
ID_NUMBER = validate.Regexp(r"^[A-Za-z0-9]{4,20}$", error="invalid_id_number")


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


def load(schema_class, data) -> dict:
    """The cleaned payload, or ValidationError with flattened message codes."""
    try:
        return schema_class().load(data if data is not None else {})
    except ValidationError as exc:
        raise ValidationError(flatten_errors(exc.messages)) from exc


# --- attachments: files the gateway stored before it called the service

def _required_text(max_length: int):
    return fields.String(required=True, error_messages=CODES,
                         validate=validate.Length(max=max_length, error="too_long"))


class AttachmentSchema(StrippedSchema):
    blob_key = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9/_.-]{1,200}$"))
    filename = _required_text(200)
    content_type = _required_text(100)
    size = fields.Integer(required=True, validate=validate.Range(min=1))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


def attachment_list():
    return fields.List(fields.Nested(AttachmentSchema), load_default=list,
                       validate=validate.Length(max=5, error="too_many_files"))


class AttachmentFile(Schema):
    """What the gateway needs to serve an attachment."""
    blob_key = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()


# --- the complainant: each service's schema declares its own fields, in its form's order, with
# these for the ones they share

def id_number_field():
    return fields.String(required=True, error_messages=CODES, validate=ID_NUMBER)


def optional_email_field():
    return fields.Email(load_default=None, allow_none=True, error_messages={**CODES, "invalid": "invalid_email"},
                        validate=validate.Length(max=254, error="too_long"))


class ComplainantBase(StrippedSchema):
    """Checks and canonical forms of the `phone`, `email` and `id_number` that a subclass declares."""

    @validates("phone")
    def phone_can_receive_sms(self, value, **_kwargs):
        if value is not None and normalize_phone(value) is None:
            raise ValidationError("invalid_phone")

    @post_load
    def normalize(self, data, **_kwargs):
        if data.get("phone"):
            data["phone"] = normalize_phone(data["phone"])
        if data.get("email"):
            data["email"] = data["email"].lower()
        data["id_number"] = data["id_number"].upper()
        return data
