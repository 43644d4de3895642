"""What the gateway does with a complaint to the public prosecution, for its pages and its JSON
API alike: check it with the prosecution's own schema and the directory of offices, pass the
captcha, check and store the files, hand it to the prosecution service, and take the files back
out if it is not accepted; then the complainant's following and the office staff's calls.

Only prosecution staff reach the staff calls (gateway.prosecution_office checks the role), and
the prosecution service checks their office: another office's file is NotFound.
"""
from flask import current_app
from marshmallow import ValidationError, fields as ma_fields, validate

from gateway.complaints import REFUSED
from gateway.errors import NoSuchProsecutionComplaint
from gateway.rpc import CachedCall, RpcPool
from gateway.uploads import discard, read_uploads, store_uploads
from services.common.errors import NotFound, ValidationFailed
from services.common.logs import bind_tracking_number
from services.common.schemas import load
from services.prosecution.schemas import ComplaintFiling

TRUE = ("1", "true", "yes", "on")


def _schema_field(schema, path: str):
    """The marshmallow field at a dotted path (`accused.1.legal_name`), list indexes skipped."""
    field = None
    for name in path.split("."):
        if name.isdigit():
            continue
        if schema is None or name not in schema.fields:
            return None
        field = schema.fields[name]
        inner = field.inner if isinstance(field, ma_fields.List) else field
        schema = inner.schema if isinstance(inner, ma_fields.Nested) else None
    return field


def with_bounds(errors: dict, schema_class=ComplaintFiling) -> dict:
    """Field problems with the length bounds their message quotes: `too_long` becomes
    `("too_long", {"max": 300})`, read from the prosecution's schema."""
    bounded = {}
    for path, problems in errors.items():
        field = _schema_field(schema_class(), path)
        lengths = [check for check in getattr(field, "validators", ()) if isinstance(check, validate.Length)]
        bounds = {}
        for check in lengths:
            if check.min and check.min > 1:
                bounds["min"] = check.min
            if check.max:
                bounds["max"] = check.max
        bounded[path] = [(problem, bounds) if problem in ("too_short", "too_long") and bounds else problem
                         for problem in problems]
    return bounded


def accused_list(value) -> list:
    """The accused as a list: a JSON list as it is, or a form's `accused.0.kind`, `accused.1.kind`
    (nested by index) in index order, blocks left wholly empty dropped."""
    if isinstance(value, list):
        return value
    if not isinstance(value, dict):
        return []
    blocks = [value[key] for key in sorted(value, key=lambda key: int(key) if str(key).isdigit() else 0)]
    return [block for block in blocks
            if isinstance(block, dict) and any(str(item or "").strip() for item in block.values())]


class ProsecutionDesk:
    def __init__(self, pool: RpcPool, blobs, offices_ttl: float, max_attachment_bytes: int,
                 max_attachments: int):
        self.pool = pool
        self.blobs = blobs
        self._offices = CachedCall(pool, "prosecution", "list_offices", offices_ttl)
        self.max_attachment_bytes = max_attachment_bytes
        self.max_attachments = max_attachments

    # the directory

    def offices(self) -> list[dict]:
        return self._offices.get()

    def office(self, code: str) -> dict | None:
        return next((court for court in self.offices() if court["code"] == code), None)

    def cities(self) -> dict[str, dict]:
        return {city["code"]: city for court in self.offices() for city in court["cities"]}

    # filing

    @staticmethod
    def payload(fields: dict, language: str) -> dict:
        """What the client sent, ready for the prosecution's schema; attachments never come from
        the client's fields, only from the files checked here."""
        payload = {key: value for key, value in fields.items() if key not in ("attachments", "captcha")}
        payload["accused"] = accused_list(fields.get("accused"))
        sealed = payload.get("identity_sealed")
        if isinstance(sealed, str):
            payload["identity_sealed"] = sealed.strip().lower() in TRUE
        if isinstance(payload.get("facts_city"), str):
            payload["facts_city"] = payload["facts_city"].strip().upper()
        if not payload.get("language"):
            payload["language"] = language
        return payload

    def check(self, payload: dict) -> tuple[dict | None, dict]:
        """The filing as the prosecution's schema cleans it, and the problems found (codes by field)."""
        try:
            filing, errors = load(ComplaintFiling, payload), {}
        except ValidationError as exc:
            filing, errors = None, dict(exc.messages)
        if "facts_city" not in errors and payload.get("facts_city") not in self.cities():
            errors["facts_city"] = ["invalid_choice"]
        return filing, errors

    def file(self, fields: dict, files, language: str, captcha, give_back=lambda: None) -> tuple[dict, dict]:
        """The prosecution's receipt and the cleaned filing.  `captcha()` runs once everything
        else is right: None lets the filing through, a message code refuses it; `give_back()`
        runs if the filing then fails.  ValidationFailed names every wrong field."""
        filing, errors = self.check(self.payload(fields, language))
        uploads, problems = read_uploads(files, self.max_attachment_bytes, self.max_attachments)
        if problems:
            errors.setdefault("attachments", []).extend(problems)
        if errors:
            raise ValidationFailed(with_bounds(errors))
        problem = captcha()
        if problem:
            raise ValidationFailed({"captcha": [problem]})
        filing["attachments"] = store_uploads(self.blobs, uploads)
        wire = {**filing, "facts_date": filing["facts_date"].isoformat(),
                "complainant": {**filing["complainant"],
                                "birth_date": filing["complainant"]["birth_date"].isoformat()}}
        try:
            receipt = self.pool.call("prosecution", "file_complaint", wire)
        except BaseException as exc:
            # only a refusal frees the files: after a timeout the service may still file with them
            if isinstance(exc, REFUSED):
                discard(self.blobs, filing["attachments"])
            give_back()
            raise
        bind_tracking_number(receipt["tracking_code"])  # the rest of this request's log lines
        if receipt.get("replayed"):
            # the same form sent twice: the first filing keeps its files, these are spares
            discard(self.blobs, filing["attachments"])
        return receipt, filing

    # following

    def _complainants(self, method: str, *args):
        try:
            return self.pool.call("prosecution", method, *args)
        except NotFound:
            raise NoSuchProsecutionComplaint() from None

    def track(self, tracking_code: str, phone: str) -> dict:
        return self._complainants("track", tracking_code, phone)

    def add_documents(self, tracking_code: str, phone: str, files) -> dict:
        self.track(tracking_code, phone)  # first: refused files must not tell that the code exists
        uploads, problems = read_uploads(files, self.max_attachment_bytes, self.max_attachments)
        if problems:
            raise ValidationFailed({"attachments": problems})
        if not uploads:
            raise ValidationFailed({"attachments": ["required"]})
        attachments = store_uploads(self.blobs, uploads)
        try:
            return self._complainants("add_documents", tracking_code, phone, attachments)
        except (*REFUSED, NoSuchProsecutionComplaint):
            discard(self.blobs, attachments)
            raise

    # the office's staff (actor: gateway.accounts.agent_actor)

    def _call(self, method: str, *args):
        return self.pool.call("prosecution", method, *args)

    def inbox(self, actor: dict, filters: dict) -> list[dict]:
        return self._call("office_inbox", actor, filters)

    def view(self, actor: dict, tracking_code: str) -> dict:
        """The whole file; the prosecution writes each call to its access log."""
        return self._call("office_view", actor, tracking_code)

    def act(self, actor: dict, tracking_code: str, action: str, data: dict) -> dict:
        return self._call("act", actor, tracking_code, action, data)

    def attachment(self, actor: dict, tracking_code: str, attachment_id) -> dict:
        return self._call("office_attachment", actor, tracking_code, attachment_id)

    def access_log(self, actor: dict, tracking_code: str) -> list[dict]:
        return self._call("access_log", actor, tracking_code)

    def unseal(self, actor: dict, tracking_code: str, reason: str) -> dict:
        return self._call("unseal_identity", actor, tracking_code, reason)


def prosecution_desk() -> ProsecutionDesk:
    """The application's desk (create_app makes one per app)."""
    return current_app.extensions["prosecution_desk"]
