"""The gateway's line to the services: a pool of started nameko RPC proxies.

Opening a proxy costs an AMQP connection, a channel and an exclusive reply queue, so a
proxy is opened only when no idle one is free and is handed back after each call; under
gunicorn's threads each thread borrows one at a time (a standalone proxy is not
thread-safe).  `opened` counts every proxy ever started, which is how a test and the
benchmark show that requests reuse them.  Each call carries the request's id in nameko's
context data, so the service's log lines name the same request (services.common.logs).
"""
import logging
import threading
import time
from contextlib import contextmanager

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.logs import rpc_context

log = logging.getLogger(__name__)

# What a dead or unreachable broker looks like from a standalone proxy; a proxy that met
# one of these (or a timeout, after which late replies may still arrive) is not reused.
BROKER_ERRORS = (OSError, AmqpConnectionError, OperationalError)  # socket.timeout is an OSError


class ServiceUnavailable(Exception):
    """The broker could not be reached, so the service could not be asked."""


class RpcPool:
    def __init__(self, amqp_uri: str, timeout: float):
        self.config = {"AMQP_URI": amqp_uri, "SERIALIZER": "json"}
        self.timeout = timeout
        self.opened = 0
        self._idle = []
        self._lock = threading.Lock()

    @property
    def idle(self) -> int:
        return len(self._idle)

    def _open(self):
        # the proxy sends this dict's contents with every call: the borrower fills it
        context = {}
        standalone = ClusterRpcProxy(self.config, timeout=self.timeout, context_data=context)
        try:
            proxy = standalone.start()
        except BROKER_ERRORS as exc:
            raise ServiceUnavailable(str(exc)) from exc
        with self._lock:
            self.opened += 1
        return standalone, proxy, context

    @staticmethod
    def _close(entry):
        standalone, _proxy, _context = entry
        try:
            standalone.stop()
        except Exception:  # it is being dropped because it is broken; nothing more to do
            log.debug("closing a broken RPC proxy failed", exc_info=True)

    @contextmanager
    def proxy(self):
        """Borrow a started cluster proxy: `with pool.proxy() as services: services.intake.track(...)`."""
        with self._lock:
            entry = self._idle.pop() if self._idle else None
        if entry is None:
            entry = self._open()
        entry[2].clear()
        entry[2].update(rpc_context())
        try:
            yield entry[1]
        except RpcTimeout:
            self._close(entry)
            raise
        except BROKER_ERRORS as exc:
            self._close(entry)
            raise ServiceUnavailable(str(exc)) from exc
        except RuntimeError as exc:
            # nameko's "consumer has been disconnected": the reply queue is gone with it
            self._close(entry)
            raise ServiceUnavailable(str(exc)) from exc
        except Exception:
            # a remote error (ValidationFailed, NotFound, ...) leaves the proxy healthy
            self._release(entry)
            raise
        except BaseException:
            # interrupted while a reply may still be on its way: that reply must not reach
            # whoever borrows this proxy next
            self._close(entry)
            raise
        else:
            self._release(entry)

    def _release(self, entry):
        with self._lock:
            self._idle.append(entry)

    def call(self, service: str, method: str, *args, **kwargs):
        with self.proxy() as services:
            return getattr(services[service], method)(*args, **kwargs)

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for entry in idle:
            self._close(entry)


class CachedCall:
    """The answer of an RPC that changes rarely (the administrations directory), kept
    `ttl` seconds.  When a refresh fails, the last answer (if any) is served for another
    `ttl` rather than making every request wait for a service that is down."""

    def __init__(self, pool: RpcPool, service: str, method: str, ttl: float):
        self.pool, self.service, self.method, self.ttl = pool, service, method, ttl
        self._value = None
        self._fetched_at = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            fresh = self._fetched_at is not None and time.monotonic() - self._fetched_at < self.ttl
            if fresh:
                return self._value
            try:
                self._value = self.pool.call(self.service, self.method)
            except (ServiceUnavailable, RpcTimeout, UnknownService):
                if self._fetched_at is None:
                    raise
                log.warning("%s.%s failed; serving the cached answer", self.service, self.method)
            self._fetched_at = time.monotonic()
            return self._value

    def forget(self):
        """Ask again next time (this process only: other workers wait out their `ttl`)."""
        with self._lock:
            self._fetched_at = None
