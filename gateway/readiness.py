"""Whether this gateway process can reach the broker now: what `/readyz` answers, so that
Kubernetes sends citizens only to gateways that can file their complaints.

Each check opens and closes a channel on one connection kept per process: a round trip the
broker must answer, far cheaper than a connection (or an RPC proxy with its reply queue)
per check, and bounded by `timeout` so a broker that stopped answering fails the check
rather than holding a gunicorn thread.
"""
import logging
import threading

from kombu import Connection

log = logging.getLogger(__name__)


class BrokerCheck:
    def __init__(self, amqp_uri: str, timeout: float = 2.0):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self._connection = None
        self._lock = threading.Lock()

    def _connect(self) -> Connection:
        connection = Connection(self.amqp_uri, connect_timeout=self.timeout,
                                transport_options={"read_timeout": self.timeout,
                                                   "write_timeout": self.timeout})
        connection.connect()
        return connection

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # it is being dropped because it is broken
                log.debug("closing the readiness connection failed", exc_info=True)
            self._connection = None

    def __call__(self) -> bool:
        """True if the broker answered; a kept connection that went stale (the broker
        restarted, a proxy dropped it) is replaced once before answering False."""
        with self._lock:
            for _attempt in range(2):
                try:
                    if self._connection is None:
                        self._connection = self._connect()
                    self._connection.channel().close()
                    return True
                except Exception as exc:  # any failure to reach or talk to the broker: not ready
                    log.warning("broker check failed: %r", exc)
                    self._drop()
            return False

    def close(self) -> None:
        with self._lock:
            self._drop()
