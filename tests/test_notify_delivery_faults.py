"""Never lost, never twice: notify in a real container against the local SMTP server and the
local Twilio API (tests/protocol_peers.py) while they fail the ways real providers fail."""
import eventlet
from nameko.standalone.events import event_dispatcher
from prometheus_client import REGISTRY
from nameko.testing.services import entrypoint_waiter

from services.common.events import make_event
from services.notify.service import NotifyService
from tests.conftest import wait_for
from tests.factories import submitted_event_data
from tests.helpers import rows

QUICK_RETRIES = {"NOTIFY_RETRY_BASE_SECONDS": 0.3, "NOTIFY_RETRY_MAX_SECONDS": 1}


def file_complaints(notify, rabbit_config, count, **contacts):
    """`count` complaint.submitted events, each handled once; their tracking numbers."""
    numbers = [f"ABCD-EFGH-{n:05d}" for n in range(count)]
    dispatch = event_dispatcher(rabbit_config)
    for number in numbers:
        with entrypoint_waiter(notify, "on_complaint_submitted"):
            dispatch("intake", "complaint.submitted", make_event(
                "complaint.submitted", submitted_event_data(number, **contacts)))
    return numbers


def counted(outcome, channel="sms", provider="twilio"):
    """notify's chikaya_notifications_total for one outcome (the registry is the process's)."""
    return REGISTRY.get_sample_value("chikaya_notifications_total",
                                     {"channel": channel, "provider": provider, "outcome": outcome}) or 0


def deliveries(notify, channel):
    return rows(notify.db_url, f"select * from deliveries where channel = '{channel}' order by id")


def test_the_smtp_server_down_for_a_while_then_back_every_email_arrives_once(
        start_service, var_dir, rabbit_config, smtp_peer):
    notify = start_service(NotifyService, **smtp_peer.settings, **QUICK_RETRIES)
    smtp_peer.stop()
    numbers = file_complaints(notify, rabbit_config, 5, email="citizen@example.ma", phone=None)
    assert {row["status"] for row in deliveries(notify, "email")} == {"queued"}
    eventlet.sleep(1.5)  # a few attempts while it is still down
    assert all(row["attempts"] >= 2 for row in deliveries(notify, "email"))

    smtp_peer.start()
    wait_for(lambda: {row["status"] for row in deliveries(notify, "email")} == {"sent"}, timeout=30,
             message="every e-mail sent once the server is back")
    eventlet.sleep(1)  # time for a second copy, were one to be sent
    subjects = [email.message["Subject"] for email in smtp_peer.received]
    assert len(subjects) == 5 and all(any(number in subject for subject in subjects) for number in numbers)


def test_twilio_answering_500_three_times_then_201_sends_one_sms(start_service, var_dir, rabbit_config,
                                                                 twilio_peer):
    notify = start_service(NotifyService, **twilio_peer.settings, **QUICK_RETRIES)
    before = {outcome: counted(outcome) for outcome in ("sent", "retried", "failed")}
    provider_calls = REGISTRY.get_sample_value("chikaya_notify_provider_seconds_count",
                                               {"channel": "sms", "provider": "twilio"}) or 0
    twilio_peer.fail_next(500, times=3)
    [number] = file_complaints(notify, rabbit_config, 1)
    [delivery] = wait_for(lambda: [row for row in deliveries(notify, "sms") if row["status"] == "sent"],
                          timeout=30, message="the SMS sent after three refusals")
    eventlet.sleep(1)
    assert len(twilio_peer.received) == 4 and len(twilio_peer.messages) == 1
    assert delivery["attempts"] == 4 and delivery["provider_id"] == twilio_peer.messages[0]["sid"]
    assert number in twilio_peer.messages[0]["Body"] and twilio_peer.messages[0]["To"] == "+212612345678"
    assert {outcome: counted(outcome) - before[outcome] for outcome in before} == {"sent": 1, "retried": 3, "failed": 0}
    assert REGISTRY.get_sample_value("chikaya_notify_provider_seconds_count",
                                     {"channel": "sms", "provider": "twilio"}) - provider_calls == 4


def test_a_permanent_refusal_is_recorded_and_not_retried(start_service, var_dir, rabbit_config, twilio_peer,
                                                         smtp_peer):
    notify = start_service(NotifyService, **twilio_peer.settings, **smtp_peer.settings, **QUICK_RETRIES)
    twilio_peer.fail_next(400, code=21211, message="The 'To' number +212612345678 is not a valid phone number.")
    smtp_peer.refuse_next("RCPT", "550 5.1.1 No such mailbox")
    file_complaints(notify, rabbit_config, 1, email="nobody@example.ma")
    eventlet.sleep(1.5)  # several retry periods
    [sms], [email] = deliveries(notify, "sms"), deliveries(notify, "email")
    assert (sms["status"], sms["attempts"]) == ("failed", 1) and "21211" in sms["error"]
    assert (email["status"], email["attempts"]) == ("failed", 1) and "550" in email["error"]
    assert len(twilio_peer.received) == 1 and smtp_peer.received == []


def dying_notify(start_service, twilio_peer, smtp_peer, rabbit_config, holding_peer):
    """notify killed while `holding_peer` has taken a message and not answered yet."""
    notify = start_service(NotifyService, **twilio_peer.settings, **smtp_peer.settings, **QUICK_RETRIES,
                           NOTIFY_ATTEMPT_LEASE_SECONDS=1)
    holding_peer.answer_delay = 5
    event_dispatcher(rabbit_config)("intake", "complaint.submitted", make_event(
        "complaint.submitted", submitted_event_data("ABCD-EFGH-00000", email="citizen@example.ma")))
    wait_for(lambda: holding_peer.holding, message="the provider holding its answer")
    notify.kill()
    holding_peer.answer_delay = 0
    return notify


def test_notify_dying_while_twilio_takes_an_sms_records_it_without_sending_it_again(
        start_service, container_factory, var_dir, rabbit_config, twilio_peer, smtp_peer):
    """Once the attempt's lease runs out, Twilio is asked, and the SMS it has is recorded as
    sent; the e-mail, never tried, is sent."""
    notify = dying_notify(start_service, twilio_peer, smtp_peer, rabbit_config, twilio_peer)
    assert [(row["status"], row["attempts"]) for row in deliveries(notify, "sms")] == [("queued", 1)]
    container_factory(NotifyService, notify.config).start()
    wait_for(lambda: {row["status"] for row in deliveries(notify, "sms") + deliveries(notify, "email")} == {"sent"},
             timeout=30, message="both messages settled")
    [sms] = deliveries(notify, "sms")
    assert len(twilio_peer.messages) == 1 and sms["provider_id"] == twilio_peer.messages[0]["sid"]
    assert sms["attempts"] == 2 and len(smtp_peer.received) == 1


def test_notify_dying_while_the_relay_takes_an_email_sends_it_again_with_its_message_id(
        start_service, container_factory, var_dir, rabbit_config, twilio_peer, smtp_peer):
    """A relay cannot be asked what it took: the e-mail goes again, as the same message."""
    notify = dying_notify(start_service, twilio_peer, smtp_peer, rabbit_config, smtp_peer)
    container_factory(NotifyService, notify.config).start()
    wait_for(lambda: [row["status"] for row in deliveries(notify, "email")] == ["sent"], timeout=30,
             message="the e-mail sent again")
    [email] = deliveries(notify, "email")
    first, again = smtp_peer.received
    assert first.message["Message-ID"] == again.message["Message-ID"] == email["provider_id"]
    assert len(twilio_peer.messages) == 1 and email["attempts"] == 2
