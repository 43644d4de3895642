"""The operator's dead-letter command against the real broker: it lists what failed without
personal data, and a replay after the fix delivers the message to the one queue it failed in."""
import pytest
from nameko.standalone.events import event_dispatcher

from services.common import dead_letters
from services.common.events import make_event
from services.notify.service import NotifyService
from services.routing import directory, topology
from services.routing.inbox import DirectoryInbox
from services.routing.service import RoutingService
from tests.conftest import wait_for
from tests.factories import lifecycle_event_data
from tests.helpers import take
from tests.test_notify_service import sent
from tests.test_routing import publish_routed, routed_complaint, run_consumer  # noqa: F401 (a fixture)

NUMBER = "ABCD-EFGH-JKMN0"


@pytest.fixture
def operator(amqp_uri, monkeypatch, capsys):
    """Runs the command as an operator would, on this test's vhost; (exit code, stdout lines)."""
    monkeypatch.setenv("AMQP_URI", amqp_uri)

    def run(*argv):
        code = dead_letters.main(list(argv))
        return code, capsys.readouterr().out.splitlines()
    return run


def test_an_event_parked_by_a_service_is_listed_and_replayed_once_fixed(
        start_service, var_dir, rabbit_config, database_url, tmp_path, monkeypatch, capsys, operator):
    # routing is not running: notify cannot learn where to send the reminder, tries twice, parks it
    start_service(NotifyService, EVENT_RETRY_ATTEMPTS=2, EVENT_RETRY_BASE_DELAY=0.05)
    event = make_event("complaint.deadline_approaching", lifecycle_event_data(
        NUMBER, administration_code="CNSS", email="citizen@example.ma", deadline_at="2027-01-28T09:00:00+00:00",
        days_left=15))
    event_dispatcher(rabbit_config)("intake", "complaint.deadline_approaching", event)
    listed = wait_for(lambda: operator("list")[1], timeout=30, message="the reminder parked")
    [line] = listed
    assert line.startswith(f"dead-letters.notify\tcomplaint.deadline_approaching\t{event['event_id']}\t{NUMBER}\t"
                           "→ evt-intake-complaint.deadline_approaching--notify.remind_administration\t")
    assert "DirectoryUnavailable" in line and "citizen@example.ma" not in line and "+212" not in line
    assert operator("list")[1] == listed  # listing takes nothing away

    # the fix: routing runs, with the administration's address
    routing_url = database_url("routing")
    monkeypatch.setenv("ROUTING_DATABASE_URL", routing_url)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("code,name_ar,name_fr,kind,contact_email\n"
                        "CNSS,الصندوق الوطني للضمان الاجتماعي,CNSS,public_institution,bureau@cnss.ma\n", "utf-8")
    assert directory.main(["import", str(contacts)]) == 0
    capsys.readouterr()
    start_service(RoutingService, DATABASE_URL=routing_url)

    assert operator("replay", "--event-id", "not-this-one") == (1, [])
    code, replayed = operator("replay", "--event-id", str(event["event_id"]))
    assert code == 0 and len(replayed) == 1
    wait_for(lambda: sent("email"), timeout=30, message="the replayed reminder sent")
    assert [email["to"] for email in sent("email")] == ["bureau@cnss.ma"]  # not the citizen: only that handler
    assert operator("list")[1] == []


def test_a_routed_complaint_no_consumer_could_read_goes_back_to_its_queue(amqp_uri, tmp_path, run_consumer,
                                                                          operator):
    consumer = run_consumer({"CNSS"}, DirectoryInbox(tmp_path))
    broken = routed_complaint("CNSS")
    del broken["tracking_number"]
    publish_routed(amqp_uri, broken)
    [line] = wait_for(lambda: operator("list", "--queue", topology.DEAD_LETTER_QUEUE)[1], message="dead letter")
    assert line.startswith(f"complaints.dead-letters\trouted complaint\t{broken['message_id']}\t?\t"
                           "→ administration.CNSS\trejected")
    consumer.stopping.set()  # the ministry's consumer is down while the fix is made
    wait_for(lambda: not consumer.connection.is_open, message="consumer stopped")
    assert operator("replay", "--all")[0] == 0
    again = wait_for(lambda: take(amqp_uri, topology.queue_name("CNSS")), message="back in CNSS's queue")
    assert again["message_id"] == broken["message_id"] and operator("list")[1] == []
