"""The administrations' names, for the messages that name one (a transfer): routing owns the
directory, notify asks it over RPC and keeps the answer a while."""
import functools
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


class AdministrationNames(RpcProxy):
    """Gives workers `name(code, language)`: the administration's name in that language, or
    None when routing cannot say (not running, slow, or no such code), for the message to use
    a general wording instead of holding the citizen's notification back."""

    def __init__(self):
        super().__init__("routing")
        self._names = {}
        self._fetched_at = None
        self._asked_at = None

    def get_dependency(self, worker_ctx):
        return functools.partial(self.name, super().get_dependency(worker_ctx))

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
