"""The directory of administrations: the shipped list loads at start, and an operator adds
more from a CSV or JSON file without touching code:

    python -m services.routing.directory import more-administrations.csv

CSV files need the columns code,name_ar,name_fr,kind (UTF-8), and may have contact_email,
supervisor_email and contact_language (ar or fr: the language of the messages about deadlines).
An entry whose code exists is updated, a new code is added; a file with any invalid row
changes nothing.
"""
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import directory
from services.common.directory import InvalidDirectory
from services.routing.domain import (CONTACT_FIELDS, CONTACT_LANGUAGES, KINDS, NAME_MAX_LENGTH, administration_errors, clean_contacts,
                                     contacts_errors)
from services.routing.models import Administration, Base

SHIPPED = Path(__file__).with_name("data") / "administrations.json"
FIELDS = ("code", "name_ar", "name_fr", "kind")
# administration_errors' codes, as the operator reads them
PROBLEMS = {
    "required": "is missing",
    "invalid_code": "must be 2-24 upper-case letters, digits or _",
    "reserved": "is reserved",
    "too_long": f"is longer than {NAME_MAX_LENGTH} characters",
    ("kind", "invalid_choice"): f"must be one of {', '.join(KINDS)}",
    ("contact_language", "invalid_choice"): f"must be one of {', '.join(CONTACT_LANGUAGES)}",
    "invalid_email": "is not an e-mail address",
}


def describe(field: str, value: str, problem) -> str:
    """One of administration_errors' problems (a code, or a code and its parameters) in words."""
    code = problem if isinstance(problem, str) else problem[0]
    return f"{field} {value!r} {PROBLEMS.get((field, code)) or PROBLEMS[code]}"


def read_entries(path: Path) -> list[dict]:
    """Entries of a .json (array of objects) or .csv file, all checked before any is used."""
    entries = directory.read_rows(path, "administrations")
    problems, seen = [], set()
    for number, raw in enumerate(entries, start=1):
        entry = {key: str(raw.get(key) or "").strip() for key in FIELDS}
        found = administration_errors(entry)
        if any(field in raw for field in CONTACT_FIELDS):  # contacts are changed only by a file that has them
            entry |= clean_contacts(raw)
            found |= contacts_errors(entry)
        errors = [describe(field, entry[field], problem) for field, problems in found.items() for problem in problems]
        if entry["code"] in seen:
            errors.append(f"code {entry['code']} appears twice")
        seen.add(entry["code"])
        problems += [f"entry {number}: {error}" for error in errors]
        entries[number - 1] = entry
    if problems:
        raise InvalidDirectory("\n".join(problems))
    return entries


def upsert(session: Session, entries: list[dict], overwrite: bool = True) -> tuple[int, int]:
    """(added, updated); with overwrite=False existing entries are left as the operator set them."""
    existing = {admin.code: admin for admin in session.scalars(select(Administration))}
    added = updated = 0
    for entry in entries:
        admin = existing.get(entry["code"])
        if admin is None:
            session.add(Administration(**entry))
            added += 1
        elif overwrite and any(getattr(admin, key) != value for key, value in entry.items()):
            for key, value in entry.items():
                setattr(admin, key, value)
            updated += 1
    return added, updated


def load_shipped(session: Session) -> int:
    """Add the shipped administrations that are missing; an operator's edits are kept."""
    added, _updated = upsert(session, read_entries(SHIPPED), overwrite=False)
    return added


def listing(session: Session) -> list[dict]:
    rows = session.scalars(select(Administration).order_by(Administration.code))
    return [{key: getattr(row, key) for key in FIELDS + CONTACT_FIELDS} for row in rows]


def main(argv=None):
    return directory.command(argv, service="routing", metadata=Base.metadata,
                             description="Manage routing's directory of administrations.", noun="administrations",
                             read_entries=read_entries, upsert=upsert, listing=listing)


if __name__ == "__main__":
    sys.exit(main())
