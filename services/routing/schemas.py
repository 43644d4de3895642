"""What routing sends to an administration's queue: the complaint as its consumer needs it."""
from marshmallow import EXCLUDE, Schema, fields

from services.common.events import AttachmentSchema, ComplainantSchema
from services.routing.domain import SUBMITTED


class RoutedComplaint(Schema):
    class Meta:
        unknown = EXCLUDE

    message_id = fields.UUID(required=True)  # stable across redeliveries: the idempotency key
    tracking_number = fields.String(required=True)
    administration_code = fields.String(required=True)
    requested_administration_code = fields.String(required=True)
    triage = fields.Boolean(required=True)
    type = fields.String(required=True)
    subject = fields.String(required=True)
    description = fields.String(required=True)
    region = fields.String(required=True)
    language = fields.String(required=True)
    complainant = fields.Nested(ComplainantSchema, required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    submitted_at = fields.String(required=True)
    # Why it comes: submitted, transferred or reopened (see domain).  Not checked, so a consumer
    # older than a new reason still delivers; messages older than the field were all first filings.
    reason = fields.String(load_default=SUBMITTED)
    reopen_count = fields.Integer(allow_none=True, load_default=None)  # set when reason is "reopened"
