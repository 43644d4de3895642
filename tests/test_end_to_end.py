"""A complaint typed into the web form reaches the ministry's consumer, the citizen's SMS
and e-mail, and the statistics — on the whole platform as `make run` starts it."""
import json
import re

import requests

from tests.conftest import wait_for
from tests.gateway_support import PDF, form_fields
from tests.platform_support import hidden_fields


def test_a_complaint_typed_into_the_form_travels_the_whole_bus(platform):
    base = platform.base
    browser = requests.Session()
    page = browser.get(f"{base}/complaints/new?lang=fr")
    assert page.status_code == 200 and 'dir="ltr"' in page.text
    fields = {**form_fields(**{"complainant.email": "fatima@example.ma"}), **hidden_fields(page.text)}
    receipt = browser.post(f"{base}/complaints/new?lang=fr", data=fields,
                           files=[("attachments", ("attestation.pdf", PDF, "application/pdf"))])
    assert receipt.status_code == 200, receipt.text[:2000]
    tracking = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{5}", receipt.text).group(0)

    # the ministry's consumer handed it to the CNSS inbox
    inbox = platform.inbox_file("CNSS", tracking)
    wait_for(inbox.exists, timeout=30, message="the complaint in the CNSS inbox")
    delivered = json.loads(inbox.read_text("utf-8"))
    assert delivered["subject"] == fields["subject"]
    assert delivered["attachments"][0]["filename"] == "attestation.pdf"

    # the citizen got the tracking number by SMS and by e-mail (the embedded outbox)
    [sms] = wait_for(lambda: platform.sent("sms", tracking), message="the SMS")
    assert sms["to"] == "+212612345678" and tracking in sms["body"]
    [email] = wait_for(lambda: platform.sent("email", tracking), message="the e-mail")
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
