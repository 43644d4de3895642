"""Routing's rules: which administration's queue a complaint goes to."""
import re

UNKNOWN_ADMINISTRATION = "UNKNOWN"
# Complaints whose administration the citizen did not know (or that no longer exists) wait
# here until a platform agent dispatches them.
TRIAGE = "TRIAGE"
KINDS = ("ministry", "public_institution", "local_authority")
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,23}$")
RESERVED_CODES = {UNKNOWN_ADMINISTRATION, TRIAGE}


def decide(administration_code: str, known_codes: set[str]) -> tuple[str, bool]:
    """(queue code, is it triage) for a complaint filed against `administration_code`."""
    if administration_code in known_codes:
        return administration_code, False
    return TRIAGE, True


def administration_errors(entry: dict) -> list[str]:
    """Why a directory entry cannot be imported (empty when it can)."""
    errors = []
    code = str(entry.get("code") or "")
    if not CODE_PATTERN.match(code):
        errors.append(f"code {code!r} must be 2-24 upper-case letters, digits or _")
    elif code in RESERVED_CODES:
        errors.append(f"code {code!r} is reserved")
    for field in ("name_ar", "name_fr"):
        if not str(entry.get(field) or "").strip():
            errors.append(f"{field} is missing")
    if entry.get("kind") not in KINDS:
        errors.append(f"kind must be one of {', '.join(KINDS)}")
    return errors
