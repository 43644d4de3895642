"""Routing over the real bus: the directory, the decision, the per-administration queue and
the administration's own pika consumer."""
import json
import os
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pika
import pytest
from kombu import Connection, Exchange
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.common.errors import ValidationFailed
from services.common.events import load_event, make_event
from services.routing import directory, topology
from services.routing.consumer import AdministrationConsumer
from services.routing.inbox import DirectoryInbox, WebhookInbox
from services.routing.models import Administration
from tests.conftest import wait_for
from tests.factories import complaint_snapshot, lifecycle_event_data, submitted_event_data
from tests.helpers import listen, rows, take


def submitted_event(**overrides):
    return make_event("complaint.submitted", submitted_event_data("ABCD-EFGH-JKMNP", **overrides))


def test_the_shipped_directory_loads_at_start(routing):
    with entrypoint_hook(routing, "list_administrations") as list_administrations:
        administrations = list_administrations()
    assert len(administrations) >= 40
    cnss = next(entry for entry in administrations if entry["code"] == "CNSS")
    assert cnss["name_ar"] == "الصندوق الوطني للضمان الاجتماعي" and cnss["kind"] == "public_institution"
    assert {entry["kind"] for entry in administrations} == {"ministry", "public_institution", "local_authority"}


def test_a_complaint_goes_to_its_administrations_queue_once(routing, rabbit_config, amqp_uri):
    routed = listen(amqp_uri, "routing.events", "complaint.routed")
    event = submitted_event()
    dispatch = event_dispatcher(rabbit_config)
    for _ in range(2):  # a redelivered event must not send the complaint twice
        with entrypoint_waiter(routing, "on_submitted"):
            dispatch("intake", "complaint.submitted", event)
    message = wait_for(lambda: take(amqp_uri, topology.queue_name("CNSS")), message="routed complaint")
    assert message["tracking_number"] == "ABCD-EFGH-JKMNP" and message["triage"] is False
    assert message["complainant"]["full_name"] == "Fatima Zahra El Amrani"
    announced = load_event("complaint.routed", wait_for(lambda: take(amqp_uri, routed.name)))
    assert announced["administration_code"] == "CNSS"
    assert take(amqp_uri, topology.queue_name("CNSS")) is None
    assert take(amqp_uri, routed.name) is None


@pytest.mark.parametrize("requested", ["UNKNOWN", "NO_SUCH_ADMIN"])
def test_unknown_administration_goes_to_triage(routing, rabbit_config, amqp_uri, requested):
    with entrypoint_waiter(routing, "on_submitted"):
        event_dispatcher(rabbit_config)("intake", "complaint.submitted",
                                        submitted_event(administration_code=requested))
    message = wait_for(lambda: take(amqp_uri, topology.queue_name("TRIAGE")), message="triage")
    assert message["triage"] is True and message["requested_administration_code"] == requested


def test_import_adds_and_updates_and_refuses_a_bad_file(tmp_path, database_url, monkeypatch):
    url = database_url("routing")
    monkeypatch.setenv("ROUTING_DATABASE_URL", url)
    good = tmp_path / "more.csv"
    good.write_text("code,name_ar,name_fr,kind\n"
                    "COMMUNE_SAFI,جماعة آسفي,Commune de Safi,local_authority\n"
                    "CNSS,الصندوق الوطني للضمان الاجتماعي,CNSS (nom corrigé),public_institution\n",
                    encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"code": "OK_CODE", "name_ar": "اسم", "name_fr": "Nom", "kind": "ministry"},
                               {"code": "lower", "name_ar": "", "name_fr": "x", "kind": "bank"}]))
    assert directory.main(["import", str(good)]) == 0
    assert directory.main(["import", str(bad)]) == 1
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as session:
        codes = {row.code: row for row in session.scalars(select(Administration))}
    engine.dispose()
    assert codes["COMMUNE_SAFI"].name_fr == "Commune de Safi"
    assert codes["CNSS"].name_fr == "CNSS (nom corrigé)"
    assert "OK_CODE" not in codes  # one bad row and nothing of the file is imported


def test_import_keeps_contacts_only_from_a_file_that_has_them(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("ROUTING_DATABASE_URL", database_url("routing"))
    with_contacts = tmp_path / "contacts.csv"
    with_contacts.write_text("code,name_ar,name_fr,kind,contact_email,supervisor_email,contact_language\n"
                             "ONEE,المكتب,ONEE,public_institution,bureau@onee.ma,,fr\n", encoding="utf-8")
    without = tmp_path / "names.csv"
    without.write_text("code,name_ar,name_fr,kind\nONEE,المكتب الوطني,ONEE,public_institution\n", encoding="utf-8")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,name_ar,name_fr,kind,contact_email,contact_language\n"
                     "ONEE,المكتب,ONEE,public_institution,pas-une-adresse,en\n", encoding="utf-8")
    assert directory.main(["import", str(with_contacts)]) == 0
    assert directory.main(["import", str(without)]) == 0
    with pytest.raises(directory.InvalidDirectory) as refused:
        directory.read_entries(wrong)
    assert "contact_email 'pas-une-adresse' is not an e-mail address" in str(refused.value)
    assert "contact_language 'en' must be one of ar, fr" in str(refused.value)
    engine = make_engine(os.environ["ROUTING_DATABASE_URL"])
    with sessionmaker(bind=engine)() as session:
        onee = session.get(Administration, "ONEE")
        kept = (onee.name_ar, onee.contact_email, onee.supervisor_email, onee.contact_language)
    engine.dispose()
    assert kept == ("المكتب الوطني", "bureau@onee.ma", None, "fr")


def test_contacts_are_kept_apart_from_the_public_directory(routing):
    with entrypoint_hook(routing, "set_administration_contacts") as set_contacts:
        assert set_contacts("CNSS", {"contact_email": " bureau@cnss.ma ", "supervisor_email": "",
                                     "contact_language": "fr"}) == {
            "contact_email": "bureau@cnss.ma", "supervisor_email": None, "contact_language": "fr"}
        with pytest.raises(ValidationFailed) as refused:
            set_contacts("CNSS", {"contact_email": "bureau", "contact_language": "de"})
        assert refused.value.errors == {"contact_email": ["invalid_email"], "contact_language": ["invalid_choice"]}
    with entrypoint_hook(routing, "administration_contacts") as contacts:
        assert contacts()["CNSS"] == {"contact_email": "bureau@cnss.ma", "supervisor_email": None,
                                      "contact_language": "fr"}  # the refused change changed nothing
        assert contacts()["ONEE"] == {"contact_email": None, "supervisor_email": None, "contact_language": "ar"}
    with entrypoint_hook(routing, "list_administrations") as list_administrations:
        assert all(set(entry) == {"code", "name_ar", "name_fr", "kind"} for entry in list_administrations())


def routed_complaint(code="CNSS", tracking="ABCD-EFGH-JKMNP"):
    return {"message_id": "6f1c1c1e-5f7a-4c56-9d0e-0c6a3f2b9a10", "tracking_number": tracking,
            "administration_code": code, "requested_administration_code": code, "triage": False,
            "type": "complaint", "subject": "Retard", "description": "Une description assez longue.",
            "region": "CS", "language": "fr", "attachments": [],
            "complainant": {"full_name": "Ali", "status": "citizen", "id_type": "cnie",
                            "id_number": "BK1", "email": None, "phone": "+212612345678"},
            "submitted_at": "2026-11-29T08:00:00+00:00"}


def publish_routed(amqp_uri, complaint):
    exchange = Exchange(topology.ROUTED_EXCHANGE, type="topic", durable=True)
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(complaint, exchange=exchange, routing_key=complaint["administration_code"],
                                      declare=[exchange], serializer="json")


@pytest.fixture
def run_consumer(amqp_uri):
    running = []

    def start(codes, inbox):
        consumer = AdministrationConsumer(amqp_uri, codes, inbox, prefetch=5)
        thread = threading.Thread(target=consumer.run, daemon=True)
        thread.start()
        running.append((consumer, thread))
        wait_for(lambda: consumer.connection and consumer.connection.is_open, message="consumer up")
        return consumer

    yield start
    for consumer, thread in running:
        consumer.stopping.set()
        thread.join(timeout=10)


def test_consumer_takes_only_its_own_queue_and_acks_after_the_inbox(amqp_uri, tmp_path, run_consumer):
    delivered = listen(amqp_uri, "routing.events", "complaint.delivered")
    inbox = DirectoryInbox(tmp_path / "inbox")
    run_consumer({"CNSS"}, inbox)
    with closing(pika.BlockingConnection(pika.URLParameters(amqp_uri))) as connection:
        AdministrationConsumer(amqp_uri, {"ONEE"}, inbox).declare(connection.channel())
    publish_routed(amqp_uri, routed_complaint("CNSS"))
    publish_routed(amqp_uri, routed_complaint("ONEE", tracking="ONEE-ONEE-ONEE0"))
    path = inbox.path_for("CNSS", "ABCD-EFGH-JKMNP")
    wait_for(path.exists, message="complaint in the CNSS inbox")
    received = json.loads(path.read_text("utf-8"))
    # a message from before `reason` existed is a first filing
    assert received["subject"] == "Retard" and received["reason"] == "submitted"
    event = load_event("complaint.delivered", wait_for(lambda: take(amqp_uri, delivered.name)))
    assert event["tracking_number"] == "ABCD-EFGH-JKMNP" and event["destination"] == "inbox"
    # ONEE's complaint stays in ONEE's queue for ONEE's own consumer
    assert not inbox.path_for("ONEE", "ONEE-ONEE-ONEE0").exists()
    assert take(amqp_uri, topology.queue_name("ONEE"))["tracking_number"] == "ONEE-ONEE-ONEE0"


class FlakyMinistry(BaseHTTPRequestHandler):
    """A ministry's case system that fails twice before it accepts a complaint."""
    received = []
    failures_left = 2

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if FlakyMinistry.failures_left > 0:
            FlakyMinistry.failures_left -= 1
            self.send_response(503)
        else:
            FlakyMinistry.received.append((self.headers["Idempotency-Key"], body))
            self.send_response(201)
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_webhook_down_then_up_gets_the_complaint_once(amqp_uri, run_consumer):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyMinistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        delivered = listen(amqp_uri, "routing.events", "complaint.delivered")
        run_consumer({"CNSS"}, WebhookInbox(f"http://127.0.0.1:{server.server_port}/complaints"))
        publish_routed(amqp_uri, routed_complaint("CNSS"))
        event = load_event("complaint.delivered",
                           wait_for(lambda: take(amqp_uri, delivered.name), timeout=30))
        assert event["destination"] == "webhook"
        assert [key for key, _body in FlakyMinistry.received] == ["6f1c1c1e-5f7a-4c56-9d0e-0c6a3f2b9a10"]
    finally:
        server.shutdown()


def test_a_stop_cuts_short_the_wait_before_a_retry_and_the_complaint_stays_queued(amqp_uri):
    """SIGTERM (which sets `stopping`) while the consumer waits to try again a complaint the
    ministry refused: it stops now, not after its wait (here 16 to 32 s), and the complaint is
    back in the queue for the next consumer."""
    refused = []

    class DownMinistry(BaseHTTPRequestHandler):
        def do_POST(self):
            refused.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(503)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), DownMinistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    consumer = AdministrationConsumer(amqp_uri, {"CNSS"}, WebhookInbox(f"http://127.0.0.1:{server.server_port}/"))
    consumer.failures_in_a_row = 4
    thread = threading.Thread(target=consumer.run, daemon=True)
    try:
        thread.start()
        wait_for(lambda: consumer.alive_at, message="the consumer consuming")
        publish_routed(amqp_uri, routed_complaint("CNSS"))
        wait_for(lambda: refused, message="the ministry refusing the complaint")
        consumer.stopping.set()
        thread.join(timeout=5)
        assert not thread.is_alive()
        assert take(amqp_uri, topology.queue_name("CNSS"))["tracking_number"] == "ABCD-EFGH-JKMNP"
    finally:
        consumer.stopping.set()
        server.shutdown()


def test_a_malformed_message_is_dead_lettered_not_lost(amqp_uri, tmp_path, run_consumer):
    run_consumer({"CNSS"}, DirectoryInbox(tmp_path))
    broken = routed_complaint("CNSS")
    del broken["tracking_number"]
    publish_routed(amqp_uri, broken)
    parked = wait_for(lambda: take(amqp_uri, topology.DEAD_LETTER_QUEUE), message="dead letter")
    assert parked["subject"] == "Retard"


# -- complaints routed again: transfers and reopenings -------------------------------------------

NUMBER = "ABCD-EFGH-JKMNP"


def transferred_event(to_code, from_code="CNSS"):
    return make_event("complaint.transferred", lifecycle_event_data(
        NUMBER, administration_code=to_code, status="routed", from_administration_code=from_code,
        reason="Le dossier relève de l'électricité.", complaint=complaint_snapshot()))


def reopened_event(reopen_count=1, code="CNSS"):
    return make_event("complaint.reopened", lifecycle_event_data(
        NUMBER, administration_code=code, status="routed", actor="citizen",
        reason="La réponse ne règle rien.", reopen_count=reopen_count,
        deadline_at="2027-01-28T09:00:00+00:00", complaint=complaint_snapshot()))


def decisions(routing):
    return [(row["reason"], row["requested_code"], row["administration_code"], row["triage"])
            for row in rows(routing.db_url, "select * from routing_decisions order by id")]


def test_a_transfer_lands_on_the_other_administrations_consumer(routing, rabbit_config, amqp_uri,
                                                                  tmp_path, run_consumer):
    routed = listen(amqp_uri, "routing.events", "complaint.routed")
    inbox = DirectoryInbox(tmp_path / "inbox")
    run_consumer({"ONEE"}, inbox)
    event = transferred_event("ONEE")
    for _ in range(2):  # redelivered: still one routing
        with entrypoint_waiter(routing, "on_transferred"):
            event_dispatcher(rabbit_config)("intake", "complaint.transferred", event)

    path = inbox.path_for("ONEE", NUMBER)
    wait_for(path.exists, message="the complaint in ONEE's inbox")
    received = json.loads(path.read_text("utf-8"))
    assert (received["administration_code"], received["reason"], received["triage"]) == ("ONEE", "transferred", False)
    assert received["complainant"]["full_name"] == "Fatima Zahra El Amrani"
    assert received["subject"] == "Retard de versement de la pension"
    announced = load_event("complaint.routed", wait_for(lambda: take(amqp_uri, routed.name)))
    assert (announced["tracking_number"], announced["administration_code"]) == (NUMBER, "ONEE")
    assert take(amqp_uri, routed.name) is None
    assert take(amqp_uri, topology.queue_name("CNSS")) is None  # nothing goes back to CNSS
    assert decisions(routing) == [("transferred", "ONEE", "ONEE", False)]


def test_a_transfer_to_an_administration_routing_does_not_know_goes_to_triage(routing, rabbit_config, amqp_uri):
    with entrypoint_waiter(routing, "on_transferred"):
        event_dispatcher(rabbit_config)("intake", "complaint.transferred", transferred_event("NO_SUCH_ADMIN"))
    message = wait_for(lambda: take(amqp_uri, topology.queue_name("TRIAGE")), message="triage")
    assert (message["triage"], message["requested_administration_code"], message["reason"]) == (
        True, "NO_SUCH_ADMIN", "transferred")
    assert decisions(routing) == [("transferred", "NO_SUCH_ADMIN", "TRIAGE", True)]


def test_a_reopened_complaint_goes_back_to_the_same_administration(routing, rabbit_config, amqp_uri):
    routed = listen(amqp_uri, "routing.events", "complaint.routed")
    dispatch = event_dispatcher(rabbit_config)
    with entrypoint_waiter(routing, "on_submitted"):
        dispatch("intake", "complaint.submitted", submitted_event())
    with entrypoint_waiter(routing, "on_reopened"):
        dispatch("intake", "complaint.reopened", reopened_event(reopen_count=2))

    first = wait_for(lambda: take(amqp_uri, topology.queue_name("CNSS")), message="the filing")
    again = wait_for(lambda: take(amqp_uri, topology.queue_name("CNSS")), message="the reopening")
    assert (first["reason"], first["reopen_count"]) == ("submitted", None)
    assert (again["tracking_number"], again["reason"], again["reopen_count"]) == (NUMBER, "reopened", 2)
    assert again["message_id"] != first["message_id"]  # the consumer must not take it for a repeat
    assert again["description"] == first["description"]
    assert [load_event("complaint.routed", wait_for(lambda: take(amqp_uri, routed.name)))["administration_code"]
            for _ in range(2)] == ["CNSS", "CNSS"]
    assert decisions(routing) == [("submitted", "CNSS", "CNSS", False), ("reopened", "CNSS", "CNSS", False)]


def test_the_consumer_delivers_a_reopening_marked_as_such(amqp_uri, tmp_path, run_consumer):
    inbox = DirectoryInbox(tmp_path)
    run_consumer({"CNSS"}, inbox)
    publish_routed(amqp_uri, {**routed_complaint("CNSS"), "reason": "reopened", "reopen_count": 1})
    path = inbox.path_for("CNSS", "ABCD-EFGH-JKMNP")
    wait_for(path.exists, message="the reopened complaint in the inbox")
    received = json.loads(path.read_text("utf-8"))
    assert (received["reason"], received["reopen_count"]) == ("reopened", 1)


# -- the platform administrator adds an administration ------------------------------------------

SAFI = {"code": "COMMUNE_SAFI", "name_ar": " جماعة آسفي ", "name_fr": "Commune de Safi", "kind": "local_authority"}


def test_an_added_administration_is_listed_and_gets_its_queue(routing, rabbit_config, amqp_uri):
    # before it is added, a complaint for it goes to triage (routing must not remember that)
    with entrypoint_waiter(routing, "on_transferred"):
        event_dispatcher(rabbit_config)("intake", "complaint.transferred", transferred_event("COMMUNE_SAFI"))
    assert wait_for(lambda: take(amqp_uri, topology.queue_name("TRIAGE")), message="triage")["triage"] is True
    with entrypoint_hook(routing, "add_administration") as add_administration:
        added = add_administration(SAFI)
    assert added == {**SAFI, "name_ar": "جماعة آسفي"}
    with entrypoint_hook(routing, "list_administrations") as list_administrations:
        assert added in list_administrations()
    assert take(amqp_uri, topology.queue_name("COMMUNE_SAFI")) is None  # declared, and empty
    # complaints transferred to it are no longer sent to triage
    with entrypoint_waiter(routing, "on_transferred"):
        event_dispatcher(rabbit_config)("intake", "complaint.transferred", transferred_event("COMMUNE_SAFI"))
    message = wait_for(lambda: take(amqp_uri, topology.queue_name("COMMUNE_SAFI")), message="routed there")
    assert message["triage"] is False


@pytest.mark.parametrize("entry, errors", [
    ({**SAFI, "code": "CNSS"}, {"code": ["already_exists"]}),
    ({**SAFI, "code": "TRIAGE"}, {"code": ["reserved"]}),
    ({**SAFI, "code": "safi"}, {"code": ["invalid_code"]}),
    ({"code": "", "name_ar": "", "name_fr": "x" * 301, "kind": "bank"},
     {"code": ["required"], "name_ar": ["required"], "name_fr": [["too_long", {"max": 300}]],
      "kind": ["invalid_choice"]}),
])
def test_an_invalid_administration_is_refused_field_by_field(routing, entry, errors):
    with entrypoint_hook(routing, "add_administration") as add_administration:
        with pytest.raises(ValidationFailed) as refused:
            add_administration(entry)
    assert json.loads(json.dumps(refused.value.errors)) == errors  # as the gateway gets it over RPC
    assert len(rows(routing.db_url, "select code from administrations where code = :code",
                    code=entry["code"])) == (1 if entry["code"] == "CNSS" else 0)
