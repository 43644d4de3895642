"""The providers that carry messages to citizens: one class per provider, chosen by configuration.

Like notifications-api's clients: each class knows one provider's protocol and nothing of
complaints.  `NOTIFY_SMS_BACKEND` and `NOTIFY_EMAIL_BACKEND` pick the class; adding Twilio or
SMTP is one more class here and one more entry in BACKENDS.
"""
import json
import os
import threading
import uuid
from abc import ABC, abstractmethod

from nameko.extensions import DependencyProvider

from services.common import config
from services.common.db import utcnow
from services.notify.domain import Message


class TemporaryFailure(Exception):
    """The provider could not take the message now (down, slow, busy): try again later."""


class PermanentFailure(Exception):
    """The provider refused the message for good (invalid number, mailbox unknown): never retry."""


class Client(ABC):
    name: str  # recorded in deliveries and in notification.sent

    @abstractmethod
    def send(self, message: Message) -> str:
        """Hand the message to the provider; return the provider's id for it.

        Raises TemporaryFailure or PermanentFailure, with the provider's reason as the message.
        """


# One lock for every outbox file of the process: the greenthreads (and containers) of one
# process never interleave lines; O_APPEND keeps whole lines apart across processes.
_append_lock = threading.Lock()


def append_line(path, record: dict) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _append_lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())  # on disk before the delivery is recorded as sent


class OutboxSmsClient(Client):
    """The embedded default: each SMS becomes a line of <outbox>/sms.jsonl."""
    name = "outbox"

    def __init__(self):
        self.path = config.outbox_dir() / "sms.jsonl"

    def send(self, message: Message) -> str:
        provider_id = str(uuid.uuid4())
        append_line(self.path, {
            "id": provider_id, "to": message.recipient, "body": message.body,
            "tracking_number": message.tracking_number, "template": message.template,
            "language": message.language, "event_id": message.event_id,
            "sent_at": utcnow().isoformat()})
        return provider_id


class OutboxEmailClient(Client):
    """The embedded default: each e-mail becomes a line of <outbox>/email.jsonl."""
    name = "outbox"

    def __init__(self):
        self.path = config.outbox_dir() / "email.jsonl"

    def send(self, message: Message) -> str:
        provider_id = str(uuid.uuid4())
        # `body` is the plain text in both files, so a reader can treat them alike
        append_line(self.path, {
            "id": provider_id, "to": message.recipient, "subject": message.subject,
            "body": message.body, "text": message.body, "html": message.html,
            "tracking_number": message.tracking_number, "template": message.template,
            "language": message.language, "event_id": message.event_id,
            "sent_at": utcnow().isoformat()})
        return provider_id


BACKENDS = {
    "sms": {"outbox": OutboxSmsClient},
    "email": {"outbox": OutboxEmailClient},
}


def make_client(channel: str, backend: str) -> Client:
    try:
        return BACKENDS[channel][backend]()
    except KeyError:
        raise ValueError(f"NOTIFY_{channel.upper()}_BACKEND={backend!r} is not one of "
                         f"{sorted(BACKENDS[channel])}") from None


class Providers(DependencyProvider):
    """Gives workers `{channel: client}`, built once from the container config or the environment."""

    def setup(self):
        self.clients = {}
        for channel in BACKENDS:
            setting = f"NOTIFY_{channel.upper()}_BACKEND"
            backend = self.container.config.get(setting) or os.environ.get(setting, "outbox")
            self.clients[channel] = make_client(channel, backend)

    def get_dependency(self, worker_ctx):
        return self.clients
