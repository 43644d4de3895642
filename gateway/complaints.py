"""What the gateway does with a complaint, for the web form and the JSON API alike: check it
with intake's own schema, check the administration and the files, store the files, hand it
to intake, and take the files back out if intake does not accept it; then what the citizen
does with it (messages and more files, rating, confirming, reopening).
"""
from flask import current_app
from marshmallow import ValidationError

from gateway.rpc import CachedCall, RpcPool
from gateway.uploads import discard, read_uploads, store_uploads
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.common.logs import bind_tracking_number
from services.intake.domain import UNKNOWN_ADMINISTRATION
from services.intake.schemas import load_submission

# What intake answers when it refused a call, so nothing of it was kept.  Any other failure (no
# answer in time, the broker away) may come after intake committed: the files stay stored,
# since an unreferenced file costs some disk and a complaint without its file costs the citizen.
REFUSED = (ValidationFailed, NotFound, TransitionRefused)


def unflatten(fields) -> dict:
    """Form fields named `complainant.full_name` etc. as the nested payload intake expects."""
    nested = {}
    for name, value in fields.items():
        if not name:
            continue  # a multipart part whose name werkzeug could not read: no field of ours
        *parents, leaf = name.split(".")
        target = nested
        for parent in parents:
            if not isinstance(target.get(parent), dict):
                target[parent] = {}
            target = target[parent]
        target[leaf] = value
    return nested


class ComplaintDesk:
    def __init__(self, pool: RpcPool, blobs, administrations_ttl: float,
                 max_attachment_bytes: int, max_attachments: int):
        self.pool = pool
        self.blobs = blobs
        self._administrations = CachedCall(pool, "routing", "list_administrations", administrations_ttl)
        self.max_attachment_bytes = max_attachment_bytes
        self.max_attachments = max_attachments

    def administrations(self) -> list[dict]:
        return self._administrations.get()

    def forget_administrations(self) -> None:
        self._administrations.forget()

    def administration(self, code: str) -> dict | None:
        return next((entry for entry in self.administrations() if entry["code"] == code), None)

    def file(self, fields: dict, files, language: str) -> tuple[dict, dict]:
        """Intake's receipt and the cleaned submission it was given (phone in E.164, ...);
        ValidationFailed if anything is wrong."""
        submission, errors = self.check(self.payload(fields, language))
        uploads, problems = read_uploads(files, self.max_attachment_bytes, self.max_attachments)
        if problems:
            errors.setdefault("attachments", []).extend(problems)
        if errors:
            raise ValidationFailed(errors)
        submission["attachments"] = store_uploads(self.blobs, uploads)
        try:
            receipt = self.pool.call("intake", "submit", submission)
        except REFUSED:
            discard(self.blobs, submission["attachments"])
            raise
        bind_tracking_number(receipt["tracking_number"])  # the rest of this request's log lines
        if receipt.get("replayed"):
            # the same form sent twice: the first filing keeps its files, these are spares
            discard(self.blobs, submission["attachments"])
        return receipt, submission

    @staticmethod
    def payload(fields: dict, language: str) -> dict:
        """What the client sent, ready for intake's schema; attachments never come from the
        client's fields, only from the files checked here."""
        payload = {key: value for key, value in fields.items() if key != "attachments"}
        if isinstance(payload.get("administration_code"), str):
            payload["administration_code"] = payload["administration_code"].strip().upper()
        if not payload.get("language"):
            payload["language"] = language
        return payload

    def check(self, payload: dict) -> tuple[dict | None, dict]:
        """The submission as intake's schema cleans it, and the problems found (codes by field)."""
        try:
            submission, errors = load_submission(payload), {}
        except ValidationError as exc:
            submission, errors = None, dict(exc.messages)
        code = payload.get("administration_code")
        if "administration_code" not in errors and code != UNKNOWN_ADMINISTRATION \
                and self.administration(code) is None:
            errors["administration_code"] = ["invalid_choice"]
        return submission, errors

    def track(self, tracking_number: str, contact: str) -> dict:
        return self.pool.call("intake", "track", tracking_number, contact)

    # What the citizen does once filed, proved by the tracking number and contact; each
    # answers intake's new tracking view.

    def with_files(self, files, call):
        """`call(attachments)` once the files are checked and stored; they are taken back out
        if intake refused the call."""
        uploads, problems = read_uploads(files, self.max_attachment_bytes, self.max_attachments)
        if problems:
            raise ValidationFailed({"attachments": problems})
        attachments = store_uploads(self.blobs, uploads)
        try:
            return call(attachments)
        except REFUSED:
            discard(self.blobs, attachments)
            raise

    def add_message(self, tracking_number: str, contact: str, text: str, files) -> dict:
        """A message, more documents, or both."""
        return self.with_files(files, lambda attachments: self.pool.call(
            "intake", "add_message", tracking_number, contact, text, attachments))

    def rate(self, tracking_number: str, contact: str, score, comment: str | None) -> dict:
        return self.pool.call("intake", "rate", tracking_number, contact, score, comment)

    def confirm(self, tracking_number: str, contact: str) -> dict:
        return self.pool.call("intake", "confirm", tracking_number, contact)

    def reopen(self, tracking_number: str, contact: str, reason: str) -> dict:
        return self.pool.call("intake", "reopen", tracking_number, contact, reason)

    def citizen_attachment(self, tracking_number: str, contact: str, attachment_id: int) -> dict:
        """{blob_key, filename, content_type, size}; NotFound unless it is this citizen's."""
        return self.pool.call("intake", "citizen_attachment", tracking_number, contact, attachment_id)

    def stats(self) -> dict:
        return self.pool.call("stats", "totals")


def desk() -> ComplaintDesk:
    """The application's desk (create_app makes one per app)."""
    return current_app.extensions["complaint_desk"]
