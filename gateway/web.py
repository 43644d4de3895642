"""The citizen pages: home, the filing form and its receipt, and following a request.

Both forms can switch language without losing what was typed: the language buttons submit
the form with `switch_language`, which re-renders it in the other language unchecked.
"""
import uuid
from datetime import datetime

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import format_date, format_time, gettext as _, to_user_timezone

from gateway import labels
from gateway.complaints import desk, unflatten
from gateway.errors import UNAVAILABLE, describe, field_messages
from gateway.i18n import LANGUAGE_NAMES, current_language
from services.common.errors import NotFound, ValidationFailed
from services.common.regions import regions
from services.intake.domain import UNKNOWN_ADMINISTRATION
from services.routing.domain import TRIAGE

blueprint = Blueprint("web", __name__)


@blueprint.get("/")
def home():
    return render_template("home.html")


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
    person = payload["complainant"]
    # the session cookie is only signed, so it carries the contacts already masked
    session["receipt"] = {
        **receipt,
        "email": person["email"] and mask_email(person["email"]),
        "phone": person["phone"] and mask_phone(person["phone"]),
        "attachments": [{"filename": item["filename"], "size": item["size"]}
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
    if request.method == "GET":
        return _track_page({"tracking_number": request.args.get("number", "")})
    values = request.form.to_dict()
    if "switch_language" in values and not (values.get("tracking_number") and values.get("contact")):
        return _track_page(values)
    missing = {name: ["required"] for name in ("tracking_number", "contact") if not values.get(name, "").strip()}
    if missing:
        return _track_page(values, errors=missing), 400
    try:
        view = desk().track(values["tracking_number"], values["contact"])
    except (NotFound, *UNAVAILABLE) as exc:
        status, _code, message = describe(exc)
        return _track_page(values, problem=message), status
    return _track_page(values, complaint=_tracking_view(view))


def _track_page(values: dict, errors: dict | None = None, problem: str | None = None,
                complaint: dict | None = None):
    return render_template("track.html", values=values, errors=field_messages(errors or {}),
                           problem=problem, complaint=complaint, language_form="track-form")


def _tracking_view(view: dict) -> dict:
    """Intake's tracking view with every code and date said in the user's language."""
    return {
        "tracking_number": view["tracking_number"],
        "status": labels.STATUSES.get(view["status"], view["status"]),
        "type": labels.REQUEST_TYPES.get(view["type"], view["type"]),
        "administration": _administration_name(view["administration_code"]),
        "subject": view["subject"],
        "submitted_at": _local_time(view["submitted_at"]),
        "attachments": view.get("attachments", []),
        "timeline": [{"at": entry["at"], "when": _local_time(entry["at"]),
                      "what": labels.timeline_label(entry)} for entry in view["timeline"]],
    }


def _administration_name(code: str) -> str:
    if code in (UNKNOWN_ADMINISTRATION, TRIAGE):
        return _("To be determined by the dispatch team")
    entry = desk().administration(code)
    return entry["name_" + current_language()] if entry else code


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
