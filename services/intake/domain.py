"""Intake's rules: tracking numbers, what a valid submission is, and a complaint's life
(states, transitions, the answer deadline).

Plain Python, so tests call it without a broker.  The lifecycle functions work on any object
with the Complaint model's attributes and take `now` and the settings as arguments.
"""
import math
import secrets
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from services.common.errors import TransitionRefused
from services.common.events import TRIAGE, UNKNOWN_ADMINISTRATION  # noqa: F401 (part of intake's rules)
from services.common.phones import normalize_phone
from services.common.tracking import ALPHABET, CodeFormat  # noqa: F401 (ALPHABET: part of intake's rules)

RANDOM_SYMBOLS = 12  # 12 x 5 bits = 60 random bits
# Groups of 4-4-5 are easier to read out and type from an SMS (services.common.tracking).
TRACKING_NUMBERS = CodeFormat(random_symbols=RANDOM_SYMBOLS, groups=(4, 4, 5))

REQUEST_TYPES = ("complaint", "observation", "suggestion")
COMPLAINANT_STATUSES = ("citizen", "moroccan_abroad", "foreign_resident")
ID_TYPES = ("cnie", "passport", "residence_card")
LANGUAGES = ("ar", "fr")

STATUSES = ("submitted", "triage", "routed", "received", "in_progress", "information_requested",
            "answered", "closed")
# The routing stage, which routing's events drive: a status never moves backwards there, so
# events that arrive out of order (delivered before routed) leave the newest status in place,
# and they never touch a complaint that an agent has taken up.
STATUS_RANK = {"submitted": 0, "triage": 1, "routed": 1, "received": 2}


def new_tracking_number() -> str:
    return TRACKING_NUMBERS.new()


def format_tracking_number(compact: str) -> str:
    return TRACKING_NUMBERS.format(compact)


def normalize_tracking_number(typed: str) -> str | None:
    """The canonical form of what a citizen typed, or None if it cannot be a tracking number."""
    return TRACKING_NUMBERS.normalize(typed)


def contact_matches(complainant_email: str | None, complainant_phone: str | None, contact: str) -> bool:
    """Whether `contact` is the e-mail or the phone given at filing."""
    contact = (contact or "").strip()
    if not contact:
        return False
    if "@" in contact:
        return bool(complainant_email) and secrets.compare_digest(
            contact.lower().encode(), complainant_email.lower().encode())
    phone = normalize_phone(contact)
    return bool(phone and complainant_phone) and secrets.compare_digest(phone, complainant_phone)




# --- A complaint's life after routing -------------------------------------------------------

AGENT_CLOSE_REASONS = ("resolved", "not_founded", "outside_competence", "before_courts", "duplicate")
CLOSE_REASONS = AGENT_CLOSE_REASONS + ("confirmed_by_citizen", "no_reply_from_citizen")
ROLES = ("agent", "supervisor", "platform_agent", "platform_admin")
PLATFORM_ROLES = ("platform_agent", "platform_admin")
ACCESS_LOG_READERS = ("supervisor", "platform_admin")

NOT_ALLOWED = "not_allowed_in_status"
CLOCK_STOPPED = ("answered", "closed")
DAY = timedelta(days=1)

# agent action -> the statuses it is allowed from
AGENT_ACTIONS = {
    "acknowledge": {"triage", "routed", "received"},  # from the routing stage: seen before delivery
    "request_information": {"received", "in_progress"},
    "answer": {"received", "in_progress"},
    "close": set(STATUSES) - {"closed"},
    "transfer": set(STATUSES) - set(CLOCK_STOPPED),
    "add_note": set(STATUSES),
}


@dataclass(frozen=True)
class Settings:
    """The lifecycle's settings; each is read under its upper-case name (ANSWER_DEADLINE_DAYS...)."""
    answer_deadline_days: int = 60  # decree 2-17-265
    deadline_reminder_days_left: int = 15
    reopen_window_days: int = 30
    max_reopenings: int = 2
    auto_close_days: int = 30

    @classmethod
    def read(cls, lookup) -> "Settings":
        """`lookup(NAME)` gives the configured value or None (unset keeps the default)."""
        values = {}
        for field in fields(cls):
            raw = lookup(field.name.upper())
            if raw not in (None, ""):
                values[field.name] = int(raw)
        return cls(**values)


def _refuse_unless(allowed: bool, code: str = NOT_ALLOWED) -> None:
    if not allowed:
        raise TransitionRefused(code)


def _check_agent_action(complaint, action: str) -> None:
    _refuse_unless(complaint.status in AGENT_ACTIONS[action])


def allowed_agent_actions(complaint) -> list[str]:
    return [action for action, sources in AGENT_ACTIONS.items() if complaint.status in sources]


# --- the answer deadline

def _start_clock(complaint, now: datetime, settings: Settings) -> None:
    complaint.clock_started_at = now
    complaint.deadline_at = now + settings.answer_deadline_days * DAY
    complaint.paused_at = None
    complaint.paused_seconds = 0
    complaint.reminder_sent_at = None
    complaint.overdue_notified_at = None


def _receive(complaint, now: datetime, settings: Settings) -> None:
    """The first receipt by an administration starts the legal deadline; later ones keep it."""
    if complaint.received_at is None:
        complaint.received_at = now
        _start_clock(complaint, now, settings)


def _end_pause(complaint, now: datetime) -> None:
    """Waiting for the citizen does not count: the deadline moves later by the pause."""
    if complaint.paused_at is not None:
        pause = now - complaint.paused_at
        complaint.paused_seconds += int(pause.total_seconds())
        complaint.deadline_at += pause
        complaint.paused_at = None


def time_left(complaint, now: datetime) -> timedelta | None:
    """None once answered or closed, or before anyone received it; frozen during a pause."""
    if complaint.deadline_at is None or complaint.status in CLOCK_STOPPED:
        return None
    return complaint.deadline_at - (complaint.paused_at or now)


def days_left(complaint, now: datetime) -> int | None:
    left = time_left(complaint, now)
    return None if left is None else math.ceil(left / DAY)  # a day begun counts as left


def is_overdue(complaint, now: datetime) -> bool:
    left = time_left(complaint, now)
    return left is not None and left < timedelta(0)


def current_deadline(complaint, now: datetime) -> datetime | None:
    """The deadline as it stands now: a running pause pushes it later by the day."""
    if complaint.deadline_at is not None and complaint.paused_at is not None:
        return complaint.deadline_at + (now - complaint.paused_at)
    return complaint.deadline_at


def working_days(complaint, now: datetime) -> float:
    """Days the deadline clock ran since it started, pauses excluded."""
    ran = (now - complaint.clock_started_at).total_seconds() - complaint.paused_seconds
    return round(ran / DAY.total_seconds(), 2)


# --- routing's events

def routed(complaint, administration_code: str, triage: bool) -> bool:
    """Routing queued the complaint; whether its status changed."""
    if complaint.status not in STATUS_RANK:
        return False  # an agent has taken it up: a late routing event changes nothing
    complaint.administration_code = administration_code
    return _advance(complaint, "triage" if triage else "routed")


def delivered(complaint, administration_code: str, now: datetime, settings: Settings) -> bool:
    """The administration's consumer handed it over; whether its status changed."""
    if complaint.status not in STATUS_RANK:
        return False
    if complaint.status != "submitted" and administration_code != complaint.administration_code:
        return False  # a late delivery to an administration it was transferred away from
    complaint.administration_code = administration_code
    _receive(complaint, now, settings)
    return _advance(complaint, "received")


def _advance(complaint, status: str) -> bool:
    if STATUS_RANK[status] > STATUS_RANK[complaint.status]:
        complaint.status = status
        return True
    return False


# --- what agents do

def acknowledge(complaint, now: datetime, settings: Settings) -> None:
    _check_agent_action(complaint, "acknowledge")
    _receive(complaint, now, settings)
    complaint.status = "in_progress"


def request_information(complaint, now: datetime) -> None:
    _check_agent_action(complaint, "request_information")
    complaint.status = "information_requested"
    complaint.paused_at = now


def answer(complaint, text: str, now: datetime, settings: Settings) -> float:
    """Returns the working days it took (pauses excluded)."""
    _check_agent_action(complaint, "answer")
    _receive(complaint, now, settings)  # only for complaints received before deadlines were kept
    complaint.status = "answered"
    complaint.answered_at = now
    complaint.answer_text = text
    complaint.rating_score = complaint.rating_comment = None  # one rating per answer
    return working_days(complaint, now)


def close(complaint, reason: str, now: datetime, duplicate_of: str | None = None) -> None:
    if reason not in CLOSE_REASONS:
        raise ValueError(f"unknown close reason {reason!r}")
    _check_agent_action(complaint, "close")
    _end_pause(complaint, now)
    complaint.status = "closed"
    complaint.closed_at = now
    complaint.closed_reason = reason
    complaint.duplicate_of = duplicate_of if reason == "duplicate" else None


def transfer(complaint, to_administration_code: str, now: datetime) -> str:
    """Sends it to another administration at once; returns the one it leaves."""
    _check_agent_action(complaint, "transfer")
    _refuse_unless(to_administration_code != complaint.administration_code, "same_administration")
    _end_pause(complaint, now)  # the new administration starts from what it has
    leaving = complaint.administration_code
    complaint.administration_code = to_administration_code
    complaint.status = "routed"
    return leaving


# --- what the citizen does

def add_message(complaint, now: datetime) -> bool:
    """Whether the message ended a request for information (and so resumed the clock)."""
    _refuse_unless(complaint.status != "closed")
    if complaint.status == "information_requested":
        _end_pause(complaint, now)
        complaint.status = "in_progress"
        return True
    return False


def rating_refusal(complaint) -> str | None:
    if complaint.answered_at is None or complaint.status not in CLOCK_STOPPED:
        return "needs_answer"
    if complaint.rating_score is not None:
        return "already_rated"
    return None


def rate(complaint, score: int, comment: str | None) -> None:
    refusal = rating_refusal(complaint)
    _refuse_unless(refusal is None, refusal)
    complaint.rating_score = score
    complaint.rating_comment = comment


def confirmation_refusal(complaint) -> str | None:
    if complaint.status == "closed":
        return NOT_ALLOWED
    return None if complaint.status == "answered" else "needs_answer"


def confirm(complaint, now: datetime) -> None:
    refusal = confirmation_refusal(complaint)
    _refuse_unless(refusal is None, refusal)
    close(complaint, "confirmed_by_citizen", now)


def reopen_refusal(complaint, now: datetime, settings: Settings) -> str | None:
    if complaint.status not in CLOCK_STOPPED:
        return NOT_ALLOWED
    if complaint.answered_at is None:
        return "needs_answer"
    if complaint.reopen_count >= settings.max_reopenings:
        return "ombudsman"  # the Médiateur (مؤسسة الوسيط) takes it from here
    if now > complaint.answered_at + settings.reopen_window_days * DAY:
        return "reopen_window_passed"
    return None


def reopen(complaint, now: datetime, settings: Settings) -> None:
    """Back to the same administration with a new deadline; the old answer stays in the messages."""
    refusal = reopen_refusal(complaint, now, settings)
    _refuse_unless(refusal is None, refusal)
    complaint.status = "routed"
    complaint.reopen_count += 1
    complaint.answered_at = complaint.answer_text = None
    complaint.rating_score = complaint.rating_comment = None
    complaint.closed_at = complaint.closed_reason = complaint.duplicate_of = None
    _start_clock(complaint, now, settings)


def citizen_options(complaint, now: datetime, settings: Settings) -> dict:
    """What the tracking page offers; `reopen_refusal` explains a reopening it cannot offer."""
    refusal = reopen_refusal(complaint, now, settings)
    return {
        "can_add_message": complaint.status != "closed",
        "can_rate": rating_refusal(complaint) is None,
        "can_confirm": confirmation_refusal(complaint) is None,
        "can_reopen": refusal is None,
        "reopen_refusal": refusal if refusal in ("reopen_window_passed", "ombudsman") else None,
    }


# --- what the clock does

def due_action(complaint, now: datetime, settings: Settings) -> str | None:
    """What the deadline timer must do for this complaint now: "auto_close",
    "deadline_passed", "deadline_approaching" (each once), or None."""
    if complaint.status == "answered":
        if now >= complaint.answered_at + settings.auto_close_days * DAY:
            return "auto_close"
        return None
    left = time_left(complaint, now)
    if left is None:
        return None
    if left < timedelta(0):
        return None if complaint.overdue_notified_at else "deadline_passed"
    if (left <= settings.deadline_reminder_days_left * DAY and complaint.reminder_sent_at is None
            and complaint.paused_at is None):
        return "deadline_approaching"
    return None


def take_due_action(complaint, now: datetime, settings: Settings) -> str | None:
    """Does what `due_action` says and returns it."""
    action = due_action(complaint, now, settings)
    if action == "auto_close":
        close(complaint, "no_reply_from_citizen", now)
    elif action == "deadline_passed":
        complaint.overdue_notified_at = now
    elif action == "deadline_approaching":
        complaint.reminder_sent_at = now
    return action


# --- who sees what

def in_scope(actor: dict, administration_code: str) -> bool:
    """Agents and supervisors act on their own administration's complaints only."""
    if actor["role"] in PLATFORM_ROLES:
        return True
    return bool(actor.get("administration_code")) and actor["administration_code"] == administration_code


def inbox_administration(actor: dict, filters: dict) -> str | None:
    """Whose complaints an inbox lists (None: everybody's, for platform roles only).

    A platform agent's inbox shows the triage queue unless they ask for another one
    (`administration_code: None` asks for all)."""
    if actor["role"] not in PLATFORM_ROLES:
        return actor["administration_code"]
    if "administration_code" in filters:
        return filters["administration_code"]
    return TRIAGE if actor["role"] == "platform_agent" else None
