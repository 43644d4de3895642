"""The agent JSON API (/api/v1/agent): what the back office does, for an administration's own
case system.  Each request carries `Authorization: Bearer <token>`, a token a platform
administrator made for one administration; the system then acts as an agent of it, named
after the token.  Bodies are JSON objects, or forms (an answer's files as `attachments`).

Errors are answered by gateway.errors: 401 without a valid token, 404 for a complaint that is
not the administration's (as for one that does not exist), 409 for a step the complaint's
state does not allow.
"""
from flask import Blueprint, current_app, g, jsonify, request
from werkzeug import exceptions as http

from gateway.accounts import token_actor
from gateway.casework import casework, inbox_filters
from gateway.complaints import desk
from gateway.downloads import attachment_response
from gateway.errors import InvalidBody, NoSuchComplaint
from services.common.errors import NotFound

blueprint = Blueprint("agent_api", __name__, url_prefix="/api/v1/agent")

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@blueprint.before_request
def authenticate():
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    holder = None
    if scheme.lower() == "bearer" and token.strip():
        holder = current_app.extensions["accounts"].token_holder(token.strip())
    if holder is None:
        raise http.Unauthorized()
    g.api_actor = token_actor(holder)


@blueprint.after_request
def answer_headers(response):
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="chikaya"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _fields() -> dict:
    if request.is_json:
        fields = request.get_json(silent=True)
        if not isinstance(fields, dict):
            raise InvalidBody()
        return fields
    if request.mimetype in FORM_TYPES:
        return request.form.to_dict()
    if not request.get_data():
        return {}  # acknowledge needs nothing more than the address
    raise InvalidBody()


def _call(method: str, tracking_number: str, *args):
    try:
        return getattr(casework(), method)(g.api_actor, tracking_number, *args)
    except NotFound:
        raise NoSuchComplaint() from None


@blueprint.get("/complaints")
def inbox():
    return {"complaints": casework().inbox(g.api_actor, inbox_filters(request.args))}


@blueprint.get("/complaints/<tracking_number>")
def complaint(tracking_number):
    return jsonify(_call("view", tracking_number))


@blueprint.get("/complaints/<tracking_number>/attachments/<int:attachment_id>")
def attachment(tracking_number, attachment_id):
    return attachment_response(desk().blobs, _call("attachment", tracking_number, attachment_id))


@blueprint.post("/complaints/<tracking_number>/acknowledge")
def acknowledge(tracking_number):
    _fields()
    return jsonify(_call("acknowledge", tracking_number))


@blueprint.post("/complaints/<tracking_number>/request-information")
def request_information(tracking_number):
    return jsonify(_call("request_information", tracking_number, _fields().get("message", "")))


@blueprint.post("/complaints/<tracking_number>/answer")
def answer(tracking_number):
    text = _fields().get("text", "")
    return jsonify(_call("answer", tracking_number, text, request.files.getlist("attachments")))


@blueprint.post("/complaints/<tracking_number>/close")
def close(tracking_number):
    fields = _fields()
    return jsonify(_call("close", tracking_number, fields.get("reason", ""), fields.get("duplicate_of") or None))


@blueprint.post("/complaints/<tracking_number>/transfer")
def transfer(tracking_number):
    fields = _fields()
    return jsonify(_call("transfer", tracking_number, fields.get("to_administration_code", ""),
                         fields.get("reason", "")))


@blueprint.post("/complaints/<tracking_number>/notes")
def add_note(tracking_number):
    return jsonify(_call("add_note", tracking_number, _fields().get("text", ""))), 201
