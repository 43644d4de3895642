"""Messages per second through notify, with real protocols: notify runs as `make run` starts it
(its own process, SQLite or PostgreSQL) and sends each citizen's SMS to a local HTTP server that
answers Twilio's Messages API and each e-mail to a local SMTP server (tests/protocol_peers.py),
for N complaint.submitted events published at once on the bus.

Prints messages per second from the first event published to the last message received by the
peers, and how many messages each peer received (exactly N each, or the run says so).

    .venv/bin/python bench/notify_throughput.py -n 500 [--postgres]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.standalone.events import event_dispatcher  # noqa: E402

from bench.submit_complaints import create_databases, drop_databases  # noqa: E402
from services.common.events import make_event  # noqa: E402
from tests.factories import submitted_event_data  # noqa: E402
from tests.protocol_peers import SmtpPeer, TwilioPeer  # noqa: E402

TIMEOUT = 600


def notify_listening(amqp_uri: str) -> bool:
    """notify consumes complaint.submitted, so an event published now is not lost."""
    try:
        with Connection(amqp_uri, connect_timeout=2) as connection:
            declared = connection.default_channel.queue_declare(
                "evt-intake-complaint.submitted--notify.on_complaint_submitted", passive=True)
        return declared.consumer_count > 0
    except Exception:  # not declared yet
        return False


def bind_stats_queue(amqp_uri: str) -> None:
    """The queue stats reads notification.sent from, as on the platform: without one bound,
    notify's outbox would find its events unroutable and keep retrying them."""
    with Connection(amqp_uri) as connection:
        Queue("bench.notification-sent", exchange=Exchange("notify.events", type="topic", durable=True),
              routing_key="notification.sent", durable=True)(connection.default_channel).declare()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--events", type=int, default=500)
    parser.add_argument("--postgres", metavar="URL", nargs="?", const="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a fresh PostgreSQL database for notify on this server instead of SQLite")
    args = parser.parse_args()

    vhost = f"chikaya-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True)
    amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    bind_stats_queue(amqp_uri)
    var = Path(tempfile.mkdtemp(prefix="chikaya-bench-"))
    smtp, twilio = SmtpPeer(), TwilioPeer()
    smtp.start()
    twilio.start()
    env = {**os.environ, **smtp.settings, **twilio.settings, "AMQP_URI": amqp_uri, "CHIKAYA_VAR_DIR": str(var)}
    databases = create_databases(args.postgres, vhost, env, services=("notify",)) if args.postgres else []
    notify = subprocess.Popen([str(Path(sys.executable).with_name("nameko")), "run", "--config",
                               "services/nameko.yaml", "services.notify.service"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not notify_listening(amqp_uri):
            if notify.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("notify did not start")
            time.sleep(0.3)
        events = [make_event("complaint.submitted", submitted_event_data(
            f"BNCH-{n // 100000:04d}-{n % 100000:05d}", email=f"citizen{n}@example.ma")) for n in range(args.events)]
        dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "SERIALIZER": "json"})
        started = time.perf_counter()
        for event in events:
            dispatch("intake", "complaint.submitted", event)
        published = time.perf_counter() - started
        expected = args.events
        while (len(twilio.messages) < expected or len(smtp.received) < expected) and \
                time.perf_counter() - started < TIMEOUT:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        time.sleep(2)  # a second copy would arrive now
    finally:
        notify.send_signal(signal.SIGTERM)
        notify.wait(timeout=60)
        smtp.stop()
        twilio.stop()
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)
        drop_databases(args.postgres, databases)
        shutil.rmtree(var, ignore_errors=True)

    sms, emails = len(twilio.messages), len(smtp.received)
    messages = sms + emails
    print(f"\nnotify, {args.events} complaint.submitted events (an SMS and an e-mail each), "
          f"{'PostgreSQL' if args.postgres else 'SQLite (embedded default)'}, local Twilio API and SMTP server\n")
    print(f"events published in {published:.2f} s")
    print(f"{messages} messages in {elapsed:.1f} s: {messages / elapsed:.1f} messages/s "
          f"({sms} SMS, {emails} e-mails; expected {expected} of each)")
    print(json.dumps({"events": args.events, "sms": sms, "emails": emails, "seconds": elapsed,
                      "messages_per_second": messages / elapsed}))
    if sms != expected or emails != expected:
        raise SystemExit("some messages are missing or were sent twice")


if __name__ == "__main__":
    main()
