"""The JSON API (/api/v1) that mobile apps and other clients use: keep it stable.

Errors are answered by gateway.errors; messages follow `?lang=`, then Accept-Language.
"""
import os

from flask import Blueprint, jsonify, request

from gateway.complaints import desk, unflatten
from gateway.errors import InvalidBody
from gateway.i18n import current_language

blueprint = Blueprint("api", __name__)

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@blueprint.get("/healthz")
def healthz():
    """Up, without asking the broker; with this worker's RPC pool figures, so a benchmark can
    check that requests reuse a few proxies rather than open one each."""
    pool = desk().pool
    return {"status": "ok", "worker": os.getpid(),
            "rpc_proxies": {"opened": pool.opened, "idle": pool.idle}}


@blueprint.get("/api/v1/administrations")
def administrations():
    return jsonify(desk().administrations())


@blueprint.post("/api/v1/complaints")
def submit_complaint():
    """A JSON body, or a form with dotted field names and files named `attachments`."""
    if request.is_json:
        fields = request.get_json(silent=True)
        if not isinstance(fields, dict):
            raise InvalidBody()
    elif request.mimetype in FORM_TYPES:
        fields = unflatten(request.form)
    else:
        raise InvalidBody()
    receipt, _payload = desk().file(fields, request.files.getlist("attachments"), current_language())
    return receipt, 201


@blueprint.get("/api/v1/complaints/<tracking_number>")
def track_complaint(tracking_number):
    return desk().track(tracking_number, request.args.get("contact", ""))


@blueprint.get("/api/v1/stats")
def stats():
    return desk().stats()
