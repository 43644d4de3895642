"""Routing's rules: which administration's queue a complaint goes to."""
import re

from marshmallow import ValidationError, validate

from services.common.events import TRIAGE, UNKNOWN_ADMINISTRATION

KINDS = ("ministry", "public_institution", "local_authority")
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,23}$")
RESERVED_CODES = {UNKNOWN_ADMINISTRATION, TRIAGE}
NAME_MAX_LENGTH = 300
CONTACT_FIELDS = ("contact_email", "supervisor_email", "contact_language")
CONTACT_LANGUAGES = ("ar", "fr")
_is_email = validate.Email()
# Why a complaint is sent to an administration's queue (RoutedComplaint.reason).
SUBMITTED, TRANSFERRED, REOPENED = "submitted", "transferred", "reopened"


def decide(administration_code: str, known_codes: set[str]) -> tuple[str, bool]:
    """(queue code, is it triage) for a complaint filed against `administration_code`."""
    if administration_code in known_codes:
        return administration_code, False
    return TRIAGE, True


def administration_errors(entry: dict) -> dict[str, list[str]]:
    """Why a directory entry cannot be added, as {field: [message codes]} (empty when it can).

    The codes are the gateway's (`required`, `invalid_choice`, and `too_long` with its
    bound as `("too_long", {"max": ...})`) plus `invalid_code` and `reserved` for the code.
    """
    errors = {}
    code = str(entry.get("code") or "")
    if not code:
        errors["code"] = ["required"]
    elif not CODE_PATTERN.match(code):
        errors["code"] = ["invalid_code"]
    elif code in RESERVED_CODES:
        errors["code"] = ["reserved"]
    for field in ("name_ar", "name_fr"):
        name = str(entry.get(field) or "").strip()
        if not name:
            errors[field] = ["required"]
        elif len(name) > NAME_MAX_LENGTH:
            errors[field] = [("too_long", {"max": NAME_MAX_LENGTH})]
    if entry.get("kind") not in KINDS:
        errors["kind"] = ["invalid_choice"]
    return errors


def contacts_errors(contacts: dict) -> dict[str, list[str]]:
    """Why an administration's contacts cannot be kept: each address is optional but must be
    an e-mail address, and the language one the messages are written in."""
    errors = {}
    for field in ("contact_email", "supervisor_email"):
        address = contacts.get(field)
        if address:
            try:
                _is_email(address)
            except ValidationError:
                errors[field] = ["invalid_email"]
    if contacts.get("contact_language") not in CONTACT_LANGUAGES:
        errors["contact_language"] = ["invalid_choice"]
    return errors


def clean_contacts(contacts: dict) -> dict:
    """The contacts as kept: addresses trimmed (empty means none), Arabic unless French is asked."""
    cleaned = {field: str(contacts.get(field) or "").strip() or None for field in ("contact_email", "supervisor_email")}
    cleaned["contact_language"] = str(contacts.get("contact_language") or "ar").strip()
    return cleaned
