"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2/, so that civic
apps that speak it file and follow complaints unchanged, with its service discovery at
/open311/discovery.json|xml.  Every resource comes as `.xml` (text/xml) or `.json`
(application/json, the Spark convention), in UTF-8.

- A service is one request type at one administration: `CNSS-complaint`, `CNSS-observation`,
  `CNSS-suggestion`; `UNKNOWN-<type>` files without naming the administration (the dispatch
  team chooses it).  Its definition lists, as attributes, what a complaint needs beyond the
  spec's own fields.
- POST requests files a real complaint through the same ComplaintDesk as the JSON API; the
  answer is immediate (`type` realtime): service_request_id is the tracking number.  A
  client_reference given as an attribute makes a retry safe, and is the token that
  tokens/<token> turns into the service_request_id.
- GET requests answers codes, dates and the legal deadline only: never the complainant, nor the
  subject or description they wrote (either could name someone), nor any message.

Names and notes follow `?lang=ar|fr`, then Accept-Language, then Arabic.  Errors use the spec's
format (`errors` of `code` and `description`): 404 for what does not exist, 403 for a missing
or wrong api_key, 429 past a rate limit (gateway.ratelimit: filing, and the lookup of one request
by a number that opens nothing), 400 for anything else, the original HTTP status staying as the
`code`.
"""
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from xml.etree.ElementTree import Element, tostring

from flask import Blueprint, Response, current_app, request
from flask_babel import gettext as _, lazy_gettext as _l

from gateway import labels
from gateway.complaints import desk
from gateway.errors import InvalidApiKey, NoSuchServiceRequest, NoSuchToken, UnknownServiceCode
from gateway.i18n import LANGUAGE_NAMES, current_language
from gateway.ratelimit import count_filing
from services.common.errors import ValidationFailed
from services.common.regions import regions
from services.intake import domain
from services.intake.domain import TRIAGE, UNKNOWN_ADMINISTRATION

blueprint = Blueprint("open311", __name__, url_prefix="/open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# the last change to the shape of the services or of their definitions (service discovery)
CHANGESET = "2026-11-29 00:00"
FORMAT = "<any(json, xml):response_format>"
MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_DAYS = 90  # the widest range of dates GET requests takes, and its default
MAX_REQUESTS = 1000  # the most requests one GET answers
CLIENT_REFERENCE = re.compile(r"[A-Za-z0-9-]{8,64}")
# the XML element of each item of a list (the JSON is the Spark convention's mapping of the XML)
ITEM_TAGS = {"services": "service", "service_requests": "request", "attributes": "attribute",
             "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}
# characters that XML 1.0 cannot carry at all
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

SERVICE_DESCRIPTIONS = {
    "complaint": _l("A complaint about %(administration)s: a service refused, badly given or late, "
                    "that you want put right."),
    "observation": _l("An observation about the services of %(administration)s."),
    "suggestion": _l("A suggestion to improve the services of %(administration)s."),
}

# Where a request stands, said about the complainant rather than to them.
STATUS_NOTES = {
    "submitted": _l("Filed; being sent to the administration concerned."),
    "triage": _l("With the dispatch team, which chooses the administration concerned."),
    "routed": _l("Sent to the administration concerned."),
    "received": _l("Received by the administration."),
    "in_progress": _l("Being dealt with by the administration."),
    "information_requested": _l("The administration is waiting for information from the complainant."),
    "answered": _l("Answered by the administration; the complainant can confirm the answer or reopen "
                   "the request."),
}

# intake's field names (in its validation errors) as the Open311 parameters that carry them
PARAMETERS = {
    "type": "service_code", "administration_code": "service_code",
    "subject": "attribute[subject]", "region": "attribute[region]",
    "language": "attribute[language]", "client_reference": "attribute[client_reference]",
    "complainant.status": "attribute[complainant_status]", "complainant.id_type": "attribute[id_type]",
    "complainant.id_number": "attribute[id_number]", "complainant.full_name": "first_name, last_name",
    "complainant.email": "email", "complainant.phone": "phone", "complainant.contact": "email, phone",
}


def init_app(app) -> None:
    app.extensions.setdefault("error_formats", {})[blueprint.url_prefix + "/"] = error_response
    app.register_blueprint(blueprint)


@blueprint.after_request
def open_to_every_site(response):
    """Civic web apps call from their own sites; nothing here depends on a cookie."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- the two formats

def _element(tag: str, value) -> Element:
    element = Element(tag)
    if isinstance(value, dict):
        element.extend(_element(name, inner) for name, inner in value.items())
    elif isinstance(value, list):
        element.extend(_element(ITEM_TAGS[tag], item) for item in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("", str(value))
    return element


def respond(response_format: str, root: str, body, status: int = 200) -> Response:
    """`body` as JSON, or as XML under the element `root`."""
    if response_format == "json":
        text = json.dumps(body, ensure_ascii=False)
    else:
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(_element(root, body), encoding="unicode")
    return Response(text.encode("utf-8"), status=status, content_type=MEDIA_TYPES[response_format])


def error_response(body: dict, status: int) -> Response:
    """The error table's answer (gateway.errors) in the spec's format: one error per wrong field."""
    response_format = "json" if request.path.endswith(".json") else "xml"
    if body["fields"]:
        errors = [{"code": 400, "description": f"{PARAMETERS.get(field, field)}: {message}"}
                  for field, messages in body["fields"].items() for message in messages]
    else:
        errors = [{"code": status, "description": body["message"]}]
    return respond(response_format, "errors", errors, status if status in (403, 404, 429) else 400)


# --- services

def _administrations() -> list[dict]:
    """{code, name, kind} of each administration one can file with, the unknown one first."""
    language = current_language()
    unknown = {"code": UNKNOWN_ADMINISTRATION, "name": _("I don't know which administration"), "kind": None}
    return [unknown] + [{"code": entry["code"], "name": entry[f"name_{language}"], "kind": entry["kind"]}
                        for entry in desk().administrations()]


def _service(administration: dict, request_type: str) -> dict:
    unknown = administration["code"] == UNKNOWN_ADMINISTRATION
    about = _("an administration you cannot name (the dispatch team finds it)") if unknown \
        else administration["name"]
    kind = labels.ADMINISTRATION_KINDS.get(administration["kind"])
    return {
        "service_code": f"{administration['code']}-{request_type}",
        "service_name": _("%(type)s — %(administration)s", type=labels.REQUEST_TYPES[request_type],
                          administration=administration["name"]),
        "description": str(SERVICE_DESCRIPTIONS[request_type] % {"administration": about}),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(str(word) for word in (administration["code"], labels.REQUEST_TYPES[request_type], kind)
                              if word),
        "group": administration["name"],
    }


def _find_service(service_code: str) -> tuple[str, str] | None:
    """(administration code, request type) of a service code we offer."""
    code, dash, request_type = (service_code or "").strip().rpartition("-")
    if not dash or request_type not in domain.REQUEST_TYPES:
        return None
    if code != UNKNOWN_ADMINISTRATION and desk().administration(code) is None:
        return None
    return code, request_type


@blueprint.get(f"/v2/services.{FORMAT}")
def services(response_format):
    return respond(response_format, "services", [_service(administration, request_type)
                                                 for administration in _administrations()
                                                 for request_type in domain.REQUEST_TYPES])


def _attribute(code: str, datatype: str, required: bool, description: str, datatype_description=None,
               values=None, variable=True) -> dict:
    attribute = {"variable": variable, "code": code, "datatype": datatype, "required": required,
                 "datatype_description": datatype_description, "order": None, "description": description}
    if values is not None:
        attribute["values"] = [{"key": key, "name": str(name)} for key, name in values]
    return attribute


def _attributes() -> list[dict]:
    """What a complaint needs beyond the spec's own fields, in the order a form asks it."""
    language = current_language()
    attributes = [
        _attribute("filing", "text", False, _(
            "Send also first_name and last_name (the complainant's names, required), email or phone (at "
            "least one: the tracking number is sent there) and description (what happened, required, "
            "20 to 5000 characters)."), variable=False),
        _attribute("subject", "string", True, _("The subject of the request, in a few words."),
                   _("5 to 200 characters")),
        _attribute("region", "singlevaluelist", True, _("The region concerned."),
                   values=[(region["code"], region[f"name_{language}"]) for region in regions()]),
        _attribute("complainant_status", "singlevaluelist", True, _("Who files the request."),
                   values=labels.COMPLAINANT_STATUSES.items()),
        _attribute("id_type", "singlevaluelist", True, _("The complainant's identity document."),
                   values=labels.ID_TYPES.items()),
        _attribute("id_number", "string", True, _("The number of that document."),
                   _("4 to 20 letters and digits, without spaces")),
        _attribute("language", "singlevaluelist", False,
                   _("The language the complainant is answered in (by default, the language of this request)."),
                   values=LANGUAGE_NAMES.items()),
        _attribute("client_reference", "string", False, _(
            "A reference of your own that makes sending the same request again safe: it is filed once. "
            "It is also the token that tokens/<token> turns into the service_request_id."),
            _("8 to 64 letters, digits or dashes")),
    ]
    for order, attribute in enumerate(attributes, start=1):
        attribute["order"] = order
    return attributes


@blueprint.get(f"/v2/services/<service_code>.{FORMAT}")
def service_definition(service_code, response_format):
    if _find_service(service_code) is None:
        raise UnknownServiceCode()
    return respond(response_format, "service_definition",
                   {"service_code": service_code, "attributes": _attributes()})


# --- requests

def _w3(moment: str | None) -> str | None:
    """An ISO 8601 moment as the spec's w3 format, in UTC (2010-01-01T00:00:00Z)."""
    if not moment:
        return None
    return datetime.fromisoformat(moment).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_notes(row: dict) -> str:
    if row["status"] == "closed":
        reason = row["closed_reason"]
        notes = str(labels.TIMELINE_EVENTS["closed"] % {"reason": labels.CLOSE_REASONS.get(reason, reason)})
    else:
        notes = str(STATUS_NOTES[row["status"]])
    if row["overdue"]:
        notes += " " + _("The legal time for the answer ran out") + "."
    return notes


def _service_request(row: dict, administrations: dict[str, dict], region_names: dict[str, str]) -> dict:
    """A request as anyone may see it: intake's public view has nothing personal to leave out."""
    code = UNKNOWN_ADMINISTRATION if row["administration_code"] in (UNKNOWN_ADMINISTRATION, TRIAGE) \
        else row["administration_code"]
    administration = administrations.get(code) or {"code": code, "name": code, "kind": None}
    service = _service(administration, row["type"])
    closed = row["status"] == "closed"
    return {
        "service_request_id": row["tracking_number"],
        "status": "closed" if closed else "open",
        "status_notes": _status_notes(row),
        "service_name": service["service_name"],
        "service_code": service["service_code"],
        "description": None,  # the complainant's own words may name people: never shown
        "agency_responsible": _("To be determined by the dispatch team") if code == UNKNOWN_ADMINISTRATION
        else administration["name"],
        "service_notice": _("The administration has to answer within the legal time (expected_datetime), "
                            "counted from when it received the request; the time stops while it waits "
                            "for the complainant."),
        "requested_datetime": _w3(row["submitted_at"]),
        "updated_datetime": _w3(row["closed_at"] if closed and row["closed_at"] else row["updated_at"]),
        "expected_datetime": _w3(row["deadline_at"]),
        "address": region_names.get(row["region"], row["region"]),
    }


def _answer_requests(response_format: str, rows: list[dict]) -> Response:
    administrations = {entry["code"]: entry for entry in _administrations()}
    region_names = {region["code"]: region[f"name_{current_language()}"] for region in regions()}
    return respond(response_format, "service_requests",
                   [_service_request(row, administrations, region_names) for row in rows])


def _public_requests(filters: dict) -> list[dict]:
    return desk().pool.call("intake", "public_requests", filters)


def _listed(value: str | None) -> list[str]:
    """A comma-delimited argument's values."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _moment(name: str, errors: dict) -> datetime | None:
    typed = (request.args.get(name) or "").strip()
    if not typed:
        return None
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError:
        errors[name] = ["invalid_datetime"]
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # the spec asks for a zone


def _search_filters() -> dict:
    """Intake's filters for the spec's arguments: service_code, start_date, end_date and status
    (the dates default to the last 90 days, and may span no more)."""
    errors = {}
    services = []
    for service_code in _listed(request.args.get("service_code")):
        found = _find_service(service_code)
        if found is None:
            errors["service_code"] = ["invalid_choice"]
            continue
        code, request_type = found
        # the unknown administration's requests are those the dispatch team has not sent on yet
        codes = (UNKNOWN_ADMINISTRATION, TRIAGE) if code == UNKNOWN_ADMINISTRATION else (code,)
        services += [{"administration_code": each, "type": request_type} for each in codes]
    statuses = set()
    for status in _listed(request.args.get("status")):
        if status not in ("open", "closed"):
            errors["status"] = ["invalid_choice"]
        statuses |= {"closed"} if status == "closed" else set(domain.STATUSES) - {"closed"}
    start, end = _moment("start_date", errors), _moment("end_date", errors)
    span = timedelta(days=MAX_DAYS)
    if start is None and end is None:
        end = datetime.now(timezone.utc)
    if start is None:
        start = end - span if end is not None else None
    elif end is None:
        end = start + span
    if start is not None and end is not None:
        if start > end:
            errors["start_date"] = ["dates_reversed"]
        elif end - start > span:
            errors["end_date"] = ["span_too_long"]
    if errors:
        raise ValidationFailed(errors)
    return {"services": services, "statuses": sorted(statuses), "submitted_from": start.isoformat(),
            "submitted_until": end.isoformat(), "limit": MAX_REQUESTS}


@blueprint.get(f"/v2/requests.{FORMAT}")
def search_requests(response_format):
    numbers = _listed(request.args.get("service_request_id"))
    if len(numbers) > MAX_REQUESTS:
        raise ValidationFailed({"service_request_id": ["too_many_values"]})
    # the spec: service_request_id overrides every other argument
    filters = {"tracking_numbers": numbers} if numbers else _search_filters()
    return _answer_requests(response_format, _public_requests(filters))


@blueprint.get(f"/v2/requests/<service_request_id>.{FORMAT}")
def one_request(service_request_id, response_format):
    rows = _public_requests({"tracking_numbers": [service_request_id]})
    if not rows:
        raise NoSuchServiceRequest()
    return _answer_requests(response_format, rows)


def _check_api_key(given: str) -> None:
    """With OPEN311_API_KEYS set, filing needs one of them; unset, anyone may file (as through
    the JSON API), and an api_key sent anyway is not looked at."""
    keys = [key.strip() for key in current_app.config["OPEN311_API_KEYS"].split(",") if key.strip()]
    if keys and not any(hmac.compare_digest(given.encode(), key.encode()) for key in keys):
        raise InvalidApiKey()


def _attribute_values(form) -> dict:
    """`attribute[code]=value` fields as {code: value}."""
    values = {}
    for name, value in form.items():
        found = re.fullmatch(r"attribute\[([A-Za-z0-9_]+)\](\[\])?", name)
        if found:
            values[found.group(1)] = value
    return values


@blueprint.post(f"/v2/requests.{FORMAT}")
def file_request(response_format):
    """The spec's fields as a complaint: first_name and last_name are the complainant's name,
    email and phone their contacts; location, media_url, device_id and account_id are not kept."""
    form = request.form
    _check_api_key(form.get("api_key") or request.args.get("api_key") or "")
    if not (form.get("service_code") or "").strip():
        raise ValidationFailed({"service_code": ["required"]})
    found = _find_service(form["service_code"])
    if found is None:
        raise UnknownServiceCode()
    administration_code, request_type = found
    attributes = _attribute_values(form)
    names = (form.get(name, "").strip() for name in ("first_name", "last_name"))
    fields = {
        "type": request_type, "administration_code": administration_code,
        "subject": attributes.get("subject"), "description": form.get("description"),
        "region": attributes.get("region"), "language": attributes.get("language") or current_language(),
        "client_reference": attributes.get("client_reference") or None,
        "complainant": {"full_name": " ".join(name for name in names if name),
                        "status": attributes.get("complainant_status"), "id_type": attributes.get("id_type"),
                        "id_number": attributes.get("id_number"),
                        "email": form.get("email") or None, "phone": form.get("phone") or None},
    }
    receipt, _submission = desk().file(fields, [], current_language())
    count_filing()
    return respond(response_format, "service_requests", [{
        "service_request_id": receipt["tracking_number"],
        "service_notice": _("This is the tracking number; it is also sent to the complainant by SMS or e-mail. "
                            "The administration has to answer within the legal time, counted from when it "
                            "receives the request."),
        "account_id": None,
    }])


@blueprint.get(f"/v2/tokens/<token>.{FORMAT}")
def token(token, response_format):
    """The token is the client_reference a request was filed with."""
    rows = _public_requests({"client_references": [token]}) if CLIENT_REFERENCE.fullmatch(token) else []
    if not rows:
        raise NoSuchToken()
    return respond(response_format, "service_requests",
                   [{"service_request_id": rows[0]["tracking_number"], "token": token}])


# --- service discovery (http://wiki.open311.org/Service_Discovery)

@blueprint.get(f"/discovery.{FORMAT}")
def discovery(response_format):
    keys_needed = bool(current_app.config["OPEN311_API_KEYS"].strip())
    base = request.url_root.rstrip("/")
    return respond(response_format, "discovery", {
        "changeset": CHANGESET,
        "contact": _("The documentation of the platform's programming interfaces: %(url)s",
                     url=f"{base}/api/v1/docs"),
        "key_service": _("Reading needs no key. Filing a request needs an api_key from the platform's operators.")
        if keys_needed else _("No key is needed, to read or to file requests."),
        "endpoints": [{"specification": SPECIFICATION, "url": f"{base}{blueprint.url_prefix}/v2",
                       "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    })
