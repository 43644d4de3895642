"""The per-administration queues: one topic exchange keyed by administration code, one
durable quorum queue per administration, so complaints wait safely until its consumer runs.

Routing declares a queue before it first sends there; the consumer declares the same queue
with the same arguments (a mismatch would make RabbitMQ refuse the declaration).
"""
ROUTED_EXCHANGE = "complaints.routed"
DEAD_LETTER_EXCHANGE = "complaints.dead-letters"
DEAD_LETTER_QUEUE = "complaints.dead-letters"


def queue_name(administration_code: str) -> str:
    return f"administration.{administration_code}"


def queue_arguments() -> dict:
    return {"x-queue-type": "quorum", "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}
