"""Scale-out on one machine: a backlog waiting on the bus, then 1, 2 and 4 replicas draining it.

- **Ministry consumer**: `--complaints` routed complaints are published to the queue
  `administration.BENCH` (as routing's outbox would), then 1, 2, 4 processes of
  `python -m services.routing.consumer --administration BENCH` (directory inbox) drain it.
- **Notify**: `--events` complaint.submitted events wait in notify's queue, then 1, 2, 4
  processes of `nameko run services.notify.service` (one PostgreSQL database, which replicas
  share; SMS and e-mail through the outbox adapters) drain it.

Each figure is complaints (events) per second from the moment every replica consumes the queue
to the last one handled, so the replicas' start-up is left out. Then, for each, a backlog is
drained by two replicas of which one is killed (SIGKILL) a third of the way through: every
complaint must be in the inbox exactly once (one file per tracking number), every citizen must
have exactly one SMS and one e-mail (what the killed notify held is taken over by the survivor
once its lease, NOTIFY_ATTEMPT_LEASE_SECONDS, 10 s here, runs out), and the run says so or fails.
Notify's rate is in messages (an SMS and an e-mail per event).

    .venv/bin/python bench/scale_out.py --complaints 2000 --events 500 [--postgres URL]
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
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.notify_throughput import bind_stats_queue  # noqa: E402
from bench.submit_complaints import create_databases, delete_vhost, drop_databases, new_vhost  # noqa: E402
from services.common.events import make_event  # noqa: E402
from services.routing import topology  # noqa: E402
from tests.factories import submitted_event_data  # noqa: E402

ADMINISTRATION = "BENCH"
NOTIFY_QUEUE = "evt-intake-complaint.submitted--notify.on_complaint_submitted"
REPLICAS = (1, 2, 4)
TIMEOUT = 600
# no progress for this long (redeliveries included) means the rest will not come
STALLED_SECONDS = 30


def tracking_number(n: int) -> str:
    return f"BNCH-{n // 100000:04d}-{n % 100000:05d}"


def routed_complaint(n: int) -> dict:
    data = submitted_event_data(tracking_number(n), email=f"citizen{n}@example.ma")
    return {**{key: data[key] for key in ("type", "subject", "description", "region", "language", "complainant")},
            "message_id": str(uuid.uuid4()), "tracking_number": data["tracking_number"],
            "administration_code": ADMINISTRATION, "requested_administration_code": ADMINISTRATION,
            "triage": False, "attachments": [], "submitted_at": data["submitted_at"], "reason": "submitted",
            "reopen_count": None}


def channel_on(amqp_uri: str):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    return connection, connection.channel()


def consumers_of(amqp_uri: str, queue: str) -> int:
    connection, channel = channel_on(amqp_uri)
    try:
        return channel.queue_declare(queue, passive=True).method.consumer_count
    except pika.exceptions.ChannelClosedByBroker:  # not declared yet
        return 0
    finally:
        if connection.is_open:
            connection.close()


def publish_backlog(amqp_uri: str, exchange: str, routing_key: str, bodies) -> None:
    """Persistent messages, confirmed by the broker: the backlog is really waiting."""
    connection, channel = channel_on(amqp_uri)
    channel.confirm_delivery()
    for body in bodies:
        channel.basic_publish(exchange, routing_key, json.dumps(body),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2),
                              mandatory=True)
    connection.close()


def prepare_consumer_queue(amqp_uri: str) -> None:
    """The administration's queue as routing declares it, and a queue for complaint.delivered
    (stats' on the platform): without one, the consumer's mandatory publish comes back and it
    keeps the complaint queued."""
    connection, channel = channel_on(amqp_uri)
    channel.exchange_declare(topology.ROUTED_EXCHANGE, "topic", durable=True)
    channel.exchange_declare(topology.DEAD_LETTER_EXCHANGE, "fanout", durable=True)
    queue = topology.queue_name(ADMINISTRATION)
    channel.queue_declare(queue, durable=True, arguments=topology.queue_arguments())
    channel.queue_bind(queue, topology.ROUTED_EXCHANGE, routing_key=ADMINISTRATION)
    channel.exchange_declare("routing.events", "topic", durable=True)
    channel.queue_declare("bench.complaint-delivered", durable=True)
    channel.queue_bind("bench.complaint-delivered", "routing.events", routing_key="complaint.delivered")
    connection.close()


def start_replicas(command: list[str], count: int, env: dict) -> list[subprocess.Popen]:
    return [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def stop_replicas(replicas: list[subprocess.Popen]) -> None:
    for replica in replicas:
        if replica.poll() is None:
            replica.send_signal(signal.SIGTERM)
    for replica in replicas:
        try:
            replica.wait(timeout=60)
        except subprocess.TimeoutExpired:
            replica.kill()
            replica.wait()


def drain(amqp_uri: str, queue: str, replicas: list[subprocess.Popen], handled, total: int,
          kill_after: int | None = None) -> dict:
    """Wait for every replica to consume `queue`, then until `handled()` reaches `total`
    (killing replicas[0] with SIGKILL once `kill_after` are handled). The rate counts only
    what was handled after all replicas were consuming."""
    deadline = time.monotonic() + TIMEOUT
    while consumers_of(amqp_uri, queue) < len(replicas):
        if any(replica.poll() is not None for replica in replicas) or time.monotonic() > deadline:
            raise SystemExit(f"the replicas did not start consuming {queue}")
        time.sleep(0.05)
    started, already = time.perf_counter(), handled()
    killed, progress = None, (already, time.monotonic())
    while (done := handled()) < total:
        if kill_after is not None and killed is None and done >= kill_after:
            replicas[0].send_signal(signal.SIGKILL)
            replicas[0].wait()
            killed = done
        if done != progress[0]:
            progress = (done, time.monotonic())
        elif time.monotonic() - progress[1] > STALLED_SECONDS:
            break  # something was lost: the checks after the drain say what
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    return {"replicas": len(replicas), "handled": done, "handled_before_all_consumed": already,
            "seconds": elapsed, "per_second": (done - already) / elapsed, "killed_at": killed}


def consumer_run(backlog: int, count: int, kill: bool = False) -> dict:
    vhost = new_vhost()
    amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    inbox = Path(tempfile.mkdtemp(prefix="chikaya-bench-inbox-"))
    env = {**os.environ, "AMQP_URI": amqp_uri, "CHIKAYA_VAR_DIR": str(inbox)}
    replicas = []
    try:
        prepare_consumer_queue(amqp_uri)
        publish_backlog(amqp_uri, topology.ROUTED_EXCHANGE, ADMINISTRATION,
                        (routed_complaint(n) for n in range(backlog)))
        folder = inbox / ADMINISTRATION
        replicas = start_replicas([sys.executable, "-m", "services.routing.consumer", "--administration",
                                   ADMINISTRATION, "--inbox-dir", str(inbox)], count, env)
        figures = drain(amqp_uri, topology.queue_name(ADMINISTRATION), replicas,
                        lambda: len(list(folder.glob("*.json"))) if folder.exists() else 0, backlog,
                        kill_after=backlog // 3 if kill else None)
        time.sleep(2)  # a redelivered complaint would land now
        stop_replicas(replicas)
        files = sorted(path.stem for path in folder.glob("*.json"))
        expected = sorted(tracking_number(n) for n in range(backlog))
        connection, channel = channel_on(amqp_uri)
        left = channel.queue_declare(topology.queue_name(ADMINISTRATION), passive=True).method.message_count
        delivered_events = channel.queue_declare("bench.complaint-delivered", passive=True).method.message_count
        connection.close()
        figures.update(inbox_files=len(files), exactly_once=files == expected, left_in_queue=left,
                       delivered_events=delivered_events, stray_tmp=len(list(folder.glob("*.tmp"))))
        return figures
    finally:
        stop_replicas(replicas)
        delete_vhost(vhost)
        shutil.rmtree(inbox, ignore_errors=True)


def notify_run(backlog: int, count: int, postgres: str, kill: bool = False) -> dict:
    vhost = new_vhost()
    amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    var = Path(tempfile.mkdtemp(prefix="chikaya-bench-"))
    # a short lease: the survivor takes over what the killed replica held within the run
    env = {**os.environ, "AMQP_URI": amqp_uri, "CHIKAYA_VAR_DIR": str(var),
           "NOTIFY_SMS_BACKEND": "outbox", "NOTIFY_EMAIL_BACKEND": "outbox", "NOTIFY_ATTEMPT_LEASE_SECONDS": "10"}
    databases = create_databases(postgres, vhost, env, services=("notify",))
    command = [str(Path(sys.executable).with_name("nameko")), "run", "--config", "services/nameko.yaml",
               "services.notify.service"]
    replicas = []
    try:
        bind_stats_queue(amqp_uri)
        # one notify declares its queues (and migrates its database), then stops: the backlog waits
        first = start_replicas(command, 1, env)
        drain(amqp_uri, NOTIFY_QUEUE, first, lambda: 0, 0)
        stop_replicas(first)
        publish_backlog(amqp_uri, "intake.events", "complaint.submitted",
                        (make_event("complaint.submitted", submitted_event_data(
                            tracking_number(n), email=f"citizen{n}@example.ma")) for n in range(backlog)))
        logs = [var / "outbox" / "sms.jsonl", var / "outbox" / "email.jsonl"]

        def lines(path):
            return path.read_text("utf-8").splitlines() if path.exists() else []

        replicas = start_replicas(command, count, env)
        # messages: an SMS and an e-mail per event
        figures = drain(amqp_uri, NOTIFY_QUEUE, replicas, lambda: sum(len(lines(path)) for path in logs),
                        2 * backlog, kill_after=2 * backlog // 3 if kill else None)
        time.sleep(3)  # a second copy would be written now
        stop_replicas(replicas)
        sms, emails = (Counter(json.loads(line)["tracking_number"] for line in lines(path)) for path in logs)
        figures.update(sms=sum(sms.values()), emails=sum(emails.values()),
                       twice=sum(1 for n in [*sms.values(), *emails.values()] if n > 1),
                       missing=2 * backlog - len(sms) - len(emails),
                       exactly_once=all(len(per_citizen) == backlog and set(per_citizen.values()) == {1}
                                        for per_citizen in (sms, emails)))
        figures.update(_stuck_deliveries(env["NOTIFY_DATABASE_URL"]))
        return figures
    finally:
        stop_replicas(replicas)
        delete_vhost(vhost)
        drop_databases(postgres, databases)
        shutil.rmtree(var, ignore_errors=True)


def _stuck_deliveries(url: str) -> dict:
    """Deliveries left `queued` without a next attempt: what a replica held when it was killed
    (README, "Nothing accepted is lost": never sent twice, looked for by an operator)."""
    import psycopg2
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("select channel, status, count(*) from deliveries group by channel, status")
        return {"deliveries": {f"{channel}:{status}": count for channel, status, count in cursor.fetchall()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=2000, help="backlog for the ministry consumer")
    parser.add_argument("--events", type=int, default=500, help="backlog of complaint.submitted for notify")
    parser.add_argument("--postgres", metavar="URL", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="server for notify's database, which its replicas share")
    parser.add_argument("--only", choices=("consumer", "notify"), help="run one half only")
    args = parser.parse_args()

    results = {"consumer": [], "notify": []}
    print(f"load before: {os.getloadavg()[0]:.2f}  ({datetime.now(timezone.utc):%H:%M:%S} UTC)", flush=True)
    if args.only in (None, "consumer"):
        for count in REPLICAS:
            results["consumer"].append(consumer_run(args.complaints, count))
            print("consumer", json.dumps(results["consumer"][-1]), flush=True)
        results["consumer_killed"] = consumer_run(args.complaints, 2, kill=True)
        print("consumer killed", json.dumps(results["consumer_killed"]), flush=True)
    if args.only in (None, "notify"):
        for count in REPLICAS:
            results["notify"].append(notify_run(args.events, count, args.postgres))
            print("notify", json.dumps(results["notify"][-1]), flush=True)
        results["notify_killed"] = notify_run(args.events, 2, args.postgres, kill=True)
        print("notify killed", json.dumps(results["notify_killed"]), flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}  ({datetime.now(timezone.utc):%H:%M:%S} UTC)\n")

    for name, unit, backlog in (("consumer", "complaints", args.complaints),
                                ("notify", "messages", 2 * args.events)):
        if not results[name]:
            continue
        print(f"{name}: backlog of {backlog} {unit}")
        print(f"{'replicas':>10}{unit + '/s':>14}{'seconds':>10}  exactly once")
        for figures in results[name]:
            print(f"{figures['replicas']:>10}{figures['per_second']:>14.1f}{figures['seconds']:>10.1f}  "
                  f"{figures['exactly_once']}")
        killed = results[f"{name}_killed"]
        print(f"{'2, 1 killed':>10}{killed['per_second']:>14.1f}{killed['seconds']:>10.1f}  "
              f"{killed['exactly_once']}  (SIGKILL after {killed['killed_at']} handled)")
        if name == "notify":
            print(f"{'':>10}after the kill: {killed['sms']} SMS, {killed['emails']} e-mails written; "
                  f"deliveries {killed['deliveries']}")
        print()
    failed = [name for name in ("consumer", "notify") for figures in results[name] + [results.get(f"{name}_killed")]
              if figures and not figures["exactly_once"]]
    if failed:
        raise SystemExit(f"something was lost or handled twice: {sorted(set(failed))}")


if __name__ == "__main__":
    main()
