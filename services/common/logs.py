"""Logs every process writes the same way: one line per record, a JSON object per line with
LOG_FORMAT=json (for a log collector), and in both formats the correlation id of what the
record is about, with no personal data.

The correlation id is the complaint's tracking number (or the prosecution's tracking code)
wherever it is known, else the id of the HTTP request that started the work: the gateway takes
a well-formed `X-Request-ID` or makes one, answers with it, and passes it to the services in
nameko's RPC context data (headers `nameko.request_id`).  Every event names its complaint's
tracking number, so a complaint's lines in the gateway, intake, routing, its ministry's
consumer, notify and stats all carry the same id.

Settings: LOG_FORMAT (`plain`, the default, or `json`) and LOG_LEVEL (INFO).  The nameko services
take them through services/nameko.yaml, the gateway through gateway/gunicorn_config.py, the
ministry consumer through `configure_logging`.

Personal data is kept out at the source (log lines name tracking numbers, never citizens, and
the databases hide SQL parameters from error messages); as a second line, every message and
traceback has e-mail addresses and phone numbers replaced before it is written.
"""
import inspect
import logging
import logging.config
import os
import re
import time
import uuid
from contextvars import ContextVar

from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# one line per RPC call and event handled (LogContext)
log = logging.getLogger("chikaya.entrypoints")

# nameko's RPC context data key (sent as the header `nameko.request_id`)
REQUEST_ID_KEY = "request_id"

# per thread, and per greenthread under eventlet (each nameko worker is a greenthread of its own)
_service = ContextVar("chikaya_service", default=None)
_request_id = ContextVar("chikaya_request_id", default=None)
_tracking_number = ContextVar("chikaya_tracking_number", default=None)
_process_service = None  # the name of a process that runs one thing (gateway, consumer)

# the canonical form of a tracking number or code (K7QM-2ZT9-W4HR8): nothing else, a phone
# number least of all, is taken as one
_CODE_LIKE = re.compile(r"^[0-9A-Z]{3,6}(-[0-9A-Z]{3,6}){1,4}$")
_REQUEST_ID = re.compile(r"^[0-9A-Za-z._-]{8,64}$")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# E.164 (+212612345678, 00212612345678) and Moroccan national numbers (0612345678)
PHONE = re.compile(r"(?<![\w+])(?:\+|00)\d{8,15}\b|\b0[5-8]\d{8}\b")


def redact(text: str) -> str:
    """`text` with e-mail addresses and phone numbers replaced."""
    return PHONE.sub("[phone]", EMAIL.sub("[e-mail]", text))


# --- the correlation id --------------------------------------------------------------------

def new_request_id(offered: str | None = None) -> str:
    """`offered` (a proxy's X-Request-ID) if it is a plain token, else a new id: what comes from
    outside must not be able to forge log lines."""
    if offered and _REQUEST_ID.match(offered):
        return offered
    return uuid.uuid4().hex


def bind(service: str | None = None, request_id: str | None = None,
         tracking_number: str | None = None) -> None:
    """Start a new unit of work (a request, a worker, a message) in this thread or greenthread."""
    _service.set(service)
    _request_id.set(request_id)
    _tracking_number.set(tracking_number)


def bind_tracking_number(tracking_number: str | None) -> None:
    """From now on the work is about this complaint (e.g. once its number is given)."""
    if tracking_number and _CODE_LIKE.match(tracking_number):
        _tracking_number.set(tracking_number)


def current_request_id() -> str | None:
    return _request_id.get()


def correlation_id() -> str | None:
    return _tracking_number.get() or _request_id.get()


def rpc_context() -> dict:
    """What a caller passes along with an RPC call so that the callee's lines carry its request id."""
    request_id = _request_id.get()
    return {REQUEST_ID_KEY: request_id} if request_id else {}


# --- formatting ----------------------------------------------------------------------------

class ContextFilter(logging.Filter):
    """Adds `service`, `correlation_id` and `request_id` to every record, and removes e-mail
    addresses and phone numbers from its message."""

    def filter(self, record):
        record.service = _service.get() or _process_service
        record.request_id = _request_id.get()
        record.correlation_id = correlation_id()
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging reports it when formatting
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class PlainFormatter(logging.Formatter):
    def __init__(self, fmt="%(asctime)s %(service)s %(name)s %(levelname)s [%(correlation_id)s] %(message)s",
                 **kwargs):
        super().__init__(fmt, **kwargs)

    def format(self, record):
        for field in ("service", "correlation_id"):  # a record that missed ContextFilter
            if getattr(record, field, None) is None:
                setattr(record, field, "-")
        return super().format(record)

    def formatException(self, exc_info):
        return redact(super().formatException(exc_info))


class JsonFormatter(_JsonFormatter):
    """{"timestamp" (UTC, ISO 8601), "level", "logger", "message", "service", "correlation_id",
    "request_id", "exc_info"}; fields without a value are left out."""

    def __init__(self, **kwargs):
        super().__init__("%(levelname)s %(name)s %(message)s", timestamp=True,
                         rename_fields={"levelname": "level", "name": "logger"}, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        for key in [key for key, value in log_data.items() if value is None]:
            del log_data[key]

    def formatException(self, exc_info):
        return redact(super().formatException(exc_info))


FORMATTERS = {"plain": PlainFormatter, "json": JsonFormatter}


def log_format() -> str:
    chosen = os.environ.get("LOG_FORMAT", "plain")
    if chosen not in FORMATTERS:
        raise ValueError(f"LOG_FORMAT={chosen!r} is not one of {sorted(FORMATTERS)}")
    return chosen


def logging_config(loggers: dict | None = None) -> dict:
    """A logging.config.dictConfig for LOG_FORMAT and LOG_LEVEL: everything to stderr through
    ContextFilter (services/nameko.yaml says the same for the nameko services)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {name: {"()": formatter} for name, formatter in FORMATTERS.items()},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format(),
                                 "filters": ["context"]}},
        "root": {"level": os.environ.get("LOG_LEVEL", "INFO"), "handlers": ["console"]},
        "loggers": {"alembic": {"level": "WARNING"}, "pika": {"level": "WARNING"}, **(loggers or {})},
    }


def configure_logging(service: str, loggers: dict | None = None) -> None:
    """For a process that is not a nameko service (the ministry consumer): its lines say `service`."""
    global _process_service
    _process_service = service
    logging.config.dictConfig(logging_config(loggers))


def name_process(service: str) -> None:
    """Name the lines of a process whose logging someone else configured (gunicorn's workers)."""
    global _process_service
    _process_service = service


# --- nameko ---------------------------------------------------------------------------------

def outcome(worker_ctx, exc_info) -> str:
    """`ok`; `refused`: an expected exception (bad input, not found, a refused step), the
    service working as it should; `error`: anything else."""
    if exc_info is None:
        return "ok"
    expected = getattr(worker_ctx.entrypoint, "expected_exceptions", None) or ()
    return "refused" if issubclass(exc_info[0], expected) else "error"


_ARGUMENTS = ("tracking_number", "tracking_code")


def event_tracking_number(event) -> str | None:
    """The tracking number (or prosecution tracking code) an event names, as it is written."""
    if not isinstance(event, dict):
        return None
    return next((event[name] for name in _ARGUMENTS if event.get(name)), None)
_signatures = {}


def _signature(service_class, method_name):
    key = (service_class, method_name)
    if key not in _signatures:
        _signatures[key] = inspect.signature(getattr(service_class, method_name))
    return _signatures[key]


class LogContext(DependencyProvider):
    """Binds each worker's lines to its correlation id and logs one line per RPC call and event
    handled (timers only when they fail).

    The tracking number is an argument named `tracking_number` or `tracking_code`, or the
    event's field of that name; `normalize` (the service's own rule) turns what a citizen typed
    into the canonical number, and anything it refuses is not taken.  A service that gives a
    number later (intake's filing) calls `bind_tracking_number`.
    """

    def __init__(self, normalize=None):
        self.normalize = normalize

    def setup(self):
        self._started = {}

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()
        bind(worker_ctx.service_name, worker_ctx.data.get(REQUEST_ID_KEY), self._tracking_number(worker_ctx))

    def _tracking_number(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, EventHandler):
            return self._canonical(event_tracking_number(worker_ctx.args[0] if worker_ctx.args else None))
        try:
            arguments = _signature(type(worker_ctx.service), entrypoint.method_name).bind(
                None, *worker_ctx.args, **worker_ctx.kwargs).arguments
        except TypeError:  # called with the wrong arguments: nameko answers that itself
            return None
        return self._canonical(next((arguments[name] for name in _ARGUMENTS if arguments.get(name)), None))

    def _canonical(self, found):
        """The canonical number of what was found, or None if it is not one."""
        if not isinstance(found, str):
            return None
        if self.normalize is not None:
            return self.normalize(found)
        return found if _CODE_LIKE.match(found) else None

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        result_of = outcome(worker_ctx, exc_info)
        if isinstance(worker_ctx.entrypoint, Timer) and result_of == "ok":
            return  # every second: nothing to say while it works
        level = logging.ERROR if result_of == "error" else logging.INFO
        elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        lot = worker_ctx.args[0] if worker_ctx.args and isinstance(worker_ctx.args[0], list) else None
        if lot is None:
            log.log(level, "%s.%s %s in %.1f ms", worker_ctx.service_name, worker_ctx.entrypoint.method_name,
                    result_of, elapsed)
            return
        # events handled together (services/common/handlers.py): still a line per event, with its id
        for event in lot:
            _tracking_number.set(self._canonical(event_tracking_number(event)))
            log.log(level, "%s.%s %s in %.1f ms, %s events together", worker_ctx.service_name,
                    worker_ctx.entrypoint.method_name, result_of, elapsed, len(lot))

    def worker_teardown(self, worker_ctx):
        self._started.pop(worker_ctx, None)
