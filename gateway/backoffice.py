"""The administrations' back office (/backoffice): sign-in, the inbox, the complaint page and
its actions, and the platform administrator's pages (accounts, API tokens, administrations).

Sessions last PERMANENT_SESSION_LIFETIME from the last request: the signed session cookie
carries the time of the last request, which is checked here on every request, so a copied
cookie is worth nothing after that either.  Intake decides what each account may see and
do; a complaint outside the account's administration is answered 404, like a missing one.
"""
import time
from datetime import datetime
from functools import wraps
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import format_date, format_datetime, gettext as _

from gateway import labels, prosecution_labels
from gateway.accounts import MIN_PASSWORD, agent_actor, session_marker
from gateway.casework import ALL_ADMINISTRATIONS, casework, inbox_filters
from gateway.complaints import desk
from gateway.downloads import agent_link
from gateway.errors import UNAVAILABLE, NoSuchComplaint, describe, field_messages, transition_message
from gateway.i18n import LANGUAGE_NAMES, current_language
from gateway.models import ADMINISTRATION_ROLES, PROSECUTION_ROLES
from gateway.prosecution import prosecution_desk
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.common.regions import regions
from services.intake import schemas
from services.intake.domain import ACCESS_LOG_READERS, AGENT_CLOSE_REASONS, PLATFORM_ROLES
from services.routing.domain import CONTACT_FIELDS, CONTACT_LANGUAGES, KINDS, TRIAGE

blueprint = Blueprint("backoffice", __name__, url_prefix="/backoffice")

SESSION_KEY = "backoffice"


def accounts():
    return current_app.extensions["accounts"]


def throttle():
    return current_app.extensions["login_throttle"]


def actor() -> dict:
    return agent_actor(g.agent)


# who is signed in


@blueprint.before_request
def load_signed_in_agent():
    g.agent = None
    state = session.get(SESSION_KEY)
    if not state:
        return
    idle = time.time() - state.get("seen", 0)
    agent = accounts().agent(state.get("agent_id")) if idle <= _lifetime_seconds() else None
    if agent is None or session_marker(agent) != state.get("marker"):
        # idle too long, the account deactivated, or its password changed meanwhile
        session.pop(SESSION_KEY, None)
        flash(_("Your session has ended. Please sign in again."), "info")
        return
    g.agent = agent
    _keep_signed_in(agent)


def _keep_signed_in(agent) -> None:
    session[SESSION_KEY] = {"agent_id": agent.id, "marker": session_marker(agent), "seen": time.time()}
    session.permanent = True


def _lifetime_seconds() -> float:
    return current_app.permanent_session_lifetime.total_seconds()


@blueprint.context_processor
def page_helpers():
    name = "name_" + current_language()
    return {"roles": {**labels.ROLES, **prosecution_labels.ROLES}, "prosecution_roles": PROSECUTION_ROLES,
            "statuses": labels.CASE_STATUSES, "request_types": labels.REQUEST_TYPES,
            "close_reason_names": labels.CLOSE_REASONS, "complainant_statuses": labels.COMPLAINANT_STATUSES,
            "id_types": labels.ID_TYPES, "language_names": LANGUAGE_NAMES,
            "message_kinds": labels.MESSAGE_KINDS, "channels": labels.DELIVERY_CHANNELS,
            "delivery_statuses": labels.DELIVERY_STATUSES, "access_actions": labels.ACCESS_ACTIONS,
            "notification_templates": labels.NOTIFICATION_TEMPLATES,
            "regions": {region["code"]: region[name] for region in regions()},
            "timeline_label": labels.timeline_label, "when": _when, "day": _day,
            "file_link": lambda tracking_number, attachment_id: agent_link(actor(), tracking_number, attachment_id)}


def _moment(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _when(value) -> str:
    """A date and time in Moroccan time, short: for tables and lists."""
    return format_datetime(_moment(value), "short") if value else ""


def _day(value) -> str:
    return format_date(_moment(value), "medium") if value else ""


@blueprint.after_request
def private_pages(response):
    # personal data: never cached, never indexed
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def signed_in(*roles):
    """The view needs a signed-in account (of one of `roles`, if given)."""
    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if g.agent is None:
                wanted = request.full_path if request.method == "GET" else None
                return redirect(url_for(".login", next=wanted))
            if g.agent.must_change_password and view.__name__ != "change_password":
                return redirect(url_for(".change_password"))
            if g.agent.role in PROSECUTION_ROLES and view.__name__ != "change_password":
                # the prosecution's staff have their own inbox, and see nothing of the portal's
                if view.__name__ == "inbox":
                    return redirect(url_for("prosecution_office.inbox"))
                raise NoSuchComplaint()
            if roles and g.agent.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return checked
    return decorate


def _safe_next(target: str | None) -> str:
    """Only a back-office path of this site: never an address elsewhere."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/backoffice/") or "\\" in target:
        return url_for(".inbox")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    values = {"username": request.form.get("username", ""), "next": request.values.get("next", "")}
    if request.method == "GET":
        if g.agent is not None:
            return redirect(_safe_next(values["next"]))
        return render_template("backoffice/login.html", values=values)
    key = (values["username"].strip().lower(), request.remote_addr)
    if throttle().blocked(*key):
        problem = _("Too many failed attempts. Wait a few minutes before trying again.")
        return render_template("backoffice/login.html", values=values, problem=problem), 429, \
            {"Retry-After": str(throttle().seconds_to_wait(*key))}
    agent = accounts().authenticate(values["username"], request.form.get("password", ""))
    if agent is None:
        throttle().failed(*key)
        problem = _("Wrong username or password.")
        return render_template("backoffice/login.html", values=values, problem=problem), 401
    throttle().succeeded(*key)
    _keep_signed_in(agent)
    if agent.must_change_password:
        return redirect(url_for(".change_password"))
    return redirect(_safe_next(values["next"]))


@blueprint.post("/logout")
def logout():
    session.pop(SESSION_KEY, None)
    flash(_("You are signed out."), "info")
    return redirect(url_for(".login"))


@blueprint.route("/password", methods=["GET", "POST"])
@signed_in()
def change_password():
    if request.method == "GET":
        return _password_page({})
    try:
        accounts().change_password(g.agent.id, request.form.get("current_password", ""),
                                   request.form.get("new_password", ""),
                                   request.form.get("repeated_password", ""))
    except ValidationFailed as exc:
        return _password_page(exc.errors), 400
    _keep_signed_in(accounts().agent(g.agent.id))  # this session goes on; any other one ends
    flash(_("Your password is changed."), "success")
    return redirect(url_for(".inbox"))


def _password_page(errors):
    # what was typed is never sent back
    return render_template("backoffice/password.html", values={}, errors=field_messages(errors),
                           min_password=MIN_PASSWORD)


# the inbox and the complaint page


@blueprint.get("/")
@signed_in()
def inbox():
    filters = inbox_filters(request.args)
    complaints = casework().inbox(actor(), filters)
    return render_template("backoffice/inbox.html", complaints=complaints, values=request.args,
                           administrations=_administration_options() if _is_platform() else None,
                           queue=_queue(filters), names=_administration_names())


def _queue(filters: dict) -> str:
    """Whose complaints a platform inbox shows: the one asked for, else the role's default
    (intake's: the dispatch queue for a platform agent, everything for an administrator)."""
    if "administration_code" in filters:
        return filters["administration_code"] or ALL_ADMINISTRATIONS
    return TRIAGE if g.agent.role == "platform_agent" else ALL_ADMINISTRATIONS


def _is_platform() -> bool:
    return g.agent.role in PLATFORM_ROLES


def _administration_names() -> dict:
    name = "name_" + current_language()
    names = {entry["code"]: entry[name] for entry in desk().administrations()}
    names[TRIAGE] = _("Dispatch team (administration to be determined)")
    return names


def _administration_options(excluding: str | None = None) -> list[tuple[str, str]]:
    name = "name_" + current_language()
    return sorted(((entry["code"], entry[name]) for entry in desk().administrations()
                   if entry["code"] != excluding), key=lambda option: option[1])


def _complaint_or_404(call, *args):
    try:
        return call(actor(), *args)
    except NotFound:
        raise NoSuchComplaint() from None


@blueprint.get("/complaints/<tracking_number>")
@signed_in()
def complaint(tracking_number):
    return _complaint_page(tracking_number)


def _complaint_page(tracking_number, form=None, values=None, errors=None, problem=None, status=200):
    """The page; after a refused action, with that action's form (`form`) showing what was
    typed and why it was refused (`errors`: messages by form field)."""
    view = _complaint_or_404(casework().view, tracking_number)
    try:
        deliveries = casework().deliveries(view["tracking_number"])
    except UNAVAILABLE:
        deliveries = None  # the page is still useful without the notification history
    access_log = None
    if g.agent.role in ACCESS_LOG_READERS:
        access_log = casework().access_log(actor(), view["tracking_number"])
    page = render_template(
        "backoffice/complaint.html", complaint=view, deliveries=deliveries, access_log=access_log,
        form=form, values=values or {}, errors=errors or {}, problem=problem,
        names=_administration_names(), close_reasons=[(code, labels.CLOSE_REASONS[code]) for code in AGENT_CLOSE_REASONS],
        transfer_options=_administration_options(excluding=view["administration_code"]),
        max_attachments=current_app.config["MAX_ATTACHMENTS"],
        max_attachment_bytes=current_app.config["MAX_ATTACHMENT_BYTES"])
    return page, status


# Each action's form names its fields `<form>.<field>`, so that a refused form shows its own
# values and errors only; the schema is intake's, which knows the fields' bounds.
ACTION_SCHEMAS = {"request_information": schemas.InformationRequest, "answer": schemas.AnswerSchema,
                  "close": schemas.CloseSchema, "transfer": schemas.TransferSchema, "note": schemas.NoteSchema}


def _field(form: str, name: str) -> str:
    return request.form.get(f"{form}.{name}", "")


def _act(tracking_number, form, call, *args, done):
    """Run an action; on success back to the page with `done` said, else the page with the
    form as it was sent and the reason it was refused."""
    values = request.form.to_dict()
    try:
        _complaint_or_404(call, tracking_number, *args)
    except ValidationFailed as exc:
        errors = field_messages(exc.errors, ACTION_SCHEMAS.get(form, schemas.ComplaintSubmission))
        return _complaint_page(tracking_number, form, values, status=400,
                               errors={f"{form}.{field}": messages for field, messages in errors.items()})
    except TransitionRefused as exc:
        return _complaint_page(tracking_number, form, values, problem=transition_message(exc.code),
                               status=409)
    except UNAVAILABLE as exc:
        status, _code, message = describe(exc)
        return _complaint_page(tracking_number, form, values, problem=message, status=status)
    flash(done, "success")
    return redirect(url_for(".complaint", tracking_number=tracking_number))


@blueprint.post("/complaints/<tracking_number>/acknowledge")
@signed_in()
def acknowledge(tracking_number):
    return _act(tracking_number, "acknowledge", casework().acknowledge,
                done=_("The complaint is acknowledged: it is now in progress."))


@blueprint.post("/complaints/<tracking_number>/request-information")
@signed_in()
def request_information(tracking_number):
    return _act(tracking_number, "request_information", casework().request_information,
                _field("request_information", "message"),
                done=_("Your request was sent to the citizen. The deadline is paused until they answer."))


@blueprint.post("/complaints/<tracking_number>/answer")
@signed_in()
def answer(tracking_number):
    return _act(tracking_number, "answer", casework().answer, _field("answer", "text"),
                request.files.getlist("answer.attachments"), done=_("The answer was sent to the citizen."))


@blueprint.post("/complaints/<tracking_number>/close")
@signed_in()
def close(tracking_number):
    return _act(tracking_number, "close", casework().close, _field("close", "reason"),
                _field("close", "duplicate_of").strip() or None,
                done=_("The complaint is closed."))


@blueprint.post("/complaints/<tracking_number>/transfer")
@signed_in()
def transfer(tracking_number):
    return _act(tracking_number, "transfer", casework().transfer,
                _field("transfer", "to_administration_code"), _field("transfer", "reason"),
                done=_("The complaint was transferred."))


@blueprint.post("/complaints/<tracking_number>/notes")
@signed_in()
def add_note(tracking_number):
    return _act(tracking_number, "note", casework().add_note, _field("note", "text"),
                done=_("Your note was added. The citizen does not see it."))


# the platform administrator's pages


@blueprint.route("/admin/accounts", methods=["GET", "POST"])
@signed_in("platform_admin")
def accounts_page():
    values, errors, created = {}, {}, None
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            agent, password = accounts().create_agent(
                username=values.get("username", ""), full_name=values.get("full_name", ""),
                role=values.get("role", ""), administration_code=values.get("administration_code"),
                password=values.get("password") or None, known_codes=_known_codes(),
                office_code=values.get("office_code"),
                known_offices={code for code, _name in _office_options()}
                if values.get("role") in PROSECUTION_ROLES else ())
            created, values = {"agent": agent, "password": password}, {}
        except ValidationFailed as exc:
            errors = exc.errors
            values.pop("password", None)  # never sent back
    return _accounts_page(values, errors, created=created), 400 if errors else 200


def _accounts_page(values, errors, **shown):
    return render_template("backoffice/accounts.html", agents=accounts().agents(), values=values,
                           errors=field_messages(errors), administration_roles=ADMINISTRATION_ROLES,
                           administrations=_administration_options(), names=_administration_names(),
                           prosecution_offices=_office_options(), **shown)


def _office_options() -> list[tuple[str, str]]:
    """The prosecution offices, for prosecution staff accounts; none while that service is away
    (the page still serves every other account)."""
    name = "office_" + current_language()
    try:
        offices = prosecution_desk().offices()
    except UNAVAILABLE:
        return []
    return sorted(((court["code"], court[name]) for court in offices), key=lambda option: option[1])


def _known_codes() -> set[str]:
    return {entry["code"] for entry in desk().administrations()}


@blueprint.post("/admin/accounts/<int:agent_id>/password")
@signed_in("platform_admin")
def reset_password(agent_id):
    agent, password = accounts().reset_password(agent_id)
    return _accounts_page({}, {}, reset={"agent": agent, "password": password})


@blueprint.post("/admin/accounts/<int:agent_id>/active")
@signed_in("platform_admin")
def set_active(agent_id):
    if agent_id == g.agent.id:
        abort(400)  # nobody locks themselves out
    agent = accounts().set_active(agent_id, request.form.get("active") == "1")
    flash(_("%(username)s can sign in again.", username=agent.username) if agent.active
          else _("%(username)s can no longer sign in.", username=agent.username), "success")
    return redirect(url_for(".accounts_page"))


@blueprint.route("/admin/tokens", methods=["GET", "POST"])
@signed_in("platform_admin")
def tokens_page():
    values, errors, created = {}, {}, None
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            row, token = accounts().create_token(name=values.get("name", ""),
                                                 administration_code=values.get("administration_code", ""),
                                                 known_codes=_known_codes())
            created, values = {"row": row, "token": token}, {}
        except ValidationFailed as exc:
            errors = exc.errors
    page = render_template("backoffice/tokens.html", tokens=accounts().tokens(), values=values,
                           errors=field_messages(errors), created=created,
                           administrations=_administration_options(), names=_administration_names())
    return page, 400 if errors else 200


@blueprint.post("/admin/tokens/<int:token_id>/revoke")
@signed_in("platform_admin")
def revoke_token(token_id):
    accounts().revoke_token(token_id)
    flash(_("The token is revoked: it no longer opens the API."), "success")
    return redirect(url_for(".tokens_page"))


@blueprint.route("/admin/administrations", methods=["GET", "POST"])
@signed_in("platform_admin")
def administrations_page():
    values, errors, problem, status = {}, {}, None, 200
    if request.method == "POST":
        values = request.form.to_dict()
        entry = {name: values.get(name, "").strip() for name in ("code", "name_ar", "name_fr", "kind")}
        entry["code"] = entry["code"].upper()
        try:
            casework().add_administration(entry)
        except ValidationFailed as exc:
            errors, status = exc.errors, 400
        except UNAVAILABLE as exc:
            status, _code, problem = describe(exc)
        else:
            flash(_("%(name)s was added to the directory.", name=entry["name_" + current_language()]), "success")
            return redirect(url_for(".administrations_page"))
    try:
        contacts = casework().administration_contacts()
    except UNAVAILABLE:
        contacts = None  # the directory is still worth showing without them
    page = render_template("backoffice/administrations.html", values=values, errors=field_messages(errors),
                           problem=problem, kinds=[(kind, labels.ADMINISTRATION_KINDS[kind]) for kind in KINDS],
                           administrations=desk().administrations(), contacts=contacts)
    return page, status


@blueprint.route("/admin/administrations/<code>/contacts", methods=["GET", "POST"])
@signed_in("platform_admin")
def administration_contacts_page(code):
    """Where an administration's deadline messages go: the reminder before the deadline to its
    complaints desk, the notice after it to its supervisor, in the language they read."""
    administration = desk().administration(code)
    if administration is None:
        abort(404)
    errors, problem, status = {}, None, 200
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in CONTACT_FIELDS}
        try:
            casework().set_administration_contacts(code, values)
        except ValidationFailed as exc:
            errors, status = exc.errors, 400
        except UNAVAILABLE as exc:
            status, _code, problem = describe(exc)
        else:
            flash(_("The contacts of %(name)s are saved.", name=administration["name_" + current_language()]),
                  "success")
            return redirect(url_for(".administrations_page"))
    else:
        try:
            values = casework().administration_contacts().get(code, {})
        except UNAVAILABLE as exc:
            values, (status, _code, problem) = {}, describe(exc)
    page = render_template("backoffice/administration_contacts.html", administration=administration,
                           name=administration["name_" + current_language()],
                           values={name: values.get(name) or "" for name in CONTACT_FIELDS},
                           errors=field_messages(errors), problem=problem,
                           languages=[(code, LANGUAGE_NAMES[code]) for code in CONTACT_LANGUAGES])
    return page, status
