"""Notify in a real nameko container, on this run's vhost and a fresh PostgreSQL database;
the embedded outbox adapters write to the test's own var directory."""
import json

import eventlet
import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.common import config
from services.common.crypto import decrypt
from services.common.events import load_event, make_event
from services.notify.domain import Message
from services.notify.providers import OutboxSmsClient, make_client
from tests.conftest import wait_for
from tests.factories import complaint_snapshot, lifecycle_event_data, submitted_event_data
from tests.helpers import listen, rows

NUMBER = "ABCD-EFGH-JKMN0"


def sent(channel):
    path = config.outbox_dir() / f"{channel}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def deliver(container, rabbit_config, payload, event_name="complaint.submitted", handler="on_complaint_submitted"):
    with entrypoint_waiter(container, handler):
        event_dispatcher(rabbit_config)("intake", event_name, payload)


def published(amqp_uri, queue):
    """Every message waiting in `queue`, taken off it."""
    messages = []
    with Connection(amqp_uri) as connection:
        bound = queue(connection.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            messages.append(load_event("notification.sent", message.decode()))
    return messages


def test_a_redelivered_event_sends_one_sms_and_one_email(notify, rabbit_config, amqp_uri):
    queue = listen(amqp_uri, "notify.events", "notification.sent")  # before sending: see outbox.py
    payload = make_event("complaint.submitted", submitted_event_data(NUMBER, email="citizen@example.ma"))
    deliver(notify, rabbit_config, payload)
    deliver(notify, rabbit_config, payload)

    [sms], [email] = sent("sms"), sent("email")
    assert sms["to"] == "+212612345678" and NUMBER in sms["body"]
    assert (sms["tracking_number"], sms["template"], sms["language"], sms["event_id"]) == (
        NUMBER, "complaint_submitted", "fr", payload["event_id"])
    assert email["to"] == "citizen@example.ma" and NUMBER in email["subject"]
    assert f"/track?number={NUMBER}" in email["text"] and f"/track?number={NUMBER}" in email["html"]

    deliveries = rows(notify.db_url, "select * from deliveries order by id")
    assert [(row["channel"], decrypt(row["recipient"]), row["status"], row["provider"]) for row in deliveries] == [
        ("sms", "+212612345678", "sent", "outbox"), ("email", "citizen@example.ma", "sent", "outbox")]
    assert [row["provider_id"] for row in deliveries] == [sms["id"], email["id"]]

    wait_for(lambda: not rows(notify.db_url, "select id from outbox"), message="outbox relayed")
    events = published(amqp_uri, queue)
    assert sorted(event["channel"] for event in events) == ["email", "sms"]
    assert {(event["tracking_number"], event["template"], event["language"], event["provider"])
            for event in events} == {(NUMBER, "complaint_submitted", "fr", "outbox")}


def test_a_complaint_with_only_an_email_gets_no_sms(notify, rabbit_config):
    deliver(notify, rabbit_config, make_event("complaint.submitted", submitted_event_data(
        NUMBER, email="citizen@example.ma", phone=None, language="ar")))
    assert sent("sms") == []
    [email] = sent("email")
    assert email["language"] == "ar" and "رقم التتبع" in email["body"]


def test_a_provider_failure_is_retried_later_and_the_other_channel_still_goes(start_service, var_dir,
                                                                              rabbit_config, amqp_uri):
    from services.notify.service import NotifyService
    notify = start_service(NotifyService, NOTIFY_RETRY_BASE_SECONDS=0.5)
    queue = listen(amqp_uri, "notify.events", "notification.sent")
    blocked = config.outbox_dir() / "sms.jsonl"
    blocked.mkdir()  # the SMS adapter cannot write there
    deliver(notify, rabbit_config, make_event("complaint.submitted", submitted_event_data(
        NUMBER, email="citizen@example.ma")))
    waiting, sent_email = rows(notify.db_url, "select * from deliveries order by id")
    assert (waiting["channel"], waiting["status"], waiting["attempts"]) == ("sms", "queued", 1)
    assert "Is a directory" in waiting["error"] and waiting["provider_id"] is None
    assert waiting["next_attempt_at"] is not None
    assert sent_email["channel"] == "email" and sent_email["status"] == "sent"

    blocked.rmdir()  # the disk is back: the next attempt sends it, once
    wait_for(lambda: rows(notify.db_url, "select * from deliveries where status = 'sent' and channel = 'sms'"),
             message="the SMS sent on a later attempt")
    [sms] = sent("sms")
    [retried] = rows(notify.db_url, "select * from deliveries where channel = 'sms'")
    assert retried["attempts"] >= 2 and retried["error"] is None and retried["provider_id"] == sms["id"]
    wait_for(lambda: not rows(notify.db_url, "select id from outbox"), message="outbox relayed")
    assert sorted(event["channel"] for event in published(amqp_uri, queue)) == ["email", "sms"]


def test_a_message_still_refused_after_the_retry_time_is_given_up(start_service, var_dir, rabbit_config):
    from services.notify.service import NotifyService
    notify = start_service(NotifyService, NOTIFY_RETRY_BASE_SECONDS=0.2, NOTIFY_RETRY_FOR_SECONDS=1)
    (config.outbox_dir() / "sms.jsonl").mkdir()
    deliver(notify, rabbit_config, make_event("complaint.submitted", submitted_event_data(NUMBER)))
    failed = wait_for(lambda: rows(notify.db_url, "select * from deliveries where status = 'failed'"),
                      message="the SMS given up")[0]
    assert failed["error"].startswith(f"gave up after {failed['attempts']} attempts") and failed["attempts"] >= 2
    assert failed["next_attempt_at"] is None


def test_deliveries_lists_a_complaints_messages_without_addresses(notify, rabbit_config):
    deliver(notify, rabbit_config, make_event("complaint.submitted", submitted_event_data(
        NUMBER, email="citizen@example.ma")))
    with entrypoint_hook(notify, "deliveries") as deliveries:
        records = deliveries(NUMBER)
        assert deliveries("ZZZZ-ZZZZ-ZZZZZ") == []
    assert [(record["channel"], record["status"], record["template"], record["language"], record["attempts"])
            for record in records] == [("sms", "sent", "complaint_submitted", "fr", 1),
                                       ("email", "sent", "complaint_submitted", "fr", 1)]
    assert not any("citizen@example.ma" in json.dumps(record) or "+212" in json.dumps(record)
                   for record in records)


def test_concurrent_sends_append_whole_lines(var_dir):
    client = OutboxSmsClient()
    messages = [Message(channel="sms", recipient=f"+2126000000{n:02d}", template="complaint_submitted",
                        language="ar", tracking_number=NUMBER, event_id=str(n), body="ش" * 70)
                for n in range(50)]
    pool = eventlet.GreenPool()
    ids = list(pool.imap(client.send, messages))
    lines = sent("sms")
    assert sorted(line["id"] for line in lines) == sorted(ids) and len(set(ids)) == 50
    assert {line["to"] for line in lines} == {message.recipient for message in messages}


def test_an_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match="NOTIFY_SMS_BACKEND='carrier-pigeon'"):
        make_client("sms", "carrier-pigeon")


# -- the steps of a complaint's life ---------------------------------------------------------------

DEADLINE = "2027-01-28T09:00:00+00:00"
# event -> (its handler, its own fields, words only its template has, in French and in Arabic)
LIFECYCLE = {
    "complaint.acknowledged": ("on_acknowledged", {}, ("a pris en charge votre demande", "توصلت الإدارة بطلبكم")),
    "complaint.information_requested": (
        "on_information_requested", {"message": "Joignez votre attestation de salaire."},
        ("Joignez votre attestation de salaire.", "Joignez votre attestation de salaire.")),
    "complaint.answered": (
        "on_answered", {"answer": "Votre pension sera versée le 5.", "received_at": "2026-11-29T09:00:00+00:00",
                        "days_to_answer": 12.5},
        ("a répondu", "أجابت الإدارة")),
    "complaint.closed": (
        "on_closed", {"reason": "duplicate", "duplicate_of": "DDDD-DDDD-DDDD1"},
        ("double emploi avec la demande DDDD-DDDD-DDDD1", "مكرر للطلب DDDD-DDDD-DDDD1")),
    "complaint.transferred": (
        "on_transferred", {"from_administration_code": "CNSS", "reason": "Relève de l'ONEE.",
                           "complaint": complaint_snapshot()},
        ("transmise à l'administration compétente", "أحيل طلبكم")),
    "complaint.reopened": (
        "on_reopened", {"reason": "Rien n'a changé.", "reopen_count": 1, "deadline_at": DEADLINE,
                        "complaint": complaint_snapshot()},
        ("est rouverte", "أعيد فتح طلبكم")),
    "complaint.deadline_passed": (
        "on_deadline_passed", {"deadline_at": DEADLINE}, ("a expiré le 28/01/2027", "انقضى يوم 28/01/2027")),
}


def lifecycle_event(name, language="fr", email="citizen@example.ma", phone="+212612345678", code="ONEE"):
    _handler, fields, _words = LIFECYCLE[name]
    return make_event(name, lifecycle_event_data(NUMBER, administration_code=code, language=language,
                                                 email=email, phone=phone, **fields))


@pytest.mark.parametrize("name", sorted(LIFECYCLE))
@pytest.mark.parametrize("language", ["fr", "ar"])
def test_each_step_is_told_once_with_its_template_in_the_citizens_language(notify, rabbit_config, amqp_uri,
                                                                           name, language):
    handler, _fields, words = LIFECYCLE[name]
    template = name.replace(".", "_")
    queue = listen(amqp_uri, "notify.events", "notification.sent")
    payload = lifecycle_event(name, language)
    deliver(notify, rabbit_config, payload, name, handler)
    deliver(notify, rabbit_config, payload, name, handler)  # redelivered: nothing more is sent

    [sms], [email] = sent("sms"), sent("email")
    expected = words[0] if language == "fr" else words[1]
    assert sms["to"] == "+212612345678" and email["to"] == "citizen@example.ma"
    for message in (sms, email):
        assert (message["template"], message["language"], message["tracking_number"], message["event_id"]) == (
            template, language, NUMBER, payload["event_id"])
        assert expected in message["body"]
    assert NUMBER in email["subject"] and f"/track?number={NUMBER}" in email["html"]
    assert [(row["channel"], row["template"], row["status"]) for row in rows(
        notify.db_url, "select * from deliveries order by id")] == [("sms", template, "sent"),
                                                                     ("email", template, "sent")]
    wait_for(lambda: not rows(notify.db_url, "select id from outbox"), message="outbox relayed")
    events = published(amqp_uri, queue)
    assert sorted(event["channel"] for event in events) == ["email", "sms"]
    assert {(event["tracking_number"], event["template"], event["language"]) for event in events} == {
        (NUMBER, template, language)}


@pytest.mark.parametrize("email, phone, channels", [
    ("citizen@example.ma", None, ["email"]), (None, "+212612345678", ["sms"])])
def test_a_step_goes_only_to_the_channels_the_citizen_gave(notify, rabbit_config, email, phone, channels):
    deliver(notify, rabbit_config, lifecycle_event("complaint.answered", "ar", email=email, phone=phone),
            "complaint.answered", "on_answered")
    assert [channel for channel in ("sms", "email") if sent(channel)] == channels
    assert [row["channel"] for row in rows(notify.db_url, "select channel from deliveries")] == channels


def test_a_transfer_names_the_administration_from_routings_directory(routing, notify, rabbit_config):
    deliver(notify, rabbit_config, lifecycle_event("complaint.transferred", "fr"), "complaint.transferred",
            "on_transferred")
    deliver(notify, rabbit_config, {**lifecycle_event("complaint.transferred", "ar"), "tracking_number": "ZZZZ-ZZZZ-ZZZZ1"},
            "complaint.transferred", "on_transferred")
    french, arabic = sent("sms")
    assert french["body"].endswith("compétente : Office national de l'électricité et de l'eau potable.")
    assert "المكتب الوطني للكهرباء والماء الصالح للشرب" in arabic["body"]


def test_without_routing_a_transfer_is_still_told_in_general_words(notify, rabbit_config):
    deliver(notify, rabbit_config, lifecycle_event("complaint.transferred", "fr"), "complaint.transferred",
            "on_transferred")
    [sms] = sent("sms")
    assert sms["body"].endswith("est transmise à l'administration compétente.")


# -- the administration's messages about its deadlines --------------------------------------------

def set_contacts(routing, code, **contacts):
    with entrypoint_hook(routing, "set_administration_contacts") as set_administration_contacts:
        return set_administration_contacts(code, contacts)


def test_the_administration_is_reminded_before_the_deadline_in_its_language(routing, notify, rabbit_config,
                                                                            monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://chikaya.example")
    set_contacts(routing, "ONEE", contact_email="reclamations@onee.ma", supervisor_email="chef@onee.ma",
                 contact_language="fr")
    payload = make_event("complaint.deadline_approaching", lifecycle_event_data(
        NUMBER, administration_code="ONEE", email="citizen@example.ma", deadline_at=DEADLINE, days_left=15))
    deliver(notify, rabbit_config, payload, "complaint.deadline_approaching", "remind_administration")
    deliver(notify, rabbit_config, payload, "complaint.deadline_approaching", "remind_administration")

    assert sent("sms") == []  # the citizen is not written to before the deadline
    [email] = sent("email")
    assert email["to"] == "reclamations@onee.ma" and email["template"] == "administration_deadline_approaching"
    assert NUMBER in email["subject"] and "28/01/2027" in email["subject"]
    assert "Office national de l'électricité et de l'eau potable" in email["body"] and "dans 15 jours" in email["body"]
    assert f"https://chikaya.example/backoffice/complaints/{NUMBER}" in email["html"]
    assert "citizen@example.ma" not in email["body"] and "+212" not in email["body"]
    [delivery] = rows(notify.db_url, "select * from deliveries")
    assert (delivery["template"], delivery["status"]) == ("administration_deadline_approaching", "sent")


def test_when_the_deadline_passes_the_citizen_and_the_supervisor_are_told(routing, notify, rabbit_config):
    set_contacts(routing, "CNSS", contact_email="bureau@cnss.ma", supervisor_email="superviseur@cnss.ma")
    payload = make_event("complaint.deadline_passed", lifecycle_event_data(
        NUMBER, administration_code="CNSS", language="fr", email="citizen@example.ma", deadline_at=DEADLINE))
    with entrypoint_waiter(notify, "tell_supervisor"), entrypoint_waiter(notify, "on_deadline_passed"):
        event_dispatcher(rabbit_config)("intake", "complaint.deadline_passed", payload)

    by_recipient = {email["to"]: email for email in sent("email")}
    assert set(by_recipient) == {"citizen@example.ma", "superviseur@cnss.ma"}
    supervisor = by_recipient["superviseur@cnss.ma"]
    assert supervisor["language"] == "ar" and supervisor["template"] == "supervisor_deadline_passed"
    assert "الصندوق الوطني للضمان الاجتماعي" in supervisor["body"] and "28/01/2027" in supervisor["body"]
    assert by_recipient["citizen@example.ma"]["template"] == "complaint_deadline_passed"
    assert [sms["to"] for sms in sent("sms")] == ["+212612345678"]


def test_an_administration_without_an_address_gets_nothing_and_loses_nothing_else(routing, notify, rabbit_config):
    payload = make_event("complaint.deadline_approaching", lifecycle_event_data(
        NUMBER, administration_code="CNSS", deadline_at=DEADLINE, days_left=15))
    deliver(notify, rabbit_config, payload, "complaint.deadline_approaching", "remind_administration")
    assert sent("email") == [] and rows(notify.db_url, "select * from deliveries") == []
    assert rows(notify.db_url, "select consumer from processed_events") == [
        {"consumer": "notify.remind_administration"}]


def test_without_routing_the_reminder_waits_for_it(start_service, var_dir, rabbit_config, database_url,
                                                  tmp_path, monkeypatch):
    """The directory cannot say where to write: the event is retried, not dropped."""
    from services.notify.service import NotifyService
    from services.routing import directory
    from services.routing.service import RoutingService
    notify = start_service(NotifyService, EVENT_RETRY_ATTEMPTS=50, EVENT_RETRY_BASE_DELAY=0.1)
    payload = make_event("complaint.deadline_approaching", lifecycle_event_data(
        NUMBER, administration_code="CNSS", deadline_at=DEADLINE, days_left=15))
    event_dispatcher(rabbit_config)("intake", "complaint.deadline_approaching", payload)
    eventlet.sleep(1)
    assert rows(notify.db_url, "select * from processed_events") == []

    routing_url = database_url("routing")  # the directory, with CNSS's address, before routing starts
    monkeypatch.setenv("ROUTING_DATABASE_URL", routing_url)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("code,name_ar,name_fr,kind,contact_email\n"
                        "CNSS,الصندوق الوطني للضمان الاجتماعي,CNSS,public_institution,bureau@cnss.ma\n", "utf-8")
    assert directory.main(["import", str(contacts)]) == 0
    start_service(RoutingService, DATABASE_URL=routing_url)
    wait_for(lambda: sent("email"), timeout=30, message="the reminder once routing answers")
    assert [email["to"] for email in sent("email")] == ["bureau@cnss.ma"]


# -- the provider's word on a message it took ------------------------------------------------------

def test_a_provider_status_marks_the_delivery_delivered_or_failed(notify, rabbit_config):
    deliver(notify, rabbit_config, make_event("complaint.submitted", submitted_event_data(
        NUMBER, email="citizen@example.ma")))
    sms, email = rows(notify.db_url, "select * from deliveries order by id")
    with entrypoint_hook(notify, "provider_status") as provider_status:
        assert provider_status("outbox", sms["provider_id"], "sent") is True
        assert provider_status("outbox", sms["provider_id"], "delivered") is True
        assert provider_status("outbox", email["provider_id"], "undelivered", "30005") is True
        assert provider_status("outbox", "SM-unknown", "delivered") is False
    sms, email = rows(notify.db_url, "select * from deliveries order by id")
    assert sms["status"] == "delivered"
    assert email["status"] == "failed" and email["error"] == "outbox reports undelivered (error 30005)"
