"""What the broker and the database cost at the least per message and per transaction on this
machine, without any of our code: the floor under the platform's CPU per complaint.

- RabbitMQ: `--messages` persistent messages, each published with a publisher confirm (as the
  outboxes and nameko's dispatchers publish), to a durable queue, then consumed with manual acks
  (prefetch 10): the broker's CPU (beam.smp, from /proc) per message that goes through.
- PostgreSQL: `--transactions` transactions of the smallest shape a consumer of the platform
  commits (a processed-event row inserted with ON CONFLICT DO NOTHING, one row updated, the
  commit) over one psycopg2 connection: the server's CPU (its postgres processes) per transaction.

Then the floor for one complaint: `--hops` messages (the pipeline's, README "Performance") and
`--per-complaint-transactions` transactions (what bench/submit_complaints.py prints), against
the CPU a complaint may take for the goal (658,175 complaints in 30 minutes on the machine's
cores).

    .venv/bin/python bench/broker_floor.py [--messages 5000] [--transactions 5000] [--postgres URL]
"""
import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

import pika
import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.submit_complaints import SERVERS, delete_vhost, new_vhost, server_cpu_seconds  # noqa: E402

GOAL_COMPLAINTS, GOAL_SECONDS = 658_175, 30 * 60
# one complaint through the pipeline: the filing RPC's request and reply; complaint.submitted to
# routing, notify and stats; the routed complaint to its ministry's queue; complaint.routed to
# intake and stats; complaint.delivered to intake and stats; notification.sent (SMS, e-mail) to
# intake: 8 publishes and 12 deliveries, counted as one message-hop per delivery (the 2 RPC
# messages, 3 + 1 + 2 + 2 + 2 events)
PIPELINE_HOPS = 12
PAYLOAD = json.dumps({"event_id": str(uuid.uuid4()), "tracking_number": "ABCD-EFGH-JKMN0",
                      "administration_code": "CNSS", "occurred_at": "2026-12-05T10:00:00+00:00",
                      "version": 1, "description": "x" * 600}).encode()


def server_cpu(name: str, before: dict, after: dict) -> float:
    """CPU seconds the server `name` spent between two server_cpu_seconds readings."""
    return sum(seconds - before[pid][1] for pid, (server, seconds) in after.items()
               if server == name and pid in before)


def broker_per_message(amqp_url: str, count: int) -> dict:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    queue = "floor"
    channel.queue_declare(queue, durable=True)
    before, started = server_cpu_seconds(), time.perf_counter()
    for _ in range(count):
        channel.basic_publish("", queue, PAYLOAD, pika.BasicProperties(delivery_mode=2,
                                                                      content_type="application/json"),
                              mandatory=True)
    published = time.perf_counter()
    channel.basic_qos(prefetch_count=10)
    consumed = 0
    for method, _properties, _body in channel.consume(queue, inactivity_timeout=30):
        if method is None:
            raise SystemExit("the broker stopped delivering")
        channel.basic_ack(method.delivery_tag)
        consumed += 1
        if consumed == count:
            break
    channel.cancel()
    finished, after = time.perf_counter(), server_cpu_seconds()
    connection.close()
    return {"messages": count, "cpu_ms": server_cpu("RabbitMQ", before, after) * 1000 / count,
            "published_per_second": count / (published - started),
            "consumed_per_second": count / (finished - published)}


def database_per_transaction(server_url: str, count: int) -> dict:
    connection = psycopg2.connect(server_url)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE floor_processed (consumer text, event_id text,"
                       " processed_at timestamptz, PRIMARY KEY (consumer, event_id))")
        cursor.execute("CREATE TEMP TABLE floor_facts (tracking_number text PRIMARY KEY, status text)")
        cursor.execute("INSERT INTO floor_facts VALUES ('ABCD-EFGH-JKMN0', 'submitted')")
    connection.commit()
    before, started = server_cpu_seconds(), time.perf_counter()
    for _ in range(count):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO floor_processed VALUES ('floor.on_event', %s, now())"
                           " ON CONFLICT DO NOTHING", (str(uuid.uuid4()),))
            cursor.execute("UPDATE floor_facts SET status = 'routed' WHERE tracking_number = 'ABCD-EFGH-JKMN0'")
        connection.commit()
    finished, after = time.perf_counter(), server_cpu_seconds()
    connection.close()
    return {"transactions": count, "cpu_ms": server_cpu("PostgreSQL", before, after) * 1000 / count,
            "per_second": count / (finished - started)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--transactions", type=int, default=5000)
    parser.add_argument("--hops", type=int, default=PIPELINE_HOPS)
    parser.add_argument("--per-complaint-transactions", type=float, default=15.0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if not set(SERVERS.values()) <= {name for name, _seconds in server_cpu_seconds().values()}:
        raise SystemExit("PostgreSQL and RabbitMQ must run on this machine (their CPU is read from /proc)")

    vhost = new_vhost()
    try:
        broker = broker_per_message(f"amqp://guest:guest@127.0.0.1:5672/{vhost}", args.messages)
    finally:
        delete_vhost(vhost)
    database = database_per_transaction(args.postgres, args.transactions)

    cores = os.cpu_count()
    budget = cores * 1000 * GOAL_SECONDS / GOAL_COMPLAINTS
    floor = args.hops * broker["cpu_ms"] + args.per_complaint_transactions * database["cpu_ms"]
    print(f"\nRabbitMQ: {broker['messages']} persistent messages, each confirmed, then consumed and acked: "
          f"{broker['cpu_ms']:.3f} ms of the broker's CPU per message "
          f"({broker['published_per_second']:.0f} published/s one confirm at a time, "
          f"{broker['consumed_per_second']:.0f} consumed/s)")
    print(f"PostgreSQL: {database['transactions']} transactions (insert on conflict, update, commit): "
          f"{database['cpu_ms']:.3f} ms of the server's CPU per transaction ({database['per_second']:.0f}/s "
          f"over one connection)")
    print(f"floor for one complaint ({args.hops} messages, {args.per_complaint_transactions:g} transactions): "
          f"{floor:.1f} ms of CPU before any of our code runs; the goal allows {budget:.1f} ms on "
          f"{cores} cores ({GOAL_COMPLAINTS} complaints in {GOAL_SECONDS // 60} minutes), so the broker and "
          f"the database alone would carry at most {cores * 1000 / floor:.0f} complaints/s "
          f"(the goal: {GOAL_COMPLAINTS / GOAL_SECONDS:.0f}/s)")
    print(json.dumps({"broker": broker, "database": database, "floor_ms_per_complaint": floor,
                      "budget_ms_per_complaint": budget}))


if __name__ == "__main__":
    main()
