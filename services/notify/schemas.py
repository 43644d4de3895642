"""Notify's RPC payloads."""
from marshmallow import Schema, fields


class DeliveryView(Schema):
    """A delivery as the notification history shows it: no address, no provider internals
    beyond the reason a message failed or waits for another attempt."""
    channel = fields.String()
    template = fields.String()
    language = fields.String()
    status = fields.String()
    provider = fields.String()
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
