"""The operator's command for parked messages: what failed, why, and sending it again once the
cause is fixed.

    python -m services.common.dead_letters list
    python -m services.common.dead_letters replay --all
    python -m services.common.dead_letters replay --event-id 0b7d… [--queue dead-letters.notify]

Two kinds of dead letters: an event a service's handler failed on every try
(`dead-letters.<service>`, parked by services/common/handlers.py with the handler and the
error in its headers), and a routed complaint a ministry consumer could not read
(`complaints.dead-letters`, dead-lettered by RabbitMQ with an `x-death` header). A replay sends
the message to the one queue it failed in, not to every consumer of the event, and takes it
off the dead-letter queue only once the broker confirmed the new copy.  Listing prints no
personal data: the event, its id, the tracking number and the error.
"""
import argparse
import json
import sys
from dataclasses import dataclass

from kombu import Connection, Queue

from services.common import config
from services.common.handlers import dead_letter_queue_name
from services.routing import topology

SERVICES = ("intake", "routing", "notify", "stats", "prosecution")
# The headers a parking adds; the rest (nameko's context) goes back with the message.
PARKING_HEADERS = ("x-original-exchange", "x-original-routing-key", "x-consumer", "x-error", "x-death",
                   "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason")


def dead_letter_queues() -> list[str]:
    return [dead_letter_queue_name(service) for service in SERVICES] + [topology.DEAD_LETTER_QUEUE]


@dataclass
class DeadLetter:
    queue: str  # where it is parked
    target: str  # the queue it failed in, where a replay sends it
    what: str  # the event, or "routed complaint"
    event_id: str
    tracking_number: str
    error: str
    message: object  # kombu's, to ack once replayed

    def describe(self) -> str:
        return (f"{self.queue}\t{self.what}\t{self.event_id}\t{self.tracking_number}\t→ {self.target}\t"
                f"{self.error}")


def _read(queue: str, message) -> DeadLetter:
    headers = message.headers or {}
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        body = {}
    body = body if isinstance(body, dict) else {}
    if "x-consumer" in headers:  # parked by a service's event handler
        source = str(headers.get("x-original-exchange", "")).removesuffix(".events")
        event = headers.get("x-original-routing-key", "")
        return DeadLetter(queue, f"evt-{source}-{event}--{headers['x-consumer']}", event,
                          str(body.get("event_id", "?")), str(body.get("tracking_number", "?")),
                          str(headers.get("x-error", "")), message)
    deaths = headers.get("x-death") or [{}]
    return DeadLetter(queue, str(deaths[0].get("queue", "?")), "routed complaint",
                      str(body.get("message_id", "?")), str(body.get("tracking_number", "?")),
                      str(deaths[0].get("reason", "")), message)


def fetch(channel, queue: str) -> list[DeadLetter]:
    """Every message of `queue`, unacked: they go back to the queue when the channel closes,
    unless replayed."""
    letters, bound = [], Queue(queue, channel=channel, no_declare=True)
    while (message := bound.get(no_ack=False)) is not None:
        letters.append(_read(queue, message))
    return letters


def replay(connection, letter: DeadLetter) -> None:
    headers = {key: value for key, value in (letter.message.headers or {}).items() if key not in PARKING_HEADERS}
    producer = connection.Producer()
    producer.publish(letter.message.body, exchange="", routing_key=letter.target, headers=headers,
                     content_type=letter.message.content_type or "application/json",
                     content_encoding=letter.message.content_encoding or "utf-8",
                     delivery_mode="persistent", mandatory=True, retry=True)
    letter.message.ack()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    lister = commands.add_parser("list", help="print every parked message (tab-separated)")
    replayer = commands.add_parser("replay", help="send parked messages back to the queue they failed in")
    for command in (lister, replayer):
        command.add_argument("--queue", choices=dead_letter_queues(), help="only this dead-letter queue")
    chosen = replayer.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--all", action="store_true")
    chosen.add_argument("--event-id", help="the event id (or a routed complaint's message id) to replay")
    args = parser.parse_args(argv)

    queues = [args.queue] if args.queue else dead_letter_queues()
    # publisher confirms: a replayed message is acked off the dead letters only once it is safe
    with Connection(config.amqp_uri(), transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        existing = []
        for queue in queues:
            try:
                channel.queue_declare(queue, passive=True)
                existing.append(queue)
            except Exception:  # not declared yet: that service never parked anything
                channel = connection.channel()
        letters = [letter for queue in existing for letter in fetch(channel, queue)]
        if args.command == "list":
            for letter in letters:
                print(letter.describe())
            print(f"{len(letters)} dead letters", file=sys.stderr)
            return 0
        chosen_letters = [letter for letter in letters if args.all or letter.event_id == args.event_id]
        for letter in chosen_letters:
            replay(connection, letter)
            print(f"replayed {letter.what} {letter.event_id} to {letter.target}")
        print(f"{len(chosen_letters)} replayed, {len(letters) - len(chosen_letters)} left", file=sys.stderr)
        channel.close()  # what was not replayed goes back to its queue
    return 0 if chosen_letters else 1


if __name__ == "__main__":
    sys.exit(main())
