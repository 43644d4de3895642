"""A heartbeat file whose modification time says when a process last proved it was alive and
connected to the broker; Kubernetes' exec probes read its age (`services.common.probe`).

A file rather than an HTTP port: the nameko services and the ministry consumers serve no
HTTP, and a file costs no socket, no thread and no extra dependency.  Unset (the embedded
default, the tests), nothing is written.
"""
import logging
import os
import time
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)


class HeartbeatFile:
    """Sets the file's modification time; at most once per `every` seconds, so a busy
    consumer loop does not turn into a stream of writes."""

    def __init__(self, path, every: float = 1.0):
        self.path = Path(path)
        self.every = every
        self._written_at = None

    def beat(self, alive_at: float | None = None) -> None:
        """Record that the process was alive at `alive_at` (a Unix time, default now)."""
        now = time.monotonic()
        if self._written_at is not None and now - self._written_at < self.every:
            return
        alive_at = time.time() if alive_at is None else alive_at
        self.path.touch(exist_ok=True)
        os.utime(self.path, (alive_at, alive_at))
        self._written_at = now


class Liveness(DependencyProvider):
    """Beats `LIVENESS_FILE` (container config, then environment) each time the container's
    queue consumer turns its loop on a live broker connection: at least once a second while
    it consumes, never while it is disconnected or its hub is stuck.

    nameko offers no hook for that loop, so the shared QueueConsumer's `on_iteration` (the
    kombu ConsumerMixin callback nameko uses to cancel consumers) is wrapped, keeping what it did.
    """

    def setup(self):
        path = self.container.config.get("LIVENESS_FILE") or os.environ.get("LIVENESS_FILE")
        if not path:
            return
        queue_consumer = self.container.shared_extensions.get(QueueConsumer)
        if queue_consumer is None:
            log.warning("LIVENESS_FILE is set but %s consumes no queue: nothing to watch",
                        self.container.service_name)
            return
        heartbeat = HeartbeatFile(path)
        turn_loop = queue_consumer.on_iteration

        def on_iteration():
            heartbeat.beat()
            turn_loop()

        queue_consumer.on_iteration = on_iteration
