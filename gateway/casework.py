"""What an administration does with a complaint, for the back-office pages and the agent API
alike: every call goes to intake with the actor (who acts), and intake decides what that
actor may see and do (another administration's complaint is NotFound, as if it did not exist).
"""
from flask import current_app

from services.common.errors import ValidationFailed

INBOX_FILTERS = ("status", "type", "subject")
ALL_ADMINISTRATIONS = "all"


def inbox_filters(arguments) -> dict:
    """The filters intake's inbox takes, from query arguments: `overdue=1` (or true), and for
    the platform roles `administration_code=all` for every administration's complaints."""
    filters = {name: arguments[name].strip() for name in INBOX_FILTERS if (arguments.get(name) or "").strip()}
    if (arguments.get("overdue") or "").lower() in ("1", "true", "yes", "on"):
        filters["overdue"] = True
    administration = (arguments.get("administration_code") or "").strip()
    if administration:
        filters["administration_code"] = None if administration == ALL_ADMINISTRATIONS else administration
    return filters


class Casework:
    def __init__(self, complaint_desk):
        self.desk = complaint_desk

    def _intake(self, method: str, *args):
        return self.desk.pool.call("intake", method, *args)

    def inbox(self, actor: dict, filters: dict) -> list[dict]:
        return self._intake("inbox", actor, filters)

    def view(self, actor: dict, tracking_number: str) -> dict:
        """The whole complaint, personal data included: intake writes each call to its access log."""
        return self._intake("agent_view", actor, tracking_number)

    def acknowledge(self, actor, tracking_number):
        return self._intake("acknowledge", actor, tracking_number)

    def request_information(self, actor, tracking_number, message):
        return self._intake("request_information", actor, tracking_number, message)

    def answer(self, actor, tracking_number, text, files=()):
        return self.desk.with_files(files, lambda attachments: self._intake(
            "answer", actor, tracking_number, text, attachments))

    def close(self, actor, tracking_number, reason, duplicate_of=None):
        return self._intake("close", actor, tracking_number, reason, duplicate_of)

    def transfer(self, actor, tracking_number, to_administration_code, reason):
        """To an administration of the directory (intake checks only the code's form)."""
        if to_administration_code and self.desk.administration(to_administration_code) is None:
            raise ValidationFailed({"to_administration_code": ["invalid_choice"]})
        return self._intake("transfer", actor, tracking_number, to_administration_code, reason)

    def add_note(self, actor, tracking_number, text):
        return self._intake("add_note", actor, tracking_number, text)

    def attachment(self, actor, tracking_number, attachment_id) -> dict:
        """{blob_key, filename, content_type, size} of one of the complaint's files."""
        return self._intake("agent_attachment", actor, tracking_number, attachment_id)

    def access_log(self, actor, tracking_number) -> list[dict]:
        return self._intake("access_log", actor, tracking_number)

    def add_administration(self, entry: dict) -> None:
        """A new administration in routing's directory, offered in the forms at once."""
        self.desk.pool.call("routing", "add_administration", entry)
        self.desk.forget_administrations()

    def administration_contacts(self) -> dict:
        """{code: {contact_email, supervisor_email, contact_language}} from routing's directory."""
        return self.desk.pool.call("routing", "administration_contacts")

    def set_administration_contacts(self, code: str, contacts: dict) -> dict:
        """Where the deadline reminder and the overdue notice for `code` are e-mailed."""
        return self.desk.pool.call("routing", "set_administration_contacts", code, contacts)

    def deliveries(self, tracking_number) -> list[dict]:
        """What notify sent about the complaint; ask only after intake let the actor see it."""
        return self.desk.pool.call("notify", "deliveries", tracking_number)


def casework() -> Casework:
    return current_app.extensions["casework"]
