"""Notify's RPC payloads."""
from marshmallow import Schema, fields


class DeliveryView(Schema):
    """A delivery as the notification history shows it: no address, no provider internals."""
    channel = fields.String()
    template = fields.String()
    language = fields.String()
    status = fields.String()
    provider = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
