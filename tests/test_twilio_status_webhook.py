"""Twilio's status callbacks through the gateway: an SMS notify sent through the local Twilio peer
(tests/protocol_peers.py) is marked delivered or failed by the callback Twilio signs, and by
nothing else.  The gateway runs with CSRF on, as in production."""
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from twilio.request_validator import RequestValidator

from gateway.app import create_app
from services.common.events import make_event
from tests.factories import submitted_event_data
from tests.helpers import rows

NUMBER = "ABCD-EFGH-JKMN0"
PUBLIC = "https://chikaya.example.ma"
CALLBACK_PATH = "/webhooks/twilio/status"


@pytest.fixture
def public_address(monkeypatch):
    """The address citizens and Twilio use, which is not the one the gateway sees behind its proxy."""
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.delenv("TWILIO_STATUS_CALLBACK_URL", raising=False)


@pytest.fixture
def notify(public_address, start_service, var_dir, twilio_peer):
    from services.notify.service import NotifyService
    return start_service(NotifyService, **twilio_peer.settings)


@pytest.fixture
def make_gateway(public_address, rabbit_config, var_dir):
    apps = []

    def make(**overrides):
        app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True,
                          "SECRET_KEY": "test-only-secret", **overrides})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["complaint_desk"].pool.close()


def sent_sms(notify, rabbit_config, twilio_peer):
    """notify sends a complaint's tracking-number SMS through the Twilio peer: its delivery row."""
    with entrypoint_waiter(notify, "on_complaint_submitted"):
        event_dispatcher(rabbit_config)("intake", "complaint.submitted",
                                        make_event("complaint.submitted", submitted_event_data(NUMBER)))
    [delivery] = rows(notify.db_url, "select * from deliveries")
    [message] = twilio_peer.messages
    assert (delivery["status"], delivery["provider"], delivery["provider_id"]) == ("sent", "twilio", message["sid"])
    assert message["StatusCallback"] == PUBLIC + CALLBACK_PATH
    return delivery


def delivery_status(notify):
    [delivery] = rows(notify.db_url, "select status, error from deliveries")
    return delivery["status"], delivery["error"]


def test_a_signed_callback_marks_the_sms_delivered(notify, rabbit_config, twilio_peer, make_gateway):
    gateway = make_gateway(TWILIO_AUTH_TOKEN=twilio_peer.auth_token)
    delivery = sent_sms(notify, rabbit_config, twilio_peer)
    url, form, headers = twilio_peer.status_callback(delivery["provider_id"], "delivered")
    assert url == PUBLIC + CALLBACK_PATH

    answer = gateway.post(CALLBACK_PATH, data=form, headers=headers)
    assert answer.status_code == 204
    assert delivery_status(notify) == ("delivered", None)


def test_a_signed_undelivered_callback_records_twilios_error(notify, rabbit_config, twilio_peer, make_gateway):
    gateway = make_gateway(TWILIO_AUTH_TOKEN=twilio_peer.auth_token)
    delivery = sent_sms(notify, rabbit_config, twilio_peer)
    _url, form, headers = twilio_peer.status_callback(delivery["provider_id"], "undelivered", error_code="30003")
    assert gateway.post(CALLBACK_PATH, data=form, headers=headers).status_code == 204
    status, error = delivery_status(notify)
    assert status == "failed" and "undelivered" in error and "30003" in error


def test_a_callback_not_signed_by_twilio_changes_nothing(notify, rabbit_config, twilio_peer, make_gateway):
    gateway = make_gateway(TWILIO_AUTH_TOKEN=twilio_peer.auth_token)
    delivery = sent_sms(notify, rabbit_config, twilio_peer)
    url, form, headers = twilio_peer.status_callback(delivery["provider_id"], "undelivered", error_code="30003")

    forged = {
        "no signature": {},
        "another token": {"X-Twilio-Signature": RequestValidator("guessed").compute_signature(url, form)},
        # signed for the address the gateway sees, not the one Twilio was given
        "another address": {"X-Twilio-Signature": RequestValidator(twilio_peer.auth_token).compute_signature(
            "http://localhost" + CALLBACK_PATH, form)},
    }
    for name, forged_headers in forged.items():
        assert gateway.post(CALLBACK_PATH, data=form, headers=forged_headers).status_code == 403, name
    tampered = {**form, "ErrorCode": "30005"}  # the form changed after Twilio signed it
    assert gateway.post(CALLBACK_PATH, data=tampered, headers=headers).status_code == 403
    assert delivery_status(notify) == ("sent", None)

    assert gateway.post(CALLBACK_PATH, data=form, headers=headers).status_code == 204  # the real one
    assert delivery_status(notify)[0] == "failed"


def test_without_a_token_the_gateway_refuses_every_callback(public_address, make_gateway):
    gateway = make_gateway(TWILIO_AUTH_TOKEN="")
    form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    signed_with_nothing = RequestValidator("").compute_signature(PUBLIC + CALLBACK_PATH, form)
    answer = gateway.post(CALLBACK_PATH, data=form, headers={"X-Twilio-Signature": signed_with_nothing})
    assert answer.status_code == 403


def test_a_signed_callback_without_a_message_is_a_bad_request(twilio_peer, make_gateway):
    gateway = make_gateway(TWILIO_AUTH_TOKEN=twilio_peer.auth_token)
    form = {"AccountSid": twilio_peer.account_sid, "MessageStatus": "delivered"}
    signature = RequestValidator(twilio_peer.auth_token).compute_signature(PUBLIC + CALLBACK_PATH, form)
    assert gateway.post(CALLBACK_PATH, data=form, headers={"X-Twilio-Signature": signature}).status_code == 400


def test_the_callback_address_can_be_set_apart_from_the_public_address(twilio_peer, make_gateway, monkeypatch):
    monkeypatch.setenv("TWILIO_STATUS_CALLBACK_URL", "https://hooks.chikaya.ma/twilio/status")
    gateway = make_gateway(TWILIO_AUTH_TOKEN=twilio_peer.auth_token)
    form = {"AccountSid": twilio_peer.account_sid, "MessageStatus": "delivered"}
    for url, expected in ((PUBLIC + CALLBACK_PATH, 403), ("https://hooks.chikaya.ma/twilio/status", 400)):
        signature = RequestValidator(twilio_peer.auth_token).compute_signature(url, form)
        assert gateway.post(CALLBACK_PATH, data=form, headers={"X-Twilio-Signature": signature}).status_code == expected
