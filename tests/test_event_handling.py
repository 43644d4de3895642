"""How every service consumes events (services/common/handlers.py): a failing handler is
retried, then parked with its error where an operator can see it, never dropped."""
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook

from services.common.events import make_event
from services.common.handlers import dead_letter_queue_name
from services.intake.service import IntakeService
from tests.conftest import wait_for
from tests.factories import valid_submission
from tests.helpers import rows, take


def test_an_event_that_breaks_its_contract_is_parked_at_once(intake, amqp_uri, rabbit_config):
    event_dispatcher(rabbit_config)("routing", "complaint.routed", {"tracking_number": "no envelope"})
    parked = wait_for(lambda: take(amqp_uri, dead_letter_queue_name("intake"), raw=True),
                      message="the parked event")
    assert parked.decode() == {"tracking_number": "no envelope"}
    assert parked.headers["x-consumer"] == "intake.on_routed"
    assert "event_id" in parked.headers["x-error"]


def test_a_handler_that_keeps_failing_is_retried_then_parked(start_service, amqp_uri, rabbit_config):
    container = start_service(IntakeService, EVENT_RETRY_ATTEMPTS=3, EVENT_RETRY_BASE_DELAY=0.05)
    # a well-formed event about a complaint this intake never filed: the handler fails each time
    event = make_event("complaint.delivered", {"tracking_number": "ZZZZ-ZZZZ-ZZZZZ",
                                               "administration_code": "CNSS", "destination": "inbox"})
    event_dispatcher(rabbit_config)("routing", "complaint.delivered", event)
    parked = wait_for(lambda: take(amqp_uri, dead_letter_queue_name("intake"), raw=True),
                      message="the parked event")
    assert parked.decode()["event_id"] == event["event_id"]
    assert parked.headers["x-original-routing-key"] == "complaint.delivered"
    # nothing of the failed attempts was kept, and the service goes on working
    assert rows(container.db_url, "select * from processed_events") == []
    with entrypoint_hook(container, "submit") as submit:
        assert submit(valid_submission())["status"] == "submitted"
