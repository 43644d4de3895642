"""The whole platform as `make run` starts it (every service, the consumer, gunicorn),
on this run's vhost and PostgreSQL databases: a complaint typed into the web form reaches
the ministry's consumer, the citizen's SMS and e-mail, and the statistics."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_for
from tests.gateway_support import PDF, form_fields

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def platform(amqp_uri, database_url, tmp_path):
    port = free_port()
    var = tmp_path / "var"
    env = {**os.environ, "AMQP_URI": amqp_uri, "PORT": str(port), "CHIKAYA_VAR_DIR": str(var),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "GATEWAY_WORKERS": "1"}
    for service in ("intake", "routing", "notify", "stats"):
        env[f"{service.upper()}_DATABASE_URL"] = database_url(service)
    log = (tmp_path / "platform.log").open("w")
    launcher = subprocess.Popen([sys.executable, "scripts/run_platform.py"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up():
        assert launcher.poll() is None, (tmp_path / "platform.log").read_text()
        try:
            return requests.get(f"{base}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(up, timeout=120, interval=0.5, message="the platform to start")
        yield base, var
    finally:
        launcher.send_signal(signal.SIGINT)  # what Ctrl-C does
        launcher.wait(timeout=30)
        log.close()
    assert launcher.returncode == 0, (tmp_path / "platform.log").read_text()[-3000:]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=1)


def hidden_fields(html: str) -> dict:
    """The hidden fields a browser would send back (CSRF token, client reference)."""
    return dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def test_a_complaint_typed_into_the_form_travels_the_whole_bus(platform):
    base, var = platform
    browser = requests.Session()
    page = browser.get(f"{base}/complaints/new?lang=fr")
    assert page.status_code == 200 and 'dir="ltr"' in page.text
    fields = {**form_fields(**{"complainant.email": "fatima@example.ma"}), **hidden_fields(page.text)}
    receipt = browser.post(f"{base}/complaints/new?lang=fr", data=fields,
                           files=[("attachments", ("attestation.pdf", PDF, "application/pdf"))])
    assert receipt.status_code == 200, receipt.text[:2000]
    tracking = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{5}", receipt.text).group(0)

    # the ministry's consumer handed it to the CNSS inbox
    inbox = var / "inbox" / "CNSS" / f"{tracking}.json"
    wait_for(inbox.exists, timeout=30, message="the complaint in the CNSS inbox")
    delivered = json.loads(inbox.read_text("utf-8"))
    assert delivered["subject"] == fields["subject"]
    assert delivered["attachments"][0]["filename"] == "attestation.pdf"

    # the citizen got the tracking number by SMS and by e-mail (the embedded outbox)
    def sent(channel):
        path = var / "outbox" / f"{channel}.jsonl"
        lines = path.read_text("utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if tracking in line]

    [sms] = wait_for(lambda: sent("sms"), message="the SMS")
    assert sms["to"] == "+212612345678" and tracking in sms["body"]
    [email] = wait_for(lambda: sent("email"), message="the e-mail")
    assert email["to"] == "fatima@example.ma"

    # the citizen follows it: received by the administration, with a dated timeline
    def tracked():
        answer = requests.get(f"{base}/api/v1/complaints/{tracking}",
                              params={"contact": "+212612345678"}, timeout=5).json()
        events = [entry.get("event") for entry in answer["timeline"]]
        return answer["status"] == "received" and events.count("notification_sent") == 2 and answer

    view = wait_for(tracked, timeout=30, message="status received and both messages in the timeline")
    assert [entry.get("status") for entry in view["timeline"] if entry.get("status")] == \
        ["submitted", "routed", "received"]
    assert requests.get(f"{base}/api/v1/complaints/{tracking}",
                        params={"contact": "someone@else.ma"}, timeout=5).status_code == 404

    # the statistics count it
    stats = wait_for(lambda: (lambda s: s["submitted"] == 1 and s)(
        requests.get(f"{base}/api/v1/stats", timeout=5).json()), message="stats")
    assert stats["by_administration"]["CNSS"]["submitted"] == 1
