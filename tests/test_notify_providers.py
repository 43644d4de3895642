"""notify's real providers over the wire: the official twilio client against a local Twilio peer,
smtplib against a local aiosmtpd server (tests/protocol_peers.py), plain, STARTTLS and TLS."""
import socket
from dataclasses import asdict, replace
from datetime import datetime, timedelta, timezone

import pytest
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook

from services.common.events import make_event
from services.notify import domain
from services.notify.providers import PermanentFailure, Providers, TemporaryFailure, make_client
from tests.conftest import free_port
from tests.factories import submitted_event_data

NUMBER = "ABCD-EFGH-JKMN0"
PUBLIC = "https://chikaya.example.ma"


@pytest.fixture(autouse=True)
def public_address(monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.delenv("TWILIO_STATUS_CALLBACK_URL", raising=False)


def submission(language, phone="+212612345678", email="citizen@example.ma"):
    """The SMS and the e-mail that give the tracking number, as notify renders them."""
    sms, email_message = domain.messages_for_submission(make_event("complaint.submitted", submitted_event_data(
        NUMBER, language=language, phone=phone, email=email, full_name="فاطمة الزهراء العمراني")))
    return sms, email_message


def content(part) -> str:
    """A MIME part's decoded text, with the wire's CRLF line ends as the template's LF."""
    return part.get_content().replace("\r\n", "\n").strip()


def unanswering_server():
    """A socket that takes connections (the kernel's backlog) and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    return server


# -- Twilio ----------------------------------------------------------------------------------------

def test_an_arabic_and_a_french_sms_reach_twilio_with_sender_body_and_status_callback(twilio_peer):
    client = make_client("sms", "twilio", twilio_peer.settings)
    arabic, _email = submission("ar")
    french, _email = submission("fr", phone="+33612345678")
    sids = [client.send(arabic), client.send(french)]

    assert [message["sid"] for message in twilio_peer.messages] == sids
    assert all(sid.startswith("SM") for sid in sids)
    assert [(message["To"], message["From"], message["Body"], message["StatusCallback"])
            for message in twilio_peer.messages] == [
        ("+212612345678", twilio_peer.from_number, arabic.body, f"{PUBLIC}/webhooks/twilio/status"),
        ("+33612345678", twilio_peer.from_number, french.body, f"{PUBLIC}/webhooks/twilio/status")]
    assert NUMBER in twilio_peer.messages[0]["Body"] and "رقم" in twilio_peer.messages[0]["Body"]


def test_a_messaging_service_sends_instead_of_one_number_and_the_callback_url_can_be_set(twilio_peer):
    settings = {**twilio_peer.settings, "TWILIO_FROM_NUMBER": "", "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
                "TWILIO_STATUS_CALLBACK_URL": "https://hooks.example.ma/twilio"}
    make_client("sms", "twilio", settings).send(submission("fr")[0])
    [message] = twilio_peer.messages
    assert message["MessagingServiceSid"] == "MG" + "0" * 32 and "From" not in message
    assert message["StatusCallback"] == "https://hooks.example.ma/twilio"


@pytest.mark.parametrize("status", [500, 503, 429])
def test_twilio_failing_or_busy_is_a_temporary_failure_and_the_next_try_goes_through(twilio_peer, status):
    client = make_client("sms", "twilio", twilio_peer.settings)
    sms = submission("ar")[0]
    twilio_peer.fail_next(status, times=3)
    for _attempt in range(3):
        with pytest.raises(TemporaryFailure, match=f"twilio {status}"):
            client.send(sms)
    sid = client.send(sms)
    assert len(twilio_peer.received) == 4
    assert [message["sid"] for message in twilio_peer.messages] == [sid]


def test_an_invalid_number_is_a_permanent_failure_with_twilios_reason(twilio_peer):
    twilio_peer.fail_next(400, code=21211, message="The 'To' number +212600 is not a valid phone number.")
    with pytest.raises(PermanentFailure, match=r"twilio 400 \(error 21211\).*'To' number \+212600 is not a valid"):
        make_client("sms", "twilio", twilio_peer.settings).send(submission("fr")[0])
    assert twilio_peer.messages == []


def test_refused_credentials_wait_for_the_configuration_to_be_fixed(twilio_peer):
    client = make_client("sms", "twilio", {**twilio_peer.settings, "TWILIO_AUTH_TOKEN": "not-the-token"})
    with pytest.raises(TemporaryFailure, match="twilio 401"):
        client.send(submission("fr")[0])
    assert twilio_peer.received == []


def test_twilio_unreachable_or_silent_is_a_temporary_failure(twilio_peer):
    sms = submission("fr")[0]
    closed = make_client("sms", "twilio", {**twilio_peer.settings, "TWILIO_API_URL": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(TemporaryFailure, match="twilio unreachable"):
        closed.send(sms)
    with unanswering_server() as silent:
        port = silent.getsockname()[1]
        hanging = make_client("sms", "twilio", {**twilio_peer.settings, "TWILIO_API_URL": f"http://127.0.0.1:{port}",
                                                "TWILIO_TIMEOUT": "0.5"})
        with pytest.raises(TemporaryFailure, match="twilio unreachable.*(?i:timed out)"):
            hanging.send(sms)


def test_twilio_is_asked_whether_it_already_took_a_message(twilio_peer):
    """What notify asks before sending again a message whose attempt was never answered."""
    client = make_client("sms", "twilio", twilio_peer.settings)
    sms, other = submission("fr")[0], submission("ar")[0]
    since = datetime.now(timezone.utc)
    assert client.find(sms, since) is None
    sid = client.send(sms)
    assert client.find(sms, since) == sid
    assert client.find(other, since) is None  # another text to the same number
    assert client.find(sms, since + timedelta(hours=1)) is None  # the same text, sent before this delivery
    twilio_peer.stop()
    with pytest.raises(TemporaryFailure, match="twilio unreachable"):
        client.find(sms, since)
    twilio_peer.start()


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_the_outbox_finds_the_line_it_wrote_for_a_message(var_dir, channel):
    client = make_client(channel, "outbox", {})
    sms, email = submission("fr")
    message = sms if channel == "sms" else email
    since = datetime.now(timezone.utc)
    assert client.find(message, since) is None
    written = client.send(message)
    assert client.find(message, since) == written
    assert client.find(replace(message, event_id="0" * 32), since) is None


# -- SMTP ------------------------------------------------------------------------------------------

def test_an_arabic_email_arrives_with_its_text_and_html_parts_intact(smtp_peer):
    email = submission("ar")[1]
    message_id = make_client("email", "smtp", smtp_peer.settings).send(email)

    [received] = smtp_peer.received
    assert received.recipients == ["citizen@example.ma"] and received.mail_from == "notifications@chikaya.test"
    message = received.message
    assert message["Message-ID"] == message_id and message_id.endswith("@chikaya.test>")
    assert message["Date"].datetime is not None
    assert (message["From"].addresses[0].display_name, message["From"].addresses[0].addr_spec) == (
        domain.PLATFORM_NAME, "notifications@chikaya.test")
    assert message["To"] == "citizen@example.ma"
    assert message["Subject"] == email.subject and NUMBER in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert content(text) == email.body and "فاطمة الزهراء العمراني" in content(text)
    assert content(html) == email.html.strip() and 'dir="rtl"' in content(html)
    assert f"{PUBLIC}/track?number={NUMBER}" in content(html)
    assert received.raw.isascii()  # encoded for any relay, 8BITMIME or not


def test_an_email_sent_again_keeps_its_message_id_since_a_relay_cannot_be_asked(smtp_peer):
    client = make_client("email", "smtp", smtp_peer.settings)
    email = submission("fr")[1]
    first, again = client.send(email), client.send(email)
    other = client.send(replace(email, event_id="0" * 32))
    assert first == again != other
    assert [received.message["Message-ID"] for received in smtp_peer.received] == [first, first, other]
    assert client.find(email, datetime.now(timezone.utc)) is None


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd counts only STARTTLS
def test_the_relays_certificate_is_checked_and_the_login_used(start_smtp_peer, security):
    peer = start_smtp_peer(security)  # refuses mail before TLS and before AUTH
    email = submission("fr")[1]
    message_id = make_client("email", "smtp", peer.settings).send(email)
    [received] = peer.received
    assert received.message["Message-ID"] == message_id and peer.logins == 1
    assert content(received.message.get_body(("plain",))) == email.body

    untrusted = make_client("email", "smtp", {**peer.settings, "SMTP_CA_FILE": ""})
    with pytest.raises(TemporaryFailure, match="(?i)certificate"):
        untrusted.send(email)
    wrong_password = make_client("email", "smtp", {**peer.settings, "SMTP_PASSWORD": "wrong"})
    with pytest.raises(TemporaryFailure, match="535"):
        wrong_password.send(email)
    assert len(peer.received) == 1


def test_a_relay_that_is_down_is_a_temporary_failure_until_it_is_back(smtp_peer):
    client = make_client("email", "smtp", smtp_peer.settings)
    email = submission("fr")[1]
    smtp_peer.stop()
    with pytest.raises(TemporaryFailure, match="(?i)refused"):
        client.send(email)
    smtp_peer.start()
    client.send(email)
    assert len(smtp_peer.received) == 1


def test_a_relay_that_never_answers_is_a_temporary_failure(smtp_peer):
    with unanswering_server() as silent:
        settings = {**smtp_peer.settings, "SMTP_PORT": str(silent.getsockname()[1]), "SMTP_TIMEOUT": "0.5"}
        with pytest.raises(TemporaryFailure, match="(?i)timed out"):
            make_client("email", "smtp", settings).send(submission("fr")[1])


@pytest.mark.parametrize("command, reply, failure", [
    ("RCPT", "550 5.1.1 <citizen@example.ma>: Recipient address rejected: User unknown", PermanentFailure),
    ("RCPT", "451 4.7.1 Greylisted, try again later", TemporaryFailure),
    ("DATA", "451 4.3.0 Temporary local problem", TemporaryFailure),
    ("DATA", "554 5.7.1 Message rejected as spam", PermanentFailure),
])
def test_the_relays_reply_code_says_whether_to_try_again(smtp_peer, command, reply, failure):
    client = make_client("email", "smtp", smtp_peer.settings)
    email = submission("fr")[1]
    smtp_peer.refuse_next(command, reply)
    with pytest.raises(failure) as refused:
        client.send(email)
    assert str(refused.value) == f"smtp {reply}"
    assert smtp_peer.received == []
    client.send(email)  # the refusal was for that one attempt
    assert len(smtp_peer.received) == 1


# -- configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("channel, backend, settings, named", [
    ("sms", "twilio", {"TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+15005550006"}, "TWILIO_ACCOUNT_SID"),
    ("sms", "twilio", {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_FROM_NUMBER": "+15005550006"}, "TWILIO_AUTH_TOKEN"),
    ("sms", "twilio", {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"},
     "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"),
    ("email", "smtp", {"SMTP_FROM": "no-reply@chikaya.ma"}, "SMTP_HOST"),
    ("email", "smtp", {"SMTP_HOST": "relay"}, "SMTP_FROM"),
    ("email", "smtp", {"SMTP_HOST": "relay", "SMTP_FROM": "no-reply@chikaya.ma", "SMTP_USERNAME": "u"},
     "SMTP_PASSWORD"),
])
def test_a_missing_setting_is_named(channel, backend, settings, named):
    with pytest.raises(ValueError, match=f"NOTIFY_{channel.upper()}_BACKEND={backend} needs {named}"):
        make_client(channel, backend, settings)


@pytest.mark.parametrize("settings, named", [
    ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY='ssl' is not one of"),
    ({"SMTP_PORT": "smtp"}, "SMTP_PORT='smtp' is not a whole number"),
    ({"SMTP_TIMEOUT": "0"}, "SMTP_TIMEOUT must be more than 0"),
    ({"SMTP_FROM": "no-reply"}, "SMTP_FROM='no-reply' is not an e-mail address"),
])
def test_a_malformed_setting_is_named(settings, named):
    with pytest.raises(ValueError, match=named):
        make_client("email", "smtp", {"SMTP_HOST": "relay", "SMTP_FROM": "no-reply@chikaya.ma", **settings})


class ProvidersProbe:
    """A service with notify's Providers dependency and nothing else of notify."""
    name = "providers_probe"
    providers = Providers()

    @rpc
    def send(self, channel, message):
        client = self.providers[channel]
        return client.name, client.send(domain.Message(**message))


def test_the_configuration_picks_twilio_and_smtp(container_factory, rabbit_config, twilio_peer, smtp_peer):
    container = container_factory(ProvidersProbe, {**rabbit_config, **twilio_peer.settings, **smtp_peer.settings})
    container.start()
    sms, email = submission("ar")
    with entrypoint_hook(container, "send") as send:
        sms_provider, sid = send("sms", asdict(sms))
        email_provider, message_id = send("email", asdict(email))
    assert (sms_provider, email_provider) == ("twilio", "smtp")
    assert [message["sid"] for message in twilio_peer.messages] == [sid]
    assert [received.message["Message-ID"] for received in smtp_peer.received] == [message_id]


def test_the_environment_configures_the_backends_too(monkeypatch, container_factory, rabbit_config, twilio_peer):
    for name, value in twilio_peer.settings.items():
        monkeypatch.setenv(name, value)
    container = container_factory(ProvidersProbe, rabbit_config)
    container.start()
    with entrypoint_hook(container, "send") as send:
        assert send("sms", asdict(submission("fr")[0]))[0] == "twilio"
    assert len(twilio_peer.messages) == 1


def test_a_service_missing_a_setting_does_not_start(container_factory, rabbit_config, monkeypatch):
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    container = container_factory(ProvidersProbe, {**rabbit_config, "NOTIFY_SMS_BACKEND": "twilio"})
    with pytest.raises(ValueError, match="NOTIFY_SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID"):
        container.start()

