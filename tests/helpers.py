"""What tests use to look at the bus and the databases from outside the services."""
import amqp.exceptions
from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, text


def rows(url, sql, **params):
    """The rows of a query on a service's database, as dicts."""
    engine = create_engine(url)
    with engine.connect() as connection:
        result = connection.execute(text(sql), params).mappings().all()
    engine.dispose()
    return result


def execute(url, sql, **params) -> None:
    """One statement on a service's database, committed."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(sql), params)
    engine.dispose()


def listen(amqp_uri, exchange_name, routing_key):
    """A durable queue of the test's own, bound like a consumer's would be."""
    exchange = Exchange(exchange_name, type="topic", durable=True)
    queue = Queue(f"test-{routing_key}", exchange=exchange, routing_key=routing_key)
    with Connection(amqp_uri) as connection:
        queue(connection.default_channel).declare()
    return queue


def take(amqp_uri, queue_name, raw=False):
    """The next message of a queue (decoded, unless `raw`), or None when it is empty or was
    never declared (routing declares an administration's queue on first use)."""
    with Connection(amqp_uri) as connection:
        try:
            message = Queue(queue_name, no_declare=True)(connection.default_channel).get(no_ack=True)
        except amqp.exceptions.NotFound:
            return None
    return message if raw or message is None else message.decode()
