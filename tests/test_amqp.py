"""A service keeps running when the broker drops its connection under a worker (RabbitMQ
restarting): acking the message, or sending an RPC's reply, fails with a socket error, which
nameko 2.14 would let kill the container (services/common/amqp.py).  The fault suite restarts
a real broker; here the moment it lands in is made certain: the message's connection is reset."""
from types import SimpleNamespace

from services.common.amqp import RpcConsumer
from services.common.handlers import ReliableEventHandler
from services.stats.service import StatsService


def reset_connection(*_args, **_kwargs):
    raise ConnectionResetError(104, "Connection reset by peer")


def message_on_a_reset_connection() -> SimpleNamespace:
    """A message its consumer took before the broker went away: its connection still looks
    open, and the socket under it is reset."""
    return SimpleNamespace(
        channel=SimpleNamespace(connection=object()), ack=reset_connection, requeue=reset_connection,
        payload={"event_id": "6f1c1c1e-5f7a-4c56-9d0e-0c6a3f2b9a10"},
        delivery_info={"routing_key": "stats.totals"},
        properties={"content_type": "application/json", "reply_to": "rpc.reply-gone", "correlation_id": "1"},
        headers={})


def test_an_event_that_cannot_be_acked_leaves_the_service_running(start_service):
    stats = start_service(StatsService)
    handler = next(entrypoint for entrypoint in stats.entrypoints if isinstance(entrypoint, ReliableEventHandler))
    handler.handle_message_processed(message_on_a_reset_connection())  # handled, then the ack fails
    handler.handle_message_processed(message_on_a_reset_connection(), exc_info=(ValueError, ValueError(), None))
    assert stats.started and not stats._died.ready()


def test_an_rpc_whose_ack_fails_leaves_the_service_running(start_service):
    stats = start_service(StatsService)
    consumer = next(extension for extension in stats.shared_extensions.values() if isinstance(extension, RpcConsumer))
    assert consumer.handle_result(message_on_a_reset_connection(), {"submitted": 0}, None) == ({"submitted": 0}, None)
    assert stats.started and not stats._died.ready()
