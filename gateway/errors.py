"""The one table that turns an error into an HTTP answer, and message codes into sentences.

Every error the gateway meets is looked up in ERRORS by its class (nearest base first):
the JSON API answers `{"error": CODE, "message": ..., "fields": {name: [messages]}}` and the
pages show the same message.  Field errors are message codes (from intake's schema or the
gateway's own checks) that `field_messages` turns into sentences in the user's language, for
the API and the forms alike.
"""
import logging
from functools import lru_cache

from flask import current_app, jsonify, render_template, request
from flask_babel import format_decimal, lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from marshmallow import fields as ma_fields, validate
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from werkzeug import exceptions as http

from gateway.i18n import format_size, is_api_request
from gateway.ratelimit import is_filing_refusal
from gateway.rpc import ServiceUnavailable
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.intake.schemas import ComplaintSubmission

log = logging.getLogger(__name__)


class InvalidBody(Exception):
    """The API got something that is neither a JSON object nor a form."""


class NoSuchComplaint(NotFound):
    """An agent asked for a complaint that does not exist or is not their administration's:
    one answer for both, so nobody learns what exists elsewhere."""


class NoSuchProsecutionComplaint(NotFound):
    """A tracking code and phone that do not open a complaint to the public prosecution: one
    answer for a wrong code and a wrong phone."""


class LinkExpired(Exception):
    """A download link we made, older than DOWNLOAD_LINK_SECONDS."""


class LinkInvalid(Exception):
    """A download link we did not make, or to a file its holder may not have."""


# Open311 GeoReport (gateway.open311)
class UnknownServiceCode(Exception):
    """An Open311 service_code that names no request type of any administration."""


class NoSuchServiceRequest(Exception):
    """An Open311 service_request_id (a tracking number) that opens no request."""


class NoSuchToken(Exception):
    """An Open311 token (a client_reference given at filing) that no request was filed with."""


class InvalidApiKey(Exception):
    """Open311 filing without one of the keys in OPEN311_API_KEYS, when some are set."""


class TooManyFilings(http.TooManyRequests):
    """More complaints from one client address than FILING_RATE_LIMIT allows: Flask-Limiter
    raises one class for every limit, and `describe` tells this one apart."""


UNAVAILABLE = (ServiceUnavailable, RpcTimeout, UnknownService)
# what a service raises when its database cannot be reached (SQLAlchemy's names): the service is
# there but cannot serve for a moment, and the citizen should try again, not read "our fault"
DATABASE_GONE = {"OperationalError", "InterfaceError", "DisconnectionError"}

_UNAVAILABLE = (503, "service_unavailable",
                _l("The service is unavailable for a moment. Please try again in a few minutes."))

ERRORS = {
    ValidationFailed: (400, "validation_failed",
                       _l("Some answers need to be corrected: see the message next to each one.")),
    InvalidBody: (400, "invalid_body",
                  _l("The request body must be a JSON object or a multipart form.")),
    CSRFError: (400, "form_expired",
                _l("This form has expired. Reload the page and send it again.")),
    http.BadRequest: (400, "bad_request", _l("The request could not be understood.")),
    TransitionRefused: (409, "transition_refused",
                        _l("This action is not possible at this stage of the request.")),
    http.Unauthorized: (401, "unauthorized",
                        _l("Send a valid API token in the header Authorization: Bearer <token>.")),
    InvalidApiKey: (403, "invalid_api_key", _l("Missing or invalid api_key: filing a request through Open311 "
                                               "needs a key from the platform's operators.")),
    http.Forbidden: (403, "forbidden", _l("Your account may not open this page.")),
    NoSuchComplaint: (404, "not_found", _l("None of the complaints open to you has this tracking number.")),
    NoSuchProsecutionComplaint: (404, "not_found", _l("No complaint matches this tracking code and this phone "
                                                      "number. Check both and try again.")),
    NotFound: (404, "not_found",
               _l("No request matches this tracking number and this contact. Check both and try again.")),
    UnknownServiceCode: (404, "no_such_service", _l("No service has this service_code: see the list of services.")),
    NoSuchServiceRequest: (404, "not_found", _l("No request has this service_request_id.")),
    NoSuchToken: (404, "not_found", _l("No request was filed with this token.")),
    http.NotFound: (404, "no_such_page", _l("This page does not exist.")),
    LinkInvalid: (404, "no_such_file", _l("This download link is not valid. Open your request's page "
                                          "again and use the link shown there.")),
    LinkExpired: (410, "link_expired", _l("This download link has expired: links last a few minutes. "
                                          "Open your request's page again for a new one.")),
    TooManyFilings: (429, "too_many_filings",
                     _l("Too many complaints have been filed from your connection lately. "
                        "Please wait a while before filing another one.")),
    http.TooManyRequests: (429, "too_many_attempts",
                           _l("Too many unsuccessful attempts from your connection. "
                              "Please wait a few minutes and try again.")),
    http.MethodNotAllowed: (405, "method_not_allowed", _l("This address does not accept this method.")),
    http.RequestEntityTooLarge: (413, "too_large",
                                 _l("What you sent is too large: at most %(limit)s in all.")),
    ServiceUnavailable: _UNAVAILABLE,  # the broker cannot be reached
    RpcTimeout: _UNAVAILABLE,  # the service did not answer in RPC_TIMEOUT seconds
    UnknownService: _UNAVAILABLE,  # no instance of the service is running
    # any other HTTP error keeps its own status (None: take it from the exception)
    http.HTTPException: (None, "http_error", _l("This request could not be served.")),
    # anything else, including a service's unexpected failure (nameko's RemoteError)
    Exception: (500, "internal_error", _l("Something went wrong on our side. Please try again later.")),
}

FIELD_MESSAGES = {
    "required": _l("This field is required."),
    "too_short": _l("Please write at least %(min)s characters."),
    "too_long": _l("Please write at most %(max)s characters."),
    "invalid_choice": _l("Please choose one of the options offered."),
    "invalid_email": _l("This e-mail address is not valid."),
    "invalid_phone": _l("Enter a mobile phone number that can receive SMS, for example 06 12 34 56 78."),
    "invalid_id_number": _l("An identity document number has 4 to 20 letters and digits, without spaces."),
    "contact_required": _l("Give an e-mail address or a mobile phone number (or both): "
                           "we send the tracking number there."),
    "too_many_files": _l("You can attach at most %(count)s files."),
    "file_too_large": _l("“%(filename)s” is too large: each file may be at most %(limit)s."),
    "file_type_not_allowed": _l("“%(filename)s” is not accepted: send a PDF, an image (JPEG, PNG, WEBP, GIF) "
                                "or an office document (Word, Excel, PowerPoint, OpenDocument)."),
    "file_empty": _l("“%(filename)s” is empty: choose the file again."),
    "file_unpacks_too_large": _l("“%(filename)s” is not accepted: once opened it would take far more space "
                                 "than a document does. Save it again or send it as a PDF."),
    "invalid_code": _l("A code has 2 to 24 upper-case letters, digits or underscores, and starts with a letter."),
    "reserved": _l("This code is reserved for the platform."),
    "already_exists": _l("An administration already has this code."),
    "invalid_username": _l("A username has 3 to 64 lower-case letters, digits, dots, dashes or underscores."),
    "username_taken": _l("This username is already used."),
    "wrong_password": _l("This is not your current password."),
    "password_unchanged": _l("Choose a password different from the current one."),
    "passwords_differ": _l("The two new passwords are not the same."),
    "invalid": _l("This value is not valid."),
    "invalid_date": _l("Enter a valid date, for example 2026-03-01."),
    "date_in_future": _l("This date is in the future."),
    "too_many_accused": _l("A complaint can name at most 10 accused."),
    "sealing_not_offered": _l("Sealing your identity is offered for corruption reports only."),
    "captcha_wrong": _l("The code you typed is not the one shown. Type the new code."),
    "captcha_expired": _l("This code has expired: codes last a few minutes. Type the new code."),
    "captcha_used": _l("This code was already used. Type the new code."),
    "captcha_too_many": _l("Too many codes were asked for from your connection. Please wait a few minutes."),
    "invalid_datetime": _l("Enter a date and time in W3C format, for example 2026-03-01T00:00:00Z."),
    "dates_reversed": _l("The start date must come before the end date."),
    "span_too_long": _l("The dates may span at most 90 days."),
    "too_many_values": _l("Give at most 1000 values."),
}

# Why a step of a complaint's life was refused (TransitionRefused.code); the table's general
# sentence serves for a code missing here.
TRANSITION_MESSAGES = {
    "not_allowed_in_status": _l("This action is not possible at this stage of the request."),
    "reopen_window_passed": _l("The time allowed to reopen this request has passed."),
    "ombudsman": _l("This request has been reopened as many times as allowed. If you are still not "
                    "satisfied, you can turn to the Ombudsman (Médiateur du Royaume)."),
    "already_rated": _l("This answer has already been rated."),
    "needs_answer": _l("This is possible only once the administration has answered."),
    "same_administration": _l("The complaint is already with this administration."),
    "same_office": _l("The complaint is already with this office."),
    "not_sealed": _l("This complainant's identity is not sealed."),
}


def transition_message(code: str) -> str:
    return str(TRANSITION_MESSAGES.get(code) or ERRORS[TransitionRefused][2])


# Wordings that say more than the general one for a particular field.
FIELD_SPECIFIC_MESSAGES = {
    ("administration_code", "invalid_choice"):
        _l("Choose an administration from the list, or “I don't know which administration”."),
    ("region", "invalid_choice"): _l("Choose a region from the list."),
}


def describe(exc: BaseException) -> tuple[int, str, str]:
    """(HTTP status, error code, message in the user's language) of an exception."""
    if isinstance(exc, RateLimitExceeded) and is_filing_refusal(exc):
        exc = TooManyFilings()
    if isinstance(exc, RemoteError) and exc.exc_type in DATABASE_GONE:
        return _UNAVAILABLE[0], _UNAVAILABLE[1], str(_UNAVAILABLE[2])
    for cls in type(exc).__mro__:
        if cls in ERRORS:
            status, code, message = ERRORS[cls]
            if isinstance(exc, TransitionRefused):
                message = transition_message(exc.code)
            limit = format_size(current_app.config["MAX_CONTENT_LENGTH"])
            return status or exc.code, code, str(message % {"limit": limit})
    raise AssertionError("ERRORS has an entry for Exception")  # pragma: no cover


# The same sentences for a field whose bound is not known here (its schema was not named).
UNBOUNDED_MESSAGES = {
    "too_short": ("min", _l("This text is too short.")),
    "too_long": ("max", _l("This text is too long.")),
}


@lru_cache(maxsize=None)
def _length_bounds(path: str, schema_class=ComplaintSubmission) -> dict:
    """The Length bounds an intake schema (the filing form's unless told) puts on a field
    (`{"min": 5, "max": 200}`)."""
    schema = schema_class()
    field = None
    for name in path.split("."):
        field = schema.fields.get(name) if schema is not None else None
        if field is None:
            return {}
        schema = field.schema if isinstance(field, ma_fields.Nested) else None
    bounds = {}
    for validator in field.validators:
        if isinstance(validator, validate.Length):
            if validator.min and validator.min > 1:
                bounds["min"] = validator.min
            if validator.max:
                bounds["max"] = validator.max
    return bounds


def field_message(field: str, problem, schema_class=ComplaintSubmission) -> str:
    """One problem, a code or `(code, params)`, as a sentence; `schema_class` is the intake
    schema that refused it, which knows the field's length bounds."""
    code, params = (problem, {}) if isinstance(problem, str) else problem
    template = FIELD_SPECIFIC_MESSAGES.get((field, code)) or FIELD_MESSAGES.get(code, FIELD_MESSAGES["invalid"])
    # intake's own cap on files counts too, should MAX_ATTACHMENTS be set above it
    files = min(current_app.config["MAX_ATTACHMENTS"], _length_bounds("attachments")["max"])
    limits = {"limit": format_size(current_app.config["MAX_ATTACHMENT_BYTES"]),
              "count": format_decimal(files),
              **{name: format_decimal(value) for name, value in _length_bounds(field, schema_class).items()}}
    values = {**limits, **params}
    bound, unbounded = UNBOUNDED_MESSAGES.get(code, (None, None))
    if bound and bound not in values:
        template = unbounded
    return str(template % values)


def field_messages(errors: dict, schema_class=ComplaintSubmission) -> dict[str, list[str]]:
    return {field: [field_message(field, problem, schema_class) for problem in problems]
            for field, problems in errors.items()}


def error_body(exc: BaseException) -> tuple[dict, int]:
    status, code, message = describe(exc)
    body = {"error": code, "message": message, "fields": {}}
    if isinstance(exc, ValidationFailed):
        body["fields"] = field_messages(exc.errors)
    if isinstance(exc, TransitionRefused):
        body["reason"] = exc.code  # for programs: the message is for people
    return body, status


def handle_error(exc: BaseException):
    body, status = error_body(exc)
    if status >= 500:
        log.error("answering %s: %r", status, exc, exc_info=exc)
    # a protocol with an error format of its own (Open311) says the same in its format
    for prefix, render in current_app.extensions.get("error_formats", {}).items():
        if request.path.startswith(prefix):
            return render(body, status)
    if is_api_request():
        return jsonify(body), status
    return render_template("error.html", error=body, status=status), status


def register_error_handlers(app) -> None:
    app.register_error_handler(Exception, handle_error)
