"""gunicorn's settings for the gateway, on top of its command line:

    gunicorn --config python:gateway.gunicorn_config --bind 0.0.0.0:8080 gateway.wsgi:app

- Logs go through services.common.logs (LOG_FORMAT=json: one JSON object a line; LOG_LEVEL).
  gunicorn's own access log is off: the gateway logs each request itself, without the query
  string (a tracking lookup carries the citizen's e-mail or phone there) and with its request id.
- Metrics: with METRICS_PORT set, gunicorn's master serves /metrics on that port, the sum of
  every worker's figures.  Each worker writes its figures to files in PROMETHEUS_MULTIPROC_DIR
  (prometheus_client's multiprocess mode; default: var/gateway-metrics), which the master
  empties when it starts and reads when scraped.  The port is not the public one: the Ingress
  never routes to it.
"""
import os
from pathlib import Path

# (a module-level name gunicorn knows, such as `config`, would be read as a setting)
from services.common.config import var_dir
from services.common.logs import logging_config

METRICS_PORT = os.environ.get("METRICS_PORT")
if METRICS_PORT and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # before prometheus_client is imported anywhere: it picks its mode on import
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(var_dir() / "gateway-metrics")
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

logconfig_dict = logging_config({
    "gunicorn.error": {"level": os.environ.get("LOG_LEVEL", "INFO"), "propagate": True},
    "gunicorn.access": {"level": "WARNING", "propagate": True},
})


def on_starting(server):
    """Figures a previous run left would be added to this one's."""
    if MULTIPROC_DIR:
        directory = Path(MULTIPROC_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()


def when_ready(server):
    if METRICS_PORT:
        from prometheus_client import CollectorRegistry, start_http_server
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        start_http_server(int(METRICS_PORT), registry=registry)
        server.log.info("metrics on port %s at /metrics", METRICS_PORT)


def post_worker_init(worker):
    from services.common.logs import name_process
    name_process("gateway")


def child_exit(server, worker):
    if MULTIPROC_DIR:
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
