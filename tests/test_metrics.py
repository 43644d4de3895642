"""Prometheus metrics of the services, the gateway and the ministry consumer: complaints filed
through the real gateway, services (nameko containers on this test's vhost) and consumer (its
own process) move the counters that operators watch, read from /metrics as Prometheus reads it.

The containers of one test process share one registry and one metrics server (METRICS_PORT),
so each test compares figures before and after what it does.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from kombu import Connection, Exchange
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from gateway.app import create_app
from services.common.events import make_event
from services.intake.service import IntakeService
from services.notify.service import NotifyService
from services.routing.service import RoutingService
from services.stats.service import StatsService
from tests.conftest import free_port, wait_for
from tests.factories import valid_submission
from tests.helpers import listen, rows

ROOT = Path(__file__).resolve().parents[1]
# one server per process, whichever container asks first: every test here gives the same port
METRICS_PORT = str(free_port())
CNSS_AGENT = {"id": "11", "name": "Nadia Bennani", "role": "agent", "administration_code": "CNSS"}


class Scrape:
    """The samples of one /metrics answer, parsed as Prometheus parses them."""

    def __init__(self, port):
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        self.families = {}
        self.samples = {}
        for family in text_string_to_metric_families(text):
            self.families[family.name] = family.type
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name, **labels):
        """The sample's value; None when the process does not export it."""
        return self.samples.get((name, frozenset(labels.items())))

    def count(self, name, **labels):
        return self.value(name, **labels) or 0.0


def moved(before: Scrape, after: Scrape, name, **labels) -> float:
    return after.count(name, **labels) - before.count(name, **labels)


def eventually(predicate, message):
    """Polls gently: a scrape of the in-process server asks the broker and the databases."""
    return wait_for(predicate, timeout=30, interval=0.5, message=message)


def service(start_service, service_class, **config):
    return start_service(service_class, METRICS_PORT=METRICS_PORT, **config)


def call(container, method, *args):
    with entrypoint_hook(container, method) as hook:
        return hook(*args)


def pass_deadline(container, tracking_number):
    engine = create_engine(container.db_url)
    with engine.begin() as connection:
        connection.execute(text("update complaints set deadline_at = now() - interval '1 day' "
                                "where tracking_number = :number"), {"number": tracking_number})
    engine.dispose()


@pytest.fixture
def consumer(amqp_uri, tmp_path):
    """CNSS's consumer in its own process, serving its metrics on a port of its own."""
    port = free_port()
    env = {**os.environ, "AMQP_URI": amqp_uri, "CHIKAYA_VAR_DIR": str(tmp_path / "consumer-var"),
           "METRICS_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "services.routing.consumer", "--administration", "CNSS",
                                "--inbox-dir", str(tmp_path / "inbox")],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def serving():
        assert process.poll() is None, "the consumer stopped"
        try:
            return Scrape(port)
        except requests.ConnectionError:
            return None

    wait_for(serving, timeout=30, message="the consumer's metrics")
    yield port
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


@pytest.fixture
def gateway(amqp_uri, var_dir):
    app = create_app({"AMQP_URI": amqp_uri, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-only-secret"})
    yield app.test_client()
    app.extensions["complaint_desk"].pool.close()


def test_a_filing_moves_the_counters_from_the_gateway_to_the_ministry(
        start_service, var_dir, amqp_uri, gateway, consumer):
    intake = service(start_service, IntakeService, DEADLINE_CHECK_SECONDS=3600)
    for service_class in (RoutingService, NotifyService, StatsService):
        service(start_service, service_class)
    eventually(lambda: Scrape(consumer).value("chikaya_administration_queue_consumers", administration="CNSS"),
             message="the consumer's queue")
    before = Scrape(METRICS_PORT)

    numbers = []
    for _ in range(2):
        response = gateway.post("/api/v1/complaints", json=valid_submission())
        assert response.status_code == 201
        numbers.append(response.json["tracking_number"])
    eventually(lambda: Scrape(consumer).count("chikaya_complaints_delivered_total",
                                            administration="CNSS", destination="inbox") == 2,
             message="both complaints delivered")
    eventually(lambda: {row["status"] for row in rows(intake.db_url, "select status from complaints")} == {"received"},
             message="intake to hear of the deliveries")
    eventually(lambda: moved(before, Scrape(METRICS_PORT), "chikaya_notifications_total",
                           channel="sms", provider="outbox", outcome="sent") == 2,
             message="the two SMS")

    after = Scrape(METRICS_PORT)
    assert moved(before, after, "chikaya_complaints_filed_total", type="complaint") == 2
    assert moved(before, after, "chikaya_complaints_routed_total", administration="CNSS", reason="submitted") == 2
    assert moved(before, after, "chikaya_http_request_duration_seconds_count",
                 method="POST", route="/api/v1/complaints", status="201") == 2
    assert moved(before, after, "chikaya_entrypoint_duration_seconds_count",
                 service="intake", entrypoint="submit", outcome="ok") == 2
    for handler, event in (("routing", "complaint.submitted"), ("stats", "complaint.routed"),
                           ("intake", "complaint.delivered")):
        assert moved(before, after, "chikaya_event_lag_seconds_count", service=handler, event=event) == 2
    assert moved(before, after, "chikaya_outbox_relayed_total", service="routing") >= 4  # routed: message and event
    ministry = Scrape(consumer)
    assert ministry.count("chikaya_consumer_lag_seconds_count", administration="CNSS") == 2
    assert ministry.count("chikaya_consumer_delivery_seconds_count", administration="CNSS", destination="inbox") == 2

    # what Prometheus reads from the broker and the databases when it scrapes
    assert after.value("chikaya_queue_consumers", queue="rpc-intake") == 1
    assert after.value("chikaya_dead_letter_messages", queue="dead-letters.routing") == 0
    for scrape in (after, ministry):  # routing reports every administration's queue, the consumer its own
        assert scrape.value("chikaya_administration_queue_consumers", administration="CNSS") == 1
        assert scrape.value("chikaya_administration_queue_messages", administration="CNSS") == 0
    assert after.value("chikaya_administration_queue_consumers", administration="ONEE") is None  # never declared
    eventually(lambda: all(Scrape(METRICS_PORT).value("chikaya_outbox_messages", service=name) == 0
                         for name in ("intake", "routing", "notify")), message="every outbox relayed")
    assert Scrape(METRICS_PORT).value("chikaya_outbox_oldest_age_seconds", service="intake") == 0

    # an answer, a deadline passed, and a lookup refused with the wrong contact
    call(intake, "answer", CNSS_AGENT, numbers[0], "Votre pension a été versée le 3 mars.")
    pass_deadline(intake, numbers[1])
    call(intake, "check_deadlines")
    assert gateway.get(f"/api/v1/complaints/{numbers[0]}?contact=0699999999").status_code == 404
    later = Scrape(METRICS_PORT)
    assert moved(after, later, "chikaya_complaints_answered_total", administration="CNSS") == 1
    assert moved(after, later, "chikaya_complaints_overdue_total", administration="CNSS") == 1
    assert moved(after, later, "chikaya_entrypoint_duration_seconds_count",
                 service="intake", entrypoint="track", outcome="refused") == 1
    assert moved(after, later, "chikaya_http_request_duration_seconds_count", method="GET",
                 route="/api/v1/complaints/<tracking_number>", status="404") == 1

    # a message that breaks the routed complaint's contract: dead-lettered, counted, seen by routing
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(b"not json", exchange=Exchange("complaints.routed", type="topic"),
                                      routing_key="CNSS", content_type="application/json")
    eventually(lambda: Scrape(consumer).count("chikaya_consumer_malformed_messages_total",
                                            queue="administration.CNSS") == 1, message="the malformed message")
    eventually(lambda: Scrape(METRICS_PORT).value("chikaya_dead_letter_messages", queue="complaints.dead-letters") == 1,
             message="the dead letter to show")


def test_retries_and_parked_events_are_counted_and_the_dead_letters_seen(start_service, rabbit_config):
    service(start_service, IntakeService, EVENT_RETRY_ATTEMPTS=3, EVENT_RETRY_BASE_DELAY=0.05)
    before = Scrape(METRICS_PORT)
    dispatch = event_dispatcher(rabbit_config)
    # well-formed, about a complaint this intake never filed: fails every time, parked after 3 tries
    dispatch("routing", "complaint.delivered", make_event("complaint.delivered", {
        "tracking_number": "ZZZZ-ZZZZ-ZZZZZ", "administration_code": "CNSS", "destination": "inbox"}))
    eventually(lambda: Scrape(METRICS_PORT).value("chikaya_dead_letter_messages", queue="dead-letters.intake") == 1,
             message="the parked event")
    after = Scrape(METRICS_PORT)
    labels = {"service": "intake", "handler": "on_delivered", "event": "complaint.delivered"}
    assert moved(before, after, "chikaya_event_retries_total", **labels) == 2
    assert moved(before, after, "chikaya_events_parked_total", **labels, reason="exhausted") == 1
    assert moved(before, after, "chikaya_entrypoint_duration_seconds_count",
                 service="intake", entrypoint="on_delivered", outcome="error") == 3

    dispatch("routing", "complaint.delivered", {"tracking_number": "no envelope"})  # breaks the contract
    eventually(lambda: Scrape(METRICS_PORT).value("chikaya_dead_letter_messages", queue="dead-letters.intake") == 2,
             message="the second parked event")
    assert moved(after, Scrape(METRICS_PORT), "chikaya_events_parked_total", **labels, reason="invalid") == 1


def test_a_message_no_queue_takes_shows_as_outbox_backlog_until_relayed(start_service, amqp_uri):
    intake = service(start_service, IntakeService)
    before = Scrape(METRICS_PORT)
    # nothing is bound to complaint.submitted on this vhost: the event stays in intake's outbox
    number = call(intake, "submit", valid_submission())["tracking_number"]
    eventually(lambda: moved(before, Scrape(METRICS_PORT), "chikaya_outbox_relay_failures_total",
                           service="intake", reason="unroutable") >= 1, message="a failed relay")
    waiting = Scrape(METRICS_PORT)
    assert waiting.value("chikaya_outbox_messages", service="intake") == 1
    assert waiting.value("chikaya_outbox_oldest_age_seconds", service="intake") > 0

    listen(amqp_uri, "intake.events", "complaint.submitted")  # a consumer's queue, at last
    eventually(lambda: Scrape(METRICS_PORT).value("chikaya_outbox_messages", service="intake") == 0,
             message="the outbox to drain")
    drained = Scrape(METRICS_PORT)
    assert drained.value("chikaya_outbox_oldest_age_seconds", service="intake") == 0
    assert moved(before, drained, "chikaya_outbox_relayed_total", service="intake") == 1
    assert rows(intake.db_url, "select tracking_number from complaints") == [{"tracking_number": number}]
