"""The JSON API (/api/v1) that mobile apps and other clients use: keep it stable.

Errors are answered by gateway.errors; messages follow `?lang=`, then Accept-Language.
"""
import os

from flask import Blueprint, current_app, jsonify, request

from gateway.complaints import desk, unflatten
from gateway.downloads import citizen_link
from gateway.errors import InvalidBody
from gateway.i18n import current_language
from gateway.ratelimit import count_filing

blueprint = Blueprint("api", __name__)

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@blueprint.get("/healthz")
def healthz():
    """Up, without asking the broker; with this worker's RPC pool figures, so a benchmark can
    check that requests reuse a few proxies rather than open one each."""
    pool = desk().pool
    return {"status": "ok", "worker": os.getpid(),
            "rpc_proxies": {"opened": pool.opened, "idle": pool.idle}}


@blueprint.get("/readyz")
def readyz():
    """Ready to take requests: the broker answers this process (gateway.readiness).  The
    services behind it are not asked, so one slow service does not empty the load balancer."""
    if current_app.extensions["broker_check"]():
        return {"status": "ready"}
    return {"status": "unavailable", "broker": "unreachable"}, 503


@blueprint.get("/api/v1/administrations")
def administrations():
    return jsonify(desk().administrations())


def body_fields() -> dict:
    """A JSON object, or a form's fields (dotted names nested); InvalidBody otherwise."""
    if request.is_json:
        fields = request.get_json(silent=True)
        if not isinstance(fields, dict):
            raise InvalidBody()
        return fields
    if request.mimetype in FORM_TYPES:
        return unflatten(request.form)
    raise InvalidBody()


@blueprint.post("/api/v1/complaints")
def submit_complaint():
    """A JSON body, or a form with dotted field names and files named `attachments`."""
    receipt, _payload = desk().file(body_fields(), request.files.getlist("attachments"), current_language())
    count_filing()
    return receipt, 201


@blueprint.get("/api/v1/complaints/<tracking_number>")
def track_complaint(tracking_number):
    return desk().track(tracking_number, request.args.get("contact", ""))


# The citizen's steps after filing: each body carries the `contact` given at filing, and
# each answers the request's tracking view as it now stands.

@blueprint.post("/api/v1/complaints/<tracking_number>/messages")
def add_message(tracking_number):
    """JSON {contact, text}, or a form with `contact`, `text` and files named `attachments`."""
    fields = body_fields()
    view = desk().add_message(tracking_number, fields.get("contact", ""), fields.get("text", ""),
                              request.files.getlist("attachments"))
    return view, 201


@blueprint.post("/api/v1/complaints/<tracking_number>/rating")
def rate(tracking_number):
    fields = body_fields()
    score = fields.get("score")
    if isinstance(score, str) and score.isdigit():  # a form sends text
        score = int(score)
    return desk().rate(tracking_number, fields.get("contact", ""), score, fields.get("comment") or None)


@blueprint.post("/api/v1/complaints/<tracking_number>/confirmation")
def confirm(tracking_number):
    return desk().confirm(tracking_number, body_fields().get("contact", ""))


@blueprint.post("/api/v1/complaints/<tracking_number>/reopening")
def reopen(tracking_number):
    fields = body_fields()
    return desk().reopen(tracking_number, fields.get("contact", ""), fields.get("reason", ""))


@blueprint.get("/api/v1/complaints/<tracking_number>/attachments/<int:attachment_id>")
def attachment(tracking_number, attachment_id):
    """302 to a short-lived download link (the body says it too, for clients that do not follow)."""
    contact = request.args.get("contact", "")
    desk().citizen_attachment(tracking_number, contact, attachment_id)  # NotFound unless theirs
    link = citizen_link(tracking_number, contact, attachment_id)
    body = {"url": link, "expires_in": current_app.config["DOWNLOAD_LINK_SECONDS"]}
    return body, 302, {"Location": link}


@blueprint.get("/api/v1/stats")
def stats():
    return desk().stats()
