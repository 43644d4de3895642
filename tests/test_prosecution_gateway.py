"""The prosecution channel through the gateway, against the real prosecution service: the
captcha (image, audio, single use, expiry, rate limit, test mode), the pages in Arabic and
French, filing with several accused, following, the JSON API, and the office staff's back
office with what each account may see."""
import html
import io
import json
import re
import wave

import pytest

from gateway.app import create_app
from gateway.captcha import ALPHABET, LENGTH, TEST_ANSWER
from services.common import config
from tests.backoffice_support import PASSWORD, sign_in
from tests.conftest import wait_for
from tests.gateway_support import PDF, field_error, stored_blobs
from tests.helpers import execute, rows
from tests.prosecution_support import filing, prosecution  # noqa: F401 (a fixture)


@pytest.fixture
def gateway_db(database_url):
    return database_url("gateway")


@pytest.fixture
def make_gateway(prosecution, gateway_apps, gateway_db):
    return lambda **overrides: gateway_apps(GATEWAY_DATABASE_URL=gateway_db, **overrides)


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def challenge_on(text: str) -> str:
    return re.search(r'name="challenge" value="([^"]+)"', text).group(1)


def answer_of(gateway_db, challenge: str) -> str:
    """What the image shows (the test reads it where a person would look at the picture)."""
    return rows(gateway_db, "select answer from captcha_challenges where id = :id", id=challenge)[0]["answer"]


def pass_captcha(client, gateway_db) -> None:
    text = page(client.get("/prosecution/file?lang=fr"))
    challenge = challenge_on(text)
    response = client.post("/prosecution/captcha", data={"challenge": challenge,
                                                         "answer": answer_of(gateway_db, challenge)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/prosecution/file")


def form_fields(**overrides) -> dict:
    """What a browser sends for a filled, valid form: dotted names, two accused."""
    data = filing()
    fields = {key: value for key, value in data.items() if key not in ("complainant", "accused")}
    fields.update({f"complainant.{key}": value for key, value in data["complainant"].items()})
    for position, accused in enumerate(data["accused"]):
        fields.update({f"accused.{position}.{key}": value for key, value in accused.items()})
    fields["client_reference"] = "0b7d4a53-9a55-1d0f-1e2c-3b4a7f1c2a9e"
    fields.update(overrides)
    return fields


def api_filing(challenge: str, answer: str, **overrides) -> dict:
    return {**filing(**overrides), "captcha": {"id": challenge, "answer": answer}}


# the captcha


def test_the_captcha_comes_first_as_an_image_and_as_audio(gateway, gateway_db):
    client = gateway.test_client()
    text = page(client.get("/prosecution/file?lang=fr"))
    assert 'name="complainant.first_name"' not in text  # no form before the code
    challenge = challenge_on(text)
    answer = answer_of(gateway_db, challenge)
    assert len(answer) == LENGTH and set(answer) <= set(ALPHABET)
    image = client.get(f"/api/v1/prosecution/captcha/{challenge}/image")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data.startswith(b"\x89PNG") and image.headers["Cache-Control"] == "no-store"
    for language in ("ar", "fr"):
        audio = client.get(f"/api/v1/prosecution/captcha/{challenge}/audio?lang={language}")
        assert audio.status_code == 200 and audio.mimetype == "audio/wav"
        with wave.open(io.BytesIO(audio.data)) as sound:
            # six characters read out with pauses and noise: several seconds
            assert sound.getnframes() / sound.getframerate() > 6
    assert client.get("/api/v1/prosecution/captcha/nothing-like-this/image").status_code == 404


def test_a_wrong_reused_or_expired_code_is_refused(gateway, gateway_db):
    client = gateway.test_client()
    challenge = challenge_on(page(client.get("/prosecution/file?lang=fr")))
    answer = answer_of(gateway_db, challenge)
    wrong = answer.swapcase() if answer.swapcase() != answer else answer[::-1] + "x"
    refused = client.post("/prosecution/captcha?lang=fr", data={"challenge": challenge, "answer": wrong[:6]})
    assert refused.status_code == 400
    assert "n’est pas celui affiché" in field_error(page(refused), "captcha")
    assert challenge_on(page(refused)) != challenge  # a new code to type
    # the right answer comes too late: the wrong one used the code up
    late = client.post("/prosecution/captcha?lang=fr", data={"challenge": challenge, "answer": answer})
    assert late.status_code == 400 and "déjà été utilisé" in field_error(page(late), "captcha")

    fresh = challenge_on(page(client.get("/prosecution/file")))
    execute(gateway_db, "update captcha_challenges set created_at = created_at - interval '1 hour' where id = :id",
            id=fresh)
    expired = client.post("/prosecution/captcha?lang=fr", data={"challenge": fresh,
                                                                "answer": answer_of(gateway_db, fresh)})
    assert expired.status_code == 400 and "expiré" in field_error(page(expired), "captcha")

    good = challenge_on(page(client.get("/prosecution/file")))
    solved_answer = answer_of(gateway_db, good)
    assert client.post("/prosecution/captcha", data={"challenge": good, "answer": solved_answer}).status_code == 303
    # the same code again, from another browser: used
    other = gateway.test_client()
    reused = other.post("/prosecution/captcha?lang=fr", data={"challenge": good, "answer": solved_answer})
    assert reused.status_code == 400 and "déjà été utilisé" in field_error(page(reused), "captcha")


def test_codes_are_rate_limited_per_client(make_gateway):
    app = make_gateway(CAPTCHA_RATE_LIMIT="3 per 10 minutes")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/prosecution/file").status_code == 200
    blocked = client.get("/prosecution/file?lang=fr")
    assert blocked.status_code == 429
    assert "Trop de codes" in page(blocked) and 'name="challenge"' not in page(blocked)
    assert client.post("/api/v1/prosecution/captcha").status_code == 429
    # another address is not held back
    other = app.test_client()
    assert other.get("/prosecution/file", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_the_test_mode_is_predictable_on_the_embedded_default_and_refused_in_production(
        prosecution, rabbit_config, var_dir, gateway_db, monkeypatch):
    with pytest.raises(RuntimeError, match="CAPTCHA_TEST_MODE"):
        create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "SECRET_KEY": "x", "CAPTCHA_TEST_MODE": True,
                    "GATEWAY_DATABASE_URL": gateway_db})
    monkeypatch.setenv("INTAKE_DATABASE_URL", gateway_db)  # any service's database URL means production
    with pytest.raises(RuntimeError, match="CAPTCHA_TEST_MODE"):
        create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "SECRET_KEY": "x", "CAPTCHA_TEST_MODE": True})
    monkeypatch.delenv("INTAKE_DATABASE_URL")
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "SECRET_KEY": "x", "CAPTCHA_TEST_MODE": True,
                      "WTF_CSRF_ENABLED": False})
    try:
        client = app.test_client()
        challenge = challenge_on(page(client.get("/prosecution/file")))
        assert client.post("/prosecution/captcha", data={"challenge": challenge,
                                                         "answer": TEST_ANSWER}).status_code == 303
    finally:
        app.extensions["complaint_desk"].pool.close()
        app.extensions["accounts"].close()


# the pages


def test_the_channel_is_reachable_from_the_home_page_in_both_languages(gateway):
    client = gateway.test_client()
    assert 'href="/prosecution/"' in page(client.get("/?lang=ar"))
    arabic = page(client.get("/prosecution/?lang=ar"))
    assert 'dir="rtl"' in arabic and "تقديم شكاية" in arabic and "تتبع شكاية" in arabic
    french = page(client.get("/prosecution/?lang=fr"))
    assert "Déposer une plainte" in french and "Suivre une plainte" in french


def test_filing_with_two_accused_through_the_form(gateway, gateway_db, prosecution, var_dir):
    client = gateway.test_client()
    pass_captcha(client, gateway_db)
    form = page(client.get("/prosecution/file?lang=fr"))
    assert 'name="complainant.first_name"' in form and 'name="accused.0.kind"' in form
    assert 'name="accused.1.kind"' not in form
    assert form.count('class="required"') >= 12  # the red asterisks
    # one more accused block, without losing what was typed
    more = page(client.post("/prosecution/file?lang=fr", data={**form_fields(), "add_accused": "1"}))
    assert 'name="accused.2.kind"' in more and 'value="Bennani"' in more

    response = client.post("/prosecution/file?lang=fr",
                           data={**form_fields(), "attachments": [(io.BytesIO(PDF), "preuve.pdf")]})
    assert response.status_code == 303
    receipt = page(client.get(response.headers["Location"]))
    code = re.search(r'class="tracking-number" dir="ltr">([A-Z0-9-]+)<', receipt).group(1)
    assert "Parquet près le tribunal de première instance de Rabat" in receipt
    assert "+212612•••678" in receipt  # the phone the code goes to, masked
    [stored] = rows(prosecution.db_url, "select tracking_code, office_code from complaints")
    assert (stored["tracking_code"], stored["office_code"]) == (code, "TPI_RABAT")
    assert len(rows(prosecution.db_url, "select id from accused")) == 2
    assert rows(prosecution.db_url, "select filename from attachments")[0]["filename"] == "preuve.pdf"
    # the pass was spent: filing again starts with a new code
    assert 'name="challenge"' in page(client.get("/prosecution/file"))

    followed = client.post("/prosecution/track?lang=fr", data={"tracking_code": code.lower(), "phone": "0612345678"})
    assert followed.status_code == 303
    status_page = page(client.get(followed.headers["Location"] + "?lang=fr"))
    assert "Reçue par le parquet" in status_page and "preuve.pdf" in status_page


def test_a_service_that_does_not_answer_keeps_the_files_it_may_still_take(
        make_gateway, gateway_db, prosecution, var_dir, start_service):
    """A timeout is no refusal: the filing waits in the service's queue with its files' keys,
    so the files stay in the store until the service, back, files it with them."""
    client = make_gateway(RPC_TIMEOUT=1).test_client()
    pass_captcha(client, gateway_db)
    assert 'name="facts_city"' in page(client.get("/prosecution/file?lang=fr"))  # the cities, now cached
    prosecution.stop()
    response = client.post("/prosecution/file?lang=fr",
                           data={**form_fields(), "attachments": [(io.BytesIO(PDF), "preuve.pdf")]})
    assert response.status_code == 503
    [stored] = stored_blobs(var_dir)

    from services.prosecution.service import ProsecutionService
    start_service(ProsecutionService, DATABASE_URL=prosecution.db_url)
    [attachment] = wait_for(lambda: rows(prosecution.db_url, "select blob_key from attachments"),
                            message="the waiting filing taken")
    assert stored.name in attachment["blob_key"] and stored.read_bytes() == PDF


def test_a_missing_required_field_is_named_and_the_code_still_holds(gateway, gateway_db, prosecution):
    client = gateway.test_client()
    pass_captcha(client, gateway_db)
    fields = form_fields(**{"complainant.phone": "", "accused.1.legal_name": "", "facts_city": "ATLANTIS"})
    refused = client.post("/prosecution/file?lang=fr", data=fields)
    assert refused.status_code == 400
    text = page(refused)
    assert field_error(text, "complainant-phone") == "Ce champ est obligatoire."
    assert field_error(text, "accused-1-legal_name") == "Ce champ est obligatoire."
    assert field_error(text, "facts_city") != ""
    assert 'value="El Amrani"' in text  # what was typed is kept
    assert rows(prosecution.db_url, "select id from complaints") == []
    # fixed, it goes through without a new code
    assert client.post("/prosecution/file", data=form_fields()).status_code == 303


def test_the_same_errors_read_in_arabic(gateway, gateway_db):
    client = gateway.test_client()
    pass_captcha(client, gateway_db)
    text = page(client.post("/prosecution/file?lang=ar", data=form_fields(**{"complainant.phone": ""})))
    assert field_error(text, "complainant-phone") == "هذه الخانة إلزامية."


def test_following_needs_the_right_phone(gateway, prosecution):
    client = gateway.test_client()
    refused = client.post("/prosecution/track?lang=fr", data={"tracking_code": "AAAA-BBBB-CCC", "phone": "0612345678"})
    assert refused.status_code == 404 and "Aucune plainte" in page(refused)
    missing = client.post("/prosecution/track?lang=fr", data={"tracking_code": "", "phone": ""})
    assert missing.status_code == 400 and field_error(page(missing), "phone") == "Ce champ est obligatoire."


# the JSON API


def test_the_api_files_with_the_captcha_and_follows_with_the_phone(gateway, gateway_db, prosecution):
    client = gateway.test_client()
    offices = client.get("/api/v1/prosecution/offices").get_json()
    assert any(office["code"] == "TPI_RABAT" and office["cities"] for office in offices)

    created = client.post("/api/v1/prosecution/captcha?lang=fr")
    assert created.status_code == 201
    captcha = created.get_json()
    assert client.get(captcha["image_url"]).mimetype == "image/png"
    challenge, answer = captcha["captcha_id"], answer_of(gateway_db, captcha["captcha_id"])

    missing = client.post("/api/v1/prosecution/complaints?lang=fr", json=filing())
    assert missing.status_code == 400
    assert missing.get_json()["fields"]["captcha"] == ["Ce champ est obligatoire."]
    invalid = client.post("/api/v1/prosecution/complaints?lang=fr",
                          json=api_filing(challenge, answer, accused=[{"kind": "legal_person"}]))
    assert invalid.status_code == 400
    assert invalid.get_json()["fields"] == {"accused.0.legal_name": ["Ce champ est obligatoire."]}

    filed = client.post("/api/v1/prosecution/complaints", json=api_filing(challenge, answer, category="corruption"))
    assert filed.status_code == 201, filed.get_json()
    receipt = filed.get_json()
    assert receipt["office_code"] == "CA_RABAT" and receipt["status"] == "received"
    again = client.post("/api/v1/prosecution/complaints?lang=fr", json=api_filing(challenge, answer))
    assert again.status_code == 400 and "déjà été utilisé" in again.get_json()["fields"]["captcha"][0]
    assert len(rows(prosecution.db_url, "select id from complaints")) == 1

    code = receipt["tracking_code"]
    view = client.get(f"/api/v1/prosecution/complaints/{code}", query_string={"phone": "+212612345678"}).get_json()
    assert [entry["step"] for entry in view["timeline"]] == ["received"]
    wrong = client.get(f"/api/v1/prosecution/complaints/{code}", query_string={"phone": "0600000000", "lang": "fr"})
    assert wrong.status_code == 404 and wrong.get_json()["error"] == "not_found"

    added = client.post(f"/api/v1/prosecution/complaints/{code}/documents",
                        data={"phone": "0612345678", "attachments": [(io.BytesIO(PDF), "recu.pdf")]})
    assert added.status_code == 201
    assert [item["filename"] for item in added.get_json()["attachments"]] == ["recu.pdf"]


def test_a_wrong_api_code_is_refused_and_used_up(gateway, gateway_db):
    client = gateway.test_client()
    challenge = client.post("/api/v1/prosecution/captcha").get_json()["captcha_id"]
    answer = answer_of(gateway_db, challenge)
    wrong = client.post("/api/v1/prosecution/complaints?lang=fr", json=api_filing(challenge, "zzzzzz"))
    assert wrong.status_code == 400 and "n’est pas celui" in wrong.get_json()["fields"]["captcha"][0]
    late = client.post("/api/v1/prosecution/complaints?lang=fr", json=api_filing(challenge, answer))
    assert late.status_code == 400 and "déjà été utilisé" in late.get_json()["fields"]["captcha"][0]


# the offices' staff


def add_staff(app, username, role, office_code=None, administration_code=None):
    agent, _password = app.extensions["accounts"].create_agent(
        username=username, full_name=f"{username.title()} Test", role=role, administration_code=administration_code,
        password=PASSWORD, known_codes={"CNSS"}, must_change_password=False, office_code=office_code,
        known_offices={"TPI_RABAT", "TPI_SALE", "CA_RABAT"})
    return agent


def file_through_api(app, gateway_db, **overrides) -> str:
    client = app.test_client()
    challenge = client.post("/api/v1/prosecution/captcha").get_json()["captcha_id"]
    filed = client.post("/api/v1/prosecution/complaints",
                        json=api_filing(challenge, answer_of(gateway_db, challenge), **overrides))
    assert filed.status_code == 201, filed.get_json()
    return filed.get_json()["tracking_code"]


def test_a_clerk_registers_and_refers_and_the_complainant_sees_each_step_and_gets_each_sms(
        gateway, gateway_db, notify):
    add_staff(gateway, "greffe.rabat", "prosecution_clerk", "TPI_RABAT")
    code = file_through_api(gateway, gateway_db)
    clerk = sign_in(gateway, "greffe.rabat")
    assert clerk.get("/backoffice/").headers["Location"].endswith("/backoffice/prosecution/")
    inbox = page(clerk.get("/backoffice/prosecution/?lang=fr"))
    assert code in inbox
    file_page = page(clerk.get(f"/backoffice/prosecution/complaints/{code}?lang=fr"))
    assert "El Amrani" in file_page and "Société Atlas Services SARL" in file_page and "Bennani" in file_page

    refused = clerk.post(f"/backoffice/prosecution/complaints/{code}/register?lang=fr", data={"register.register_number": ""})
    assert refused.status_code == 400
    assert field_error(page(refused), "register-register_number") == "Ce champ est obligatoire."
    done = clerk.post(f"/backoffice/prosecution/complaints/{code}/register",
                      data={"register.register_number": "1234/3101/2026"})
    assert done.status_code == 303
    assert clerk.post(f"/backoffice/prosecution/complaints/{code}/refer_to_police").status_code == 303
    too_soon = clerk.post(f"/backoffice/prosecution/complaints/{code}/register?lang=fr",
                          data={"register.register_number": "1/2026"})
    assert too_soon.status_code == 409

    complainant = gateway.test_client()
    complainant.post("/prosecution/track", data={"tracking_code": code, "phone": "0612345678"})
    steps = page(complainant.get(f"/prosecution/track/{code}?lang=fr"))
    assert "Enregistrée sous le numéro 1234/3101/2026" in steps
    assert "Transmise à la police judiciaire pour enquête" in steps

    def sms_bodies():
        path = config.outbox_dir() / "sms.jsonl"
        lines = path.read_text("utf-8").splitlines() if path.exists() else []
        return [json.loads(line)["body"] for line in lines if json.loads(line)["to"] == "+212612345678"]

    received = wait_for(lambda: len(sms_bodies()) == 3 and sms_bodies(), message="the three SMS")
    assert all(code in body for body in received)
    assert ["arrivée" in received[0], "1234/3101/2026" in received[1], "police judiciaire" in received[2]] == [
        True, True, True]


def test_other_offices_and_administration_agents_get_404(gateway, gateway_db):
    add_staff(gateway, "greffe.sale", "prosecution_clerk", "TPI_SALE")
    add_staff(gateway, "agent.cnss", "agent", administration_code="CNSS")
    add_staff(gateway, "greffe.rabat", "prosecution_clerk", "TPI_RABAT")
    code = file_through_api(gateway, gateway_db)  # theft in Rabat: TPI_RABAT
    other_office = sign_in(gateway, "greffe.sale")
    assert other_office.get(f"/backoffice/prosecution/complaints/{code}").status_code == 404
    assert other_office.post(f"/backoffice/prosecution/complaints/{code}/register",
                             data={"register.register_number": "1/2026"}).status_code == 404
    assert code not in page(other_office.get("/backoffice/prosecution/"))
    agent = sign_in(gateway, "agent.cnss")
    assert agent.get(f"/backoffice/prosecution/complaints/{code}").status_code == 404
    assert agent.get("/backoffice/prosecution/").status_code == 404
    # and the prosecution's staff see nothing of the general portal
    clerk = sign_in(gateway, "greffe.rabat")
    assert clerk.get("/backoffice/complaints/K7QM-2ZT9-W4HR8").status_code == 404
    assert clerk.get(f"/backoffice/prosecution/complaints/{code}").status_code == 200


def test_a_sealed_identity_opens_only_to_the_chief_with_a_logged_reason(gateway, gateway_db):
    add_staff(gateway, "greffe.ca", "prosecution_clerk", "CA_RABAT")
    add_staff(gateway, "chef.ca", "chief_prosecutor", "CA_RABAT")
    code = file_through_api(gateway, gateway_db, category="corruption", identity_sealed=True)
    clerk = sign_in(gateway, "greffe.ca")
    sealed = page(clerk.get(f"/backoffice/prosecution/complaints/{code}?lang=fr"))
    assert "El Amrani" not in sealed and "Identité protégée" in sealed
    assert clerk.post(f"/backoffice/prosecution/complaints/{code}/unseal",
                      data={"unseal.reason": "Je veux savoir qui c'est"}).status_code == 404
    chief = sign_in(gateway, "chef.ca")
    unsealed = chief.post(f"/backoffice/prosecution/complaints/{code}/unseal?lang=fr",
                          data={"unseal.reason": "Audition du plaignant nécessaire"})
    assert unsealed.status_code == 200 and "El Amrani" in page(unsealed)
    log = page(chief.get(f"/backoffice/prosecution/complaints/{code}?lang=fr"))
    assert "Audition du plaignant nécessaire" in log and "Greffe.Ca Test" in log


def test_the_platform_administrator_makes_prosecution_accounts_for_an_office(gateway, routing):
    add_staff(gateway, "admin", "platform_admin")
    admin = sign_in(gateway, "admin")
    form = page(admin.get("/backoffice/admin/accounts?lang=fr"))
    assert 'name="office_code"' in form and "TPI_RABAT" in form
    refused = admin.post("/backoffice/admin/accounts?lang=fr", data={
        "username": "greffe.fes", "full_name": "Greffier de Fès", "role": "prosecution_clerk"})
    assert refused.status_code == 400 and field_error(page(refused), "office_code") == "Ce champ est obligatoire."
    made = admin.post("/backoffice/admin/accounts", data={
        "username": "greffe.fes", "full_name": "Greffier de Fès", "role": "prosecution_clerk", "office_code": "TPI_FES"})
    assert made.status_code == 200
    [row] = [row for row in gateway.extensions["accounts"].agents() if row.username == "greffe.fes"]
    assert (row.role, row.office_code, row.administration_code) == ("prosecution_clerk", "TPI_FES", None)
