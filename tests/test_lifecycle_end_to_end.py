"""A complaint's life on the whole platform as `make run` starts it: an agent answers through
the back office, the citizen is told, rates 2/5 and reopens; the complaint is back in the same
administration's queue with a new deadline and the statistics count the reopening; a transfer
lands on the other administration's consumer; an agent of another administration sees nothing."""
import json
from datetime import datetime

import requests

from tests.conftest import wait_for
from tests.factories import valid_submission
from tests.gateway_support import PDF
from tests.platform_support import hidden_fields

PASSWORD = "Agent-Password-2026!"
CONTACT = "+212612345678"


def file(platform, **overrides) -> str:
    submission = valid_submission(email="citizen@example.ma", **overrides)
    fields = {key: value for key, value in submission.items() if key != "complainant"}
    fields.update({f"complainant.{key}": value for key, value in submission["complainant"].items()})
    answer = requests.post(f"{platform.base}/api/v1/complaints", data=fields, timeout=30,
                           files=[("attachments", ("piece.pdf", PDF, "application/pdf"))])
    assert answer.status_code == 201, answer.text
    return answer.json()["tracking_number"]


def track(platform, number) -> dict:
    return requests.get(f"{platform.base}/api/v1/complaints/{number}", params={"contact": CONTACT},
                        timeout=10).json()


def agent_session(platform, username, administration) -> requests.Session:
    platform.command("gateway.accounts", "create", "--username", username, "--full-name", "Agent de test",
                     "--role", "agent", "--administration", administration, "--password", PASSWORD,
                     "--keep-password")
    browser = requests.Session()
    login = browser.get(f"{platform.base}/backoffice/login", timeout=10)
    signed = browser.post(f"{platform.base}/backoffice/login", timeout=10, allow_redirects=False,
                          data={**hidden_fields(login.text), "username": username, "password": PASSWORD})
    assert signed.status_code == 302, signed.text[:1000]
    return browser


def act(platform, browser, number, action, **fields):
    page = browser.get(f"{platform.base}/backoffice/complaints/{number}", timeout=10)
    assert page.status_code == 200
    done = browser.post(f"{platform.base}/backoffice/complaints/{number}/{action}", timeout=30,
                        allow_redirects=False, data={"csrf_token": hidden_fields(page.text)["csrf_token"], **fields})
    assert done.status_code == 302, done.text[:2000]


def test_answer_rate_reopen_transfer_and_scope(platform):
    base = platform.base
    number = file(platform)
    wait_for(lambda: track(platform, number)["status"] == "received", timeout=30, message="received")
    first_deadline = datetime.fromisoformat(track(platform, number)["deadline_at"])

    cnss = agent_session(platform, "agent.cnss", "CNSS")
    act(platform, cnss, number, "acknowledge")
    act(platform, cnss, number, "answer", **{"answer.text": "Votre pension sera versée le 5 du mois."})
    wait_for(lambda: platform.sent("sms", number, "complaint_answered"), message="the answer's SMS")
    # notify settles the SMS, then sends the e-mail
    wait_for(lambda: platform.sent("email", number, "complaint_answered"), message="the answer's e-mail")

    rated = requests.post(f"{base}/api/v1/complaints/{number}/rating", timeout=10,
                          json={"contact": CONTACT, "score": 2, "comment": "Réponse vague"})
    assert rated.status_code == 200, rated.text
    reopened = requests.post(f"{base}/api/v1/complaints/{number}/reopening", timeout=10,
                             json={"contact": CONTACT, "reason": "La pension n'est toujours pas versée."})
    assert reopened.status_code == 200, reopened.text

    # back in the same administration's queue, delivered again by its consumer, new deadline
    def delivered_again():
        message = json.loads(platform.inbox_file("CNSS", number).read_text("utf-8"))
        return message.get("reason") == "reopened" and message
    assert wait_for(delivered_again, timeout=30, message="the reopened complaint in CNSS's inbox")["reopen_count"] == 1
    view = wait_for(lambda: (lambda v: v["status"] == "received" and v)(track(platform, number)),
                    message="received again")
    assert view["reopen_count"] == 1
    assert datetime.fromisoformat(view["deadline_at"]) > first_deadline
    wait_for(lambda: platform.sent("sms", number, "complaint_reopened"), message="the reopening's SMS")

    stats = wait_for(lambda: (lambda s: s["reopened"]["complaints"] == 1 and s)(
        requests.get(f"{base}/api/v1/stats", timeout=10).json()), message="stats count the reopening")
    assert stats["ratings"]["count"] == 1

    # a transfer lands on the other administration's consumer, and the citizen is told
    second = file(platform, subject="Coupure d'électricité répétée")
    wait_for(lambda: track(platform, second)["status"] == "received", timeout=30, message="received")
    act(platform, cnss, second, "transfer", **{"transfer.to_administration_code": "ONEE",
                                               "transfer.reason": "Relève de l'ONEE"})
    wait_for(platform.inbox_file("ONEE", second).exists, timeout=30, message="the complaint in ONEE's inbox")
    wait_for(lambda: platform.sent("sms", second, "complaint_transferred"), message="the transfer's SMS")

    # an agent of ONEE sees neither CNSS's complaint nor its attachment; CNSS's agent no longer sees ONEE's
    onee = agent_session(platform, "agent.onee", "ONEE")
    assert onee.get(f"{base}/backoffice/complaints/{number}", timeout=10).status_code == 404
    assert onee.get(f"{base}/backoffice/complaints/{second}", timeout=10).status_code == 200
    assert cnss.get(f"{base}/backoffice/complaints/{second}", timeout=10).status_code == 404
    token = platform.command("gateway.accounts", "token", "--administration", "ONEE", "--name", "ONEE GED").strip()
    attachment_id = track(platform, number)["attachments"][0]["id"]
    refused = requests.get(f"{base}/api/v1/agent/complaints/{number}/attachments/{attachment_id}",
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert refused.status_code == 404
