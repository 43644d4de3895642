"""A complaint's life as plain Python: every transition allowed and refused, the deadline clock,
reopening and the ombudsman, the deadline timer's decisions, who sees what."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from services.common.errors import TransitionRefused
from services.intake import domain

DAY = timedelta(days=1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # first receipt
ANSWERED_AT = T0 + 20 * DAY
NOW = ANSWERED_AT + 5 * DAY
SETTINGS = domain.Settings()


@dataclass
class Complaint:
    """The attributes the domain reads and writes, as the model has them."""
    status: str = "submitted"
    administration_code: str = "CNSS"
    received_at: datetime | None = None
    clock_started_at: datetime | None = None
    deadline_at: datetime | None = None
    paused_at: datetime | None = None
    paused_seconds: int = 0
    reminder_sent_at: datetime | None = None
    overdue_notified_at: datetime | None = None
    answered_at: datetime | None = None
    answer_text: str | None = None
    closed_at: datetime | None = None
    closed_reason: str | None = None
    duplicate_of: str | None = None
    reopen_count: int = 0
    rating_score: int | None = None
    rating_comment: str | None = None


def complaint_in(status, **overrides):
    """A complaint that reached `status` the usual way ("closed" here is closed after an answer)."""
    complaint = Complaint(status=status)
    if domain.STATUSES.index(status) >= domain.STATUSES.index("received"):
        complaint.received_at = complaint.clock_started_at = T0
        complaint.deadline_at = T0 + 60 * DAY
    if status == "information_requested":
        complaint.paused_at = T0 + 10 * DAY
    if status in ("answered", "closed"):
        complaint.answered_at, complaint.answer_text = ANSWERED_AT, "Votre pension est versée."
    if status == "closed":
        complaint.closed_at, complaint.closed_reason = ANSWERED_AT + DAY, "resolved"
    for key, value in overrides.items():
        setattr(complaint, key, value)
    return complaint


STEPS = {
    "acknowledge": lambda c: domain.acknowledge(c, NOW, SETTINGS),
    "request_information": lambda c: domain.request_information(c, NOW),
    "answer": lambda c: domain.answer(c, "Réponse", NOW, SETTINGS),
    "close": lambda c: domain.close(c, "resolved", NOW),
    "transfer": lambda c: domain.transfer(c, "ONEE", NOW),
    "add_message": lambda c: domain.add_message(c, NOW),
    "rate": lambda c: domain.rate(c, 4, None),
    "confirm": lambda c: domain.confirm(c, NOW),
    "reopen": lambda c: domain.reopen(c, NOW, SETTINGS),
}

NA = "not_allowed_in_status"
S, T, R, RCV, IP, IR, A, C = domain.STATUSES
# step -> the status each starting status leads to, or the refusal's code
EXPECTED = {
    "acknowledge":         {S: NA, T: IP, R: IP, RCV: IP, IP: NA, IR: NA, A: NA, C: NA},
    "request_information": {S: NA, T: NA, R: NA, RCV: IR, IP: IR, IR: NA, A: NA, C: NA},
    "answer":              {S: NA, T: NA, R: NA, RCV: A, IP: A, IR: NA, A: NA, C: NA},
    "close":               {S: C, T: C, R: C, RCV: C, IP: C, IR: C, A: C, C: NA},
    "transfer":            {S: R, T: R, R: R, RCV: R, IP: R, IR: R, A: NA, C: NA},
    "add_message":         {S: S, T: T, R: R, RCV: RCV, IP: IP, IR: IP, A: A, C: NA},
    "rate":                {S: "needs_answer", T: "needs_answer", R: "needs_answer",
                            RCV: "needs_answer", IP: "needs_answer", IR: "needs_answer", A: A, C: C},
    "confirm":             {S: "needs_answer", T: "needs_answer", R: "needs_answer",
                            RCV: "needs_answer", IP: "needs_answer", IR: "needs_answer", A: C, C: NA},
    "reopen":              {S: NA, T: NA, R: NA, RCV: NA, IP: NA, IR: NA, A: R, C: R},
}


@pytest.mark.parametrize("step,start", [(step, start) for step in STEPS for start in domain.STATUSES])
def test_every_transition_is_allowed_or_refused_with_a_reason(step, start):
    complaint = complaint_in(start)
    expected = EXPECTED[step][start]
    if expected in domain.STATUSES:
        STEPS[step](complaint)
        assert complaint.status == expected
    else:
        before = vars(complaint).copy()
        with pytest.raises(TransitionRefused) as refused:
            STEPS[step](complaint)
        assert refused.value.code == expected
        assert vars(complaint) == before  # a refused step changes nothing


def test_the_agent_actions_offered_are_those_allowed():
    for status in domain.STATUSES:
        offered = domain.allowed_agent_actions(complaint_in(status))
        for step in ("acknowledge", "request_information", "answer", "close", "transfer"):
            assert (step in offered) == (EXPECTED[step][status] in domain.STATUSES), (step, status)
        assert "add_note" in offered


def test_a_closed_complaint_cannot_be_answered():
    with pytest.raises(TransitionRefused) as refused:
        domain.answer(complaint_in("closed"), "trop tard", NOW, SETTINGS)
    assert refused.value.code == NA


def test_a_complaint_closed_without_an_answer_cannot_be_rated_or_reopened():
    complaint = complaint_in("in_progress")
    domain.close(complaint, "before_courts", NOW)
    for step, code in [("rate", "needs_answer"), ("reopen", "needs_answer"), ("confirm", NA)]:
        with pytest.raises(TransitionRefused) as refused:
            STEPS[step](complaint)
        assert refused.value.code == code


def test_one_rating_per_answer():
    complaint = complaint_in("answered")
    domain.rate(complaint, 2, "Réponse vague")
    assert (complaint.rating_score, complaint.rating_comment) == (2, "Réponse vague")
    with pytest.raises(TransitionRefused) as refused:
        domain.rate(complaint, 5, None)
    assert refused.value.code == "already_rated"
    # reopened and answered again: the new answer may be rated
    domain.reopen(complaint, NOW, SETTINGS)
    assert complaint.rating_score is None
    domain.delivered(complaint, "CNSS", NOW + DAY, SETTINGS)
    domain.answer(complaint, "Mieux", NOW + 2 * DAY, SETTINGS)
    domain.rate(complaint, 5, None)
    assert complaint.rating_score == 5


def test_confirming_closes_with_its_own_reason():
    complaint = complaint_in("answered")
    domain.confirm(complaint, NOW)
    assert (complaint.status, complaint.closed_reason) == ("closed", "confirmed_by_citizen")
    assert complaint.closed_at == NOW


def test_close_reasons_and_duplicates():
    complaint = complaint_in("received")
    domain.close(complaint, "duplicate", NOW, duplicate_of="ABCD-EFGH-JKMN0")
    assert (complaint.closed_reason, complaint.duplicate_of) == ("duplicate", "ABCD-EFGH-JKMN0")
    other = complaint_in("received")
    domain.close(other, "resolved", NOW, duplicate_of="ABCD-EFGH-JKMN0")
    assert other.duplicate_of is None
    with pytest.raises(ValueError):
        domain.close(complaint_in("received"), "bored", NOW)


def test_a_transfer_goes_to_another_administration_at_once():
    complaint = complaint_in("in_progress")
    assert domain.transfer(complaint, "ONEE", NOW) == "CNSS"
    assert (complaint.status, complaint.administration_code) == ("routed", "ONEE")
    assert complaint.deadline_at == T0 + 60 * DAY  # the citizen does not lose time to a misrouting
    with pytest.raises(TransitionRefused) as refused:
        domain.transfer(complaint, "ONEE", NOW)
    assert refused.value.code == "same_administration"


# --- the deadline clock

def test_the_first_receipt_starts_a_sixty_day_deadline():
    complaint = complaint_in("routed")
    assert domain.days_left(complaint, T0) is None  # nobody received it yet
    assert domain.delivered(complaint, "CNSS", T0, SETTINGS)
    assert (complaint.status, complaint.received_at, complaint.deadline_at) == ("received", T0, T0 + 60 * DAY)
    assert domain.days_left(complaint, T0) == 60
    assert domain.days_left(complaint, T0 + 45 * DAY) == 15
    assert domain.days_left(complaint, T0 + 45 * DAY + timedelta(hours=1)) == 15  # a day begun is left
    assert not domain.is_overdue(complaint, T0 + 60 * DAY)
    assert domain.is_overdue(complaint, T0 + 60 * DAY + timedelta(seconds=1))


def test_the_deadline_is_a_setting():
    complaint = complaint_in("routed")
    domain.delivered(complaint, "CNSS", T0, domain.Settings(answer_deadline_days=30))
    assert complaint.deadline_at == T0 + 30 * DAY


def test_acknowledging_before_delivery_starts_the_clock_and_delivery_keeps_it():
    complaint = complaint_in("triage")
    domain.acknowledge(complaint, T0, SETTINGS)
    assert complaint.received_at == T0
    assert not domain.delivered(complaint, "CNSS", T0 + DAY, SETTINGS)  # never pulls it back
    assert (complaint.status, complaint.received_at) == ("in_progress", T0)


def test_waiting_for_the_citizen_pauses_the_clock():
    complaint = complaint_in("in_progress")
    domain.request_information(complaint, T0 + 10 * DAY)
    assert domain.days_left(complaint, T0 + 10 * DAY) == 50
    assert domain.days_left(complaint, T0 + 100 * DAY) == 50  # frozen: never overdue while waiting
    assert not domain.is_overdue(complaint, T0 + 100 * DAY)
    assert domain.current_deadline(complaint, T0 + 15 * DAY) == T0 + 65 * DAY
    assert domain.add_message(complaint, T0 + 20 * DAY)  # the reply ends the pause
    assert complaint.status == "in_progress" and complaint.paused_at is None
    assert complaint.deadline_at == T0 + 70 * DAY
    assert complaint.paused_seconds == 10 * 86400
    assert domain.days_left(complaint, T0 + 20 * DAY) == 50
    # the working clock excludes the pause
    assert domain.answer(complaint, "Réglé", T0 + 30 * DAY, SETTINGS) == 20.0


def test_a_message_outside_a_pause_changes_no_clock():
    complaint = complaint_in("in_progress")
    assert not domain.add_message(complaint, NOW)
    assert complaint.deadline_at == T0 + 60 * DAY


def test_answered_or_closed_complaints_have_no_days_left():
    for status in ("answered", "closed"):
        complaint = complaint_in(status)
        assert domain.days_left(complaint, T0 + 90 * DAY) is None
        assert not domain.is_overdue(complaint, T0 + 90 * DAY)


def test_closing_during_a_pause_ends_it():
    complaint = complaint_in("information_requested")
    domain.close(complaint, "not_founded", T0 + 12 * DAY)
    assert complaint.paused_at is None and complaint.deadline_at == T0 + 62 * DAY


# --- reopening

def test_reopening_returns_to_the_same_administration_with_a_new_deadline():
    complaint = complaint_in("closed", reminder_sent_at=T0 + 45 * DAY, rating_score=2)
    domain.reopen(complaint, NOW, SETTINGS)
    assert (complaint.status, complaint.administration_code, complaint.reopen_count) == ("routed", "CNSS", 1)
    assert complaint.deadline_at == NOW + 60 * DAY and complaint.clock_started_at == NOW
    assert complaint.received_at == T0  # the first receipt stays on record
    assert complaint.answered_at is None and complaint.closed_reason is None
    assert complaint.reminder_sent_at is None and complaint.rating_score is None
    assert domain.days_left(complaint, NOW) == 60


@pytest.mark.parametrize("days_after_answer,refusal",
                         [(0, None), (30, None), (30.01, "reopen_window_passed")])
def test_the_reopen_window(days_after_answer, refusal):
    complaint = complaint_in("answered")
    assert domain.reopen_refusal(complaint, ANSWERED_AT + days_after_answer * DAY, SETTINGS) == refusal


def test_after_the_last_reopening_the_citizen_is_sent_to_the_ombudsman():
    complaint = complaint_in("answered")
    for round_ in range(SETTINGS.max_reopenings):
        domain.reopen(complaint, NOW, SETTINGS)
        domain.delivered(complaint, "CNSS", NOW, SETTINGS)
        domain.answer(complaint, f"Réponse {round_}", NOW, SETTINGS)
    assert complaint.reopen_count == 2
    with pytest.raises(TransitionRefused) as refused:
        domain.reopen(complaint, NOW, SETTINGS)
    assert refused.value.code == "ombudsman"
    # the ombudsman route stands even once the window passed too
    assert domain.reopen_refusal(complaint, NOW + 90 * DAY, SETTINGS) == "ombudsman"
    assert domain.reopen_refusal(complaint, NOW, domain.Settings(max_reopenings=3)) is None


def test_what_the_tracking_page_offers():
    answered = domain.citizen_options(complaint_in("answered"), NOW, SETTINGS)
    assert answered == {"can_add_message": True, "can_rate": True, "can_confirm": True,
                        "can_reopen": True, "reopen_refusal": None}
    late = domain.citizen_options(complaint_in("closed"), ANSWERED_AT + 31 * DAY, SETTINGS)
    assert late == {"can_add_message": False, "can_rate": True, "can_confirm": False,
                    "can_reopen": False, "reopen_refusal": "reopen_window_passed"}
    waiting = domain.citizen_options(complaint_in("in_progress"), NOW, SETTINGS)
    assert waiting["reopen_refusal"] is None and not waiting["can_rate"]
    exhausted = domain.citizen_options(complaint_in("answered", reopen_count=2), NOW, SETTINGS)
    assert exhausted["reopen_refusal"] == "ombudsman"


# --- the timer's decisions

@pytest.mark.parametrize("day,action", [(44, None), (45, "deadline_approaching"),
                                        (59, "deadline_approaching"), (61, "deadline_passed")])
def test_what_the_deadline_timer_does_and_when(day, action):
    assert domain.due_action(complaint_in("received"), T0 + day * DAY, SETTINGS) == action


def test_each_deadline_message_goes_once():
    complaint = complaint_in("in_progress")
    assert domain.take_due_action(complaint, T0 + 46 * DAY, SETTINGS) == "deadline_approaching"
    assert complaint.reminder_sent_at == T0 + 46 * DAY
    assert domain.take_due_action(complaint, T0 + 47 * DAY, SETTINGS) is None
    assert domain.take_due_action(complaint, T0 + 61 * DAY, SETTINGS) == "deadline_passed"
    assert complaint.overdue_notified_at == T0 + 61 * DAY
    assert domain.take_due_action(complaint, T0 + 62 * DAY, SETTINGS) is None
    assert complaint.status == "in_progress"


def test_a_paused_complaint_gets_no_reminder_but_an_old_overdue_stays_overdue():
    paused = complaint_in("information_requested", paused_at=T0 + 40 * DAY)
    assert domain.due_action(paused, T0 + 55 * DAY, SETTINGS) is None
    paused_late = complaint_in("information_requested", paused_at=T0 + 61 * DAY)
    assert domain.due_action(paused_late, T0 + 70 * DAY, SETTINGS) == "deadline_passed"


def test_a_reopened_complaint_gets_its_own_reminders():
    complaint = complaint_in("closed", reminder_sent_at=T0 + 45 * DAY, overdue_notified_at=T0 + 61 * DAY)
    domain.reopen(complaint, NOW, SETTINGS)
    assert domain.due_action(complaint, NOW + 46 * DAY, SETTINGS) == "deadline_approaching"


def test_an_answer_left_without_reply_closes_by_itself():
    complaint = complaint_in("answered")
    assert domain.take_due_action(complaint, ANSWERED_AT + 29 * DAY, SETTINGS) is None
    assert domain.take_due_action(complaint, ANSWERED_AT + 30 * DAY, SETTINGS) == "auto_close"
    assert (complaint.status, complaint.closed_reason) == ("closed", "no_reply_from_citizen")
    assert domain.due_action(complaint, ANSWERED_AT + 90 * DAY, SETTINGS) is None
    assert domain.due_action(complaint_in("answered"), ANSWERED_AT + 10 * DAY,
                             domain.Settings(auto_close_days=7)) == "auto_close"


# --- routing's events

def test_delivery_moves_the_routing_stage_to_received_only():
    for status in ("submitted", "triage", "routed"):
        complaint = complaint_in(status)
        assert domain.delivered(complaint, "CNSS", T0, SETTINGS)
        assert complaint.status == "received"
    for status in ("in_progress", "information_requested", "answered", "closed"):
        complaint = complaint_in(status)
        assert not domain.delivered(complaint, "CNSS", NOW, SETTINGS)
        assert not domain.routed(complaint, "CNSS", triage=False)
        assert complaint.status == status


def test_routing_events_in_any_order_end_received():
    complaint = complaint_in("submitted", administration_code="UNKNOWN")
    domain.delivered(complaint, "TRIAGE", T0, SETTINGS)
    domain.routed(complaint, "TRIAGE", triage=True)
    assert (complaint.status, complaint.administration_code) == ("received", "TRIAGE")


def test_a_late_delivery_to_the_administration_it_left_changes_nothing():
    complaint = complaint_in("routed")
    domain.transfer(complaint, "ONEE", T0)
    assert not domain.delivered(complaint, "CNSS", T0 + DAY, SETTINGS)
    assert (complaint.status, complaint.received_at) == ("routed", None)
    assert domain.delivered(complaint, "ONEE", T0 + 2 * DAY, SETTINGS)
    assert complaint.received_at == T0 + 2 * DAY


# --- settings and scope

def test_settings_read_their_upper_case_names_and_keep_defaults():
    given = {"ANSWER_DEADLINE_DAYS": "45", "MAX_REOPENINGS": 3, "AUTO_CLOSE_DAYS": ""}
    settings = domain.Settings.read(given.get)
    assert settings == domain.Settings(answer_deadline_days=45, max_reopenings=3)
    assert settings.deadline_reminder_days_left == 15 and settings.auto_close_days == 30


def test_agents_see_their_administration_only():
    agent = {"role": "agent", "administration_code": "CNSS"}
    assert domain.in_scope(agent, "CNSS") and not domain.in_scope(agent, "ONEE")
    assert domain.in_scope({"role": "supervisor", "administration_code": "ONEE"}, "ONEE")
    assert not domain.in_scope({"role": "agent", "administration_code": None}, "CNSS")
    for role in domain.PLATFORM_ROLES:
        assert domain.in_scope({"role": role, "administration_code": None}, "CNSS")


def test_whose_complaints_an_inbox_lists():
    agent = {"role": "agent", "administration_code": "CNSS"}
    assert domain.inbox_administration(agent, {"administration_code": "ONEE"}) == "CNSS"
    platform_agent = {"role": "platform_agent", "administration_code": None}
    assert domain.inbox_administration(platform_agent, {}) == "TRIAGE"
    assert domain.inbox_administration(platform_agent, {"administration_code": "ONEE"}) == "ONEE"
    assert domain.inbox_administration(platform_agent, {"administration_code": None}) is None
    assert domain.inbox_administration({"role": "platform_admin", "administration_code": None}, {}) is None
