"""What notify needs of routing's directory: the administrations' names, for the messages that
name one (a transfer), kept a while; and their contacts, for the messages about deadlines."""
import logging
import time

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from nameko.rpc import RpcProxy

log = logging.getLogger(__name__)

CACHE_SECONDS = 300
# After any question, the next waits this long, so a stopped routing (or a code it does not
# know) costs one question per period and not one per message.
ASK_AGAIN_AFTER_SECONDS = 30
ANSWER_TIMEOUT_SECONDS = 5


class DirectoryUnavailable(Exception):
    """Routing did not answer in time: the event is retried later rather than its message lost."""


class Lookup:
    """One worker's view of the directory."""

    def __init__(self, directory, routing):
        self.directory, self.routing = directory, routing

    def name(self, code, language):
        return self.directory.name(self.routing, code, language)

    def contacts(self, code):
        return self.directory.contacts(self.routing, code)


class AdministrationDirectory(RpcProxy):
    """Gives workers a Lookup: `name(code, language)` is the administration's name in that
    language, or None when routing cannot say (not running, slow, or no such code), for the
    message to use a general wording instead of holding the citizen's notification back;
    `contacts(code)` is where to write to the administration about its deadlines ({} when the
    directory has none), asked afresh each time since those messages are few."""

    def __init__(self):
        super().__init__("routing")
        self._names = {}
        self._fetched_at = None
        self._asked_at = None

    def get_dependency(self, worker_ctx):
        return Lookup(self, super().get_dependency(worker_ctx))

    def contacts(self, routing, code):
        try:
            with eventlet.Timeout(ANSWER_TIMEOUT_SECONDS):
                return routing.administration_contacts().get(code, {})
        except (UnknownService, RemoteError, eventlet.Timeout) as exc:
            raise DirectoryUnavailable(f"routing.administration_contacts failed: {exc!r}") from None

    def name(self, routing, code, language):
        if self._should_ask(code):
            self._ask(routing)
        entry = self._names.get(code)
        return entry[f"name_{language}"] if entry else None

    def _should_ask(self, code):
        now = time.monotonic()
        if self._asked_at is not None and now - self._asked_at < ASK_AGAIN_AFTER_SECONDS:
            return False
        stale = self._fetched_at is None or now - self._fetched_at > CACHE_SECONDS
        return stale or code not in self._names  # a new administration since the last answer

    def _ask(self, routing):
        self._asked_at = time.monotonic()
        try:
            with eventlet.Timeout(ANSWER_TIMEOUT_SECONDS):
                entries = routing.list_administrations()
        except (UnknownService, RemoteError, eventlet.Timeout) as exc:
            log.warning("routing.list_administrations failed (%r); messages name no administration", exc)
            return
        self._names = {entry["code"]: entry for entry in entries}
        self._fetched_at = self._asked_at
