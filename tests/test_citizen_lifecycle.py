"""The citizen's side of a complaint's life, against the real intake and routing services:
the request's page (timeline, days left, the administration's messages and answer, receipts),
writing with more documents, rating, confirming and reopening (allowed and refused), through
the pages and the JSON API; and tracking's rate limit.

The administration's steps are intake's RPCs called as an agent of CNSS, as the back office
would call them.
"""
import hashlib
import html
import io
import re

import pytest

from gateway.app import create_app
from services.intake.service import IntakeService
from tests.conftest import wait_for
from tests.factories import valid_submission
from tests.gateway_support import EXE, PDF, PNG, field_error

AGENT = {"id": "agent-1", "name": "Nadia Bennani", "role": "agent", "administration_code": "CNSS"}
PHONE = "0612345678"


@pytest.fixture
def intake(start_service, request):
    """Intake with the settings a test asks for: `@pytest.mark.parametrize("intake", [{...}], indirect=True)`."""
    return start_service(IntakeService, **getattr(request, "param", {}))


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def textarea_value(text: str, name: str) -> str:
    found = re.search(rf'<textarea id="{re.escape(name)}" name="{re.escape(name)}"[^>]*>(.*?)</textarea>', text, re.S)
    return found.group(1) if found else None


def file_complaint(client, **overrides) -> str:
    response = client.post("/api/v1/complaints", json=valid_submission(**overrides))
    assert response.status_code == 201
    return response.json["tracking_number"]


def status_of(client, number: str) -> str:
    return client.get(f"/api/v1/complaints/{number}?contact={PHONE}").json["status"]


def agent(app, method: str, *args):
    """A step of the administration's, as the back office takes it."""
    return app.extensions["complaint_desk"].pool.call("intake", method, AGENT, *args)


def taken_up(app, client) -> str:
    """A filed complaint that routing sent to CNSS and an agent started dealing with."""
    number = file_complaint(client)
    wait_for(lambda: status_of(client, number) == "routed", message="the complaint routed")
    agent(app, "acknowledge", number)
    return number


def answered(app, client, text="Votre pension sera versée le 5 du mois prochain.") -> str:
    number = taken_up(app, client)
    agent(app, "answer", number, text)
    return number


def open_request(client, number: str) -> str:
    """Track it with the web form, which keeps it open in this browser; the page's address."""
    response = client.post("/track", data={"tracking_number": number, "contact": PHONE})
    assert response.status_code == 303
    return response.headers["Location"]


def act(client, number: str, action: str, **fields):
    return client.post(f"/track/{number}?lang=fr", data={"action": action, **fields})


def test_the_request_page_shows_the_clock_the_conversation_and_the_receipts(app, client):
    number = file_complaint(client)
    client.post("/api/v1/complaints/" + number + "/messages",
                data={"contact": PHONE, "text": "Voici mon relevé.", "attachments": (io.BytesIO(PDF), "relevé.pdf")})
    wait_for(lambda: status_of(client, number) == "routed", message="the complaint routed")
    agent(app, "acknowledge", number)
    agent(app, "request_information", number, "Merci d’envoyer votre attestation de salaire.")

    address = open_request(client, number)
    assert address == f"/track/{number}"
    text = page(client.get(address + "?lang=fr"))
    assert f"Demande {number}" in text
    assert "L’administration attend des informations de votre part" in text  # the status
    assert "Jours restants pour la réponse" in text
    assert re.search(r'<dd class="days-left">60\s', text)
    assert "En pause en attendant vos informations" in text
    assert "L’administration vous demande des informations" in text
    assert "Merci d’envoyer votre attestation de salaire." in text
    # the document sent with the message, with its receipt and a link that is the citizen's only
    assert "relevé.pdf" in text and hashlib.sha256(PDF).hexdigest() in text
    [link] = re.findall(rf'href="(/track/{number}/attachments/\d+)"', text)
    download = client.get(link)
    assert download.status_code == 303 and download.headers["Location"].startswith("/files/")
    assert client.get(download.headers["Location"]).data == PDF
    # the dated timeline, each step said in French
    for step in ("Demande déposée", "Transmise à l’administration", "L’administration a commencé à traiter",
                 "Vous avez écrit à l’administration", "L’administration vous a demandé des informations"):
        assert step in text
    # the contact is never written into the page, nor kept readable in the session cookie
    assert PHONE[1:] not in text and "612345678" not in client.get_cookie("session").value
    arabic = page(client.get(address + "?lang=ar"))
    assert '<html lang="ar" dir="rtl">' in arabic and "الأيام المتبقية للجواب" in arabic


def test_a_reply_with_a_document_ends_the_pause_and_shows_its_receipt(app, client, var_dir):
    number = taken_up(app, client)
    agent(app, "request_information", number, "Quel est votre numéro d’immatriculation ?")
    open_request(client, number)
    response = act(client, number, "message", text="Mon numéro est 123456789.",
                   attachments=(io.BytesIO(PNG), "carte.png"))
    assert response.status_code == 303
    text = page(client.get(response.headers["Location"] + "?lang=fr"))
    assert "Votre message a été envoyé à l’administration." in text
    assert "Mon numéro est 123456789." in text
    assert "carte.png" in text and hashlib.sha256(PNG).hexdigest() in text
    assert "En cours de traitement par l’administration" in text  # the clock runs again
    assert "En pause" not in text


def test_a_message_with_a_refused_file_keeps_what_was_typed(app, client, var_dir):
    number = taken_up(app, client)
    open_request(client, number)
    response = act(client, number, "message", text="Voici le document demandé.",
                   attachments=(io.BytesIO(EXE), "document.pdf"))
    text = page(response)
    assert response.status_code == 400
    assert field_error(text, "attachments").startswith("« document.pdf » n’est pas accepté")
    assert textarea_value(text, "text") == "Voici le document demandé."
    assert "Les fichiers choisis n’ont pas été conservés" in text
    # switching language re-sends the form unchecked: what was typed stays
    switched = client.post(f"/track/{number}?lang=ar", data={
        "action": "message", "text": "Voici le document demandé.", "switch_language": "ar"})
    assert switched.status_code == 200 and '<html lang="ar" dir="rtl">' in page(switched)
    assert textarea_value(page(switched), "text") == "Voici le document demandé."
    empty = page(act(client, number, "message", text=""))
    assert field_error(empty, "text") == "Ce champ est obligatoire."
    assert not [path for path in (var_dir / "blobs").rglob("*") if path.is_file()]


@pytest.mark.parametrize("intake", [{"ANSWER_DEADLINE_DAYS": 0}], indirect=True)
def test_a_request_past_its_deadline_says_so(app, client):
    number = taken_up(app, client)
    open_request(client, number)
    text = page(client.get(f"/track/{number}?lang=fr"))
    assert "Le délai légal de réponse est dépassé et l’administration n’a pas encore répondu." in text
    assert re.search(r'<dd class="days-left">0\s', text)


def test_after_an_answer_the_citizen_rates_then_confirms(app, client):
    number = answered(app, client)
    open_request(client, number)
    text = page(client.get(f"/track/{number}?lang=fr"))
    assert "L’administration a répondu" in text and "La réponse de l’administration" in text
    assert "Votre pension sera versée le 5 du mois prochain." in text
    assert 'id="rating-form"' in text and 'id="confirmation-form"' in text and 'id="reopening-form"' in text
    assert "Jours restants" not in text  # the clock stopped with the answer

    missing_score = act(client, number, "rating", comment="Réponse rapide.")
    assert missing_score.status_code == 400
    assert field_error(page(missing_score), "score") == "Ce champ est obligatoire."
    assert textarea_value(page(missing_score), "comment") == "Réponse rapide."

    assert act(client, number, "rating", score="4", comment="Réponse rapide.").status_code == 303
    text = page(client.get(f"/track/{number}?lang=fr"))
    assert "Merci : votre note a été enregistrée." in text
    assert "4 sur 5<br><q><bdi>Réponse rapide.</bdi></q>" in text and 'id="rating-form"' not in text
    # a second rating of the same answer is refused, with the reason
    again = client.post(f"/api/v1/complaints/{number}/rating?lang=fr", json={"contact": PHONE, "score": 5})
    assert again.status_code == 409
    assert again.json == {"error": "transition_refused", "reason": "already_rated", "fields": {},
                          "message": "Cette réponse a déjà été évaluée."}

    assert act(client, number, "confirmation").status_code == 303
    text = page(client.get(f"/track/{number}?lang=fr"))
    assert "Vous avez confirmé la réponse : votre demande est close." in text
    assert "Le citoyen a confirmé la réponse" in text  # why it was closed
    assert 'id="message-form"' not in text  # a closed request takes no more messages
    closed = client.post(f"/api/v1/complaints/{number}/messages?lang=fr", json={"contact": PHONE, "text": "Merci"})
    assert closed.status_code == 409 and closed.json["reason"] == "not_allowed_in_status"


def test_rating_or_confirming_before_an_answer_is_refused(app, client):
    number = taken_up(app, client)
    for path, body in (("rating", {"score": 3}), ("confirmation", {})):
        response = client.post(f"/api/v1/complaints/{number}/{path}?lang=fr", json={"contact": PHONE, **body})
        assert response.status_code == 409 and response.json["reason"] == "needs_answer"
    open_request(client, number)
    text = page(client.get(f"/track/{number}?lang=fr"))
    assert 'id="rating-form"' not in text and 'id="reopening-form"' not in text
    refused = act(client, number, "rating", score="3")
    assert refused.status_code == 409
    assert "Ce n’est possible qu’une fois que l’administration a répondu." in page(refused)


@pytest.mark.parametrize("intake", [{"MAX_REOPENINGS": 1}], indirect=True)
def test_a_reopened_request_goes_back_and_then_the_ombudsman_is_offered(app, client):
    number = answered(app, client)
    open_request(client, number)
    no_reason = act(client, number, "reopening", reason="")
    assert no_reason.status_code == 400
    assert field_error(page(no_reason), "reason") == "Ce champ est obligatoire."

    assert act(client, number, "reopening", reason="Le versement n’a toujours pas eu lieu.").status_code == 303
    text = page(client.get(f"/track/{number}?lang=fr"))
    assert "Votre demande a été rouverte et renvoyée à l’administration." in text
    assert '<p class="tag">Rouverte</p>' in text
    assert "Transmise à l’administration concernée" in text  # back in the administration's queue
    assert "Vous avez rouvert la demande" in text and "Le versement n’a toujours pas eu lieu." in text
    view = client.get(f"/api/v1/complaints/{number}?contact={PHONE}").json
    assert view["status"] == "routed" and view["reopen_count"] == 1 and view["answer"] is None

    agent(app, "acknowledge", number)
    agent(app, "answer", number, "Le versement a été effectué hier.")
    text = page(client.get(f"/track/{number}?lang=fr"))
    assert 'id="reopening-form"' not in text
    assert "Médiateur du Royaume" in text and 'href="https://www.mediateur.ma"' in text
    assert "مؤسسة وسيط المملكة" in page(client.get(f"/track/{number}?lang=ar"))
    refused = client.post(f"/api/v1/complaints/{number}/reopening?lang=fr",
                          json={"contact": PHONE, "reason": "Toujours rien."})
    assert refused.status_code == 409 and refused.json["reason"] == "ombudsman"


@pytest.mark.parametrize("intake", [{"REOPEN_WINDOW_DAYS": 0}], indirect=True)
def test_a_reopening_after_the_window_is_refused_and_the_page_says_so(app, client):
    number = answered(app, client)
    refused = client.post(f"/api/v1/complaints/{number}/reopening?lang=fr",
                          json={"contact": PHONE, "reason": "Je ne suis pas d’accord."})
    assert refused.status_code == 409 and refused.json["reason"] == "reopen_window_passed"
    assert refused.json["message"] == "Le délai pour rouvrir cette demande est dépassé."
    open_request(client, number)
    text = page(client.get(f"/track/{number}?lang=fr"))
    assert 'id="reopening-form"' not in text
    assert "Le délai permis pour rouvrir cette demande après sa réponse est dépassé." in text


def test_the_api_takes_messages_ratings_confirmations_and_reopenings(app, client):
    number = taken_up(app, client)
    as_json = client.post(f"/api/v1/complaints/{number}/messages", json={"contact": PHONE, "text": "Une précision."})
    assert as_json.status_code == 201 and as_json.json["messages"][-1]["text"] == "Une précision."
    with_files = client.post(f"/api/v1/complaints/{number}/messages", data={
        "contact": PHONE, "attachments": [(io.BytesIO(PDF), "facture.pdf")]})
    assert with_files.status_code == 201
    [receipt] = with_files.json["messages"][-1]["attachments"]
    assert receipt["filename"] == "facture.pdf" and receipt["sha256"] == hashlib.sha256(PDF).hexdigest()
    wrong_contact = client.post(f"/api/v1/complaints/{number}/messages", json={"contact": "0699999999", "text": "x"})
    assert wrong_contact.status_code == 404

    agent(app, "answer", number, "Réponse.")
    rated = client.post(f"/api/v1/complaints/{number}/rating", data={"contact": PHONE, "score": "2"})
    assert rated.status_code == 200 and rated.json["rating"] == {"score": 2, "comment": None}
    out_of_range = client.post(f"/api/v1/complaints/{number}/rating?lang=fr", json={"contact": PHONE, "score": 9})
    assert out_of_range.status_code == 400 and "score" in out_of_range.json["fields"]
    reopened = client.post(f"/api/v1/complaints/{number}/reopening", json={"contact": PHONE, "reason": "Insuffisant."})
    assert reopened.status_code == 200 and reopened.json["reopen_count"] == 1
    agent(app, "acknowledge", number)
    agent(app, "answer", number, "Réponse complétée.")
    confirmed = client.post(f"/api/v1/complaints/{number}/confirmation", json={"contact": PHONE})
    assert confirmed.status_code == 200
    assert confirmed.json["status"] == "closed" and confirmed.json["closed_reason"] == "confirmed_by_citizen"


def test_the_page_is_only_for_the_browser_that_proved_the_contact(app, client):
    number = file_complaint(client)
    assert client.get(f"/track/{number}").headers["Location"] == f"/track?number={number}"
    open_request(client, number)
    assert client.get(f"/track/{number}").status_code == 200
    other = file_complaint(client, phone="0661234567")
    assert client.get(f"/track/{other}").status_code == 302  # proving one request opens no other
    assert client.post("/track/forget").status_code == 303
    assert client.get(f"/track/{number}").status_code == 302


def test_tracking_is_limited_per_client_after_failed_attempts(intake, routing, rabbit_config, var_dir):
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-only-secret", "TRACKING_RATE_LIMIT": "3 per 10 minutes"})
    client = app.test_client()
    number = file_complaint(client)
    for _ in range(5):  # successes do not count
        assert client.get(f"/api/v1/complaints/{number}?contact={PHONE}").status_code == 200
    assert client.post("/track", data={"tracking_number": number, "contact": "0699999999"}).status_code == 404
    for _ in range(2):
        assert client.get(f"/api/v1/complaints/{number}?contact=0699999999").status_code == 404
    limited = client.get(f"/api/v1/complaints/{number}?contact={PHONE}&lang=fr")
    assert limited.status_code == 429
    assert limited.json["error"] == "too_many_attempts"
    assert limited.json["message"].startswith("Trop de tentatives infructueuses")
    form = client.post("/track?lang=fr", data={"tracking_number": number, "contact": PHONE})
    assert form.status_code == 429
    assert "Trop de tentatives infructueuses" in page(form) and number in page(form)  # typed, kept
    # another client is not held back
    other = client.get(f"/api/v1/complaints/{number}?contact={PHONE}", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200
    app.extensions["complaint_desk"].pool.close()
