"""Prometheus metrics: a process that has METRICS_PORT set serves its registry on that port
at /metrics (one server per process, however many services it runs)."""
import os
import threading

from nameko.extensions import DependencyProvider
from prometheus_client import start_http_server

_server_lock = threading.Lock()
_serving_on = None


class MetricsServer(DependencyProvider):
    def setup(self):
        global _serving_on
        port = self.container.config.get("METRICS_PORT") or os.environ.get("METRICS_PORT")
        if not port:
            return
        with _server_lock:
            if _serving_on is None:
                start_http_server(int(port))
                _serving_on = int(port)
