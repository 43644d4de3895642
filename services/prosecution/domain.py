"""The prosecution's rules: tracking codes, which office is competent, and the steps a
complaint goes through until the prosecutor decides.

Plain Python, so tests call it without a broker.  The step functions work on any object with
the Complaint model's attributes and take `now` as an argument.
"""
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from services.common.errors import TransitionRefused
from services.common.tracking import CodeFormat

# 10 random symbols (50 bits) and a check symbol: short enough to type from an SMS, and never
# enough on its own, since following a complaint also takes the phone number given at filing.
TRACKING_CODES = CodeFormat(random_symbols=10, groups=(4, 4, 3))

COMPLAINANT_STATUSES = ("citizen", "moroccan_abroad", "foreign_resident")
ID_TYPES = ("cnie", "passport", "residence_card")
LANGUAGES = ("ar", "fr")
ACCUSED_KINDS = ("natural_person", "legal_person", "unknown")
MAX_ACCUSED = 10

# Category -> the court whose prosecutor takes it: the court of first instance of the place of
# the facts for offences (جنح), its court of appeal for the crimes that go there (the
# financial crimes: corruption, embezzlement of public funds).
CATEGORIES = {
    "corruption": "appeal",
    "embezzlement": "appeal",
    "violence": "first_instance",
    "violence_against_women": "first_instance",
    "theft": "first_instance",
    "fraud": "first_instance",
    "forgery": "first_instance",
    "threats_defamation": "first_instance",
    "cybercrime": "first_instance",
    "family_abandonment": "first_instance",
    "dishonoured_cheque": "first_instance",
    "property_trespass": "first_instance",
    "other": "first_instance",
}
# Only a corruption report may ask for the complainant's identity to be sealed.
SEALABLE_CATEGORIES = ("corruption",)

COURT_KINDS = ("first_instance", "appeal")

# Where a complaint stands.  The three decisions end it; a forwarded complaint starts again as
# "received" at the office it was forwarded to.
RECEIVED, REGISTERED, UNDER_INVESTIGATION, INFORMATION_REQUESTED = (
    "received", "registered", "under_investigation", "information_requested")
DECISIONS = ("filed_without_action", "prosecution_launched", "referred_to_investigating_judge")
STATUSES = (RECEIVED, REGISTERED, UNDER_INVESTIGATION, INFORMATION_REQUESTED) + DECISIONS
OPEN_STATUSES = (RECEIVED, REGISTERED, UNDER_INVESTIGATION, INFORMATION_REQUESTED)
REGISTERED_AND_OPEN = {REGISTERED, UNDER_INVESTIGATION, INFORMATION_REQUESTED}

# Why a prosecutor files a complaint without action (الحفظ).
FILING_REASONS = ("no_offence", "insufficient_evidence", "unknown_perpetrator", "time_barred",
                  "withdrawal", "civil_matter", "other")

ROLES = ("prosecution_clerk", "chief_prosecutor")
ACCESS_LOG_READERS = ("chief_prosecutor",)
UNSEALERS = ("chief_prosecutor",)

NOT_ALLOWED = "not_allowed_in_status"
MOROCCO = ZoneInfo("Africa/Casablanca")


@dataclass(frozen=True)
class Action:
    """What staff may do: from which statuses, to which status, and the step it records."""
    sources: frozenset
    target: str | None  # None: the action decides (forward: back to "received" elsewhere)
    step: str


ACTIONS = {
    "register": Action(frozenset({RECEIVED}), REGISTERED, "registered"),
    "refer_to_police": Action(frozenset({REGISTERED, INFORMATION_REQUESTED}), UNDER_INVESTIGATION,
                              "referred_to_police"),
    "request_information": Action(frozenset({REGISTERED, UNDER_INVESTIGATION}), INFORMATION_REQUESTED,
                                  "information_requested"),
    "file_without_action": Action(frozenset(REGISTERED_AND_OPEN), "filed_without_action",
                                  "filed_without_action"),
    "launch_prosecution": Action(frozenset(REGISTERED_AND_OPEN), "prosecution_launched",
                                 "prosecution_launched"),
    "refer_to_investigating_judge": Action(frozenset(REGISTERED_AND_OPEN), "referred_to_investigating_judge",
                                           "referred_to_investigating_judge"),
    # declining competence: the complaint goes on at the competent office
    "forward": Action(frozenset(OPEN_STATUSES), RECEIVED, "forwarded"),
}
# Every step the timeline can show: the staff's, the filing and the complainant's documents.
STEPS = ("received",) + tuple(action.step for action in ACTIONS.values()) + ("documents_added",)


def new_tracking_code() -> str:
    return TRACKING_CODES.new()


def normalize_tracking_code(typed: str) -> str | None:
    return TRACKING_CODES.normalize(typed)


def new_pseudonym() -> str:
    """What staff see instead of a sealed complainant's name."""
    return "P-" + TRACKING_CODES.new().replace("-", "")[:6]


def month_of(moment: datetime) -> str:
    """The calendar month (Moroccan time) that statistics count a fact in: `2026-05`."""
    return moment.astimezone(MOROCCO).strftime("%Y-%m")


# --- the competent office

class Directory:
    """The courts as the assignment needs them: each city's court of first instance, and each
    of those courts' court of appeal."""

    def __init__(self, courts: list[dict]):
        self.first_instance_of_city = {city["code"]: court["code"] for court in courts
                                       for city in court.get("cities") or ()}
        self.appeal_of = {court["code"]: court["appeal_court"] for court in courts
                          if court["kind"] == "first_instance"}
        self.codes = {court["code"] for court in courts}

    def competent_office(self, category: str, city_code: str) -> str | None:
        """The prosecution office for facts of `category` in `city_code`; None for an unknown city."""
        court = self.first_instance_of_city.get(city_code)
        if court is None:
            return None
        if CATEGORIES[category] == "appeal":
            return self.appeal_of[court]
        return court


def directory_errors(courts: list[dict]) -> list[str]:
    """What is wrong with a list of courts as a whole (codes repeated, a court of first instance
    whose court of appeal is missing, a city served twice), in words for the operator."""
    problems, codes, cities = [], set(), {}
    for court in courts:
        if court["code"] in codes:
            problems.append(f"court {court['code']} appears twice")
        codes.add(court["code"])
        for city in court.get("cities") or ():
            if city["code"] in cities:
                problems.append(f"city {city['code']} is served by both {cities[city['code']]} and {court['code']}")
            cities[city["code"]] = court["code"]
    appeal_courts = {court["code"] for court in courts if court["kind"] == "appeal"}
    for court in courts:
        if court["kind"] == "first_instance" and court.get("appeal_court") not in appeal_courts:
            problems.append(f"court {court['code']}: court of appeal {court.get('appeal_court')!r} is not in the list")
    return problems


# --- the steps

def _refuse_unless(allowed: bool, code: str = NOT_ALLOWED) -> None:
    if not allowed:
        raise TransitionRefused(code)


def allowed_actions(complaint) -> list[str]:
    return [name for name, action in ACTIONS.items() if complaint.status in action.sources]


def is_open(complaint) -> bool:
    return complaint.status in OPEN_STATUSES


def act(complaint, action_name: str, data: dict, now: datetime) -> dict:
    """Take a staff action on the complaint (`data` already checked by its schema); returns
    the detail its timeline step records.  TransitionRefused if the status does not allow it."""
    action = ACTIONS[action_name]
    _refuse_unless(complaint.status in action.sources)
    detail = {}
    if action_name == "register":
        complaint.register_number = data["register_number"]
        detail["register_number"] = data["register_number"]
    elif action_name == "request_information":
        complaint.status_before_request = complaint.status
        detail["message"] = data["message"]
    elif action_name == "file_without_action":
        complaint.decision_reason = data["reason"]
        detail["reason"] = data["reason"]
    elif action_name == "forward":
        _refuse_unless(data["to_office_code"] != complaint.office_code, "same_office")
        detail = {"from_office_code": complaint.office_code, "to_office_code": data["to_office_code"]}
        complaint.office_code = data["to_office_code"]
        complaint.register_number = None  # each office registers it in its own register
        complaint.status_before_request = None
    complaint.status = action.target
    if action.target in DECISIONS:
        complaint.decided_at = now
    complaint.updated_at = now
    return detail


def add_documents(complaint, now: datetime) -> dict:
    """The complainant sent more documents: allowed while the file is open; it answers a
    request for information (the file goes back where it was)."""
    _refuse_unless(is_open(complaint))
    detail = {}
    if complaint.status == INFORMATION_REQUESTED:
        complaint.status = complaint.status_before_request or REGISTERED
        complaint.status_before_request = None
        detail["answered_request"] = True
    complaint.updated_at = now
    return detail


# --- who sees what

def in_scope(actor: dict, office_code: str) -> bool:
    """Prosecution staff see the files of their own office, and nothing else."""
    return actor.get("role") in ROLES and bool(actor.get("office_code")) and actor["office_code"] == office_code
