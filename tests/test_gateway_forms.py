"""The citizen pages against the real intake and routing services: the filing form in Arabic
and French, its errors, its receipt, and following a request."""
import hashlib
import html
import io
import re

from gateway.app import create_app
from services.common.blobs import LocalBlobStore
from tests.conftest import wait_for
from tests.gateway_support import (EXE, PDF, PNG, complaints_in_intake, field_error, form_fields,
                                   stored_blobs)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def input_value(text: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', text)
    return found.group(1) if found else None


def test_the_form_is_arabic_and_right_to_left_by_default(client):
    response = client.get("/complaints/new")
    text = page(response)
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in text
    for label in ("شكاية", "ملاحظة", "اقتراح", "لا أعرف الإدارة المعنية", "الوزارات",
                  "المؤسسات العمومية", "الدار البيضاء سطات", "الصندوق الوطني للضمان الاجتماعي"):
        assert label in text
    # required fields carry the attribute, a visible mark and words for screen readers
    assert re.search(r'<textarea id="description" name="description" rows="8" required', text)
    assert '<span class="visually-hidden"> (إلزامي)</span>' in text
    assert '<option value="UNKNOWN"' in text
    # the preferred language starts as the page's language; a reference guards double submits
    assert re.search(r'<option value="ar" selected>', text)
    assert re.fullmatch(r"[0-9a-f-]{36}", input_value(text, "client_reference"))
    assert 'href="/static/style.css"' in text and "https://" not in text


def test_the_form_in_french_is_left_to_right_and_the_choice_is_remembered(client):
    response = client.get("/complaints/new?lang=fr")
    text = page(response)
    assert '<html lang="fr" dir="ltr">' in text
    assert "Réclamation" in text and "Je ne sais pas quelle administration" in text
    assert "Caisse nationale de sécurité sociale" in text
    assert "lang=fr" in response.headers["Set-Cookie"]
    # the language switch points at the same page in Arabic
    assert 'formaction="/complaints/new?lang=ar"' in text
    assert '<html lang="fr" dir="ltr">' in page(client.get("/track"))


def test_the_browser_language_is_used_when_nothing_was_chosen(client):
    response = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr" dir="ltr">' in page(response)
    response = client.get("/", headers={"Accept-Language": "en-US"})
    assert '<html lang="ar" dir="rtl">' in page(response)


def test_an_invalid_form_comes_back_with_every_error_and_everything_typed(client, intake, var_dir):
    fields = form_fields(**{"subject": "", "complainant.phone": "", "complainant.email": "",
                            "complainant.id_number": "BK 12", "description": "Trop court"})
    response = client.post("/complaints/new?lang=fr", data={
        **fields, "attachments": (io.BytesIO(PNG), "photo.png")})
    text = page(response)
    assert response.status_code == 400
    assert field_error(text, "subject") == "Ce champ est obligatoire."
    assert field_error(text, "description") == "Veuillez écrire au moins 20 caractères."
    assert field_error(text, "complainant-contact").startswith("Indiquez une adresse e-mail ou un numéro")
    assert field_error(text, "complainant-id_number").startswith("Un numéro de pièce d’identité")
    # each field points at its message, and the summary at the top links to the fields
    assert re.search(r'id="subject" name="subject" value="" required maxlength="200" '
                     r'aria-describedby="subject-error" aria-invalid="true"', text)
    assert 'class="error-summary"' in text and 'href="#complainant-email"' in text
    # what was typed is all there; files cannot be, and the page says so
    assert "Trop court</textarea>" in text
    assert input_value(text, "complainant.full_name") == "Fatima Zahra El Amrani"
    assert input_value(text, "complainant.id_number") == "BK 12"
    assert input_value(text, "client_reference") == fields["client_reference"]
    assert re.search(r'<option value="CNSS" selected>', text)
    assert re.search(r'value="citizen" checked', text)
    assert "Les fichiers choisis n’ont pas été conservés" in text
    assert complaints_in_intake(intake) == []
    assert stored_blobs(var_dir) == []


def test_the_same_errors_read_in_arabic(client):
    response = client.post("/complaints/new", data=form_fields(subject=""))
    assert response.status_code == 400
    assert field_error(page(response), "subject") == "هذه الخانة إلزامية."


def test_an_administration_outside_the_directory_is_refused(client, intake):
    response = client.post("/complaints/new?lang=fr", data=form_fields(administration_code="MIN_MAGIC"))
    assert response.status_code == 400
    assert field_error(page(response), "administration_code").startswith("Choisissez une administration")
    assert complaints_in_intake(intake) == []


def test_a_valid_form_files_the_complaint_and_shows_the_tracking_number(client, intake, var_dir):
    response = client.post("/complaints/new?lang=fr", data={
        **form_fields(**{"complainant.email": "Fatima@Example.ma"}),
        "attachments": [(io.BytesIO(PDF), "facture.pdf"), (io.BytesIO(PNG), "photo.png")]})
    assert response.status_code == 302
    receipt = page(client.get(response.headers["Location"]))
    [complaint] = complaints_in_intake(intake)
    number = complaint["tracking_number"]
    assert f'<p class="tracking-number" dir="ltr">{number}</p>' in receipt
    assert "Caisse nationale de sécurité sociale" in receipt
    assert "+212612•••678" in receipt and "f•••@example.ma" in receipt
    assert "facture.pdf" in receipt and "photo.png" in receipt
    assert hashlib.sha256(PDF).hexdigest() in receipt  # each file's receipt has its fingerprint
    # the files are in the blob store, byte for byte
    blobs = LocalBlobStore(var_dir / "blobs")
    assert sorted(len(blob.read_bytes()) for blob in stored_blobs(var_dir)) == sorted([len(PDF), len(PNG)])
    # the receipt survives a reload and a switch of language
    arabic = page(client.get("/complaints/receipt?lang=ar"))
    assert number in arabic and "الصندوق الوطني للضمان الاجتماعي" in arabic
    assert blobs.root.exists()


def test_sending_the_same_form_twice_files_once(client, intake):
    fields = form_fields()
    first = client.post("/complaints/new", data=fields)
    second = client.post("/complaints/new", data=fields)
    assert first.status_code == second.status_code == 302
    assert len(complaints_in_intake(intake)) == 1


def test_a_disguised_or_oversized_attachment_is_refused_and_nothing_is_kept(
        intake, routing, rabbit_config, var_dir):
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-only-secret", "MAX_ATTACHMENT_BYTES": 2048})
    client = app.test_client()
    response = client.post("/complaints/new?lang=fr", data={**form_fields(), "attachments": [
        (io.BytesIO(EXE), "facture.pdf"),
        (io.BytesIO(b"just some words, not a document"), "lettre.pdf"),
        (io.BytesIO(b"%PDF-1.4\n" + b"0" * 4096), "gros.pdf"),
        (io.BytesIO(PDF), "bon.pdf")]})
    text = page(response)
    assert response.status_code == 400
    errors = field_error(text, "attachments")
    assert "« facture.pdf » n’est pas accepté" in errors
    assert "« lettre.pdf » n’est pas accepté" in errors
    assert "« gros.pdf » est trop volumineux : chaque fichier peut faire au plus 2 Ko." in errors
    assert "bon.pdf" not in errors
    assert complaints_in_intake(intake) == []
    assert stored_blobs(var_dir) == []
    app.extensions["complaint_desk"].pool.close()


def test_a_post_without_the_csrf_token_is_refused(intake, routing, rabbit_config, var_dir):
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "SECRET_KEY": "test-only-secret"})
    client = app.test_client()
    refused = client.post("/complaints/new?lang=fr", data=form_fields())
    assert refused.status_code == 400
    assert "Ce formulaire a expiré" in page(refused)
    assert complaints_in_intake(intake) == []
    token = input_value(page(client.get("/complaints/new")), "csrf_token")
    accepted = client.post("/complaints/new", data={**form_fields(), "csrf_token": token})
    assert accepted.status_code == 302
    app.extensions["complaint_desk"].pool.close()


def test_switching_language_on_a_filled_form_keeps_what_was_typed(client, intake):
    response = client.post("/complaints/new?lang=fr", data={
        **form_fields(subject="Une route abîmée"), "switch_language": "fr"})
    text = page(response)
    assert response.status_code == 200
    assert '<html lang="fr" dir="ltr">' in text
    assert input_value(text, "subject") == "Une route abîmée"
    assert 'class="error-summary"' not in text
    assert complaints_in_intake(intake) == []


def test_following_a_request_shows_its_status_and_dated_timeline(client, intake):
    client.post("/complaints/new", data=form_fields())
    [complaint] = complaints_in_intake(intake)
    number = complaint["tracking_number"]

    response = client.post("/track?lang=fr", data={"tracking_number": number.lower(),
                                                   "contact": "+212 6 12 34 56 78"})
    assert response.status_code == 303 and response.headers["Location"] == f"/track/{number}"
    text = page(client.get(response.headers["Location"]))
    assert f"Demande {number}" in text
    assert "Demande déposée" in text  # the timeline's first entry, translated
    assert re.search(r"<time datetime=\"[^\"]+\">\d{1,2} \w+ \d{4} à \d\d:\d\d</time>", text)  # 29 novembre 2026 à 09:15
    arabic = page(client.get(f"/track/{number}?lang=ar"))
    assert "إيداع الطلب" in arabic

    wrong_contact = client.post("/track?lang=fr", data={"tracking_number": number, "contact": "0699999999"})
    unknown_number = client.post("/track?lang=fr", data={"tracking_number": "ABCD-EFGH-JKMN0",
                                                         "contact": "0612345678"})
    assert wrong_contact.status_code == unknown_number.status_code == 404
    message = "Aucune demande ne correspond à ce numéro de suivi et à ce contact."
    assert message in page(wrong_contact) and message in page(unknown_number)


def test_the_track_form_says_what_is_missing(client):
    response = client.get("/track?number=ABCD-EFGH-JKMN0&lang=fr")
    assert input_value(page(response), "tracking_number") == "ABCD-EFGH-JKMN0"
    response = client.post("/track?lang=fr", data={"tracking_number": "ABCD-EFGH-JKMN0", "contact": ""})
    assert response.status_code == 400
    assert field_error(page(response), "contact") == "Ce champ est obligatoire."


def test_a_request_for_an_unknown_administration_shows_it_goes_to_triage(client, intake):
    client.post("/complaints/new", data=form_fields(administration_code="UNKNOWN"))
    [complaint] = complaints_in_intake(intake)
    track = {"tracking_number": complaint["tracking_number"], "contact": "0612345678"}
    assert client.post("/track?lang=fr", data=track).status_code == 303
    wait_for(lambda: "Transmise à l’équipe d’orientation" in page(
        client.get(f"/track/{complaint['tracking_number']}?lang=fr")), message="the complaint sent to triage")
    text = page(client.get(f"/track/{complaint['tracking_number']}?lang=fr"))
    assert "En cours d’orientation vers l’administration concernée" in text
    assert "À déterminer par l’équipe d’orientation" in text
