"""The providers that carry messages to citizens: one class per provider, chosen by configuration.

Like notifications-api's clients: each class knows one provider's protocol and nothing of
complaints.  `NOTIFY_SMS_BACKEND` (outbox | twilio) and `NOTIFY_EMAIL_BACKEND` (outbox | smtp)
pick the class; each class reads its own settings when the service starts and refuses to start,
naming the setting, if one it needs is missing.
"""
import json
import os
import smtplib
import ssl
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

import requests
from nameko.extensions import DependencyProvider
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioRestClient

from services.common import config
from services.common.db import utcnow
from services.notify.domain import PLATFORM_NAME, Message


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

    def find(self, message: Message, since: datetime) -> str | None:
        """The provider's id for `message` if an earlier attempt, made since `since`, handed it
        over without its answer being recorded; None if it did not, or the provider cannot be
        asked (then it is sent again).  Raises TemporaryFailure if the provider does not answer."""
        return None


class Settings:
    """A backend's settings, which say by name what is missing or malformed, so a misconfigured
    service stops at startup rather than at its first message."""

    def __init__(self, backend_setting: str, values: Mapping):
        self.backend_setting = backend_setting  # e.g. "NOTIFY_SMS_BACKEND=twilio", for messages
        self.values = values

    def optional(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        value = str(value).strip() if value is not None else ""
        return value or default

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise ValueError(f"{self.backend_setting} needs {name}, which is not set")
        return value

    def number(self, name: str, default: float, kind=float):
        value = self.optional(name)
        try:
            number = default if value is None else kind(value)
        except ValueError:
            raise ValueError(f"{name}={value!r} is not {'a whole number' if kind is int else 'a number'}") from None
        if number <= 0:
            raise ValueError(f"{name} must be more than 0")
        return number

    def choice(self, name: str, choices: tuple, default: str) -> str:
        value = self.optional(name, default).lower()
        if value not in choices:
            raise ValueError(f"{name}={value!r} is not one of {list(choices)}")
        return value


# One lock for every outbox file of the process: the greenthreads (and containers) of one
# process never interleave lines; O_APPEND keeps whole lines apart across processes.
_append_lock = threading.Lock()


def append_line(path, record: dict) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _append_lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())  # on disk before the delivery is recorded as sent


def find_line(path, message: Message) -> str | None:
    """The id of the line an outbox client wrote for `message`, if it wrote one."""
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if message.event_id not in line:
                continue
            record = json.loads(line)
            if (record["event_id"], record["to"], record["template"]) == (
                    message.event_id, message.recipient, message.template):
                return record["id"]
    return None


class OutboxSmsClient(Client):
    """The embedded default: each SMS becomes a line of <outbox>/sms.jsonl."""
    name = "outbox"

    def __init__(self, settings: Settings | None = None):  # it needs none
        self.path = config.outbox_dir() / "sms.jsonl"

    def send(self, message: Message) -> str:
        provider_id = str(uuid.uuid4())
        append_line(self.path, {
            "id": provider_id, "to": message.recipient, "body": message.body,
            "tracking_number": message.tracking_number, "template": message.template,
            "language": message.language, "event_id": message.event_id,
            "sent_at": utcnow().isoformat()})
        return provider_id

    def find(self, message: Message, since: datetime) -> str | None:
        return find_line(self.path, message)


class OutboxEmailClient(Client):
    """The embedded default: each e-mail becomes a line of <outbox>/email.jsonl."""
    name = "outbox"

    def __init__(self, settings: Settings | None = None):  # it needs none
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

    def find(self, message: Message, since: datetime) -> str | None:
        return find_line(self.path, message)


class LocalTwilioHttpClient(TwilioHttpClient):
    """Sends the requests the twilio client builds for api.twilio.com to another origin
    (TWILIO_API_URL: a local peer in tests).  twilio.rest.Client has no base-URL setting;
    a custom HTTP client is the way Twilio's documentation gives to change where it goes."""

    def __init__(self, api_url: str, timeout: float):
        super().__init__(timeout=timeout)
        self.api_url = api_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        local = self.api_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, local, *args, **kwargs)


class TwilioSmsClient(Client):
    """SMS through Twilio's Messages API; Twilio reports each SMS's fate to the gateway's
    /webhooks/twilio/status (TWILIO_STATUS_CALLBACK_URL), which tells notify."""
    name = "twilio"

    def __init__(self, settings: Settings):
        account_sid = settings.required("TWILIO_ACCOUNT_SID")
        auth_token = settings.required("TWILIO_AUTH_TOKEN")
        # a Messaging Service picks the sender from its pool; otherwise one number sends everything
        service_sid = settings.optional("TWILIO_MESSAGING_SERVICE_SID")
        from_number = settings.optional("TWILIO_FROM_NUMBER")
        if service_sid:
            self.sender = {"messaging_service_sid": service_sid}
        elif from_number:
            self.sender = {"from_": from_number}
        else:
            raise ValueError(f"{settings.backend_setting} needs TWILIO_FROM_NUMBER or "
                             "TWILIO_MESSAGING_SERVICE_SID, and neither is set")
        self.status_callback_url = (settings.optional("TWILIO_STATUS_CALLBACK_URL")
                                    or config.twilio_status_callback_url())
        timeout = settings.number("TWILIO_TIMEOUT", 10.0)
        api_url = settings.optional("TWILIO_API_URL")
        http_client = LocalTwilioHttpClient(api_url, timeout) if api_url else TwilioHttpClient(timeout=timeout)
        self.client = TwilioRestClient(account_sid, auth_token, http_client=http_client)

    def send(self, message: Message) -> str:
        try:
            created = self.client.messages.create(
                to=message.recipient, body=message.body, status_callback=self.status_callback_url,
                **self.sender)
        except TwilioException as exc:
            raise twilio_failure(exc) from exc
        except requests.RequestException as exc:  # refused, reset, timed out: Twilio never answered
            raise TemporaryFailure(f"twilio unreachable: {exc}") from exc
        return created.sid

    # Twilio's clock and ours may differ by this much; an identical text to the same number
    # from further back is an earlier message (the same step of a complaint, a second time)
    CLOCK_SLACK = timedelta(minutes=2)

    def find(self, message: Message, since: datetime) -> str | None:
        """Twilio has no idempotency key, but lists the messages sent to a number, newest
        first: ours is the one with the same text, created since the delivery was recorded."""
        try:
            listed = self.client.messages.list(to=message.recipient, limit=50)
        except TwilioException as exc:
            raise twilio_failure(exc) from exc
        except requests.RequestException as exc:
            raise TemporaryFailure(f"twilio unreachable: {exc}") from exc
        return next((sent.sid for sent in listed if sent.body == message.body
                     and (sent.date_created is None or sent.date_created >= since - self.CLOCK_SLACK)), None)


def twilio_failure(exc: TwilioException) -> Exception:
    """Busy (429) or failing (5xx) is worth another try; a refusal of our credentials (401) is
    too, since it is fixed in the configuration, not in the message; any other 4xx (21211: the
    'To' number is invalid, 21610: the recipient opted out, ...) refuses this message for good."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    detail = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", None) or ""
    reason = f"twilio {status} (error {code}): {detail}" if status else f"twilio: {exc!r}"
    if status is None or status in (401, 429) or status >= 500:
        return TemporaryFailure(reason)
    return PermanentFailure(reason)


SMTP_SECURITY = ("starttls", "tls", "none")
SMTP_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
# Non-ASCII text goes out base64 or quoted-printable, which every relay accepts, 8BITMIME or not.
EMAIL_POLICY = policy.SMTP.clone(cte_type="7bit")


class SmtpEmailClient(Client):
    """E-mail through an SMTP relay: one connection per message (STARTTLS, implicit TLS or
    plain, with a login if SMTP_USERNAME is set)."""
    name = "smtp"

    def __init__(self, settings: Settings):
        self.host = settings.required("SMTP_HOST")
        self.security = settings.choice("SMTP_SECURITY", SMTP_SECURITY, "starttls")
        self.port = settings.number("SMTP_PORT", SMTP_DEFAULT_PORTS[self.security], int)
        sender = settings.required("SMTP_FROM")
        try:
            self.sender = Address(display_name=PLATFORM_NAME, addr_spec=sender)
        except ValueError:
            raise ValueError(f"SMTP_FROM={sender!r} is not an e-mail address") from None
        self.username = settings.optional("SMTP_USERNAME")
        self.password = settings.optional("SMTP_PASSWORD", "")
        if self.username and not self.password:
            raise ValueError(f"{settings.backend_setting} needs SMTP_PASSWORD with SMTP_USERNAME")
        self.timeout = settings.number("SMTP_TIMEOUT", 30.0)
        # the relay's certificate is checked against the system's CAs, plus SMTP_CA_FILE if the
        # relay's CA is a private one
        self.tls = ssl.create_default_context(cafile=settings.optional("SMTP_CA_FILE"))

    def compose(self, message: Message) -> EmailMessage:
        email = EmailMessage(policy=EMAIL_POLICY)
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = message_id(message, self.sender.domain)
        email["Content-Language"] = message.language
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to it
        email.set_content(message.body, charset="utf-8")
        if message.html:
            email.add_alternative(message.html, subtype="html", charset="utf-8")
        return email

    def send(self, message: Message) -> str:
        email = self.compose(message)
        try:
            connection = self._connect()
            try:
                connection.send_message(email)
            finally:
                _close(connection)
        except (smtplib.SMTPException, OSError) as exc:
            raise smtp_failure(exc) from exc
        return email["Message-ID"]

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                connection.starttls(context=self.tls)
            if self.username:
                connection.login(self.username, self.password)
        except BaseException:
            connection.close()
            raise
        return connection


def message_id(message: Message, domain: str) -> str:
    """The same Message-ID on every attempt at one delivery.  An SMTP relay cannot be asked
    what it took, so a message whose attempt died while the relay was taking it is sent again;
    should both copies arrive, they are one message by their Message-ID (RFC 5322 3.6.4), which
    mail clients that drop repeats go by."""
    key = uuid.uuid5(uuid.NAMESPACE_URL, f"{message.event_id}:{message.template}:{message.recipient}")
    return f"<{key}@{domain}>"


def _close(connection: smtplib.SMTP) -> None:
    """QUIT, and never let its failure undo a message the relay already accepted."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def smtp_failure(exc: Exception) -> Exception:
    """A 5xx reply refuses this message for good (550: no such mailbox, 552: too big, ...); a
    4xx reply, a relay down, slow or hanging up, is worth another try.  So is a failure of our
    login or of TLS: it is fixed in the configuration, not in the message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # every recipient refused: ours is the one
        code, reply = next(iter(exc.recipients.values()))
    elif isinstance(exc, smtplib.SMTPResponseException) and not isinstance(
            exc, (smtplib.SMTPAuthenticationError, smtplib.SMTPConnectError)):
        code, reply = exc.smtp_code, exc.smtp_error
    else:
        return TemporaryFailure(f"smtp: {exc!r}")
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    reason = f"smtp {code} {reply}"
    return PermanentFailure(reason) if 500 <= code < 600 else TemporaryFailure(reason)


BACKENDS = {
    "sms": {"outbox": OutboxSmsClient, "twilio": TwilioSmsClient},
    "email": {"outbox": OutboxEmailClient, "smtp": SmtpEmailClient},
}


def make_client(channel: str, backend: str, settings: Mapping | None = None) -> Client:
    """The `backend` client of `channel`, with its settings from `settings` (default: the environment)."""
    try:
        client_class = BACKENDS[channel][backend]
    except KeyError:
        raise ValueError(f"NOTIFY_{channel.upper()}_BACKEND={backend!r} is not one of "
                         f"{sorted(BACKENDS[channel])}") from None
    backend_setting = f"NOTIFY_{channel.upper()}_BACKEND={backend}"
    return client_class(Settings(backend_setting, os.environ if settings is None else settings))


class Providers(DependencyProvider):
    """Gives workers `{channel: client}`, built once from the container config or the environment."""

    def setup(self):
        # a setting in the container config wins over the environment
        settings = {**os.environ, **{name: value for name, value in self.container.config.items()
                                     if isinstance(value, (str, int, float)) and value != ""}}
        self.clients = {}
        for channel in BACKENDS:
            backend = settings.get(f"NOTIFY_{channel.upper()}_BACKEND") or "outbox"
            self.clients[channel] = make_client(channel, backend, settings)

    def get_dependency(self, worker_ctx):
        return self.clients
