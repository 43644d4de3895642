"""The agent JSON API (/api/v1/agent) against the real intake and routing services: an
administration's system reads and answers its complaints with its API token, and nothing else."""
import io

from tests.backoffice_support import add_token, deliver, file_complaint, status_of, wait_for_status
from tests.gateway_support import PDF
from tests.helpers import rows


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_no_valid_token_no_access(office):
    token = add_token(office)
    client = office.test_client()
    for headers in ({}, {"Authorization": "Basic YWdlbnQ6cGFzcw=="}, bearer("chk_not-a-token"),
                    bearer(token[:-1]), {"Authorization": token}):
        response = client.get("/api/v1/agent/complaints?lang=fr", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
        assert "Authorization: Bearer" in response.get_json()["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/api/v1/agent/complaints/AAAA-AAAA-AAAAA/acknowledge").status_code == 401
    assert client.get("/api/v1/agent/complaints", headers=bearer(token)).status_code == 200


def test_the_inbox_and_a_complaint_of_the_tokens_administration(office, intake, rabbit_config):
    token = add_token(office, "CNSS", name="GED de la CNSS")
    ours = file_complaint(office, subject="Pension non versée depuis mars",
                          attachments=[(io.BytesIO(PDF), "relevé.pdf")])
    late = file_complaint(office, subject="Remboursement de soins en attente")
    theirs = file_complaint(office, administration_code="ONEE")
    for number in (ours, late, theirs):
        wait_for_status(intake, number, "routed")
    deliver(intake, rabbit_config, late, days_ago=61)
    client = office.test_client()

    listed = client.get("/api/v1/agent/complaints", headers=bearer(token)).get_json()["complaints"]
    assert [item["tracking_number"] for item in listed] == [late, ours]
    assert listed[0]["overdue"] is True and listed[1]["deadline_at"] is None
    overdue = client.get("/api/v1/agent/complaints?overdue=true", headers=bearer(token)).get_json()
    assert [item["tracking_number"] for item in overdue["complaints"]] == [late]
    found = client.get("/api/v1/agent/complaints?subject=pension&status=routed", headers=bearer(token)).get_json()
    assert [item["tracking_number"] for item in found["complaints"]] == [ours]

    view = client.get(f"/api/v1/agent/complaints/{ours}", headers=bearer(token)).get_json()
    assert view["complainant"]["id_number"] == "BK123456"
    [attachment] = view["attachments"]
    download = client.get(f"/api/v1/agent/complaints/{ours}/attachments/{attachment['id']}", headers=bearer(token))
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # the system is named in the access log after its token
    log = rows(intake.db_url, "select actor_name, actor_role, action from access_log order by id")
    assert [tuple(entry.values()) for entry in log] == [("GED de la CNSS", "agent", "view"),
                                                        ("GED de la CNSS", "agent", "attachment")]


def test_another_administrations_complaint_and_files_are_404(office, intake):
    cnss = add_token(office, "CNSS")
    theirs = file_complaint(office, administration_code="ONEE", attachments=[(io.BytesIO(PDF), "facture.pdf")])
    wait_for_status(intake, theirs, "routed")
    attachment_id = rows(intake.db_url, "select id from attachments")[0]["id"]
    client = office.test_client()
    for response in (
            client.get(f"/api/v1/agent/complaints/{theirs}?lang=fr", headers=bearer(cnss)),
            client.get(f"/api/v1/agent/complaints/{theirs}/attachments/{attachment_id}", headers=bearer(cnss)),
            client.post(f"/api/v1/agent/complaints/{theirs}/acknowledge", headers=bearer(cnss)),
            client.post(f"/api/v1/agent/complaints/{theirs}/notes", json={"text": "Vu"}, headers=bearer(cnss)),
            client.get("/api/v1/agent/complaints/AAAA-AAAA-AAAAA", headers=bearer(cnss))):
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"
    assert status_of(intake, theirs) == "routed"
    assert rows(intake.db_url, "select id from access_log") == []
    onee = add_token(office, "ONEE")
    assert client.get(f"/api/v1/agent/complaints/{theirs}", headers=bearer(onee)).status_code == 200


def test_every_action_through_the_api(office, intake, rabbit_config):
    token = add_token(office, "CNSS")
    number = file_complaint(office)
    wait_for_status(intake, number, "routed")
    deliver(intake, rabbit_config, number)
    client = office.test_client()
    base = f"/api/v1/agent/complaints/{number}"

    row = client.post(f"{base}/acknowledge", headers=bearer(token)).get_json()
    assert row["status"] == "in_progress" and row["days_left"] == 60
    assert client.post(f"{base}/notes", json={"text": "Vu avec le service des pensions."},
                       headers=bearer(token)).status_code == 201
    asked = client.post(f"{base}/request-information", json={"message": "Votre relevé de carrière, svp."},
                        headers=bearer(token))
    assert asked.get_json()["status"] == "information_requested" and asked.get_json()["paused"] is True

    refused = client.post(f"{base}/answer?lang=fr", json={"text": "Réglé."}, headers=bearer(token))
    assert refused.status_code == 409
    assert refused.get_json() == {"error": "transition_refused", "reason": "not_allowed_in_status",
                                  "message": "Cette action n’est pas possible à ce stade de la demande.",
                                  "fields": {}}
    with office.app_context():
        office.extensions["complaint_desk"].add_message(number, "0612345678", "Voici le relevé.", [])

    invalid = client.post(f"{base}/answer?lang=fr", json={"text": ""}, headers=bearer(token))
    assert invalid.status_code == 400
    assert invalid.get_json()["fields"] == {"text": ["Ce champ est obligatoire."]}
    too_long = client.post(f"{base}/answer?lang=fr", json={"text": "x" * 10001}, headers=bearer(token))
    assert too_long.status_code == 400 and too_long.get_json()["fields"]["text"]
    answered = client.post(f"{base}/answer", headers=bearer(token), data={
        "text": "Votre pension sera versée le 5.", "attachments": [(io.BytesIO(PDF), "décision.pdf")]})
    assert answered.status_code == 200 and answered.get_json()["status"] == "answered"
    view = client.get(base, headers=bearer(token)).get_json()
    assert view["answer"]["text"] == "Votre pension sera versée le 5."
    assert [item["filename"] for item in view["answer"]["attachments"]] == ["décision.pdf"]
    assert [note["text"] for note in view["notes"]] == ["Vu avec le service des pensions."]

    closed = client.post(f"{base}/close", json={"reason": "resolved"}, headers=bearer(token))
    assert closed.get_json()["status"] == "closed"
    again = client.post(f"{base}/close", json={"reason": "resolved"}, headers=bearer(token))
    assert again.status_code == 409


def test_transfer_through_the_api(office, intake):
    cnss, onee = add_token(office, "CNSS"), add_token(office, "ONEE")
    number = file_complaint(office)
    wait_for_status(intake, number, "routed")
    client = office.test_client()
    base = f"/api/v1/agent/complaints/{number}"
    unknown = client.post(f"{base}/transfer?lang=fr", json={"to_administration_code": "NOWHERE", "reason": "?"},
                          headers=bearer(cnss))
    assert unknown.status_code == 400
    assert unknown.get_json()["fields"] == {"to_administration_code": ["Veuillez choisir l’une des options proposées."]}
    itself = client.post(f"{base}/transfer", json={"to_administration_code": "CNSS", "reason": "Chez nous."},
                         headers=bearer(cnss))
    assert itself.status_code == 409 and itself.get_json()["reason"] == "same_administration"
    moved = client.post(f"{base}/transfer", data={"to_administration_code": "ONEE", "reason": "Facture d'électricité."},
                        headers=bearer(cnss))
    assert moved.status_code == 200 and moved.get_json()["administration_code"] == "ONEE"
    assert client.get(base, headers=bearer(cnss)).status_code == 404
    assert client.get(base, headers=bearer(onee)).status_code == 200


def test_the_api_needs_no_csrf_token_and_refuses_a_body_it_cannot_read(make_office, intake):
    app = make_office(WTF_CSRF_ENABLED=True)
    token = add_token(app, "CNSS")
    number = file_complaint(app)
    wait_for_status(intake, number, "routed")
    client = app.test_client()
    base = f"/api/v1/agent/complaints/{number}"
    assert client.post(f"{base}/acknowledge", headers=bearer(token)).status_code == 200
    unreadable = client.post(f"{base}/notes", data="text=hello", content_type="text/plain", headers=bearer(token))
    assert unreadable.status_code == 400 and unreadable.get_json()["error"] == "invalid_body"
    listing = client.post(f"{base}/notes", json=["not", "an", "object"], headers=bearer(token))
    assert listing.status_code == 400
