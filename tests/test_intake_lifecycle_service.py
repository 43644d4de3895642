"""A complaint's life through intake's RPCs, in a real container on this run's vhost and a fresh
PostgreSQL database: agents' and citizens' steps, scope and the access log, the events each step
publishes, the deadline timer.  Routing, notify and stats are not running here: events are read
from test queues bound before acting (an event nobody listens to waits in the outbox)."""
import json
from datetime import timedelta

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.common.crypto import decrypt
from services.common.db import utcnow
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.common.events import load_event, make_event
from services.intake.service import IntakeService
from tests.conftest import wait_for
from tests.factories import valid_submission
from tests.helpers import execute, listen, rows, take

CONTACT = "0612345678"
CNSS_AGENT = {"id": "11", "name": "Nadia Bennani", "role": "agent", "administration_code": "CNSS"}
CNSS_SUPERVISOR = {"id": "12", "name": "Karim Alaoui", "role": "supervisor", "administration_code": "CNSS"}
ONEE_AGENT = {"id": "21", "name": "Youssef Tazi", "role": "agent", "administration_code": "ONEE"}
PLATFORM_AGENT = {"id": "31", "name": "Salma Idrissi", "role": "platform_agent", "administration_code": None}
PLATFORM_ADMIN = {"id": "41", "name": "Admin", "role": "platform_admin", "administration_code": None}
DAY = timedelta(days=1)


def attachment(name="piece.pdf"):
    return {"blob_key": f"2026/03/{name}", "filename": name, "content_type": "application/pdf",
            "size": 1234, "sha256": "a" * 64}


def call(container, method, *args, **kwargs):
    with entrypoint_hook(container, method) as hook:
        return hook(*args, **kwargs)


def set_columns(intake, number, assignments):
    """Moves a complaint's dates, as if time had passed."""
    execute(intake.db_url, f"update complaints set {assignments} where tracking_number = :n", n=number)


def deliver(intake, rabbit_config, number, code="CNSS"):
    """As routing's consumer would announce it: the administration received the complaint."""
    event = make_event("complaint.delivered", {"tracking_number": number, "administration_code": code,
                                               "destination": "inbox"})
    with entrypoint_waiter(intake, "on_delivered"):
        event_dispatcher(rabbit_config)("routing", "complaint.delivered", event)


def received_complaint(intake, rabbit_config, code="CNSS", **overrides):
    submission = valid_submission(administration_code=code, attachments=[attachment("filed.pdf")],
                                  **overrides)
    number = call(intake, "submit", submission)["tracking_number"]
    deliver(intake, rabbit_config, number, code)
    return number


def listen_to(amqp_uri, *names):
    return {name: listen(amqp_uri, "intake.events", name).name for name in names}


def next_event(amqp_uri, queues, name):
    return load_event(name, wait_for(lambda: take(amqp_uri, queues[name]), message=name))


@pytest.fixture
def intake(start_service):
    """Intake whose deadline timer does not tick during the test: tests call it themselves."""
    return start_service(IntakeService, DEADLINE_CHECK_SECONDS=3600)


def test_answer_rate_and_reopen(intake, rabbit_config, amqp_uri):
    queues = listen_to(amqp_uri, "complaint.acknowledged", "complaint.answered", "complaint.rated",
                       "complaint.reopened")
    number = received_complaint(intake, rabbit_config)
    view = call(intake, "track", number, CONTACT)
    assert (view["status"], view["days_left"], view["overdue"], view["paused"]) == \
        ("received", 60, False, False)

    row = call(intake, "acknowledge", CNSS_AGENT, number)
    assert (row["tracking_number"], row["status"], row["days_left"]) == (number, "in_progress", 60)
    acknowledged = next_event(amqp_uri, queues, "complaint.acknowledged")
    assert (acknowledged["actor"], acknowledged["status"]) == ("agent", "in_progress")
    assert acknowledged["citizen"] == {"language": "fr", "email": None, "phone": "+212612345678"}

    call(intake, "answer", CNSS_AGENT, number, "Votre pension sera versée le 5.", [attachment("reponse.pdf")])
    answered = next_event(amqp_uri, queues, "complaint.answered")
    assert answered["answer"] == "Votre pension sera versée le 5."
    assert 0 <= answered["days_to_answer"] < 1
    view = call(intake, "track", number, CONTACT)
    assert view["status"] == "answered" and view["days_left"] is None
    assert view["answer"]["text"] == "Votre pension sera versée le 5."
    assert [a["filename"] for a in view["answer"]["attachments"]] == ["reponse.pdf"]
    assert (view["can_rate"], view["can_confirm"], view["can_reopen"]) == (True, True, True)

    view = call(intake, "rate", number, CONTACT, 2, "Trop vague")
    assert view["rating"] == {"score": 2, "comment": "Trop vague"} and not view["can_rate"]
    assert next_event(amqp_uri, queues, "complaint.rated")["score"] == 2
    with pytest.raises(TransitionRefused) as refused:
        call(intake, "rate", number, CONTACT, 3, None)
    assert refused.value.code == "already_rated"

    view = call(intake, "reopen", number, "+212 6 12 34 56 78", "La date n'est pas précisée.")
    assert (view["status"], view["reopen_count"], view["days_left"]) == ("routed", 1, 60)
    assert view["answer"] is None
    reopened = next_event(amqp_uri, queues, "complaint.reopened")
    assert (reopened["administration_code"], reopened["reopen_count"]) == ("CNSS", 1)
    assert reopened["actor"] == "citizen"
    assert reopened["reason"] == "La date n'est pas précisée."
    assert reopened["complaint"]["complainant"]["full_name"] == "Fatima Zahra El Amrani"
    assert {a["filename"] for a in reopened["complaint"]["attachments"]} == {"filed.pdf", "reponse.pdf"}
    assert reopened["deadline_at"] > utcnow() + 59 * DAY
    assert [(m["from"], m["kind"]) for m in view["messages"]] == [("administration", "answer"),
                                                                   ("citizen", "reopening")]
    assert [entry.get("event") for entry in view["timeline"]][-4:] == ["acknowledged", "answered", "rated",
                                                                      "reopened"]
    # delivered again by the consumer: received again, the reopening's deadline kept
    deliver(intake, rabbit_config, number)
    assert call(intake, "track", number, CONTACT)["status"] == "received"


def test_asking_for_information_pauses_the_clock_until_the_citizen_replies(intake, rabbit_config, amqp_uri):
    queues = listen_to(amqp_uri, "complaint.information_requested", "complaint.citizen_replied")
    number = received_complaint(intake, rabbit_config)
    # the complaint was received ten days ago
    execute(intake.db_url, "update complaints set deadline_at = deadline_at - interval '10 days', "
            "clock_started_at = clock_started_at - interval '10 days'")
    call(intake, "request_information", CNSS_AGENT, number, "Merci de joindre votre attestation.")
    assert next_event(amqp_uri, queues, "complaint.information_requested")["message"] == \
        "Merci de joindre votre attestation."
    view = call(intake, "track", number, CONTACT)
    assert (view["status"], view["paused"], view["days_left"]) == ("information_requested", True, 50)
    request = view["messages"][-1]
    assert (request["from"], request["kind"], request["attachments"]) == \
        ("administration", "information_request", [])
    with pytest.raises(TransitionRefused) as refused:
        call(intake, "answer", CNSS_AGENT, number, "Pas encore", [])
    assert refused.value.code == "not_allowed_in_status"

    # the citizen took five days to reply: the deadline moves five days later
    execute(intake.db_url, "update complaints set paused_at = paused_at - interval '5 days', "
            "deadline_at = deadline_at - interval '5 days', "
            "clock_started_at = clock_started_at - interval '5 days'")
    [before] = rows(intake.db_url, "select deadline_at from complaints")
    view = call(intake, "add_message", number, CONTACT, "", [attachment("attestation.pdf")])
    assert (view["status"], view["paused"], view["days_left"]) == ("in_progress", False, 50)
    [after] = rows(intake.db_url, "select deadline_at, paused_seconds from complaints")
    assert after["deadline_at"] - before["deadline_at"] >= 5 * DAY
    assert after["paused_seconds"] >= 5 * 86400
    assert next_event(amqp_uri, queues, "complaint.citizen_replied")["attachments_added"] == 1
    # the administration sees the document at once, and both sides may fetch it
    agent_view = call(intake, "agent_view", CNSS_AGENT, number)
    [sent] = agent_view["messages"][-1]["attachments"]
    assert sent["filename"] == "attestation.pdf"
    citizens_copy = call(intake, "citizen_attachment", number, CONTACT, sent["id"])
    assert citizens_copy["blob_key"] == "2026/03/attestation.pdf"
    assert call(intake, "agent_attachment", CNSS_AGENT, number, sent["id"]) == {
        "blob_key": "2026/03/attestation.pdf", "filename": "attestation.pdf",
        "content_type": "application/pdf", "size": 1234}


def test_closing_and_confirming(intake, rabbit_config, amqp_uri):
    queues = listen_to(amqp_uri, "complaint.closed")
    first = received_complaint(intake, rabbit_config)
    second = received_complaint(intake, rabbit_config)
    with pytest.raises(ValidationFailed) as invalid:
        call(intake, "close", CNSS_AGENT, second, "duplicate")
    assert invalid.value.errors == {"duplicate_of": ["required"]}
    for wrong in (second, "ABCD-EFGH-JKMN0"):  # itself, or a number nobody filed
        with pytest.raises(ValidationFailed):
            call(intake, "close", CNSS_AGENT, second, "duplicate", wrong)
    row = call(intake, "close", CNSS_AGENT, second, "duplicate", first.lower())
    assert row["status"] == "closed"
    closed = next_event(amqp_uri, queues, "complaint.closed")
    assert (closed["reason"], closed["duplicate_of"], closed["actor"]) == ("duplicate", first, "agent")
    with pytest.raises(TransitionRefused) as refused:
        call(intake, "answer", CNSS_AGENT, second, "Réponse", [])
    assert refused.value.code == "not_allowed_in_status"
    with pytest.raises(TransitionRefused) as refused:
        call(intake, "add_message", second, CONTACT, "Encore moi", [])
    assert refused.value.code == "not_allowed_in_status"

    with pytest.raises(TransitionRefused) as refused:
        call(intake, "confirm", first, CONTACT)
    assert refused.value.code == "needs_answer"
    call(intake, "answer", CNSS_AGENT, first, "Versée.", [])
    view = call(intake, "confirm", first, CONTACT)
    assert (view["status"], view["closed_reason"]) == ("closed", "confirmed_by_citizen")
    assert view["timeline"][-1] == {"at": view["timeline"][-1]["at"], "status": "closed", "event": "closed",
                                    "detail": {"reason": "confirmed_by_citizen"}}
    confirmed = next_event(amqp_uri, queues, "complaint.closed")
    assert (confirmed["reason"], confirmed["actor"]) == ("confirmed_by_citizen", "citizen")


def test_a_transfer_hands_the_complaint_to_the_other_administration(intake, rabbit_config, amqp_uri):
    queues = listen_to(amqp_uri, "complaint.transferred")
    number = received_complaint(intake, rabbit_config)
    with pytest.raises(TransitionRefused) as refused:
        call(intake, "transfer", CNSS_AGENT, number, "CNSS", "Erreur")
    assert refused.value.code == "same_administration"
    row = call(intake, "transfer", CNSS_AGENT, number, "ONEE", "Relève de l'ONEE")
    assert (row["status"], row["administration_code"]) == ("routed", "ONEE")
    event = next_event(amqp_uri, queues, "complaint.transferred")
    assert (event["from_administration_code"], event["administration_code"]) == ("CNSS", "ONEE")
    assert event["reason"] == "Relève de l'ONEE"
    assert event["complaint"]["subject"] == "Retard de versement de la pension"
    # from now on it is ONEE's, and CNSS no longer sees it
    with pytest.raises(NotFound):
        call(intake, "agent_view", CNSS_AGENT, number)
    assert call(intake, "agent_view", ONEE_AGENT, number)["status"] == "routed"
    deliver(intake, rabbit_config, number, "ONEE")
    assert call(intake, "track", number, CONTACT)["timeline"][-2]["detail"] == {
        "from_administration_code": "CNSS", "administration_code": "ONEE", "reason": "Relève de l'ONEE"}


def test_an_agent_of_another_administration_finds_nothing(intake, rabbit_config):
    number = received_complaint(intake, rabbit_config)
    [filed] = call(intake, "track", number, CONTACT)["attachments"]
    assert filed["message_id"] is None
    attempts = [("agent_view", (number,)), ("agent_attachment", (number, filed["id"])),
                ("acknowledge", (number,)), ("answer", (number, "Réponse", [])),
                ("close", (number, "resolved")), ("transfer", (number, "ONEE", "x")),
                ("add_note", (number, "x")), ("request_information", (number, "x"))]
    for method, args in attempts:
        for who, tracking in [(ONEE_AGENT, number), (CNSS_AGENT, "ABCD-EFGH-JKMN0")]:
            with pytest.raises(NotFound):  # out of scope looks exactly like nonexistent
                call(intake, method, who, tracking, *args[1:])
    with pytest.raises(NotFound):
        call(intake, "agent_attachment", CNSS_AGENT, number, filed["id"] + 1000)
    with pytest.raises(NotFound):
        call(intake, "citizen_attachment", number, "0699999999", filed["id"])
    assert [row["tracking_number"] for row in call(intake, "inbox", ONEE_AGENT, {})] == []
    assert rows(intake.db_url, "select * from access_log") == []
    assert call(intake, "track", number, CONTACT)["status"] == "received"  # nothing changed


def test_every_view_of_personal_data_is_logged(intake, rabbit_config):
    number = received_complaint(intake, rabbit_config)
    [filed] = call(intake, "track", number, CONTACT)["attachments"]
    view = call(intake, "agent_view", CNSS_AGENT, number)
    assert view["complainant"]["id_number"] == "BK123456"
    assert view["actions"] == ["acknowledge", "request_information", "answer", "close", "transfer",
                               "add_note"]
    call(intake, "agent_attachment", CNSS_AGENT, number, filed["id"])
    call(intake, "agent_view", PLATFORM_ADMIN, number)
    log = call(intake, "access_log", CNSS_SUPERVISOR, number)
    assert [(row["actor_id"], row["actor_role"], row["action"]) for row in log] == [
        ("41", "platform_admin", "view"), ("11", "agent", "attachment"), ("11", "agent", "view")]
    assert log[-1]["actor_name"] == "Nadia Bennani"
    assert len(call(intake, "access_log", PLATFORM_ADMIN, number)) == 3
    for reader in (CNSS_AGENT, PLATFORM_AGENT, {**CNSS_SUPERVISOR, "administration_code": "ONEE"}):
        with pytest.raises(NotFound):
            call(intake, "access_log", reader, number)
    with pytest.raises(ValidationFailed) as invalid:
        call(intake, "agent_view", {**CNSS_AGENT, "administration_code": None}, number)
    assert invalid.value.errors == {"administration_code": ["required"]}


def test_internal_notes_never_reach_the_citizen(intake, rabbit_config, amqp_uri):
    number = received_complaint(intake, rabbit_config)
    call(intake, "add_note", CNSS_AGENT, number, "Dossier sensible, voir le service juridique")
    [note] = call(intake, "agent_view", CNSS_SUPERVISOR, number)["notes"]
    assert (note["author_name"], note["text"]) == ("Nadia Bennani",
                                                   "Dossier sensible, voir le service juridique")
    assert "juridique" not in json.dumps(call(intake, "track", number, CONTACT))
    staged = rows(intake.db_url, "select payload from outbox")
    assert not any("juridique" in decrypt(row["payload"]) for row in staged)


def test_the_inbox_lists_the_soonest_deadline_first_with_filters(intake, rabbit_config):
    late = received_complaint(intake, rabbit_config, subject="Retard de pension de veuve")
    soon = received_complaint(intake, rabbit_config, subject="Carte d'immatriculation perdue")
    overdue = received_complaint(intake, rabbit_config, subject="Remboursement de soins refusé")
    not_received = call(intake, "submit", valid_submission(subject="Allocations familiales"))
    not_received = not_received["tracking_number"]
    set_columns(intake, soon, "deadline_at = now() + interval '30 days'")
    set_columns(intake, overdue, "deadline_at = now() - interval '2 days'")
    received_complaint(intake, rabbit_config, code="ONEE")

    inbox = call(intake, "inbox", CNSS_AGENT, {})
    assert [row["tracking_number"] for row in inbox] == [overdue, soon, late, not_received]
    assert [row["overdue"] for row in inbox] == [True, False, False, False]
    assert inbox[3]["days_left"] is None and inbox[3]["deadline_at"] is None
    assert set(inbox[0]) >= {"tracking_number", "type", "subject", "status", "administration_code",
                             "submitted_at", "deadline_at", "days_left", "overdue", "reopen_count"}

    def tracking(filters, actor=CNSS_AGENT):
        return [row["tracking_number"] for row in call(intake, "inbox", actor, filters)]

    assert tracking({"overdue": True}) == [overdue]
    assert tracking({"overdue": False}) == [soon, late, not_received]
    assert tracking({"subject": "PENSION"}) == [late]
    assert tracking({"status": "submitted"}) == [not_received]
    assert tracking({"type": "suggestion"}) == []
    assert tracking({"subject": "%"}) == []  # a substring, not a pattern
    assert tracking({"administration_code": "ONEE"}) == tracking({})  # agents see their own only
    assert len(tracking({}, PLATFORM_ADMIN)) == 5
    assert tracking({}, PLATFORM_AGENT) == []  # the triage queue by default
    assert len(tracking({"administration_code": None}, PLATFORM_AGENT)) == 5
    with pytest.raises(ValidationFailed) as invalid:
        call(intake, "inbox", CNSS_AGENT, {"status": "lost"})
    assert invalid.value.errors == {"status": ["invalid_choice"]}


def test_citizen_steps_are_validated_and_refused_with_reasons(intake, rabbit_config):
    number = received_complaint(intake, rabbit_config)
    with pytest.raises(TransitionRefused) as refused:
        call(intake, "rate", number, CONTACT, 4, None)
    assert refused.value.code == "needs_answer"
    with pytest.raises(ValidationFailed) as invalid:
        call(intake, "rate", number, CONTACT, 6, None)
    assert invalid.value.errors == {"score": ["invalid_choice"]}
    with pytest.raises(ValidationFailed) as invalid:
        call(intake, "add_message", number, CONTACT, "  ", [])
    assert invalid.value.errors == {"text": ["required"]}
    with pytest.raises(NotFound):
        call(intake, "add_message", number, "other@example.ma", "Bonjour", [])
    call(intake, "answer", CNSS_AGENT, number, "Réglé.", [])
    # the answer was given 31 days ago: too late to reopen, and the page says why
    execute(intake.db_url, "update complaints set answered_at = answered_at - interval '31 days'")
    assert call(intake, "track", number, CONTACT)["reopen_refusal"] == "reopen_window_passed"
    with pytest.raises(TransitionRefused) as refused:
        call(intake, "reopen", number, CONTACT, "Toujours rien")
    assert refused.value.code == "reopen_window_passed"
    execute(intake.db_url, "update complaints set answered_at = now(), reopen_count = 2")
    view = call(intake, "track", number, CONTACT)
    assert (view["can_reopen"], view["reopen_refusal"]) == (False, "ombudsman")


def test_the_deadline_timer_reminds_flags_and_closes_each_once(intake, rabbit_config, amqp_uri):
    queues = listen_to(amqp_uri, "complaint.deadline_approaching", "complaint.deadline_passed",
                       "complaint.closed")
    approaching = received_complaint(intake, rabbit_config)
    passed = received_complaint(intake, rabbit_config)
    left_unanswered = received_complaint(intake, rabbit_config)
    call(intake, "answer", CNSS_AGENT, left_unanswered, "Réglé.", [])
    set_columns(intake, approaching, "deadline_at = now() + interval '10 days'")
    set_columns(intake, passed, "deadline_at = now() - interval '1 day'")
    set_columns(intake, left_unanswered, "answered_at = now() - interval '31 days'")

    for _tick in range(2):
        call(intake, "check_deadlines")
    reminder = next_event(amqp_uri, queues, "complaint.deadline_approaching")
    assert (reminder["tracking_number"], reminder["days_left"]) == (approaching, 10)
    assert reminder["actor"] == "system"
    late = next_event(amqp_uri, queues, "complaint.deadline_passed")
    assert late["tracking_number"] == passed
    closed = next_event(amqp_uri, queues, "complaint.closed")
    assert (closed["tracking_number"], closed["reason"], closed["actor"]) == (
        left_unanswered, "no_reply_from_citizen", "system")
    timer_events = "select id from outbox where routing_key = any(:names)"
    wait_for(lambda: not rows(intake.db_url, timer_events, names=list(queues)),
             message="the timer's events relayed")
    for name in queues:  # each went once
        assert take(amqp_uri, queues[name]) is None

    overdue = call(intake, "inbox", CNSS_AGENT, {"overdue": True})
    assert [row["tracking_number"] for row in overdue] == [passed]
    assert call(intake, "track", passed, CONTACT)["timeline"][-1]["event"] == "deadline_passed"
    view = call(intake, "track", left_unanswered, CONTACT)
    assert (view["status"], view["closed_reason"]) == ("closed", "no_reply_from_citizen")
    assert view["timeline"][-1]["detail"] == {"reason": "no_reply_from_citizen"}


def test_the_timer_ticks_by_itself_and_settings_come_from_the_config(start_service, rabbit_config, amqp_uri):
    intake = start_service(IntakeService, DEADLINE_CHECK_SECONDS=0.2, ANSWER_DEADLINE_DAYS=10)
    queues = listen_to(amqp_uri, "complaint.deadline_approaching")
    number = received_complaint(intake, rabbit_config)  # 10 days left: within the 15-day reminder
    assert call(intake, "track", number, CONTACT)["days_left"] == 10
    assert next_event(amqp_uri, queues, "complaint.deadline_approaching")["tracking_number"] == number
