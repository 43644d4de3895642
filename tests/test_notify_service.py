"""Notify in a real nameko container, on this run's vhost and a fresh PostgreSQL database;
the embedded outbox adapters write to the test's own var directory."""
import json

import eventlet
import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.common import config
from services.common.events import load_event, make_event
from services.notify.domain import Message
from services.notify.providers import OutboxSmsClient, make_client
from tests.conftest import wait_for
from tests.factories import submitted_event_data
from tests.helpers import listen, rows

NUMBER = "ABCD-EFGH-JKMN0"


def sent(channel):
    path = config.outbox_dir() / f"{channel}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def deliver(container, rabbit_config, payload):
    with entrypoint_waiter(container, "on_complaint_submitted"):
        event_dispatcher(rabbit_config)("intake", "complaint.submitted", payload)


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
    assert [(row["channel"], row["recipient"], row["status"], row["provider"]) for row in deliveries] == [
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


def test_a_provider_failure_is_recorded_and_the_other_channel_still_goes(notify, rabbit_config, amqp_uri):
    queue = listen(amqp_uri, "notify.events", "notification.sent")
    (config.outbox_dir() / "sms.jsonl").mkdir()  # the SMS adapter cannot write there
    deliver(notify, rabbit_config, make_event("complaint.submitted", submitted_event_data(
        NUMBER, email="citizen@example.ma")))
    failed, sent_email = rows(notify.db_url, "select * from deliveries order by id")
    assert failed["channel"] == "sms" and failed["status"] == "failed"
    assert "IsADirectoryError" in failed["error"] and failed["provider_id"] is None
    assert sent_email["channel"] == "email" and sent_email["status"] == "sent"
    wait_for(lambda: not rows(notify.db_url, "select id from outbox"), message="outbox relayed")
    assert [event["channel"] for event in published(amqp_uri, queue)] == ["email"]


def test_deliveries_lists_a_complaints_messages_without_addresses(notify, rabbit_config):
    deliver(notify, rabbit_config, make_event("complaint.submitted", submitted_event_data(
        NUMBER, email="citizen@example.ma")))
    with entrypoint_hook(notify, "deliveries") as deliveries:
        records = deliveries(NUMBER)
        assert deliveries("ZZZZ-ZZZZ-ZZZZZ") == []
    assert [(record["channel"], record["status"], record["template"], record["language"])
            for record in records] == [("sms", "sent", "complaint_submitted", "fr"),
                                       ("email", "sent", "complaint_submitted", "fr")]
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
