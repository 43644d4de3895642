"""Local servers that speak the external providers' protocols, so notify's clients are tested
over the wire, never against a mock: an SMTP server (aiosmtpd) and Twilio's Messages REST API
(a threaded stdlib HTTP server).  Both run inside the test process: under `nameko test` their
threads are eventlet greenthreads, and aiosmtpd's asyncio loop waits through eventlet's green
selectors, so they serve while the test (or a nameko container) waits on its own sockets.

Fixtures (conftest.py registers this module as a plugin):
- `smtp_peer`: plain SMTP; `start_smtp_peer("starttls" | "tls")`: the same behind STARTTLS or
  implicit TLS with a certificate made for the run (`tls_certificate`), AUTH required.
- `twilio_peer`: POST /2010-04-01/Accounts/<sid>/Messages.json.
Each peer's `settings` is the config (or environment) that points notify's client at it.
Both can hold their answer (`answer_delay`) after taking a message, as a provider whose answer
is lost on the way does: `holding` counts the messages taken and not answered yet.
"""
import asyncio
import base64
import datetime
import json
import secrets
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twilio.request_validator import RequestValidator

from tests.conftest import free_port

HOST = "127.0.0.1"
SENDER = "notifications@chikaya.test"


# -- SMTP ------------------------------------------------------------------------------------------

@dataclass
class ReceivedEmail:
    mail_from: str
    recipients: list
    message: EmailMessage  # parsed with the modern policy: get_body(), get_content() decode it
    raw: bytes


@dataclass
class TlsCertificate:
    """A self-signed certificate for 127.0.0.1 and localhost; `cert_file` is also the CA file
    a client trusts it with."""
    cert_file: str
    key_file: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


class SmtpHandler:
    """aiosmtpd's handler: records what it accepts; answers the scripted refusals first."""

    def __init__(self, peer):
        self.peer = peer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.peer.next_refusal("RCPT")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        refusal = self.peer.next_refusal("DATA")
        if refusal:
            return refusal
        self.peer.received.append(ReceivedEmail(
            mail_from=envelope.mail_from, recipients=list(envelope.rcpt_tos),
            message=BytesParser(policy=policy.default).parsebytes(envelope.content),
            raw=envelope.content))
        if self.peer.answer_delay:  # taken: from here on a relay delivers it, answered or not
            self.peer.holding += 1
            try:
                await asyncio.sleep(self.peer.answer_delay)
            finally:
                self.peer.holding -= 1
        return "250 2.0.0 Message accepted for delivery"


class SmtpPeer:
    """An SMTP server on a port of its own that keeps every message it accepted (`received`).

    `stop()` and `start()` take it down and bring it back on the same port; `refuse_next("RCPT"
    or "DATA", "550 5.1.1 No such mailbox", times=N)` makes it answer the next N of that command
    with that reply.  With `security` starttls or tls it also requires AUTH with `username` and
    `password`, and counts the logins it accepted (`logins`)."""

    def __init__(self, security: str = "none", certificate: TlsCertificate | None = None):
        self.security = security
        self.certificate = certificate
        self.port = free_port()
        self.received: list[ReceivedEmail] = []
        self.logins = 0
        self.answer_delay = 0.0  # seconds between taking a message and saying so
        self.holding = 0
        self.username, self.password = "chikaya", secrets.token_urlsafe(12)
        self._refusals = {"RCPT": deque(), "DATA": deque()}
        self._lock = threading.Lock()
        self._controller = None

    def refuse_next(self, command: str, reply: str, times: int = 1) -> None:
        with self._lock:
            self._refusals[command].extend([reply] * times)

    def next_refusal(self, command: str) -> str | None:
        with self._lock:
            return self._refusals[command].popleft() if self._refusals[command] else None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        accepted = (isinstance(auth_data, LoginPassword) and auth_data.login == self.username.encode()
                    and auth_data.password == self.password.encode())
        if accepted:
            self.logins += 1
        return AuthResult(success=accepted, handled=False)  # not handled: aiosmtpd answers 535

    def start(self) -> None:
        options = {}
        if self.security == "starttls":
            options = {"tls_context": self.certificate.server_context(), "require_starttls": True}
        elif self.security == "tls":
            # aiosmtpd counts only STARTTLS as encryption: with TLS from the first byte, AUTH is safe
            options = {"ssl_context": self.certificate.server_context(), "auth_require_tls": False}
        if self.security != "none":
            options.update(authenticator=self._authenticate, auth_required=True)
        self._controller = Controller(SmtpHandler(self), hostname=HOST, port=self.port,
                                      server_hostname="smtp.chikaya.test", **options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def settings(self) -> dict:
        settings = {"NOTIFY_EMAIL_BACKEND": "smtp", "SMTP_HOST": HOST, "SMTP_PORT": str(self.port),
                    "SMTP_SECURITY": self.security, "SMTP_FROM": SENDER, "SMTP_TIMEOUT": "5"}
        if self.security != "none":
            settings.update(SMTP_USERNAME=self.username, SMTP_PASSWORD=self.password,
                            SMTP_CA_FILE=self.certificate.cert_file)
        return settings


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory) -> TlsCertificate:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chikaya test peer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(IPv4Address(HOST))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "peer.crt", folder / "peer.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return TlsCertificate(str(cert_file), str(key_file))


@pytest.fixture
def start_smtp_peer(tls_certificate):
    """`start_smtp_peer("none" | "starttls" | "tls")`: a started SmtpPeer, stopped after the test."""
    peers = []

    def start(security: str = "none") -> SmtpPeer:
        peer = SmtpPeer(security, tls_certificate)
        peer.start()
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.stop()


@pytest.fixture
def smtp_peer(start_smtp_peer) -> SmtpPeer:
    return start_smtp_peer("none")


# -- Twilio ----------------------------------------------------------------------------------------

# What Twilio answers for a status when a test gives no code of its own.
TWILIO_ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


@dataclass
class TwilioAnswer:
    status: int
    code: int | None = None
    message: str | None = None


@dataclass
class TwilioPeer:
    """Twilio's Messages API for one account (`account_sid`, `auth_token`).

    Every POST it got with the right credentials is in `received` (its form, one value per
    field); the messages it accepted (201, with their `sid`) are in `messages`.
    `fail_next(500, times=3)` or `fail_next(400, code=21211, message=...)` makes it answer the next
    requests with Twilio's error JSON before accepting again."""
    account_sid: str = field(default_factory=lambda: "AC" + uuid.uuid4().hex)
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    from_number: str = "+15005550006"
    received: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    answer_delay: float = 0.0  # seconds between creating a message and answering the request
    holding: int = 0

    def __post_init__(self):
        self._resources = []
        self._answers = deque()
        self._lock = threading.Lock()
        self.port = free_port()
        self._server = None
        self.url = f"http://{HOST}:{self.port}"

    def fail_next(self, status: int, code: int | None = None, message: str | None = None, times: int = 1):
        default_code, default_message = TWILIO_ERRORS.get(status, (status, "Error"))
        with self._lock:
            self._answers.extend([TwilioAnswer(status, code or default_code, message or default_message)] * times)

    def next_answer(self) -> TwilioAnswer:
        with self._lock:
            return self._answers.popleft() if self._answers else TwilioAnswer(201)

    def authorized(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return secrets.compare_digest(header, f"Basic {expected}")

    def accept(self, form: dict) -> dict:
        """The message resource Twilio answers a create with."""
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.datetime.now(datetime.timezone.utc))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        resource = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form.get("Body"),
            "date_created": now, "date_updated": now, "date_sent": None, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "USD", "sid": sid,
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"}, "to": form.get("To"), "uri": f"{uri}.json"}
        self.messages.append({**form, "sid": sid})
        self._resources.insert(0, resource)
        return resource

    def listed(self, query: dict) -> dict:
        """GET Messages.json: the account's messages, newest first, filtered by `To` if given
        (one page: enough for the few a test sends to one number)."""
        found = [resource for resource in self._resources if query.get("To") in (None, resource["to"])]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return {"messages": found, "end": max(0, len(found) - 1), "first_page_uri": uri, "next_page_uri": None,
                "page": 0, "page_size": len(found), "previous_page_uri": None, "start": 0, "uri": uri}

    def status_callback(self, sid: str, status: str, error_code: str | None = None) -> tuple[str, dict, dict]:
        """What Twilio would POST to the message's StatusCallback: (url, form, headers), signed
        with this account's token as Twilio signs it."""
        message = next(message for message in self.messages if message["sid"] == sid)
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "MessageStatus": status,
                "SmsStatus": status, "To": message["To"], "From": message.get("From", self.from_number),
                "ApiVersion": "2010-04-01"}
        if error_code:
            form["ErrorCode"] = error_code
        url = message["StatusCallback"]
        signature = RequestValidator(self.auth_token).compute_signature(url, form)
        return url, form, {"X-Twilio-Signature": signature}

    def start(self):
        """Serve (again, after `stop()`: on the same port, with what it already took)."""
        self._server = ThreadingHTTPServer((HOST, self.port), _twilio_handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    @property
    def settings(self) -> dict:
        return {"NOTIFY_SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": self.account_sid,
                "TWILIO_AUTH_TOKEN": self.auth_token, "TWILIO_FROM_NUMBER": self.from_number,
                "TWILIO_API_URL": self.url, "TWILIO_TIMEOUT": "5"}


def _twilio_handler(peer: TwilioPeer):
    class TwilioHandler(BaseHTTPRequestHandler):
        def do_POST(self):
            prefix, suffix = f"/2010-04-01/Accounts/{peer.account_sid}/", "/Messages.json"
            if not self.headers.get("Authorization") or not peer.authorized(self.headers["Authorization"]):
                return self._error(TwilioAnswer(401, *TWILIO_ERRORS[401]))
            if self.path != prefix.rstrip("/") + suffix:
                return self._error(TwilioAnswer(404, *TWILIO_ERRORS[404]))
            length = int(self.headers.get("Content-Length", 0))
            form = {name: values[0] for name, values in
                    parse_qs(self.rfile.read(length).decode("utf-8"), keep_blank_values=True).items()}
            peer.received.append(form)
            answer = peer.next_answer()
            if answer.status != 201:
                return self._error(answer)
            resource = peer.accept(form)
            if peer.answer_delay:
                peer.holding += 1
                try:
                    time.sleep(peer.answer_delay)
                finally:
                    peer.holding -= 1
            self._json(201, resource)

        def do_GET(self):
            parts = urlsplit(self.path)
            if not self.headers.get("Authorization") or not peer.authorized(self.headers["Authorization"]):
                return self._error(TwilioAnswer(401, *TWILIO_ERRORS[401]))
            if parts.path != f"/2010-04-01/Accounts/{peer.account_sid}/Messages.json":
                return self._error(TwilioAnswer(404, *TWILIO_ERRORS[404]))
            self._json(200, peer.listed({name: values[0] for name, values in parse_qs(parts.query).items()}))

        def _error(self, answer: TwilioAnswer):
            self._json(answer.status, {"code": answer.code, "message": answer.message, "status": answer.status,
                                       "more_info": f"https://www.twilio.com/docs/errors/{answer.code}"})

        def _json(self, status: int, body: dict):
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client is gone: what it sent was taken all the same

        def log_message(self, format, *args):  # the test output is not the place for an access log
            pass

    return TwilioHandler


@pytest.fixture
def twilio_peer() -> TwilioPeer:
    peer = TwilioPeer()
    peer.start()
    yield peer
    peer.stop()
