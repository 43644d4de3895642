"""The citizen pages: home, the filing form and its receipt, following a request, and the
request's page where the citizen writes to the administration, rates, confirms or reopens.

Both forms can switch language without losing what was typed: the language buttons submit
the form with `switch_language`, which re-renders it in the other language unchecked.
"""
import uuid
from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_date, format_time, gettext as _, lazy_gettext as _l, to_user_timezone
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import BadRequest

from gateway import labels
from gateway.complaints import desk, unflatten
from gateway.downloads import citizen_link
from gateway.errors import UNAVAILABLE, describe, field_messages
from gateway.i18n import LANGUAGE_NAMES, current_language
from gateway.portal_content import lifecycle_settings
from gateway.ratelimit import count_filing, is_filing_refusal
from gateway.sealing import Expired, Invalid, seal, unseal
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.common.regions import regions
from services.intake.domain import UNKNOWN_ADMINISTRATION
from services.intake.schemas import CitizenMessage, RatingSchema, ReopenSchema
from services.routing.domain import TRIAGE

blueprint = Blueprint("web", __name__)

TRACKING_SESSION = "tracking"  # the session key, and the purpose the contact is sealed for
# the Ombudsman of the Kingdom (Médiateur du Royaume, مؤسسة وسيط المملكة): where a citizen goes
# once a request has been reopened as many times as allowed
OMBUDSMAN_URL = "https://www.mediateur.ma"


@blueprint.get("/")
def home():
    return render_template("home.html", lifecycle=lifecycle_settings())


@blueprint.route("/complaints/new", methods=["GET", "POST"])
def new_complaint():
    if request.method == "GET":
        values = {"language": current_language(), "client_reference": str(uuid.uuid4())}
        return _complaint_form(values)
    values = request.form.to_dict()
    if "switch_language" in values:
        return _complaint_form(values, files_dropped=_files_were_sent())
    try:
        receipt, payload = desk().file(unflatten(values), request.files.getlist("attachments"),
                                       current_language())
    except ValidationFailed as exc:
        return _complaint_form(values, errors=exc.errors, files_dropped=_files_were_sent()), 400
    except UNAVAILABLE as exc:
        status, _code, message = describe(exc)
        return _complaint_form(values, problem=message, files_dropped=_files_were_sent()), status
    count_filing()
    person = payload["complainant"]
    # the session cookie is only signed, so it carries the contacts already masked
    session["receipt"] = {
        **receipt,
        "email": person["email"] and mask_email(person["email"]),
        "phone": person["phone"] and mask_phone(person["phone"]),
        "attachments": [{"filename": item["filename"], "size": item["size"], "sha256": item["sha256"]}
                        for item in payload["attachments"]],
    }
    return redirect(url_for(".receipt"))


def _files_were_sent() -> bool:
    return any(storage.filename for storage in request.files.getlist("attachments"))


def _complaint_form(values: dict, errors: dict | None = None, problem: str | None = None,
                    files_dropped: bool = False):
    errors = field_messages(errors or {})
    if files_dropped and not errors.get("attachments"):
        errors["attachments"] = []  # the note "choose the files again" still shows there
    name = "name_" + current_language()
    return render_template(
        "complaint_form.html", values=values, errors=errors, problem=problem,
        files_dropped=files_dropped, administration_groups=_administration_groups(),
        regions_options=[(region["code"], region[name]) for region in regions()],
        request_types=labels.REQUEST_TYPES, complainant_statuses=labels.COMPLAINANT_STATUSES,
        id_types=labels.ID_TYPES, message_languages=list(LANGUAGE_NAMES.items()),
        unknown_administration=UNKNOWN_ADMINISTRATION, language_form="complaint-form",
        max_attachments=current_app.config["MAX_ATTACHMENTS"],
        max_attachment_bytes=current_app.config["MAX_ATTACHMENT_BYTES"])


def _administration_groups():
    """The directory grouped by kind, each group sorted by name in the page's language."""
    name = "name_" + current_language()
    groups = []
    for kind, label in labels.ADMINISTRATION_KINDS.items():
        members = sorted((entry for entry in desk().administrations() if entry["kind"] == kind),
                         key=lambda entry: entry[name])
        if members:
            groups.append((label, [(entry["code"], entry[name]) for entry in members]))
    return groups


@blueprint.get("/complaints/receipt")
def receipt():
    """The receipt of this browser's last filing, kept in its session so a reload or a
    language switch shows it again without filing anything."""
    filed = session.get("receipt")
    if not filed:
        return redirect(url_for(".new_complaint"))
    return render_template("receipt.html", receipt=filed,
                           administration=_administration_name(filed["administration_code"]),
                           submitted_at=_local_time(filed["submitted_at"]))


@blueprint.route("/track", methods=["GET", "POST"])
def track():
    """The tracking form.  A number and contact that match keep the citizen on their request
    for this browser session (the contact sealed, see gateway.sealing) and lead to its page."""
    if request.method == "GET":
        return _track_page({"tracking_number": request.args.get("number", "")})
    values = request.form.to_dict()
    if "switch_language" in values:
        return _track_page(values)
    missing = {name: ["required"] for name in ("tracking_number", "contact") if not values.get(name, "").strip()}
    if missing:
        return _track_page(values, errors=missing), 400
    try:
        view = desk().track(values["tracking_number"], values["contact"])
    except (NotFound, *UNAVAILABLE) as exc:
        status, _code, message = describe(exc)
        return _track_page(values, problem=message), status
    _remember(view["tracking_number"], values["contact"])
    return redirect(url_for(".tracked", number=view["tracking_number"]), 303)


@blueprint.errorhandler(RateLimitExceeded)
def too_many_attempts(exc):
    """The limited form again (filing or tracking), with what was typed."""
    _status, _code, message = describe(exc)
    if is_filing_refusal(exc):
        return _complaint_form(request.form.to_dict(), problem=message, files_dropped=_files_were_sent()), 429
    return _track_page(request.form.to_dict(), problem=message), 429


def _track_page(values: dict, errors: dict | None = None, problem: str | None = None):
    return render_template("track.html", values=values, errors=field_messages(errors or {}),
                           problem=problem, language_form="track-form")


@blueprint.post("/track/forget")
def forget():
    """For a shared computer: this browser no longer opens the request without the contact."""
    session.pop(TRACKING_SESSION, None)
    return redirect(url_for(".track"), 303)


def _remember(tracking_number: str, contact: str) -> None:
    session[TRACKING_SESSION] = {"tracking_number": tracking_number,
                                 "contact": seal(TRACKING_SESSION, contact)}


def _contact_kept_for(tracking_number: str) -> str | None:
    """The contact this browser proved for this request, if it still holds; each use keeps
    it for another TRACKING_SESSION_SECONDS."""
    kept = session.get(TRACKING_SESSION)
    if not kept or kept["tracking_number"] != tracking_number:
        return None
    try:
        contact = unseal(TRACKING_SESSION, kept["contact"], current_app.config["TRACKING_SESSION_SECONDS"])
    except (Expired, Invalid):
        session.pop(TRACKING_SESSION, None)
        return None
    _remember(tracking_number, contact)
    return contact


# The forms of the request's page (their `action`): the intake schema that checks what they
# send (for the bounds its error messages quote), and what the page says once one is done.
CITIZEN_ACTIONS = {
    "message": (CitizenMessage, _l("Your message has been sent to the administration.")),
    "rating": (RatingSchema, _l("Thank you: your rating has been recorded.")),
    "confirmation": (None, _l("You confirmed the answer: your request is closed.")),
    "reopening": (ReopenSchema, _l("Your request has been reopened and sent back to the administration.")),
}


@blueprint.route("/track/<number>", methods=["GET", "POST"])
def tracked(number):
    """The request's page: where it stands, the conversation, the answer, and what the citizen
    may do next.  Each form posts here with `action`; after it, the page is shown again."""
    contact = _contact_kept_for(number)
    if contact is None:
        return redirect(url_for(".track", number=number))
    if request.method == "GET":
        return _request_page(number, contact)
    values = request.form.to_dict()
    action = values.get("action")
    if action not in CITIZEN_ACTIONS:
        raise BadRequest()
    if "switch_language" in values:
        return _request_page(number, contact, action, values)
    try:
        _act(action, number, contact, values)
    except ValidationFailed as exc:
        return _request_page(number, contact, action, values, errors=exc.errors,
                             files_dropped=_files_were_sent()), 400
    except (TransitionRefused, *UNAVAILABLE) as exc:
        status, _code, message = describe(exc)
        return _request_page(number, contact, action, values, problem=message,
                             files_dropped=_files_were_sent()), status
    flash(str(CITIZEN_ACTIONS[action][1]))
    return redirect(url_for(".tracked", number=number), 303)


def _act(action: str, number: str, contact: str, values: dict) -> None:
    if action == "message":
        desk().add_message(number, contact, values.get("text", ""), request.files.getlist("attachments"))
    elif action == "rating":
        score = values.get("score", "")
        desk().rate(number, contact, int(score) if score.isdigit() else score or None,
                    values.get("comment") or None)
    elif action == "confirmation":
        desk().confirm(number, contact)
    else:
        desk().reopen(number, contact, values.get("reason", ""))


@blueprint.get("/track/<number>/attachments/<int:attachment_id>")
def attachment(number, attachment_id):
    """A fresh short-lived link, so the page's links work however long it stays open."""
    contact = _contact_kept_for(number)
    if contact is None:
        return redirect(url_for(".track", number=number))
    return redirect(citizen_link(number, contact, attachment_id), 303)


def _request_page(number: str, contact: str, action: str | None = None, values: dict | None = None,
                  errors: dict | None = None, problem: str | None = None, files_dropped: bool = False):
    """The page; after a failed action, with that form's values and errors (and the language
    switch re-sending that form, so nothing typed is lost)."""
    view = desk().track(number, contact)
    errors = field_messages(errors or {}, CITIZEN_ACTIONS[action][0]) if errors else {}
    if files_dropped and not errors.get("attachments"):
        errors["attachments"] = []  # the note "choose the files again" still shows there
    return render_template(
        "request.html", complaint=_tracking_view(view), action=action, values=values or {},
        errors=errors, problem=problem, files_dropped=files_dropped,
        language_form=f"{action}-form" if action else None,
        max_attachments=current_app.config["MAX_ATTACHMENTS"],
        max_attachment_bytes=current_app.config["MAX_ATTACHMENT_BYTES"],
        ombudsman_url=OMBUDSMAN_URL)


def _tracking_view(view: dict) -> dict:
    """Intake's tracking view with every code and date said in the user's language."""
    number = view["tracking_number"]

    def receipts(attachments):
        return [{**item, "url": url_for(".attachment", number=number, attachment_id=item["id"])}
                for item in attachments]

    answer = view.get("answer")
    return {
        **view,
        "status_label": labels.STATUSES.get(view["status"], view["status"]),
        "type_label": labels.REQUEST_TYPES.get(view["type"], view["type"]),
        "administration": _administration_name(view["administration_code"]),
        "submitted_when": _local_time(view["submitted_at"]),
        "deadline_when": view.get("deadline_at") and _local_date(view["deadline_at"]),
        "closed_reason_label": view.get("closed_reason") and labels.CLOSE_REASONS.get(
            view["closed_reason"], view["closed_reason"]),
        "filed_attachments": receipts(item for item in view["attachments"] if item.get("message_id") is None),
        "answer": answer and {**answer, "when": _local_time(answer["at"]),
                              "attachments": receipts(answer.get("attachments", []))},
        "messages": [{**message, "when": _local_time(message["at"]),
                      "attachments": receipts(message.get("attachments", []))}
                     for message in view.get("messages", [])],
        "timeline": [{"at": entry["at"], "when": _local_time(entry["at"]),
                      "what": labels.timeline_label(entry, _administration_name)} for entry in view["timeline"]],
    }


def _administration_name(code: str) -> str:
    if code in (UNKNOWN_ADMINISTRATION, TRIAGE):
        return _("To be determined by the dispatch team")
    entry = desk().administration(code)
    return entry["name_" + current_language()] if entry else code


def _local_date(iso: str) -> str:
    return format_date(to_user_timezone(datetime.fromisoformat(iso)), "long")


def _local_time(iso: str) -> str:
    """`29 November 2026 at 09:15` in Moroccan time, in the user's language."""
    moment = to_user_timezone(datetime.fromisoformat(iso))  # format_date alone would not convert
    return _("%(date)s at %(time)s", date=format_date(moment, "long"), time=format_time(moment, "short"))


def mask_email(address: str) -> str:
    """Enough of an address for its owner to recognise it on a shared screen."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def mask_phone(number: str) -> str:
    return f"{number[:-6]}•••{number[-3:]}"
