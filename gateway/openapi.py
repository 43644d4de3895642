"""The OpenAPI 3 description of the JSON API /api/v1, served at /api/v1/openapi.json, and the page
that shows it (/api/v1/docs: Swagger UI, served from gateway/static/swagger-ui like every other
file of the site).

The bodies and answers are the marshmallow schemas that the services validate with and answer
with (services/intake/schemas.py, services/prosecution/schemas.py), turned into JSON Schema by
apispec.  What the gateway or a service adds beside such a schema (the clock, the citizen's
options, the `contact` that proves who asks) is declared below by schemas that extend theirs.
Every /api/v1 route has its entry in `operations()`: a test compares them with the URL map.
Summaries follow `?lang=`, then Accept-Language, like every answer of the API.
"""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, render_template
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from gateway.i18n import current_language
from services.common.regions import region_codes
from services.intake import schemas as intake
from services.prosecution import schemas as prosecution

blueprint = Blueprint("openapi", __name__, url_prefix="/api/v1")

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1"


# --- what the gateway and the services add beside the services' schemas

class Clock(Schema):
    deadline_at = fields.AwareDateTime(allow_none=True)  # none before an administration received it
    days_left = fields.Integer(allow_none=True)
    overdue = fields.Boolean()
    paused = fields.Boolean()  # waiting for the citizen's information: the deadline moves later


class Answer(Schema):
    text = fields.String()
    at = fields.AwareDateTime()
    attachments = fields.List(fields.Nested(intake.AttachmentReceipt))


class Rating(Schema):
    score = fields.Integer()
    comment = fields.String(allow_none=True)


class CitizenView(intake.TrackingView, Clock):
    answer = fields.Nested(Answer, allow_none=True)
    rating = fields.Nested(Rating, allow_none=True)
    can_add_message = fields.Boolean()
    can_rate = fields.Boolean()
    can_confirm = fields.Boolean()
    can_reopen = fields.Boolean()
    reopen_refusal = fields.String(allow_none=True, validate=validate.OneOf(["reopen_window_passed", "ombudsman"]))


class InboxRow(intake.ComplaintSummary, Clock):
    pass


class Inbox(Schema):
    complaints = fields.List(fields.Nested(InboxRow))


class AgentComplaint(intake.AgentView, Clock):
    complainant = fields.Nested(intake.ComplainantSchema)
    answer = fields.Nested(Answer, allow_none=True)
    rating = fields.Nested(Rating, allow_none=True)
    actions = fields.List(fields.String(validate=validate.OneOf(list(intake.domain.AGENT_ACTIONS))))


class ComplaintRequest(intake.ComplaintSubmission):
    """The filing as a client sends it: the files come apart (multipart), never in the JSON."""
    # the service checks the region against this list in a method, which JSON Schema cannot see
    region = fields.String(required=True, validate=validate.OneOf(sorted(region_codes())))

    class Meta:
        exclude = ("attachments",)


class Receipt(Schema):
    tracking_number = fields.String()
    status = fields.String()
    administration_code = fields.String()
    submitted_at = fields.AwareDateTime()
    replayed = fields.Boolean()  # this client_reference was filed before: nothing new was stored


class Contact(Schema):
    contact = fields.String(required=True)  # the e-mail or phone given at filing


class CitizenMessageRequest(intake.CitizenMessage, Contact):
    class Meta:
        exclude = ("attachments",)


class RatingRequest(intake.RatingSchema, Contact):
    pass


class ReopenRequest(intake.ReopenSchema, Contact):
    pass


class AnswerRequest(intake.AnswerSchema):
    class Meta:
        exclude = ("attachments",)


class Administration(Schema):
    code = fields.String()
    name_ar = fields.String()
    name_fr = fields.String()
    kind = fields.String(validate=validate.OneOf(["ministry", "public_institution", "local_authority"]))


class DownloadLink(Schema):
    url = fields.String()
    expires_in = fields.Integer()


class Error(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)  # in the language asked for
    field_messages = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                                 data_key="fields")
    reason = fields.String()  # only with 409: why the step is refused


class Captcha(Schema):
    captcha_id = fields.String()
    image_url = fields.String()
    audio_url = fields.String()
    expires_in = fields.Integer()


class CaptchaAnswer(Schema):
    id = fields.String(required=True)
    answer = fields.String(required=True)


class ProsecutionFiling(prosecution.ComplaintFiling):
    captcha = fields.Nested(CaptchaAnswer, required=True)

    class Meta:
        exclude = ("attachments",)


class ProsecutionReceipt(Schema):
    tracking_code = fields.String()
    status = fields.String()
    office_code = fields.String()
    submitted_at = fields.AwareDateTime()
    replayed = fields.Boolean()


class ProsecutionTracking(prosecution.TrackingView):
    can_add_documents = fields.Boolean()


def schema_name(schema) -> str:
    """Component names; the prosecution's schemas, some named like intake's, get a prefix."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    return f"Prosecution{name}" if cls.__module__.startswith("services.prosecution") else name


# --- the operations

ERROR_RESPONSES = {
    "400": ("InvalidRequest", _l("A field is wrong or missing (`fields` names each one), or the body is "
                                 "neither a JSON object nor a form.")),
    "401": ("Unauthorized", _l("No valid token in the header Authorization: Bearer <token>.")),
    "404": ("NotFound", _l("Nothing matches (the same answer for a wrong number and a wrong contact).")),
    "409": ("Refused", _l("The step is not possible at this stage; `reason` says why.")),
    "413": ("TooLarge", _l("The body is larger than allowed.")),
    "429": ("TooManyAttempts", _l("Too many failed attempts, or too many complaints filed, from this address: "
                                  "wait as many seconds as Retry-After says.")),
    "503": ("Unavailable", _l("A service behind the gateway does not answer: try again later.")),
}


def _json(schema) -> dict:
    return {"application/json": {"schema": schema}}


def _form(plugin: MarshmallowPlugin, schema, files: str | None = None) -> dict:
    """A multipart form of the schema's fields with dotted names (`complainant.full_name`,
    `accused.0.kind`) and its files, as the gateway reads forms."""
    properties, required = {}, []

    def add(schema_instance, prefix):
        for name, field in schema_instance.fields.items():
            key = prefix + (field.data_key or name)
            if isinstance(field, fields.Nested):
                add(field.schema, f"{key}.")
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                add(field.inner.schema, f"{key}.0.")  # then .1., .2., ... for the next ones
            else:
                properties[key] = plugin.converter.field2property(field)
                if field.required and not prefix.endswith(".0."):
                    required.append(key)

    add(schema() if isinstance(schema, type) else schema, "")
    if files:
        properties[files] = {"type": "array", "items": {"type": "string", "format": "binary"}}
    body = {"type": "object", "properties": properties}
    if required:
        body["required"] = required
    return {"multipart/form-data": {"schema": body}}


def _operation(tag, summary, answers: dict, errors=(), body=None, parameters=(), security=None) -> dict:
    responses = {status: {"description": str(description), **({"content": content} if content else {})}
                 for status, (description, content) in answers.items()}
    for status in (*errors, "503"):
        responses[status] = ERROR_RESPONSES[status][0]
    operation = {"tags": [str(tag)], "summary": str(summary), "parameters": ["lang", *parameters],
                 "responses": responses}
    if body:
        operation["requestBody"] = {"required": True, "content": body}
    if security:
        operation["security"] = [{security: []}]
    return operation


def _path(name, description, schema_type="string") -> dict:
    return {"in": "path", "name": name, "required": True, "description": str(description),
            "schema": {"type": schema_type}}


def _query(name, description, required=True) -> dict:
    return {"in": "query", "name": name, "required": required, "description": str(description),
            "schema": {"type": "string"}}


def operations(plugin: MarshmallowPlugin) -> dict[str, dict[str, dict]]:
    """{path: {method: operation}} of every /api/v1 route."""
    citizens, prosecution_tag, agents, documentation = (
        _l("Citizens"), _l("Public prosecution"), _l("Administrations (agent API)"), _l("Documentation"))
    number = _path("tracking_number", _l("The tracking number (K7QM-2ZT9-W4HR8; lower case and missing "
                                         "dashes are accepted)."))
    attachment = _path("attachment_id", _l("The attachment's id, from the complaint's view."), "integer")
    code = _path("code", _l("The tracking code of the complaint to the prosecution."))
    challenge = _path("challenge", _l("The captcha's id."))
    contact = _query("contact", _l("The e-mail address or phone number given at filing."))
    view = {"200": (_l("The request as it now stands."), _json(CitizenView))}
    citizen_step = ("400", "404", "409", "429")
    agent_view = {"200": (_l("The complaint's inbox row as it now stands."), _json(InboxRow))}
    agent_step = ("400", "401", "404", "409")
    bearer = "agentToken"
    return {
        "/api/v1/administrations": {"get": _operation(
            citizens, _l("The administrations one can file a request with"),
            {"200": (_l("The directory."), _json({"type": "array", "items": Administration}))})},
        "/api/v1/complaints": {"post": _operation(
            citizens, _l("File a complaint, an observation or a suggestion"),
            {"201": (_l("Filed: the tracking number."), _json(Receipt))}, ("400", "413", "429"),
            body={**_json(ComplaintRequest), **_form(plugin, ComplaintRequest, files="attachments")})},
        "/api/v1/complaints/{tracking_number}": {"get": _operation(
            citizens, _l("Follow a request: its status, deadline, messages and dated timeline"),
            view, ("404", "429"), parameters=[number, contact])},
        "/api/v1/complaints/{tracking_number}/messages": {"post": _operation(
            citizens, _l("Write to the administration, send more documents, or both"),
            {"201": view["200"]}, (*citizen_step, "413"), parameters=[number],
            body={**_json(CitizenMessageRequest), **_form(plugin, CitizenMessageRequest, files="attachments")})},
        "/api/v1/complaints/{tracking_number}/rating": {"post": _operation(
            citizens, _l("Rate the administration's answer (1 to 5)"), view, citizen_step,
            parameters=[number], body=_json(RatingRequest))},
        "/api/v1/complaints/{tracking_number}/confirmation": {"post": _operation(
            citizens, _l("Confirm the answer: the request is closed"), view, citizen_step,
            parameters=[number], body=_json(Contact))},
        "/api/v1/complaints/{tracking_number}/reopening": {"post": _operation(
            citizens, _l("Reopen the request: it goes back to the administration with a new deadline"),
            view, citizen_step, parameters=[number], body=_json(ReopenRequest))},
        "/api/v1/complaints/{tracking_number}/attachments/{attachment_id}": {"get": _operation(
            citizens, _l("A short-lived download link to one of the request's files"),
            {"302": (_l("The link, in Location and in the body."), _json(DownloadLink))}, ("404", "429"),
            parameters=[number, attachment, contact])},
        "/api/v1/stats": {"get": _operation(
            citizens, _l("The public statistics"),
            {"200": (_l("The figures."), _json({"type": "object", "additionalProperties": True}))})},
        "/api/v1/prosecution/captcha": {"post": _operation(
            prosecution_tag, _l("A new captcha, to answer when filing"),
            {"201": (_l("The captcha: its image and audio addresses."), _json(Captcha))}, ("429",))},
        "/api/v1/prosecution/captcha/{challenge}/image": {"get": _operation(
            prosecution_tag, _l("The captcha's code as an image"),
            {"200": (_l("A PNG image."), {"image/png": {"schema": {"type": "string", "format": "binary"}}})},
            ("404",), parameters=[challenge])},
        "/api/v1/prosecution/captcha/{challenge}/audio": {"get": _operation(
            prosecution_tag, _l("The captcha's code read out, in the language asked for"),
            {"200": (_l("A WAV recording."), {"audio/wav": {"schema": {"type": "string", "format": "binary"}}})},
            ("404", "429"), parameters=[challenge])},
        "/api/v1/prosecution/offices": {"get": _operation(
            prosecution_tag, _l("The courts, their prosecutors' offices and the cities they serve"),
            {"200": (_l("The directory."), _json({"type": "array", "items": prosecution.CourtView}))})},
        "/api/v1/prosecution/complaints": {"post": _operation(
            prosecution_tag, _l("File a complaint with the public prosecution"),
            {"201": (_l("Filed: the tracking code."), _json(ProsecutionReceipt))}, ("400", "413", "429"),
            body={**_json(ProsecutionFiling), **_form(plugin, ProsecutionFiling, files="attachments")})},
        "/api/v1/prosecution/complaints/{code}": {"get": _operation(
            prosecution_tag, _l("Follow a complaint to the prosecution"),
            {"200": (_l("The complaint's status and dated steps."), _json(ProsecutionTracking))}, ("404", "429"),
            parameters=[code, _query("phone", _l("The phone number given at filing."))])},
        "/api/v1/prosecution/complaints/{code}/documents": {"post": _operation(
            prosecution_tag, _l("Send more documents"),
            {"201": (_l("The complaint as it now stands."), _json(ProsecutionTracking))},
            ("400", "404", "409", "413", "429"), parameters=[code],
            body={"multipart/form-data": {"schema": {
                "type": "object", "required": ["phone", "attachments"],
                "properties": {"phone": {"type": "string"},
                               "attachments": {"type": "array",
                                               "items": {"type": "string", "format": "binary"}}}}}})},
        "/api/v1/agent/complaints": {"get": _operation(
            agents, _l("The administration's inbox, nearest deadline first"),
            {"200": (_l("The complaints."), _json(Inbox))}, ("400", "401"),
            parameters=[{"in": "query", "schema": intake.InboxFilters}], security=bearer)},
        "/api/v1/agent/complaints/{tracking_number}": {"get": _operation(
            agents, _l("Everything about one complaint, the complainant's identity included (logged)"),
            {"200": (_l("The complaint."), _json(AgentComplaint))}, ("401", "404"), parameters=[number],
            security=bearer)},
        "/api/v1/agent/complaints/{tracking_number}/attachments/{attachment_id}": {"get": _operation(
            agents, _l("Download one of the complaint's files (logged)"),
            {"200": (_l("The file, as a download."),
                     {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}})},
            ("401", "404"), parameters=[number, attachment], security=bearer)},
        "/api/v1/agent/complaints/{tracking_number}/acknowledge": {"post": _operation(
            agents, _l("Start dealing with the complaint"), agent_view, agent_step, parameters=[number],
            security=bearer)},
        "/api/v1/agent/complaints/{tracking_number}/request-information": {"post": _operation(
            agents, _l("Ask the citizen for information (the deadline pauses)"), agent_view, agent_step,
            parameters=[number], body=_json(intake.InformationRequest), security=bearer)},
        "/api/v1/agent/complaints/{tracking_number}/answer": {"post": _operation(
            agents, _l("Answer the citizen, with documents if need be"), agent_view, (*agent_step, "413"),
            parameters=[number], security=bearer,
            body={**_json(AnswerRequest), **_form(plugin, AnswerRequest, files="attachments")})},
        "/api/v1/agent/complaints/{tracking_number}/close": {"post": _operation(
            agents, _l("Close the complaint with a reason"), agent_view, agent_step, parameters=[number],
            body=_json(intake.CloseSchema), security=bearer)},
        "/api/v1/agent/complaints/{tracking_number}/transfer": {"post": _operation(
            agents, _l("Transfer the complaint to the competent administration"), agent_view, agent_step,
            parameters=[number], body=_json(intake.TransferSchema), security=bearer)},
        "/api/v1/agent/complaints/{tracking_number}/notes": {"post": _operation(
            agents, _l("Add an internal note (never shown to the citizen)"),
            {"201": agent_view["200"]}, agent_step, parameters=[number], body=_json(intake.NoteSchema),
            security=bearer)},
        "/api/v1/openapi.json": {"get": _operation(
            documentation, _l("This description of the API (OpenAPI 3)"),
            {"200": (_l("The OpenAPI document."), _json({"type": "object"}))})},
        "/api/v1/docs": {"get": _operation(
            documentation, _l("The documentation page, where each call can be tried"),
            {"200": (_l("An HTML page."), {"text/html": {"schema": {"type": "string"}}})})},
    }


def build() -> dict:
    """The OpenAPI document, its texts in the language of the request it is made in."""
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(
        title=str(_l("Chikaya: the national complaints portal")), version=API_VERSION,
        openapi_version=OPENAPI_VERSION, plugins=[plugin],
        info={"description": str(_l(
            "File and follow complaints, observations and suggestions to Moroccan administrations, and "
            "complaints to the public prosecution; administrations deal with theirs through the agent API. "
            "Bodies are JSON objects, or multipart forms with dotted field names when files are sent. "
            "Errors are {\"error\", \"message\", \"fields\"}, in the language asked for with ?lang=ar|fr "
            "(else Accept-Language, else Arabic). Open311 GeoReport v2 is served at /open311/v2/."))})
    spec.components.security_scheme("agentToken", {
        "type": "http", "scheme": "bearer",
        "description": str(_l("A token a platform administrator made for one administration."))})
    spec.components.schema("Error", schema=Error)
    for name, description in ERROR_RESPONSES.values():
        spec.components.response(name, {"description": str(description), "content": _json(Error)})
    spec.components.parameter("lang", "query", {
        "required": False, "description": str(_l("The language of the messages: ar (the default) or fr.")),
        "schema": {"type": "string", "enum": ["ar", "fr"]}})
    for path, methods in operations(plugin).items():
        spec.path(path=path, operations=methods)
    return spec.to_dict()


@blueprint.get("/openapi.json")
def document():
    language = current_language()
    cache = current_app.extensions.setdefault("openapi_documents", {})
    if language not in cache:
        cache[language] = build()
    return jsonify(cache[language])


@blueprint.get("/docs")
def docs():
    return render_template("api_docs.html")
