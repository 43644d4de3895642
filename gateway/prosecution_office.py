"""The prosecution offices' side of the back office (/backoffice/prosecution): the inbox of the
signed-in person's office, a complaint's file and the steps that move it to a decision.

The same sign-in and session as the rest of the back office (gateway.backoffice), for the
prosecution's own roles only: a clerk (prosecution_clerk) or a chief prosecutor
(chief_prosecutor) of one office.  Anyone else, an administration's agent included, gets 404
here, and prosecution staff get 404 on the general portal's complaints.  The prosecution
service decides the office's scope: another office's file is 404 too, like a missing one.
"""
from functools import wraps

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from gateway import backoffice, labels, prosecution_labels
from gateway.downloads import attachment_response
from gateway.errors import UNAVAILABLE, NoSuchComplaint, describe, field_messages, transition_message
from gateway.i18n import current_language
from gateway.prosecution import prosecution_desk, with_bounds
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.prosecution import schemas
from services.prosecution.domain import ACCESS_LOG_READERS, ACTIONS, FILING_REASONS, ROLES

blueprint = Blueprint("prosecution_office", __name__, url_prefix="/backoffice/prosecution")
blueprint.before_request(backoffice.load_signed_in_agent)
blueprint.context_processor(backoffice.page_helpers)
blueprint.after_request(backoffice.private_pages)

# each action's form fields are named `<action>.<field>`; none for the actions without fields
ACTION_FIELDS = {"register": ("register_number",), "request_information": ("message",),
                 "file_without_action": ("reason",), "forward": ("to_office_code",)}


def staff_only(view):
    """Signed in as prosecution staff; anyone else is answered as if there were nothing here."""
    @wraps(view)
    def checked(*args, **kwargs):
        if g.agent is None:
            return redirect(url_for("backoffice.login", next=request.full_path if request.method == "GET" else None))
        if g.agent.must_change_password:
            return redirect(url_for("backoffice.change_password"))
        if g.agent.role not in ROLES:
            raise NoSuchComplaint()
        return view(*args, **kwargs)
    return checked


def _file_or_404(call, *args):
    try:
        return call(backoffice.actor(), *args)
    except NotFound:
        raise NoSuchComplaint() from None


def _office_names() -> dict:
    name = "office_" + current_language()
    return {court["code"]: court[name] for court in prosecution_desk().offices()}


@blueprint.get("/")
@staff_only
def inbox():
    filters = {name: request.args[name] for name in ("status", "category") if request.args.get(name)}
    try:
        files = prosecution_desk().inbox(backoffice.actor(), filters)
    except ValidationFailed:
        files, filters = prosecution_desk().inbox(backoffice.actor(), {}), {}
    return render_template("backoffice/prosecution_inbox.html", files=files, values=filters,
                           statuses=prosecution_labels.STATUSES, categories=prosecution_labels.CATEGORIES,
                           office=_office_names().get(g.agent.office_code, g.agent.office_code),
                           cities={code: city["name_" + current_language()]
                                   for code, city in prosecution_desk().cities().items()})


@blueprint.get("/complaints/<code>")
@staff_only
def complaint(code):
    return _file_page(code)


def _file_page(code, form=None, values=None, errors=None, problem=None, unsealed=None, status=200):
    view = _file_or_404(prosecution_desk().view, code)
    access_log = None
    if g.agent.role in ACCESS_LOG_READERS:
        access_log = prosecution_desk().access_log(backoffice.actor(), view["tracking_code"])
    offices = _office_names()
    city = prosecution_desk().cities().get(view["facts_city"])
    page = render_template(
        "backoffice/prosecution_complaint.html", file=view, access_log=access_log, form=form,
        values=values or {}, errors=errors or {}, problem=problem, unsealed=unsealed, offices=offices,
        city=city["name_" + current_language()] if city else view["facts_city"],
        statuses=prosecution_labels.STATUSES, categories=prosecution_labels.CATEGORIES,
        accused_kinds=prosecution_labels.ACCUSED_KINDS, action_names=prosecution_labels.ACTIONS,
        complainant_statuses=labels.COMPLAINANT_STATUSES, id_types=labels.ID_TYPES,
        filing_reasons=[(code, prosecution_labels.FILING_REASONS[code]) for code in FILING_REASONS],
        forward_options=sorted(((code, name) for code, name in offices.items() if code != view["office_code"]),
                               key=lambda option: option[1]),
        step_label=lambda entry: prosecution_labels.step_label(entry, lambda office: offices.get(office, office)),
        access_actions=prosecution_labels.ACCESS_ACTIONS,
        staff_roles={**labels.ROLES, **prosecution_labels.ROLES})
    return page, status


@blueprint.post("/complaints/<code>/<action>")
@staff_only
def act(code, action):
    """One step (domain.ACTIONS); back to the file with what was done said, or the form as it
    was sent and why it was refused."""
    if action not in ACTIONS:
        raise NoSuchComplaint()
    values = request.form.to_dict()
    data = {name: values.get(f"{action}.{name}", "") for name in ACTION_FIELDS.get(action, ())}
    try:
        _file_or_404(prosecution_desk().act, code, action, data)
    except ValidationFailed as exc:
        errors = field_messages(with_bounds(exc.errors, schemas.ACTION_SCHEMAS[action]))
        return _file_page(code, action, values, status=400,
                          errors={f"{action}.{field}": messages for field, messages in errors.items()})
    except TransitionRefused as exc:
        return _file_page(code, action, values, problem=transition_message(exc.code), status=409)
    except UNAVAILABLE as exc:
        status, _code, message = describe(exc)
        return _file_page(code, action, values, problem=message, status=status)
    flash(str(prosecution_labels.DONE[action]), "success")
    return redirect(url_for(".complaint", code=code), 303)


@blueprint.post("/complaints/<code>/unseal")
@staff_only
def unseal(code):
    """The chief prosecutor reads a sealed identity, once, with a reason that is logged."""
    values = request.form.to_dict()
    try:
        person = _file_or_404(prosecution_desk().unseal, code, values.get("unseal.reason", ""))
    except ValidationFailed as exc:
        errors = field_messages(with_bounds(exc.errors, schemas.UnsealRequest))
        return _file_page(code, "unseal", values, status=400,
                          errors={f"unseal.{field}": messages for field, messages in errors.items()})
    except TransitionRefused as exc:
        return _file_page(code, "unseal", values, problem=transition_message(exc.code), status=409)
    return _file_page(code, unsealed=person)


@blueprint.get("/complaints/<code>/attachments/<int:attachment_id>")
@staff_only
def attachment(code, attachment_id):
    """A document of the file, as a download; the prosecution logs it."""
    found = _file_or_404(prosecution_desk().attachment, code, attachment_id)
    return attachment_response(current_app.extensions["prosecution_desk"].blobs, found)
