"""The process each administration runs to receive its complaints (pika, not nameko).

    python -m services.routing.consumer --administration CNSS
    python -m services.routing.consumer --all            # embedded default: every queue

It consumes only the named administrations' queues, hands each complaint to the
administration's side (a directory inbox, or `--webhook-url`), announces
`complaint.delivered` with a broker-confirmed publish, and only then acks.  If it dies
between the hand-over and the ack, the complaint comes again: the inbox overwrites the same
file / the webhook gets the same Idempotency-Key, and the event keeps the same id.
Each thread has its own connection; a lost connection is retried with backoff.
With `--liveness-file` (or LIVENESS_FILE) the file's modification time is when the
least recently alive thread last turned its loop on a live connection or took a message, so
a Kubernetes exec probe (services.common.probe) restarts a consumer whose connection is dead.
With `--metrics-port` (or METRICS_PORT) it serves Prometheus metrics at /metrics: complaints
delivered, failed deliveries, malformed messages, delivery time and lag
(services/routing/metrics.py), and the depth and consumers of its queues, read when scraped.
Its log lines carry the tracking number of the complaint they are about (LOG_FORMAT=json: JSON).
"""
import argparse
import json
import logging
import os
import random
import signal
import threading
import time
import uuid

import pika
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common import config
from services.common.db import make_engine, migrate
from services.common.events import make_event
from services.common.liveness import HeartbeatFile
from services.common.logs import bind, configure_logging
from services.common.metrics import ADMINISTRATION, BROKER_QUEUES, serve
from services.common.outbox import event_exchange_name
from services.routing import domain, topology
from services.routing.directory import SHIPPED, read_entries
from services.routing.inbox import DeliveryFailed, DirectoryInbox, WebhookInbox
from services.routing.metrics import (COMPLAINTS_DELIVERED, CONSUMER_LAG_SECONDS, DELIVERY_FAILURES,
                                      DELIVERY_SECONDS, MALFORMED_MESSAGES)
from services.routing.models import Administration, Base
from services.routing.schemas import RoutedComplaint

log = logging.getLogger("chikaya.consumer")

MAX_RETRY_DELAY = 60


def delivered_event(complaint: dict, destination: str) -> dict:
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"delivered:{complaint['message_id']}")
    return make_event("complaint.delivered", {
        "tracking_number": complaint["tracking_number"],
        "administration_code": complaint["administration_code"],
        "destination": destination}, event_id=event_id)


class AdministrationConsumer:
    """One thread's worth: a connection, a channel, the administrations' queues."""

    def __init__(self, amqp_uri, codes, inbox, prefetch=10, stopping=None):
        self.parameters = pika.URLParameters(amqp_uri)
        self.codes = sorted(codes)
        self.inbox = inbox
        # built once, not per message (building one is not cheap); one per thread
        self.schema = RoutedComplaint()
        self.prefetch = prefetch
        self.stopping = stopping or threading.Event()
        self.connection = None
        self.delivered = 0
        self.failures_in_a_row = 0
        # when this thread last showed it is alive on a live connection (Unix time; None: not yet)
        self.alive_at = None

    def declare(self, channel):
        channel.exchange_declare(topology.ROUTED_EXCHANGE, "topic", durable=True)
        channel.exchange_declare(topology.DEAD_LETTER_EXCHANGE, "fanout", durable=True)
        channel.queue_declare(topology.DEAD_LETTER_QUEUE, durable=True)
        channel.queue_bind(topology.DEAD_LETTER_QUEUE, topology.DEAD_LETTER_EXCHANGE)
        channel.exchange_declare(event_exchange_name("routing"), "topic", durable=True)
        for code in self.codes:
            queue = topology.queue_name(code)
            channel.queue_declare(queue, durable=True, arguments=topology.queue_arguments())
            channel.queue_bind(queue, topology.ROUTED_EXCHANGE, routing_key=code)

    def run(self):
        """Consume until stopped, reconnecting with exponential backoff and jitter."""
        attempt = 0
        while not self.stopping.is_set():
            try:
                self.connection = pika.BlockingConnection(self.parameters)
                channel = self.connection.channel()
                channel.confirm_delivery()
                channel.basic_qos(prefetch_count=self.prefetch)
                self.declare(channel)
                for code in self.codes:
                    channel.basic_consume(topology.queue_name(code), self.on_message)
                log.info("consuming the queues of %d administrations: %s", len(self.codes),
                         ", ".join(self.codes) if len(self.codes) <= 10 else "all")
                attempt = 0
                while not self.stopping.is_set():
                    self.alive_at = time.time()
                    self.connection.process_data_events(time_limit=1)
                self.connection.close()
            except pika.exceptions.AMQPError as exc:
                attempt += 1
                delay = min(MAX_RETRY_DELAY, 2 ** attempt) * random.uniform(0.5, 1)
                log.warning("connection lost (%r); reconnecting in %.1fs", exc, delay)
                self.stopping.wait(delay)

    def pause(self, seconds: float) -> None:
        """Wait on the connection (its heartbeats go on), cut short by a stop (SIGTERM): the
        message waiting for its retry goes back to the queue now rather than after the wait."""
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            self.connection.sleep(min(0.5, left))

    def on_message(self, channel, method, properties, body):
        # handling one message (a slow webhook, a retry's wait) may keep the loop from turning
        self.alive_at = time.time()
        bind("consumer")
        try:
            complaint = self.schema.dump(self.schema.load(json.loads(body)))
        except (ValueError, ValidationError) as exc:
            # a message that breaks the contract will never succeed: dead-letter it for an operator
            log.error("rejecting malformed message on %s: %r", method.routing_key, exc)
            MALFORMED_MESSAGES.labels(topology.queue_name(method.routing_key)).inc()
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        code = complaint["administration_code"]
        bind("consumer", tracking_number=complaint["tracking_number"])
        try:
            started = time.perf_counter()
            self.inbox.deliver(complaint)
            DELIVERY_SECONDS.labels(code, self.inbox.name).observe(time.perf_counter() - started)
            channel.basic_publish(
                event_exchange_name("routing"), "complaint.delivered",
                json.dumps(delivered_event(complaint, self.inbox.name)),
                pika.BasicProperties(content_type="application/json", delivery_mode=2),
                mandatory=True)
        except (DeliveryFailed, OSError, pika.exceptions.UnroutableError,
                pika.exceptions.NackError) as exc:
            # the administration's side (or the bus) did not take it: keep it queued, try later
            DELIVERY_FAILURES.labels(code).inc()
            self.failures_in_a_row += 1
            delay = min(MAX_RETRY_DELAY, 2 ** self.failures_in_a_row) * random.uniform(0.5, 1)
            log.warning("%s not delivered to %s (%r); retrying in %.1fs",
                        complaint["tracking_number"], complaint["administration_code"], exc, delay)
            self.pause(delay)
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        self.failures_in_a_row = 0
        channel.basic_ack(method.delivery_tag)
        self.delivered += 1
        COMPLAINTS_DELIVERED.labels(code, self.inbox.name).inc()
        if properties.timestamp:  # when routing staged it (services.common.outbox)
            CONSUMER_LAG_SECONDS.labels(code).observe(max(0, time.time() - properties.timestamp))
        log.info("%s delivered to %s", complaint["tracking_number"], code)


def report_liveness(consumers, heartbeat: HeartbeatFile) -> None:
    """Beat the heartbeat file with the oldest sign of life among the threads, once every
    thread has connected: one dead connection is enough to make the file age."""
    signs = [consumer.alive_at for consumer in consumers]
    if None not in signs:
        heartbeat.beat(min(signs))


def all_codes() -> set[str]:
    """Every administration in routing's directory (shipped or imported), and triage."""
    shipped = {entry["code"] for entry in read_entries(SHIPPED)}
    url = config.database_url("routing")
    migrate("routing", url, Base.metadata)
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as session:
        codes = set(session.scalars(select(Administration.code)))
    engine.dispose()
    return shipped | codes | {domain.TRIAGE}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Receive one administration's complaints.")
    parser.add_argument("--administration", action="append", default=[], metavar="CODE",
                        help="administration code whose queue to consume (repeatable; TRIAGE for triage)")
    parser.add_argument("--all", action="store_true", help="consume every administration's queue")
    parser.add_argument("--webhook-url", default=os.environ.get("CONSUMER_WEBHOOK_URL") or None,
                        help="POST each complaint here instead of the directory inbox "
                             "(default: CONSUMER_WEBHOOK_URL)")
    parser.add_argument("--inbox-dir", help="directory inbox root (default: var/inbox)")
    parser.add_argument("--threads", type=int, default=1, help="consumer threads, one connection each")
    parser.add_argument("--prefetch", type=int, default=10)
    parser.add_argument("--liveness-file", default=os.environ.get("LIVENESS_FILE") or None,
                        help="keep this file's time at the threads' last sign of life on a live "
                             "connection, for an exec probe (default: LIVENESS_FILE; unset: none)")
    parser.add_argument("--metrics-port", type=int, default=os.environ.get("METRICS_PORT") or None,
                        help="serve Prometheus metrics on this port at /metrics (default: METRICS_PORT; "
                             "unset: none)")
    args = parser.parse_args(argv)
    configure_logging("consumer")

    codes = set(args.administration) | (all_codes() if args.all else set())
    if not codes:
        parser.error("name at least one --administration, or --all")
    if args.webhook_url:
        make_inbox = lambda: WebhookInbox(args.webhook_url)  # noqa: E731
    else:
        root = args.inbox_dir or (config.var_dir() / "inbox")
        make_inbox = lambda: DirectoryInbox(root)  # noqa: E731

    if args.metrics_port:
        serve(args.metrics_port)
        BROKER_QUEUES.watch("consumer", config.amqp_uri(),
                            [(ADMINISTRATION, topology.queue_name(code)) for code in codes])
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    consumers = [AdministrationConsumer(config.amqp_uri(), codes, make_inbox(), args.prefetch, stopping)
                 for _ in range(args.threads)]
    threads = [threading.Thread(target=consumer.run, name=f"consumer-{n}")
               for n, consumer in enumerate(consumers)]
    for thread in threads:
        thread.start()
    heartbeat = HeartbeatFile(args.liveness_file) if args.liveness_file else None
    while any(thread.is_alive() for thread in threads):
        if heartbeat:
            report_liveness(consumers, heartbeat)
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
