"""What the gateway tells operators about each request: its latency in a Prometheus histogram,
one log line, and a request id that follows it into the services.

- `chikaya_http_request_duration_seconds{method, route, status}`: `route` is the URL rule
  (`/api/v1/complaints/<tracking_number>`), never the path itself, so neither tracking numbers
  nor download tokens become labels; a request no rule matches counts as `unmatched`.
- The request id is the proxy's `X-Request-ID` when it is a plain token (ingress-nginx makes
  one), else a new one; the response carries it back, every RPC call passes it on
  (gateway.rpc), and every log line of the request names it, or the complaint's tracking number
  once known (services.common.logs).
- The log line says method, route, status and time: no query string (it may hold a citizen's
  e-mail or phone), no client address.  Kubernetes' probes are measured, and logged only at DEBUG.

Under gunicorn the workers' figures are summed by prometheus_client's multiprocess mode and
served by gunicorn's master on METRICS_PORT (gateway/gunicorn_config.py), not on the public port.
"""
import logging
import time

from flask import g, request
from prometheus_client import Histogram

from services.common.logs import bind, bind_tracking_number, new_request_id
from services.intake.domain import normalize_tracking_number

log = logging.getLogger("chikaya.gateway.requests")

REQUEST_SECONDS = Histogram(
    "chikaya_http_request_duration_seconds", "Time the gateway took to answer a request.",
    ["method", "route", "status"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

# the URL variables that hold a complaint's tracking number
TRACKING_ARGUMENTS = ("tracking_number", "number")
# asked every few seconds by Kubernetes
PROBES = ("/healthz", "/readyz")


def init_observability(app) -> None:
    """Registered before every other hook, so that a request refused by one (CSRF, rate limit)
    is measured and logged too."""
    app.before_request(_start)
    app.after_request(_finish)


def _start():
    g.request_started = time.perf_counter()
    g.request_id = new_request_id(request.headers.get("X-Request-ID"))
    typed = next((request.view_args[name] for name in TRACKING_ARGUMENTS
                  if (request.view_args or {}).get(name)), None)
    bind("gateway", g.request_id)
    if typed:
        bind_tracking_number(normalize_tracking_number(typed))


def _finish(response):
    started = g.pop("request_started", None)
    if started is None:  # a hook registered before ours answered: nothing was started
        return response
    elapsed = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(elapsed)
    response.headers["X-Request-ID"] = g.request_id
    log.log(logging.DEBUG if route in PROBES else logging.INFO, "%s %s %s in %.1f ms",
            request.method, route, response.status_code, elapsed * 1000)
    return response
