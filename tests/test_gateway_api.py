"""The JSON API /api/v1 against the real intake, routing and stats services."""
import hashlib

from gateway.app import create_app
from services.common.blobs import LocalBlobStore
from tests.conftest import wait_for
from tests.factories import valid_submission
from tests.gateway_support import EXE, PDF, PNG, complaints_in_intake, multipart, stored_blobs
from tests.helpers import execute, rows


def test_health_and_the_directory(client):
    health = client.get("/healthz").json
    assert health["status"] == "ok" and health["rpc_proxies"] == {"opened": 0, "idle": 0}
    administrations = client.get("/api/v1/administrations").json
    assert len(administrations) >= 40
    cnss = next(entry for entry in administrations if entry["code"] == "CNSS")
    assert cnss == {"code": "CNSS", "name_ar": "الصندوق الوطني للضمان الاجتماعي",
                    "name_fr": "Caisse nationale de sécurité sociale", "kind": "public_institution"}


def test_a_json_complaint_is_filed(client, intake):
    response = client.post("/api/v1/complaints", json=valid_submission())
    assert response.status_code == 201
    receipt = response.json
    assert set(receipt) == {"tracking_number", "status", "administration_code", "submitted_at", "replayed"}
    assert receipt["replayed"] is False
    assert receipt["status"] == "submitted" and receipt["administration_code"] == "CNSS"
    [complaint] = complaints_in_intake(intake)
    assert complaint["tracking_number"] == receipt["tracking_number"]


def test_a_citizen_who_does_not_know_the_administration_says_unknown(client):
    response = client.post("/api/v1/complaints", json=valid_submission(administration_code="unknown"))
    assert response.status_code == 201
    assert response.json["administration_code"] == "UNKNOWN"


def test_a_bad_body_gets_every_field_error_in_the_asked_language(client, intake):
    bad = valid_submission(subject="", phone=None, email=None, region="ATLANTIS")
    response = client.post("/api/v1/complaints", json=bad)
    assert response.status_code == 400
    assert response.json == {
        "error": "validation_failed",
        "message": "بعض الأجوبة تحتاج إلى تصحيح: انظر الرسالة بجانب كل منها.",
        "fields": {
            "subject": ["هذه الخانة إلزامية."],
            "region": ["اختر جهة من القائمة."],
            "complainant.contact": ["أدخل عنوان بريد إلكتروني أو رقم هاتف محمول (أو كليهما): "
                                    "إليه نرسل رقم التتبع."],
        },
    }
    french = client.post("/api/v1/complaints?lang=fr", json=bad).json
    assert french["fields"]["subject"] == ["Ce champ est obligatoire."]
    by_header = client.post("/api/v1/complaints", json=bad, headers={"Accept-Language": "fr"}).json
    assert by_header == french
    assert complaints_in_intake(intake) == []


def test_a_body_that_is_not_a_json_object_is_refused(client):
    for body, content_type in (("{not json", "application/json"), ("[1, 2]", "application/json"),
                               ("type=complaint", "text/plain")):
        response = client.post("/api/v1/complaints?lang=fr", data=body, content_type=content_type)
        assert response.status_code == 400
        assert response.json["error"] == "invalid_body"
        assert response.json["message"] == "Le corps de la requête doit être un objet JSON ou un formulaire multipart."


def test_attachments_named_in_the_body_are_ignored(client, intake):
    """Only files the gateway checked become attachments: a client cannot point at a blob."""
    forged = [{"blob_key": "attachments/someone-elses", "filename": "x.pdf",
               "content_type": "application/pdf", "size": 10, "sha256": "0" * 64}]
    response = client.post("/api/v1/complaints", json=valid_submission(attachments=forged))
    assert response.status_code == 201
    assert client.get(f"/api/v1/complaints/{response.json['tracking_number']}?contact=0612345678"
                      ).json["attachments"] == []


def test_a_multipart_complaint_keeps_its_files(client, intake, var_dir):
    response = client.post("/api/v1/complaints", data=multipart(
        valid_submission(), files=[(PDF, "facture.pdf"), (PNG, "../../photo.png")]))
    assert response.status_code == 201
    view = client.get(f"/api/v1/complaints/{response.json['tracking_number']}?contact=0612345678").json
    assert [{key: item[key] for key in ("filename", "content_type", "size", "sha256")}
            for item in view["attachments"]] == [
        {"filename": "facture.pdf", "content_type": "application/pdf", "size": len(PDF),
         "sha256": hashlib.sha256(PDF).hexdigest()},
        {"filename": "photo.png", "content_type": "image/png", "size": len(PNG),
         "sha256": hashlib.sha256(PNG).hexdigest()},
    ]
    assert all(isinstance(item["id"], int) for item in view["attachments"])
    blobs = LocalBlobStore(var_dir / "blobs")
    stored = sorted(blobs.get(str(path.relative_to(blobs.root))) for path in stored_blobs(var_dir))
    assert stored == sorted([PDF, PNG])


def test_a_form_sent_twice_files_once_and_keeps_one_copy_of_its_files(client, intake, var_dir):
    submission = valid_submission(client_reference="7f1c2a9e-0b7d-4a53-9a55-1d0f1e2c3b4a")
    answers = [client.post("/api/v1/complaints", data=multipart(submission, files=[(PDF, "facture.pdf")]))
               for _ in range(2)]
    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json["tracking_number"] == answers[1].json["tracking_number"]
    assert len(complaints_in_intake(intake)) == 1
    assert len(stored_blobs(var_dir)) == 1


def test_a_disguised_attachment_is_refused_and_nothing_is_kept(client, intake, var_dir):
    response = client.post("/api/v1/complaints?lang=fr", data=multipart(
        valid_submission(), files=[(PDF, "facture.pdf"), (EXE, "scan.pdf")]))
    assert response.status_code == 400
    assert response.json["fields"] == {"attachments": [
        "« scan.pdf » n’est pas accepté : envoyez un PDF, une image (JPEG, PNG, WEBP, GIF) "
        "ou un document bureautique (Word, Excel, PowerPoint, OpenDocument)."]}
    assert complaints_in_intake(intake) == []
    assert stored_blobs(var_dir) == []


def test_files_are_taken_back_when_intake_refuses_the_complaint(intake, routing, rabbit_config, var_dir):
    """The gateway allows more files than intake does here, so intake is the one to refuse."""
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "MAX_ATTACHMENTS": 6})
    response = app.test_client().post("/api/v1/complaints?lang=fr", data=multipart(
        valid_submission(), files=[(PDF, f"page-{number}.pdf") for number in range(6)]))
    assert response.status_code == 400
    assert response.json["fields"] == {"attachments": ["Vous pouvez joindre au plus 5 fichiers."]}
    assert complaints_in_intake(intake) == []
    assert stored_blobs(var_dir) == []
    app.extensions["complaint_desk"].pool.close()


def test_a_body_larger_than_allowed_gets_413(intake, routing, rabbit_config, var_dir):
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True,
                      "MAX_CONTENT_LENGTH": 1024 * 1024})
    response = app.test_client().post("/api/v1/complaints?lang=fr", data=multipart(
        valid_submission(), files=[(PDF + b"0" * 1024 * 1024, "big.pdf")]))
    assert response.status_code == 413
    assert response.json["error"] == "too_large"
    assert response.json["message"] == "Ce que vous avez envoyé est trop volumineux : 1 Mo au plus au total."
    assert stored_blobs(var_dir) == []


def test_tracking_answers_the_same_404_for_a_wrong_contact_and_an_unknown_number(client):
    number = client.post("/api/v1/complaints", json=valid_submission(email="fatima@example.ma")).json[
        "tracking_number"]
    view = client.get(f"/api/v1/complaints/{number}?contact=FATIMA@example.ma").json
    assert view["tracking_number"] == number and view["status"] == "submitted"
    assert view["timeline"][0]["status"] == "submitted" and "at" in view["timeline"][0]
    # routing picks it up over the bus and intake records it on the timeline
    wait_for(lambda: client.get(f"/api/v1/complaints/{number}?contact=0612345678").json["status"] == "routed",
             message="the complaint routed")

    wrong = client.get(f"/api/v1/complaints/{number}?contact=0699999999&lang=fr")
    unknown = client.get("/api/v1/complaints/ABCD-EFGH-JKMN0?contact=0612345678&lang=fr")
    missing = client.get(f"/api/v1/complaints/{number}?lang=fr")
    assert wrong.status_code == unknown.status_code == missing.status_code == 404
    assert wrong.json == unknown.json == missing.json == {
        "error": "not_found", "fields": {},
        "message": "Aucune demande ne correspond à ce numéro de suivi et à ce contact. "
                   "Vérifiez-les et réessayez."}


def test_stats_counts_what_was_filed(client, stats):
    client.post("/api/v1/complaints", json=valid_submission())
    totals = wait_for(lambda: (lambda body: body if body["submitted"] == 1 else None)(
        client.get("/api/v1/stats").json), message="stats to count the complaint")
    assert totals["by_administration"]["CNSS"]["submitted"] == 1


def test_requests_reuse_one_rpc_proxy(app, client):
    for _ in range(10):
        assert client.post("/api/v1/complaints", json=valid_submission()).status_code == 201
        assert client.get("/api/v1/complaints/ABCD-EFGH-JKMN0?contact=0612345678").status_code == 404
    assert app.extensions["complaint_desk"].pool.opened == 1
    assert client.get("/healthz").json["rpc_proxies"] == {"opened": 1, "idle": 1}


def test_a_service_that_does_not_answer_gives_503_and_keeps_what_it_may_still_take(
        intake, routing, rabbit_config, var_dir, start_service):
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "RPC_TIMEOUT": 1})
    client = app.test_client()
    assert client.get("/api/v1/administrations").status_code == 200  # directory cached
    intake.stop()
    response = client.post("/api/v1/complaints?lang=fr", data=multipart(valid_submission(),
                                                                         files=[(PDF, "facture.pdf")]))
    assert response.status_code == 503
    assert response.json["error"] == "service_unavailable"
    assert response.json["message"] == ("Le service est momentanément indisponible. "
                                        "Veuillez réessayer dans quelques minutes.")
    [stored] = stored_blobs(var_dir)  # the request waits in intake's queue: its file must be there
    app.extensions["complaint_desk"].pool.close()

    from services.intake.service import IntakeService
    start_service(IntakeService, DATABASE_URL=intake.db_url)  # intake is back and takes it
    [attachment] = wait_for(lambda: rows(intake.db_url, "select blob_key from attachments"),
                            message="the waiting filing taken")
    assert stored.name in attachment["blob_key"] and stored.read_bytes() == PDF


def test_a_service_whose_database_is_away_gives_503_and_files_nothing(intake, routing, rabbit_config, var_dir):
    """The citizen is told to try again, as when a service does not answer, not that we failed."""
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True})
    client = app.test_client()
    assert client.get("/api/v1/administrations").status_code == 200  # directory cached
    database = intake.db_url.rpartition("/")[2]
    admin = f"{intake.db_url.rpartition('/')[0]}/postgres"
    execute(admin, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    execute(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name", name=database)
    try:
        response = client.post("/api/v1/complaints?lang=fr", json=valid_submission())
    finally:
        execute(admin, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    assert response.status_code == 503, response.json
    assert response.json["error"] == "service_unavailable"
    assert response.json["message"] == ("Le service est momentanément indisponible. "
                                        "Veuillez réessayer dans quelques minutes.")
    assert complaints_in_intake(intake) == [] and stored_blobs(var_dir) == []
    app.extensions["complaint_desk"].pool.close()


def test_an_unreachable_broker_gives_503(var_dir):
    app = create_app({"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "TESTING": True})
    response = app.test_client().get("/api/v1/stats")
    assert response.status_code == 503
    assert response.json["error"] == "service_unavailable"
    assert response.json["message"] == "الخدمة غير متاحة مؤقتا. يرجى إعادة المحاولة بعد بضع دقائق."
