"""The public prosecution's pages (/prosecution), in two sides as the prosecution's own
platform has them: file a complaint, and follow a complaint.

Filing starts with the captcha (gateway.captcha); a right answer is a pass, kept in the
session, for one filing: the form (the complainant, one or more accused, the facts, the
documents) is shown only while the pass holds, and the filing spends it.  Following takes the
tracking code and the phone number given at filing; the page then keeps the file open for this
browser session, with the phone sealed in the session (gateway.sealing), like the portal's.
"""
import re
import uuid
from datetime import datetime

from flask import (Blueprint, current_app, flash, redirect, render_template, request, session, url_for)
from flask_babel import format_date, format_time, gettext as _, to_user_timezone
from flask_limiter.errors import RateLimitExceeded

from gateway import labels, prosecution_labels
from gateway.captcha import USED, TooManyCaptchas
from gateway.complaints import unflatten
from gateway.errors import UNAVAILABLE, describe, field_messages
from gateway.i18n import LANGUAGE_NAMES, current_language
from gateway.prosecution import prosecution_desk
from gateway.ratelimit import count_filing, is_filing_refusal
from gateway.sealing import Expired, Invalid, seal, unseal
from gateway.web import mask_email, mask_phone
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.prosecution.domain import ACCUSED_KINDS, CATEGORIES, COMPLAINANT_STATUSES, ID_TYPES, MAX_ACCUSED
from services.prosecution.schemas import ComplaintFiling

blueprint = Blueprint("prosecution", __name__, url_prefix="/prosecution")

PASS = "prosecution_pass"  # the session key of the captcha's pass
RECEIPT = "prosecution_receipt"
TRACKING = "prosecution_tracking"  # the session key, and the purpose the phone is sealed for
ACCUSED_FIELD = re.compile(r"^accused\.(\d+)\.(\w+)$")


def captchas():
    return current_app.extensions["captcha_desk"]


def _office_name(code: str | None) -> str:
    office = prosecution_desk().office(code) if code else None
    return office["office_" + current_language()] if office else (code or "")


@blueprint.get("/")
def index():
    """The two sides: file a complaint, follow a complaint."""
    return _index_page({})


def _index_page(values, errors=None, problem=None):
    return render_template("prosecution/index.html", values=values, errors=field_messages(errors or {}),
                           problem=problem, language_form="prosecution-track-form")


# --- filing: the captcha first


@blueprint.get("/file")
def file_complaint():
    if not captchas().holds(session.get(PASS)):
        return _captcha_page()
    values = {"language": current_language(), "client_reference": str(uuid.uuid4())}
    return _form(values)


def _captcha_page(problem_code=None, status=200):
    """A new code to type (none when the client has asked for too many lately)."""
    errors = {"captcha": [problem_code]} if problem_code else {}
    try:
        challenge = captchas().issue(request.remote_addr)
    except TooManyCaptchas:
        challenge, status = None, 429
        errors = {"captcha": ["captcha_too_many"]}
    return render_template("prosecution/captcha.html", challenge=challenge, values={},
                           errors=field_messages(errors)), status


@blueprint.post("/captcha")
def solve_captcha():
    if captchas().blocked(request.remote_addr):
        return _captcha_page("captcha_too_many", 429)
    problem = captchas().solve(request.form.get("challenge", ""), request.form.get("answer", ""),
                               request.remote_addr)
    if problem:
        return _captcha_page(problem, 400)
    session[PASS] = request.form["challenge"]
    return redirect(url_for(".file_complaint"), 303)


# --- filing: the form


def _accused_count(values: dict) -> int:
    indexes = {int(found.group(1)) for found in map(ACCUSED_FIELD.match, values) if found}
    return min(MAX_ACCUSED, max(1, len(indexes)))


def compact_accused(values: dict) -> dict:
    """The form's accused blocks renumbered 0, 1, ... with the wholly empty ones dropped, so
    that the errors the service names (`accused.1.legal_name`) are the blocks shown."""
    blocks = {}
    for name, value in values.items():
        found = ACCUSED_FIELD.match(name)
        if found:
            blocks.setdefault(int(found.group(1)), {})[found.group(2)] = value
    kept = [blocks[index] for index in sorted(blocks) if any(value.strip() for value in blocks[index].values())]
    compacted = {name: value for name, value in values.items() if not ACCUSED_FIELD.match(name)}
    for position, block in enumerate(kept):
        compacted.update({f"accused.{position}.{field}": value for field, value in block.items()})
    return compacted


@blueprint.post("/file")
def send_complaint():
    values = compact_accused(request.form.to_dict())
    if not captchas().holds(session.get(PASS)):
        flash(_("Please type the code again: the previous one has expired or was already used."))
        return redirect(url_for(".file_complaint"), 303)
    if "switch_language" in values:
        return _form(values, files_dropped=_files_were_sent())
    if "add_accused" in values:
        return _form(values, accused_count=_accused_count(values) + 1, files_dropped=_files_were_sent())
    pass_id = session[PASS]
    try:
        receipt, filing = prosecution_desk().file(
            unflatten(values), request.files.getlist("attachments"), current_language(),
            captcha=lambda: None if captchas().spend(pass_id) else USED,
            give_back=lambda: captchas().give_back(pass_id))
    except ValidationFailed as exc:
        if "captcha" in exc.errors:
            return _captcha_page(exc.errors["captcha"][0], 400)
        return _form(values, errors=exc.errors, files_dropped=_files_were_sent()), 400
    except UNAVAILABLE as exc:
        status, _code, message = describe(exc)
        return _form(values, problem=message, files_dropped=_files_were_sent()), status
    count_filing()
    session.pop(PASS, None)
    person = filing["complainant"]
    # the session cookie is only signed, so it carries the contacts already masked
    session[RECEIPT] = {**receipt, "phone": mask_phone(person["phone"]),
                        "email": person["email"] and mask_email(person["email"]),
                        "attachments": [{"filename": item["filename"], "size": item["size"],
                                         "sha256": item["sha256"]} for item in filing["attachments"]]}
    return redirect(url_for(".receipt"), 303)


def _files_were_sent() -> bool:
    return any(storage.filename for storage in request.files.getlist("attachments"))


def _form(values: dict, errors: dict | None = None, problem: str | None = None, files_dropped: bool = False,
          accused_count: int | None = None):
    errors = field_messages(errors or {}, ComplaintFiling)
    if files_dropped and not errors.get("attachments"):
        errors["attachments"] = []  # the note "choose the files again" still shows there
    name = "name_" + current_language()
    cities = sorted(((code, city[name]) for code, city in prosecution_desk().cities().items()),
                    key=lambda option: option[1])
    return render_template(
        "prosecution/form.html", values=values, errors=errors, problem=problem, files_dropped=files_dropped,
        accused_count=min(MAX_ACCUSED, accused_count or _accused_count(values)), max_accused=MAX_ACCUSED,
        categories=[(code, prosecution_labels.CATEGORIES[code]) for code in CATEGORIES],
        accused_kinds=[(code, prosecution_labels.ACCUSED_KINDS[code]) for code in ACCUSED_KINDS],
        complainant_statuses=[(code, labels.COMPLAINANT_STATUSES[code]) for code in COMPLAINANT_STATUSES],
        id_types=[(code, labels.ID_TYPES[code]) for code in ID_TYPES], cities=cities,
        message_languages=list(LANGUAGE_NAMES.items()), language_form="prosecution-form",
        max_attachments=current_app.config["MAX_ATTACHMENTS"],
        max_attachment_bytes=current_app.config["MAX_ATTACHMENT_BYTES"])


@blueprint.get("/receipt")
def receipt():
    """This browser's last filing, kept in its session so a reload shows it again."""
    filed = session.get(RECEIPT)
    if not filed:
        return redirect(url_for(".index"))
    return render_template("prosecution/receipt.html", receipt=filed, office=_office_name(filed["office_code"]),
                           submitted_at=_local_time(filed["submitted_at"]))


# --- following


@blueprint.post("/track")
def track():
    values = request.form.to_dict()
    if "switch_language" in values:
        return _index_page(values)
    missing = {name: ["required"] for name in ("tracking_code", "phone") if not values.get(name, "").strip()}
    if missing:
        return _index_page(values, errors=missing), 400
    try:
        view = prosecution_desk().track(values["tracking_code"], values["phone"])
    except (NotFound, *UNAVAILABLE) as exc:
        status, _code, message = describe(exc)
        return _index_page(values, problem=message), status
    _remember(view["tracking_code"], values["phone"])
    return redirect(url_for(".tracked", code=view["tracking_code"]), 303)


@blueprint.errorhandler(RateLimitExceeded)
def too_many_attempts(exc):
    """The limited form again (filing or following), with what was typed; the captcha's pass is kept."""
    _status, _code, message = describe(exc)
    if is_filing_refusal(exc):
        return _form(compact_accused(request.form.to_dict()), problem=message,
                     files_dropped=_files_were_sent()), 429
    return _index_page(request.form.to_dict(), problem=message), 429


def _remember(code: str, phone: str) -> None:
    session[TRACKING] = {"tracking_code": code, "phone": seal(TRACKING, phone)}


def _phone_kept_for(code: str) -> str | None:
    kept = session.get(TRACKING)
    if not kept or kept["tracking_code"] != code:
        return None
    try:
        phone = unseal(TRACKING, kept["phone"], current_app.config["TRACKING_SESSION_SECONDS"])
    except (Expired, Invalid):
        session.pop(TRACKING, None)
        return None
    _remember(code, phone)
    return phone


@blueprint.get("/track/<code>")
def tracked(code):
    phone = _phone_kept_for(code)
    if phone is None:
        return redirect(url_for(".index"))
    return _complaint_page(code, phone)


@blueprint.post("/track/<code>/documents")
def add_documents(code):
    phone = _phone_kept_for(code)
    if phone is None:
        return redirect(url_for(".index"))
    try:
        prosecution_desk().add_documents(code, phone, request.files.getlist("attachments"))
    except ValidationFailed as exc:
        return _complaint_page(code, phone, errors=exc.errors), 400
    except (TransitionRefused, *UNAVAILABLE) as exc:
        status, _code, message = describe(exc)
        return _complaint_page(code, phone, problem=message), status
    flash(_("Your documents were added to your complaint."))
    return redirect(url_for(".tracked", code=code), 303)


@blueprint.post("/track/forget")
def forget():
    """For a shared computer: this browser no longer opens the complaint without the phone."""
    session.pop(TRACKING, None)
    return redirect(url_for(".index"), 303)


def _complaint_page(code, phone, errors=None, problem=None):
    view = prosecution_desk().track(code, phone)
    timeline = [{"at": entry["at"], "when": _local_time(entry["at"]),
                 "what": prosecution_labels.step_label(entry, _office_name),
                 "message": (entry.get("detail") or {}).get("message")} for entry in view["timeline"]]
    return render_template(
        "prosecution/track.html", complaint=view, timeline=timeline, office=_office_name(view["office_code"]),
        status_label=prosecution_labels.STATUSES.get(view["status"], view["status"]),
        category_label=prosecution_labels.CATEGORIES.get(view["category"], view["category"]),
        submitted_when=_local_time(view["submitted_at"]), values={}, errors=field_messages(errors or {}),
        problem=problem, files_dropped=False, max_attachments=current_app.config["MAX_ATTACHMENTS"],
        max_attachment_bytes=current_app.config["MAX_ATTACHMENT_BYTES"])


def _local_time(iso: str) -> str:
    moment = to_user_timezone(datetime.fromisoformat(iso))
    return _("%(date)s at %(time)s", date=format_date(moment, "long"), time=format_time(moment, "short"))
