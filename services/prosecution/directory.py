"""The directory of courts, whose prosecution offices receive the complaints: the shipped list
(services/prosecution/data/courts.json) loads when the service starts, and an operator adds or
corrects courts from a CSV or JSON file without touching code:

    python -m services.prosecution.directory import more-courts.csv
    python -m services.prosecution.directory list

JSON: an array of courts as in the shipped file.  CSV (UTF-8) columns:
code,kind,name_ar,name_fr,office_ar,office_fr,appeal_court,cities where `kind` is
first_instance or appeal, `appeal_court` the code of a court of first instance's court of
appeal, and `cities` the cities a court of first instance serves as `CODE|name_ar|name_fr`
separated by `;`.  A court whose code exists is updated (its cities replaced by the file's),
a new code is added; a file with any invalid row changes nothing.
"""
import re
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.common import directory
from services.common.directory import InvalidDirectory
from services.prosecution.domain import COURT_KINDS, directory_errors
from services.prosecution.models import Base, City, Court

SHIPPED = Path(__file__).with_name("data") / "courts.json"
FIELDS = ("code", "kind", "name_ar", "name_fr", "office_ar", "office_fr", "appeal_court")
NAME_FIELDS = ("name_ar", "name_fr", "office_ar", "office_fr")
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
NAME_MAX_LENGTH = 300


def _cities_from_csv(cell: str) -> list[dict]:
    cities = []
    for part in filter(None, (piece.strip() for piece in (cell or "").split(";"))):
        code, _bar, rest = part.partition("|")
        name_ar, _bar, name_fr = rest.partition("|")
        cities.append({"code": code.strip(), "name_ar": name_ar.strip(), "name_fr": name_fr.strip()})
    return cities


def _clean(entry: dict) -> dict:
    court = {key: str(entry.get(key) or "").strip() for key in FIELDS}
    court["appeal_court"] = court["appeal_court"] or None
    cities = entry.get("cities")
    cities = _cities_from_csv(cities) if isinstance(cities, str) or cities is None else cities
    court["cities"] = [{key: str(city.get(key) or "").strip() for key in ("code", "name_ar", "name_fr")}
                       for city in cities]
    return court


def entry_errors(court: dict) -> list[str]:
    """What is wrong with one court, in words for the operator."""
    errors = []
    if not CODE_PATTERN.match(court["code"]):
        errors.append(f"code {court['code']!r} must be 2-40 upper-case letters, digits or _")
    if court["kind"] not in COURT_KINDS:
        errors.append(f"kind {court['kind']!r} must be one of {', '.join(COURT_KINDS)}")
    for field in NAME_FIELDS:
        if not court[field]:
            errors.append(f"{field} is missing")
        elif len(court[field]) > NAME_MAX_LENGTH:
            errors.append(f"{field} is longer than {NAME_MAX_LENGTH} characters")
    if court["kind"] == "first_instance":
        if not court["appeal_court"]:
            errors.append("appeal_court is missing (a court of first instance belongs to a court of appeal)")
        if not court["cities"]:
            errors.append("cities is empty (a court of first instance serves at least its own city)")
    elif court["cities"] or court["appeal_court"]:
        errors.append("a court of appeal has neither appeal_court nor cities of its own")
    for city in court["cities"]:
        if not CODE_PATTERN.match(city["code"]) or not city["name_ar"] or not city["name_fr"]:
            errors.append(f"city {city} needs a code (upper-case letters, digits or _) and both names")
    return errors


def read_entries(path: Path) -> list[dict]:
    """Courts of a .json or .csv file, each checked before any is used."""
    courts = [_clean(entry) for entry in directory.read_rows(path, "courts")]
    problems = [f"entry {number}: {error}" for number, court in enumerate(courts, start=1)
                for error in entry_errors(court)]
    if problems:
        raise InvalidDirectory("\n".join(problems))
    return courts


def as_entries(courts) -> list[dict]:
    return [{**{key: getattr(court, key) for key in FIELDS},
             "cities": [{"code": city.code, "name_ar": city.name_ar, "name_fr": city.name_fr}
                        for city in court.cities]} for court in courts]


def upsert(session: Session, entries: list[dict], overwrite: bool = True) -> tuple[int, int]:
    """(added, updated); with overwrite=False existing courts are left as the operator set
    them.  InvalidDirectory if the directory would then be inconsistent (a city served twice,
    a court of appeal missing), and nothing is changed."""
    existing = {court.code: court for court in
                session.scalars(select(Court).options(selectinload(Court.cities)))}
    merged = {code: entry for code, entry in zip(existing, as_entries(existing.values()))}
    changes = [entry for entry in entries if entry["code"] not in existing or overwrite]
    merged.update({entry["code"]: entry for entry in changes})
    problems = directory_errors(list(merged.values()))
    if problems:
        raise InvalidDirectory("\n".join(problems))
    added = updated = 0
    for entry in changes:
        court = existing.get(entry["code"])
        if court is None:
            court = Court(**{key: entry[key] for key in FIELDS})
            session.add(court)
            added += 1
        elif as_entries([court])[0] != entry:
            for key in FIELDS:
                setattr(court, key, entry[key])
            for city in list(court.cities):
                session.delete(city)
            updated += 1
        else:
            continue
        session.flush()
        for city in entry["cities"]:
            session.add(City(court_code=entry["code"], **city))
    session.flush()
    return added, updated


def load_shipped(session: Session) -> int:
    """Add the shipped courts that are missing; an operator's edits are kept."""
    added, _updated = upsert(session, read_entries(SHIPPED), overwrite=False)
    return added


def listing(session: Session) -> list[dict]:
    return as_entries(session.scalars(select(Court).options(selectinload(Court.cities)).order_by(Court.code)))


def main(argv=None):
    return directory.command(argv, service="prosecution", metadata=Base.metadata,
                             description="Manage the prosecution's directory of courts.", noun="courts",
                             read_entries=read_entries, upsert=upsert, listing=listing)


if __name__ == "__main__":
    sys.exit(main())
