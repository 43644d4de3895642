"""Callbacks from the providers notify sends through: Twilio POSTs each SMS's fate (queued,
sent, delivered, undelivered, failed) to TWILIO_STATUS_CALLBACK_URL, the address notify gave it
with the SMS, and this passes it on to notify's `provider_status`.

Only Twilio can sign a callback with the account's auth token (X-Twilio-Signature, an HMAC of
the URL it called and the form), so anything unsigned or signed otherwise is refused (403) and
tells notify nothing.  The signature covers the public URL Twilio called, which behind a proxy
is not the one Flask sees: it is checked against TWILIO_STATUS_CALLBACK_URL (by default
PUBLIC_BASE_URL + /webhooks/twilio/status).  No CSRF token (a machine posts here, with a
signature) and none of the citizens' rate limits.
"""
import logging

from flask import Blueprint, Response, current_app, request
from twilio.request_validator import RequestValidator

from gateway.complaints import desk

log = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def signed_by_twilio() -> bool:
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token:  # without it anyone could sign: refuse everything
        log.error("a Twilio status callback came, but the gateway has no TWILIO_AUTH_TOKEN to check it")
        return False
    return bool(signature) and RequestValidator(token).validate(
        current_app.config["TWILIO_STATUS_CALLBACK_URL"], request.form, signature)


@blueprint.post("/twilio/status")
def twilio_status():
    if not signed_by_twilio():
        log.warning("refused a Twilio status callback from %s: bad or missing signature", request.remote_addr)
        return Response(status=403)
    message_sid, status = request.form.get("MessageSid"), request.form.get("MessageStatus")
    if not message_sid or not status:
        return Response(status=400)
    known = desk().pool.call("notify", "provider_status", provider="twilio", provider_id=message_sid,
                             status=status, error=request.form.get("ErrorCode") or None)
    if not known:
        log.warning("Twilio reported %s for %s, which notify never sent", status, message_sid)
    return Response(status=204)
