"""Intake in a real nameko container, on this run's vhost and a fresh PostgreSQL database."""
import eventlet
import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy.orm import sessionmaker

from services.common.crypto import decrypt
from services.common.db import make_engine
from services.common.errors import NotFound, ValidationFailed
from services.common.events import load_event, make_event
from services.common.outbox import OutboxRelay
from services.intake.models import Outbox
from tests.conftest import free_port, wait_for
from tests.helpers import listen, rows, take
from tests.factories import valid_submission


def test_submit_commits_the_complaint_and_publishes_it(intake, amqp_uri):
    queue = listen(amqp_uri, "intake.events", "complaint.submitted")
    with entrypoint_hook(intake, "submit") as submit:
        receipt = submit(valid_submission())
    assert receipt["status"] == "submitted"
    [complaint] = rows(intake.db_url, "select * from complaints")
    assert complaint["tracking_number"] == receipt["tracking_number"]
    assert decrypt(complaint["complainant_phone"]) == "+212612345678"  # stored encrypted
    # the outbox empties once the broker confirmed the event
    wait_for(lambda: not rows(intake.db_url, "select id from outbox"), message="outbox relayed")
    message = take(amqp_uri, queue.name, raw=True)
    event = load_event("complaint.submitted", message.decode())
    assert event["tracking_number"] == receipt["tracking_number"]
    assert message.properties["delivery_mode"] == 2


def test_filings_at_once_publish_each_event_once(intake, amqp_uri, rabbit_config):
    """Writers that find the outbox relay busy leave their rows to it: none lost, none sent twice."""
    queue = listen(amqp_uri, "intake.events", "complaint.submitted")

    def file_one(_):
        # an RPC proxy each (entrypoint_hook would hand every caller the first worker's answer)
        with ServiceRpcProxy("intake", rabbit_config) as service:
            return service.submit(valid_submission())["tracking_number"]

    numbers = list(eventlet.GreenPool(12).imap(file_one, range(12)))
    wait_for(lambda: not rows(intake.db_url, "select id from outbox"), message="outbox relayed")
    published = []
    while (message := take(amqp_uri, queue.name)) is not None:
        published.append(load_event("complaint.submitted", message)["tracking_number"])
    assert len(set(numbers)) == 12
    assert sorted(published) == sorted(numbers)


def test_an_event_nobody_listens_to_yet_waits_in_the_outbox(intake):
    with entrypoint_hook(intake, "submit") as submit:
        submit(valid_submission())
    wait_for(lambda: rows(intake.db_url, "select attempts from outbox where attempts > 0"),
             message="a refused publish attempt")
    assert len(rows(intake.db_url, "select id from outbox")) == 1


def test_the_relay_after_a_commit_never_fails_the_call_that_committed(amqp_uri):
    """The database gone just after a complaint was committed (PostgreSQL restarting): the
    relay on the way out relays nothing rather than answering the citizen with an error for a
    complaint that is filed; the service's timer relays the outbox once the database is back."""
    nowhere = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/intake")  # nothing listens there
    assert OutboxRelay(sessionmaker(bind=nowhere), Outbox, amqp_uri, "intake").relay_pending() == 0


def test_invalid_submission_is_refused_and_leaves_nothing(intake):
    bad = valid_submission()
    bad["complainant"].pop("phone")
    bad["complainant"].pop("email")
    bad["subject"] = ""
    with entrypoint_hook(intake, "submit") as submit:
        with pytest.raises(ValidationFailed) as error:
            submit(bad)
    assert error.value.errors["complainant.contact"] == ["contact_required"]
    assert error.value.errors["subject"] == ["required"]
    assert rows(intake.db_url, "select id from complaints") == []
    assert rows(intake.db_url, "select id from outbox") == []


def test_same_client_reference_files_once(intake):
    submission = valid_submission(client_reference="form-1234-abcd")
    with entrypoint_hook(intake, "submit") as submit:
        first = submit(submission)
        second = submit(submission)
    assert first["tracking_number"] == second["tracking_number"]
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert len(rows(intake.db_url, "select id from complaints")) == 1


def test_track_needs_the_right_contact(intake):
    with entrypoint_hook(intake, "submit") as submit:
        receipt = submit(valid_submission(email="Citizen@Example.ma"))
    number = receipt["tracking_number"]
    with entrypoint_hook(intake, "track") as track:
        view = track(number.lower().replace("-", ""), "citizen@example.ma")
        assert view["status"] == "submitted"
        assert [entry["status"] for entry in view["timeline"]] == ["submitted"]
        assert track(number, "06 12 34 56 78")["tracking_number"] == number
        for wrong_number, contact in [(number, "other@example.ma"), (number, "0699999999"),
                                      ("AAAA-AAAA-AAAAA", "citizen@example.ma"), (number, "")]:
            with pytest.raises(NotFound):
                track(wrong_number, contact)


def test_routed_and_delivered_events_move_the_status_once(intake, rabbit_config):
    with entrypoint_hook(intake, "submit") as submit:
        number = submit(valid_submission())["tracking_number"]
    dispatch = event_dispatcher(rabbit_config)
    routed = make_event("complaint.routed", {"tracking_number": number, "administration_code": "CNSS",
                                             "triage": False, "type": "complaint", "region": "CS"})
    delivered = make_event("complaint.delivered", {"tracking_number": number,
                                                   "administration_code": "CNSS", "destination": "inbox"})
    # delivered first and twice: the status must still end at "received" with one entry each,
    # and the timeline shows them in the order they happened
    for payload, method, source, name in [(delivered, "on_delivered", "routing", "complaint.delivered"),
                                          (delivered, "on_delivered", "routing", "complaint.delivered"),
                                          (routed, "on_routed", "routing", "complaint.routed")]:
        with entrypoint_waiter(intake, method):
            dispatch(source, name, payload)
    with entrypoint_hook(intake, "track") as track:
        view = track(number, "0612345678")
    assert view["status"] == "received"
    assert [entry.get("status") for entry in view["timeline"]] == ["submitted", "routed", "received"]
