"""What a nameko service does when the broker goes away under a worker (RabbitMQ restarting).

nameko 2.14 lets a socket error from acking a message, or from sending an RPC's reply, out of
the worker: the container dies with it and `nameko run` exits, so one broker restart at the
wrong moment took a service down for good (the fault suite saw stats die that way).  Here such
an error is logged and let go: the broker has already taken the unacknowledged message back
and delivers it again once the service has reconnected, and every consumer handles a message
once (processed_events; a filing with its client_reference is recognised as filed).

Services declare their RPC entrypoints with `rpc` from here instead of nameko.rpc's.
"""
import logging

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko import rpc as nameko_rpc

log = logging.getLogger(__name__)

# the broker, or the connection to it, gone
BROKER_GONE = (OSError, AMQPError, OperationalError)


class RpcConsumer(nameko_rpc.RpcConsumer):
    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_GONE as exc:
            log.warning("the reply to %s or its ack did not reach the broker; the broker delivers the call "
                        "again: %r", message.delivery_info.get("routing_key"), exc)
            return result, exc_info


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = RpcConsumer()


rpc = Rpc.decorator
