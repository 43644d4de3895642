"""Attachments leave the gateway only through short-lived sealed links, to the complaint's
citizen or an agent of its administration, as downloads no browser would run; on the local
directory and on an S3-compatible server (moto) through the minio client."""
import base64
import hashlib
import time
import uuid
from urllib.parse import quote

import pytest
from flask import Flask
from minio import Minio

from gateway.app import create_app
from gateway.downloads import PURPOSE, agent_link, content_disposition, safe_content_type
from gateway.sealing import Expired, Invalid, seal, unseal
from services.common.blobs import blob_store, new_attachment_key
from tests.factories import valid_submission
from tests.gateway_support import PDF, PNG, multipart

PHONE = "0612345678"
CNSS_AGENT = {"id": "agent-1", "name": "Nadia Bennani", "role": "agent", "administration_code": "CNSS"}
ONEE_AGENT = {"id": "agent-2", "name": "Karim Alaoui", "role": "agent", "administration_code": "ONEE"}


def file_with(client, *files, phone=PHONE) -> tuple[str, list[dict]]:
    """A complaint filed with these (content, name) files: its number and attachment receipts."""
    response = client.post("/api/v1/complaints", data=multipart(valid_submission(phone=phone), files=files))
    assert response.status_code == 201
    number = response.json["tracking_number"]
    return number, client.get(f"/api/v1/complaints/{number}?contact={phone}").json["attachments"]


def link_for(client, number: str, attachment_id: int, contact=PHONE):
    return client.get(f"/api/v1/complaints/{number}/attachments/{attachment_id}?contact={contact}&lang=fr")


def test_the_citizen_gets_a_short_lived_link_that_downloads_the_file(app, client):
    number, [receipt] = file_with(client, (PDF, "شكاية مارس.pdf"))
    response = link_for(client, number, receipt["id"])
    assert response.status_code == 302
    link = response.headers["Location"]
    assert response.json == {"url": link, "expires_in": 300} and link.startswith("/files/")
    # the contact travels sealed: neither in the link nor readable once its base64 is decoded
    token = link.removeprefix("/files/")
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"612345678" not in decoded and b"0612345678" not in token.encode()

    download = client.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert hashlib.sha256(download.data).hexdigest() == receipt["sha256"]
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''" + quote("شكاية مارس.pdf", safe=""))
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert download.headers["Content-Security-Policy"].startswith("sandbox")
    assert client.get(link).status_code == 200  # any number of times while it lasts


def test_a_file_is_refused_to_another_complaint_or_a_wrong_contact(app, client):
    number, [receipt] = file_with(client, (PDF, "facture.pdf"))
    other, _ = file_with(client, phone="0661234567")
    assert link_for(client, number, receipt["id"], contact="0699999999").status_code == 404
    assert link_for(client, other, receipt["id"], contact="0661234567").status_code == 404
    assert link_for(client, number, receipt["id"] + 1000).status_code == 404
    # even a genuine link made for the other complaint's citizen does not reach this file
    with app.test_request_context():
        forged = "/files/" + seal(PURPOSE, {"tracking_number": other, "attachment_id": receipt["id"],
                                            "contact": "0661234567"})
    refused = client.get(forged + "?lang=fr")
    assert refused.status_code == 404
    assert "Ce lien de téléchargement n’est pas valide." in refused.get_data(as_text=True)


def test_an_expired_or_tampered_link_is_refused_with_a_clear_page(app, client):
    number, [receipt] = file_with(client, (PDF, "facture.pdf"))
    grant = {"tracking_number": number, "attachment_id": receipt["id"], "contact": PHONE}
    with app.test_request_context():
        expired = "/files/" + seal(PURPOSE, grant, at=time.time() - 301)
        for_another_purpose = "/files/" + seal("tracking", grant)
    gone = client.get(expired + "?lang=fr")
    assert gone.status_code == 410
    assert "Ce lien de téléchargement a expiré" in gone.get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in gone.get_data(as_text=True)

    link = link_for(client, number, receipt["id"]).headers["Location"]
    flipped = link[:-5] + ("A" if link[-5] != "A" else "B") + link[-4:]
    for bad in (flipped, for_another_purpose, "/files/not-a-token", link[:-12]):
        assert client.get(bad).status_code == 404, bad
    assert "رابط التحميل هذا غير صالح" in client.get(flipped + "?lang=ar").get_data(as_text=True)


def test_content_a_browser_could_run_is_served_as_bytes_to_save(app, client, var_dir):
    """Uploads are checked on their content, but whatever type intake has on record (here an
    HTML page, as another system might record it), the gateway never serves it as a page."""
    number, _ = file_with(client)
    page = b"<html><script>alert(document.cookie)</script></html>"
    key = new_attachment_key()
    blob_store().put(key, page, "text/html")
    view = app.extensions["complaint_desk"].pool.call("intake", "add_message", number, PHONE, "", [
        {"blob_key": key, "filename": "page.html", "content_type": "text/html", "size": len(page),
         "sha256": hashlib.sha256(page).hexdigest()}])
    [receipt] = view["messages"][-1]["attachments"]
    download = client.get(link_for(client, number, receipt["id"]).headers["Location"])
    assert download.status_code == 200 and download.data == page
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_agents_of_the_administration_only_get_its_attachments(app, client):
    number, [receipt] = file_with(client, (PNG, "photo.png"))
    with app.test_request_context():
        own = agent_link(CNSS_AGENT, number, receipt["id"])
        elsewhere = agent_link(ONEE_AGENT, number, receipt["id"])
    download = client.get(own)
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert client.get(elsewhere).status_code == 404


@pytest.fixture
def s3_app(intake, routing, rabbit_config, var_dir, s3_endpoint, monkeypatch):
    """The gateway keeping attachments in a bucket of the S3 server, through the minio client."""
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    for name, value in {"BLOB_BACKEND": "minio", "MINIO_ENDPOINT": s3_endpoint, "MINIO_ACCESS_KEY": "testing",
                        "MINIO_SECRET_KEY": "testing", "MINIO_SECURE": "false", "MINIO_BUCKET": bucket}.items():
        monkeypatch.setenv(name, value)
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "SECRET_KEY": "test-only-secret"})
    app.bucket = bucket
    yield app
    app.extensions["complaint_desk"].pool.close()


def test_attachments_go_through_an_s3_store(s3_app, var_dir, s3_endpoint):
    client = s3_app.test_client()
    number, [receipt] = file_with(client, (PDF, "facture.pdf"))
    bucket = Minio(s3_endpoint, access_key="testing", secret_key="testing", secure=False)
    [stored] = list(bucket.list_objects(s3_app.bucket, prefix="attachments/"))
    assert stored.size == len(PDF)
    assert not (var_dir / "blobs").exists()
    download = client.get(link_for(client, number, receipt["id"]).headers["Location"])
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"] == "attachment; filename=\"facture.pdf\"; filename*=UTF-8''facture.pdf"


def test_names_types_and_seals_on_their_own():
    assert content_disposition("facture.pdf") == "attachment; filename=\"facture.pdf\"; filename*=UTF-8''facture.pdf"
    assert content_disposition('relevé "mars";.pdf') == (
        "attachment; filename=\"releve mars.pdf\"; filename*=UTF-8''relev%C3%A9%20%22mars%22%3B.pdf")
    for runnable in ("text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript", "text/plain"):
        assert safe_content_type(runnable) == "application/octet-stream"
    assert safe_content_type("image/png") == "image/png"
    with Flask(__name__).test_request_context() as context:
        context.app.config["SECRET_KEY"] = "test-only-secret"
        sealed = seal("a purpose", {"contact": "0612345678"})
        assert unseal("a purpose", sealed, max_age=60) == {"contact": "0612345678"}
        with pytest.raises(Invalid):
            unseal("another purpose", sealed, max_age=60)
        with pytest.raises(Expired):
            unseal("a purpose", seal("a purpose", {}, at=time.time() - 61), max_age=60)
        context.app.config["SECRET_KEY"] = "another-secret"
        with pytest.raises(Invalid):
            unseal("a purpose", sealed, max_age=60)
