"""The administrations' back office against the real intake and routing services: signing in,
sessions, CSRF, the inbox, the complaint page and every action, what each role may see, the
platform administrator's pages, and the demo accounts."""
import html
import io
import os
import re
import time

import pytest

from gateway.app import create_app
from gateway.demo import DEMO_ACCOUNTS, credentials_path
from tests.backoffice_support import (PASSWORD, add_account, deliver, file_complaint, sign_in,
                                      status_of, wait_for_status)
from tests.conftest import wait_for
from tests.gateway_support import PDF
from tests.helpers import rows


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def csrf_token(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def inbox_numbers(client, query="") -> list[str]:
    text = page(client.get(f"/backoffice/{query}"))
    return re.findall(r'<a href="/backoffice/complaints/([A-Z0-9-]+)">', text)


def download_links(text: str) -> list[str]:
    return re.findall(r'<a href="(/files/[^"]+)" download>', text)


# signing in


def test_sign_in_with_the_right_password_only(office):
    add_account(office, "agent.cnss", "agent", "CNSS")
    client = office.test_client()
    response = client.get("/backoffice/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/backoffice/login?next=")

    login = client.get("/backoffice/login?lang=fr")
    text = page(login)
    assert '<meta name="robots" content="noindex, nofollow">' in text
    assert login.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert login.headers["Cache-Control"] == "no-store"
    # a wrong password and an unknown username get the same answer
    for username, password in (("agent.cnss", "not the password"), ("nobody", PASSWORD)):
        refused = client.post("/backoffice/login?lang=fr", data={"username": username, "password": password})
        assert refused.status_code == 401
        assert "Nom d’utilisateur ou mot de passe incorrect." in page(refused)

    signed = client.post("/backoffice/login", data={"username": " Agent.CNSS ", "password": PASSWORD,
                                                    "next": "/backoffice/?status=received"})
    assert signed.headers["Location"] == "/backoffice/?status=received"
    inbox = client.get("/backoffice/?lang=ar")
    assert inbox.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page(inbox) and "Agent.Cnss Test" in page(inbox)

    client.post("/backoffice/logout")
    assert client.get("/backoffice/").status_code == 302


def test_sign_in_goes_back_only_to_a_back_office_page(office):
    add_account(office, "agent.cnss", "agent", "CNSS")
    for target in ("https://evil.example/", "//evil.example/backoffice/", "/track", "/backoffice\\@evil"):
        client = office.test_client()
        response = client.post("/backoffice/login", data={"username": "agent.cnss", "password": PASSWORD,
                                                          "next": target})
        assert response.headers["Location"] == "/backoffice/"


def test_failed_sign_ins_are_limited_per_username_and_address(make_office):
    app = make_office(LOGIN_RATE_LIMIT="3 per 15 minutes")
    add_account(app, "agent.cnss", "agent", "CNSS")
    add_account(app, "agent.onee", "agent", "ONEE")
    client = app.test_client()
    for _attempt in range(3):
        assert client.post("/backoffice/login", data={"username": "agent.cnss", "password": "guess"}).status_code == 401
    blocked = client.post("/backoffice/login?lang=fr", data={"username": "agent.cnss", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Trop de tentatives" in page(blocked)
    # another username from the same address still signs in
    assert sign_in(app, "agent.onee")


def test_a_session_ends_when_idle_when_the_password_changes_or_the_account_is_deactivated(office):
    agent = add_account(office, "agent.cnss", "agent", "CNSS")
    client = sign_in(office, "agent.cnss")
    assert client.get("/backoffice/").status_code == 200
    with client.session_transaction() as session:
        session["backoffice"]["seen"] = time.time() - office.permanent_session_lifetime.total_seconds() - 1
    expired = client.get("/backoffice/?lang=fr")
    assert expired.status_code == 302 and "/backoffice/login" in expired.headers["Location"]
    login = page(client.get(expired.headers["Location"]))
    assert "Votre session a pris fin" in login
    assert client.get("/backoffice/").status_code == 302  # the session is gone, not only hidden

    # a new password ends the sessions opened with the old one
    client = sign_in(office, "agent.cnss")
    office.extensions["accounts"].reset_password(agent.id)
    assert client.get("/backoffice/").status_code == 302

    client = sign_in(office, "agent.cnss", office.extensions["accounts"].reset_password(agent.id)[1])
    office.extensions["accounts"].set_active(agent.id, False)
    assert client.get("/backoffice/").status_code == 302
    refused = client.post("/backoffice/login", data={"username": "agent.cnss", "password": PASSWORD})
    assert refused.status_code == 401


def test_forms_without_their_csrf_token_are_refused(make_office, intake):
    app = make_office(WTF_CSRF_ENABLED=True)
    add_account(app, "agent.cnss", "agent", "CNSS")
    number = file_complaint(app)
    client = app.test_client()
    refused = client.post("/backoffice/login?lang=fr", data={"username": "agent.cnss", "password": PASSWORD})
    assert refused.status_code == 400 and "Ce formulaire a expiré" in page(refused)
    token = csrf_token(page(client.get("/backoffice/login")))
    signed = client.post("/backoffice/login", data={"username": "agent.cnss", "password": PASSWORD,
                                                    "csrf_token": token})
    assert signed.status_code == 302
    # an action sent from elsewhere carries no token
    assert client.post(f"/backoffice/complaints/{number}/acknowledge").status_code == 400
    assert status_of(intake, number) != "in_progress"
    token = csrf_token(page(client.get(f"/backoffice/complaints/{number}")))
    assert client.post(f"/backoffice/complaints/{number}/acknowledge",
                       data={"csrf_token": token}).status_code == 302
    assert status_of(intake, number) == "in_progress"


def test_a_password_chosen_by_someone_else_is_changed_at_first_sign_in(office):
    add_account(office, "agent.cnss", "agent", "CNSS", must_change_password=True)
    client = sign_in(office, "agent.cnss")
    assert client.get("/backoffice/").headers["Location"] == "/backoffice/password"
    refused = client.post("/backoffice/password?lang=fr", data={
        "current_password": "wrong", "new_password": "short", "repeated_password": "short"})
    text = page(refused)
    assert refused.status_code == 400
    assert "Ce n’est pas votre mot de passe actuel." in text
    assert "au moins 12 caractères" in text
    assert 'value="short"' not in text  # passwords are never sent back
    changed = client.post("/backoffice/password", data={
        "current_password": PASSWORD, "new_password": "my own long password", "repeated_password": "my own long password"})
    assert changed.headers["Location"] == "/backoffice/"
    assert client.get("/backoffice/").status_code == 200  # the session that changed it goes on
    assert sign_in(office, "agent.cnss", "my own long password")


# the inbox


def test_the_inbox_lists_the_administrations_complaints_nearest_deadline_first(office, intake, rabbit_config):
    add_account(office, "agent.cnss", "agent", "CNSS")
    not_received = file_complaint(office, subject="Pension non versée depuis mars")
    recent = file_complaint(office, subject="Attestation d'affiliation refusée", type="observation")
    late = file_complaint(office, subject="Remboursement de soins en attente")
    elsewhere = file_complaint(office, administration_code="ONEE", subject="Coupure d'électricité répétée")
    for number in (not_received, recent, late, elsewhere):
        wait_for_status(intake, number, "routed")
    deliver(intake, rabbit_config, recent, days_ago=10)
    deliver(intake, rabbit_config, late, days_ago=61)  # past the 60 days

    client = sign_in(office, "agent.cnss")
    assert inbox_numbers(client) == [late, recent, not_received]
    text = page(client.get("/backoffice/?lang=fr"))
    assert text.count("En retard") >= 1 and "Jours restants : 50" in text
    assert inbox_numbers(client, "?overdue=1") == [late]
    assert inbox_numbers(client, "?status=received") == [late, recent]
    assert inbox_numbers(client, "?type=observation") == [recent]
    assert inbox_numbers(client, "?subject=PENSION") == [not_received]
    assert inbox_numbers(client, "?subject=électricité") == []  # ONEE's, not CNSS's


def test_the_platform_agent_sees_the_dispatch_queue_and_dispatches(office, intake):
    add_account(office, "dispatch", "platform_agent")
    add_account(office, "agent.cnss", "agent", "CNSS")
    unknown = file_complaint(office, administration_code="UNKNOWN", subject="Je ne sais pas à qui écrire")
    known = file_complaint(office, subject="Pension non versée depuis mars")
    wait_for_status(intake, unknown, "triage")
    wait_for_status(intake, known, "routed")

    dispatcher = sign_in(office, "dispatch")
    assert inbox_numbers(dispatcher) == [unknown]
    assert set(inbox_numbers(dispatcher, "?administration_code=all")) == {unknown, known}
    assert inbox_numbers(dispatcher, "?administration_code=CNSS") == [known]

    text = page(dispatcher.get(f"/backoffice/complaints/{unknown}?lang=fr"))
    assert "Orienter vers une administration" in text
    response = dispatcher.post(f"/backoffice/complaints/{unknown}/transfer", data={
        "transfer.to_administration_code": "CNSS", "transfer.reason": "Il s'agit d'une pension de la CNSS."})
    assert response.status_code == 302
    assert status_of(intake, unknown) == "routed"
    agent = sign_in(office, "agent.cnss")
    assert set(inbox_numbers(agent)) == {unknown, known}


# what each account may see


def test_an_agent_gets_404_on_another_administrations_complaint_and_its_files(office, intake):
    add_account(office, "agent.cnss", "agent", "CNSS")
    add_account(office, "agent.onee", "agent", "ONEE")
    theirs = file_complaint(office, administration_code="ONEE", attachments=[(io.BytesIO(PDF), "facture.pdf")])
    wait_for_status(intake, theirs, "routed")
    onee = sign_in(office, "agent.onee")
    [link] = download_links(page(onee.get(f"/backoffice/complaints/{theirs}")))
    attachment_id = rows(intake.db_url, "select id from attachments")[0]["id"]

    cnss = sign_in(office, "agent.cnss")
    for response in (cnss.get(f"/backoffice/complaints/{theirs}"),
                     cnss.post(f"/backoffice/complaints/{theirs}/acknowledge"),
                     cnss.post(f"/backoffice/complaints/{theirs}/notes", data={"note.text": "Vu"}),
                     cnss.get("/backoffice/complaints/AAAA-AAAA-AAAAA")):
        assert response.status_code == 404
    assert theirs not in inbox_numbers(cnss)
    assert status_of(intake, theirs) == "routed"
    # a link made for a CNSS agent, to ONEE's file: intake refuses it when it is followed
    with office.test_request_context():
        from gateway.downloads import agent_link
        forged = agent_link({"id": "agent:2", "name": "Agent.Cnss Test", "role": "agent",
                             "administration_code": "CNSS"}, theirs, attachment_id)
    assert cnss.get(forged).status_code == 404
    # ONEE's own link works, as a download no browser renders
    download = onee.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # only views by those allowed are in the access log
    log = rows(intake.db_url, "select actor_name, action from access_log order by id")
    assert [(entry["actor_name"], entry["action"]) for entry in log] == [
        ("Agent.Onee Test", "view"), ("Agent.Onee Test", "attachment")]


def test_the_access_log_is_shown_to_supervisors_not_to_agents(office, intake):
    add_account(office, "agent.cnss", "agent", "CNSS")
    add_account(office, "chef.cnss", "supervisor", "CNSS")
    number = file_complaint(office)
    wait_for_status(intake, number, "routed")
    agent_page = page(sign_in(office, "agent.cnss").get(f"/backoffice/complaints/{number}?lang=fr"))
    assert "Qui a ouvert cette demande" not in agent_page
    supervisor_page = page(sign_in(office, "chef.cnss").get(f"/backoffice/complaints/{number}?lang=fr"))
    assert "Qui a ouvert cette demande" in supervisor_page
    assert "Agent.Cnss Test" in supervisor_page and "Chef.Cnss Test" in supervisor_page


def test_only_the_platform_administrator_opens_the_administration_pages(office):
    add_account(office, "chef.cnss", "supervisor", "CNSS")
    client = sign_in(office, "chef.cnss")
    for address in ("/backoffice/admin/accounts", "/backoffice/admin/tokens", "/backoffice/admin/administrations"):
        assert client.get(address).status_code == 403
    assert client.post("/backoffice/admin/accounts", data={"username": "intrus", "role": "platform_admin",
                                                           "full_name": "Intrus"}).status_code == 403
    assert not office.extensions["accounts"].exists("intrus")


# the complaint page and its actions


def test_the_complaint_page_shows_the_complainant_the_files_and_the_history(office, intake, notify):
    add_account(office, "agent.cnss", "agent", "CNSS")
    number = file_complaint(office, attachments=[(io.BytesIO(PDF), "relevé de carrière.pdf")],
                            email="fatima@example.ma")
    wait_for_status(intake, number, "routed")
    client = sign_in(office, "agent.cnss")
    response = client.get(f"/backoffice/complaints/{number}?lang=fr")
    text = page(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    for shown in ("Fatima Zahra El Amrani", "BK123456", "+212612345678", "fatima@example.ma",
                  "Ma pension de retraite n'a pas été versée", "relevé de carrière.pdf",
                  "Demande déposée", "Casablanca-Settat"):
        assert shown in text, shown
    [link] = download_links(text)
    assert client.get(link).data == PDF
    assert "Accuser réception et commencer le traitement" in text
    # what notify sent the citizen: the tracking number, by SMS (and by e-mail)
    sent = wait_for(lambda: re.search(r"<td>SMS</td>\s*<td>Numéro de suivi</td><td>Envoyé</td>", page(
        client.get(f"/backoffice/complaints/{number}?lang=fr"))), message="the SMS in the history")
    assert sent


def test_every_action_through_the_page(office, intake, rabbit_config):
    add_account(office, "agent.cnss", "agent", "CNSS")
    number = file_complaint(office)
    wait_for_status(intake, number, "routed")
    deliver(intake, rabbit_config, number)
    client = sign_in(office, "agent.cnss")
    base = f"/backoffice/complaints/{number}"

    done = client.post(f"{base}/acknowledge?lang=fr")
    assert done.headers["Location"] == base
    assert "en cours de traitement" in page(client.get(f"{base}?lang=fr"))
    assert status_of(intake, number) == "in_progress"

    client.post(f"{base}/notes", data={"note.text": "Dossier transmis au service des pensions."})
    client.post(f"{base}/request-information", data={
        "request_information.message": "Merci d'envoyer votre relevé de carrière."})
    assert status_of(intake, number) == "information_requested"
    text = page(client.get(f"{base}?lang=fr"))
    assert "Dossier transmis au service des pensions." in text
    assert "Merci d'envoyer votre relevé de carrière." in text
    assert "Délai suspendu" in text

    # an answer cannot be sent while waiting for the citizen: the page says why, keeps the text
    refused = client.post(f"{base}/answer?lang=fr", data={"answer.text": "Votre pension sera versée."})
    assert refused.status_code == 409
    assert "Cette action n’est pas possible à ce stade de la demande." in page(refused)

    with office.app_context():
        office.extensions["complaint_desk"].add_message(number, "0612345678", "Voici le relevé.", [])
    assert status_of(intake, number) == "in_progress"

    empty = client.post(f"{base}/answer?lang=fr", data={"answer.text": "   "})
    assert empty.status_code == 400 and "Ce champ est obligatoire." in page(empty)
    answered = client.post(f"{base}/answer", data={
        "answer.text": "Votre pension sera versée le 5 du mois prochain.",
        "answer.attachments": [(io.BytesIO(PDF), "décision.pdf")]}, content_type="multipart/form-data")
    assert answered.status_code == 302
    assert status_of(intake, number) == "answered"
    text = page(client.get(f"{base}?lang=fr"))
    assert "Votre pension sera versée le 5 du mois prochain." in text and "décision.pdf" in text

    # the citizen reopens: back in the inbox, marked reopened
    with office.app_context():
        office.extensions["complaint_desk"].reopen(number, "0612345678", "Rien n'a été versé.")
    inbox = page(client.get("/backoffice/?lang=fr"))
    assert number in inbox and "Rouverte" in inbox

    # closing as a duplicate needs the original's number
    missing = client.post(f"{base}/close?lang=fr", data={"close.reason": "duplicate"})
    assert missing.status_code == 400 and "Ce champ est obligatoire." in page(missing)
    original = file_complaint(office)
    closed = client.post(f"{base}/close", data={"close.reason": "duplicate", "close.duplicate_of": original})
    assert closed.status_code == 302
    assert status_of(intake, number) == "closed"
    assert "Doublon d’une autre demande" in page(client.get(f"{base}?lang=fr"))


def test_a_transfer_takes_the_complaint_out_of_the_agents_reach(office, intake):
    add_account(office, "agent.cnss", "agent", "CNSS")
    add_account(office, "agent.onee", "agent", "ONEE")
    number = file_complaint(office)
    wait_for_status(intake, number, "routed")
    client = sign_in(office, "agent.cnss")
    base = f"/backoffice/complaints/{number}"
    unknown = client.post(f"{base}/transfer?lang=fr", data={"transfer.to_administration_code": "NOWHERE",
                                                            "transfer.reason": "Pas chez nous."})
    assert unknown.status_code == 400 and "Veuillez choisir l’une des options proposées." in page(unknown)
    moved = client.post(f"{base}/transfer", data={"transfer.to_administration_code": "ONEE",
                                                  "transfer.reason": "Il s'agit d'une facture d'électricité."})
    assert moved.status_code == 302
    assert client.get(moved.headers["Location"]).status_code == 404
    assert number in inbox_numbers(sign_in(office, "agent.onee"))


# the platform administrator's pages


def test_the_administrator_creates_accounts_with_a_password_shown_once(office):
    add_account(office, "admin", "platform_admin")
    client = sign_in(office, "admin")
    refused = client.post("/backoffice/admin/accounts?lang=fr", data={
        "username": "Agent CNSS", "full_name": "Karim", "role": "agent", "administration_code": "",
        "password": "short"})
    text = page(refused)
    assert refused.status_code == 400
    assert "Un nom d’utilisateur" in text and "Ce champ est obligatoire." in text
    assert 'value="short"' not in text

    created = client.post("/backoffice/admin/accounts?lang=fr", data={
        "username": "karim.cnss", "full_name": "Karim Bennani", "role": "agent", "administration_code": "CNSS"})
    text = page(created)
    assert created.status_code == 200
    password = re.search(r'Mot de passe</dt><dd><code dir="ltr">([^<]+)</code>', text).group(1)
    assert "karim.cnss" in text and len(password) >= 12
    assert password not in page(client.get("/backoffice/admin/accounts"))  # shown once only
    taken = client.post("/backoffice/admin/accounts?lang=fr", data={
        "username": "karim.cnss", "full_name": "Karim Autre", "role": "supervisor", "administration_code": "CNSS"})
    assert "déjà utilisé" in page(taken)

    newcomer = sign_in(office, "karim.cnss", password)
    assert newcomer.get("/backoffice/").headers["Location"] == "/backoffice/password"


def test_the_administrator_makes_and_revokes_api_tokens(office):
    add_account(office, "admin", "platform_admin")
    client = sign_in(office, "admin")
    created = client.post("/backoffice/admin/tokens", data={"name": "GED de la CNSS", "administration_code": "CNSS"})
    token = re.search(r'<code dir="ltr">(chk_[^<]+)</code>', page(created)).group(1)
    api = office.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/agent/complaints", headers=headers).status_code == 200
    assert token not in page(client.get("/backoffice/admin/tokens"))
    [row] = office.extensions["accounts"].tokens()
    assert row.token_sha256 != token and token.startswith(row.prefix)
    client.post(f"/backoffice/admin/tokens/{row.id}/revoke")
    assert api.get("/api/v1/agent/complaints", headers=headers).status_code == 401


def test_the_administrator_adds_an_administration(office):
    add_account(office, "admin", "platform_admin")
    client = sign_in(office, "admin")
    refused = client.post("/backoffice/admin/administrations?lang=fr", data={
        "code": "CNSS", "name_ar": "x", "name_fr": "x", "kind": "public_institution"})
    assert refused.status_code == 400 and "Une administration a déjà ce code." in page(refused)
    added = client.post("/backoffice/admin/administrations", data={
        "code": "aref_cs", "name_ar": "الأكاديمية الجهوية للتربية والتكوين لجهة الدار البيضاء سطات",
        "name_fr": "Académie régionale d'éducation et de formation Casablanca-Settat", "kind": "public_institution"})
    assert added.status_code == 302
    assert '<option value="AREF_CS">Académie régionale' in page(client.get("/complaints/new?lang=fr"))


def test_the_administrator_sets_where_deadline_emails_go(office):
    add_account(office, "admin", "platform_admin")
    client = sign_in(office, "admin")
    form = page(client.get("/backoffice/admin/administrations/CNSS/contacts?lang=fr"))
    assert "E-mail du bureau des réclamations" in form and 'name="csrf_token"' in form
    refused = client.post("/backoffice/admin/administrations/CNSS/contacts?lang=fr", data={
        "contact_email": "bureau-cnss", "supervisor_email": "chef@cnss.ma", "contact_language": "fr"})
    assert refused.status_code == 400 and "Cette adresse e-mail n’est pas valide." in page(refused)
    assert 'value="bureau-cnss"' in page(refused)  # what was typed is kept
    saved = client.post("/backoffice/admin/administrations/CNSS/contacts", data={
        "contact_email": "bureau@cnss.ma", "supervisor_email": "chef@cnss.ma", "contact_language": "fr"})
    assert saved.status_code == 302
    listing = page(client.get("/backoffice/admin/administrations?lang=ar"))
    assert "bureau@cnss.ma, chef@cnss.ma" in listing
    assert client.get("/backoffice/admin/administrations/NOPE/contacts").status_code == 404
    add_account(office, "chef.cnss", "supervisor", "CNSS")
    supervisor = sign_in(office, "chef.cnss")
    assert supervisor.get("/backoffice/admin/administrations/CNSS/contacts").status_code == 403


# demo accounts


def test_demo_accounts_are_made_once_on_the_embedded_default(var_dir, monkeypatch):
    for name in [name for name in os.environ if name.endswith("DATABASE_URL")]:
        monkeypatch.delenv(name)
    app = create_app({"SECRET_KEY": "test-only-secret", "CHIKAYA_DEMO": "1"})
    accounts = app.extensions["accounts"]
    assert accounts.url == f"sqlite:///{var_dir / 'gateway.db'}"
    text = credentials_path().read_text()
    assert oct(credentials_path().stat().st_mode & 0o777) == "0o600"
    for username, _name, _role, _administration in DEMO_ACCOUNTS:
        password = re.search(rf"{re.escape(username)} / (\S+)", text).group(1)
        assert accounts.authenticate(username, password) is not None
    token = re.search(r"API token of CNSS: (\S+)", text).group(1)
    assert accounts.token_holder(token).administration_code == "CNSS"
    hashes = {agent.username: agent.password_hash for agent in accounts.agents()}
    assert all(password not in hashes.values() for password in re.findall(r" / (\S+)", text))
    accounts.close()

    again = create_app({"SECRET_KEY": "test-only-secret", "CHIKAYA_DEMO": "1"})
    assert {agent.username: agent.password_hash for agent in again.extensions["accounts"].agents()} == hashes
    assert len(again.extensions["accounts"].tokens()) == 1
    assert credentials_path().read_text() == text
    again.extensions["accounts"].close()


@pytest.mark.parametrize("setting", ["no demo", "gateway database", "service database"])
def test_production_never_gets_demo_accounts(setting, var_dir, monkeypatch, database_url):
    settings = {"SECRET_KEY": "test-only-secret", "CHIKAYA_DEMO": "1"}
    if setting == "no demo":
        settings["CHIKAYA_DEMO"] = ""
    elif setting == "gateway database":
        settings["GATEWAY_DATABASE_URL"] = database_url("gateway")
    else:
        monkeypatch.setenv("INTAKE_DATABASE_URL", database_url("intake"))
    app = create_app(settings)
    assert app.extensions["accounts"].agents() == []
    assert app.extensions["accounts"].tokens() == []
    assert not credentials_path().exists()
    app.extensions["accounts"].close()


def test_every_code_the_back_office_shows_has_a_label():
    from gateway import labels
    from services.intake import domain
    from services.notify import domain as notify_domain
    assert set(labels.CASE_STATUSES) == set(domain.STATUSES)
    assert set(labels.CLOSE_REASONS) == set(domain.CLOSE_REASONS)
    assert set(labels.ROLES) == set(domain.ROLES)
    assert set(labels.NOTIFICATION_TEMPLATES) == {"complaint_submitted"} | {
        notify_domain.template_for(event) for event in notify_domain.LIFECYCLE_FIELDS} | {
        template for template, _address in notify_domain.ADMINISTRATION_MESSAGES.values()}
