"""The per-client limits of gateway.ratelimit and the back office's sign-in throttle: filing
through every channel, Open311's lookup of a request by its number, and failed sign-ins.  Each
refusal is a 429 with Retry-After, in the channel's own error format and the user's language."""
import html
import json
import re

from gateway.app import settings_from_environment
from gateway.captcha import TEST_ANSWER
from tests.backoffice_support import PASSWORD, add_account
from tests.factories import valid_submission
from tests.gateway_support import complaints_in_intake, form_fields
from tests.prosecution_support import filing, prosecution  # noqa: F401 (a fixture)

OTHER_ADDRESS = {"REMOTE_ADDR": "203.0.113.7"}
OPEN311_FILING = {
    "service_code": "CNSS-complaint", "first_name": "Fatima Zahra", "last_name": "El Amrani",
    "phone": "06 12 34 56 78",
    "description": "Ma pension de retraite n'a pas été versée depuis trois mois malgré mes relances.",
    "attribute[subject]": "Retard de versement de la pension", "attribute[region]": "CS",
    "attribute[complainant_status]": "citizen", "attribute[id_type]": "cnie", "attribute[id_number]": "BK123456",
}
FILING_REFUSED_FR = "Trop de réclamations ont été déposées depuis votre connexion"


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def retry_after(response, longest: int) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= longest
    return seconds


def prosecution_api_filing(client) -> dict:
    captcha = client.post("/api/v1/prosecution/captcha").get_json()
    return {**filing(), "captcha": {"id": captcha["captcha_id"], "answer": TEST_ANSWER}}


def test_filings_from_one_address_are_limited_across_every_channel(gateway_apps, intake, routing, prosecution):
    app = gateway_apps(FILING_RATE_LIMIT="4 per hour", CAPTCHA_TEST_MODE=True)
    client = app.test_client()
    # a filing that is refused for its fields spends nothing
    assert client.post("/api/v1/complaints", json=valid_submission(subject="")).status_code == 400
    assert client.post("/complaints/new", data=form_fields()).status_code == 302
    assert client.post("/api/v1/complaints", json=valid_submission()).status_code == 201
    assert client.post("/open311/v2/requests.json", data=OPEN311_FILING).status_code == 200
    assert client.post("/api/v1/prosecution/complaints", json=prosecution_api_filing(client)).status_code == 201

    refused = client.post("/api/v1/complaints?lang=fr", json=valid_submission())
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too_many_filings"
    assert refused.get_json()["message"].startswith(FILING_REFUSED_FR)
    retry_after(refused, 3600)

    # the portal's form comes back with what was typed and the reason
    refused = client.post("/complaints/new?lang=ar", data=form_fields(subject="Pension toujours pas versée"))
    assert refused.status_code == 429
    assert "أُودع عدد كبير من الشكايات من اتصالك مؤخرا" in page(refused)
    assert 'value="Pension toujours pas versée"' in page(refused)
    retry_after(refused, 3600)

    refused = client.post("/open311/v2/requests.json?lang=fr", data=OPEN311_FILING)
    assert refused.status_code == 429
    [error] = json.loads(refused.data)
    assert error["code"] == 429 and error["description"].startswith(FILING_REFUSED_FR)
    retry_after(refused, 3600)

    refused = client.post("/api/v1/prosecution/complaints", json=prosecution_api_filing(client))
    assert refused.status_code == 429 and refused.get_json()["error"] == "too_many_filings"

    # the prosecution's form: what was typed comes back, and the captcha's pass is not spent
    challenge = re.search(r'name="challenge" value="([^"]+)"', page(client.get("/prosecution/file"))).group(1)
    assert client.post("/prosecution/captcha", data={"challenge": challenge, "answer": TEST_ANSWER}).status_code == 303
    refused = client.post("/prosecution/file?lang=fr", data={"facts_place": "Devant la poste de Hay Riad"})
    assert refused.status_code == 429
    assert FILING_REFUSED_FR in page(refused) and 'value="Devant la poste de Hay Riad"' in page(refused)
    assert 'name="complainant.first_name"' in page(client.get("/prosecution/file"))

    # another address files as before; nothing refused was filed
    assert client.post("/api/v1/complaints", json=valid_submission(),
                       environ_base=OTHER_ADDRESS).status_code == 201
    assert len(complaints_in_intake(intake)) == 4


def test_the_filing_limit_defaults_to_ten_an_hour_and_can_be_turned_off(gateway_apps, intake, routing,
                                                                        monkeypatch):
    monkeypatch.delenv("FILING_RATE_LIMIT", raising=False)
    assert settings_from_environment()["FILING_RATE_LIMIT"] == "10 per hour"
    client = gateway_apps(FILING_RATE_LIMIT="off").test_client()
    for _filing in range(3):
        assert client.post("/api/v1/complaints", json=valid_submission()).status_code == 201
    client = gateway_apps(FILING_RATE_LIMIT="2 per hour").test_client()
    for _filing in range(2):
        assert client.post("/api/v1/complaints", json=valid_submission()).status_code == 201
    assert client.post("/api/v1/complaints", json=valid_submission()).status_code == 429


def test_open311_lookups_of_numbers_that_do_not_exist_count_as_failed_tracking(gateway_apps, intake, routing):
    client = gateway_apps(TRACKING_RATE_LIMIT="3 per 10 minutes").test_client()
    number = client.post("/api/v1/complaints", json=valid_submission()).get_json()["tracking_number"]
    for _lookup in range(5):  # numbers that exist cost nothing
        assert client.get(f"/open311/v2/requests/{number}.json").status_code == 200
    # misses through Open311 and through the citizens' API share one count
    assert client.get("/open311/v2/requests/K7QM-2ZT9-W4HR8.json").status_code == 404
    assert client.get("/open311/v2/requests/ABCD-EFGH-JKMN0.xml").status_code == 404
    assert client.get("/api/v1/complaints/K7QM-2ZT9-W4HR8?contact=0612345678").status_code == 404

    refused = client.get(f"/open311/v2/requests/{number}.json?lang=fr")  # right, but too late
    assert refused.status_code == 429
    [error] = json.loads(refused.data)
    assert error["code"] == 429 and error["description"].startswith("Trop de tentatives infructueuses")
    retry_after(refused, 600)
    refused = client.get(f"/open311/v2/requests/{number}.xml")
    assert refused.status_code == 429 and b"<code>429</code>" in refused.data

    assert client.get(f"/open311/v2/requests/{number}.json", environ_base=OTHER_ADDRESS).status_code == 200


def test_failed_sign_ins_are_refused_past_the_limit_until_a_success_or_the_window(gateway_apps):
    app = gateway_apps(LOGIN_RATE_LIMIT="3 per 15 minutes")
    add_account(app, "agent.cnss", "agent", "CNSS")
    client = app.test_client()

    def sign_in(password):
        return client.post("/backoffice/login?lang=fr", data={"username": "agent.cnss", "password": password})

    assert [sign_in("guess").status_code for _attempt in range(2)] == [401, 401]
    assert sign_in(PASSWORD).status_code == 302  # a success starts the count again...
    assert [sign_in("guess").status_code for _attempt in range(3)] == [401, 401, 401]  # ...else the 3rd is 429
    refused = sign_in(PASSWORD)  # the right password, too late
    assert refused.status_code == 429
    assert "Trop de tentatives" in page(refused)
    retry_after(refused, 15 * 60)
    # the password is not even looked at while refused: a refusal says nothing about it
    assert sign_in("guess").status_code == 429


def test_failed_sign_ins_from_one_address_are_refused_past_the_address_limit_whatever_the_usernames(
        gateway_apps, monkeypatch):
    monkeypatch.delenv("LOGIN_ADDRESS_RATE_LIMIT", raising=False)
    assert settings_from_environment()["LOGIN_ADDRESS_RATE_LIMIT"] == "30 per 15 minutes"
    app = gateway_apps(LOGIN_RATE_LIMIT="3 per 15 minutes", LOGIN_ADDRESS_RATE_LIMIT="4 per 15 minutes")
    add_account(app, "agent.cnss", "agent", "CNSS")
    add_account(app, "agent.onee", "agent", "ONEE")
    client = app.test_client()

    def sign_in(username, password, language="fr", **options):
        return client.post(f"/backoffice/login?lang={language}", data={"username": username, "password": password},
                           **options)

    # one guess on each of many usernames: no (username, address) pair comes near its own limit
    assert [sign_in(username, "Printemps2026!").status_code
            for username in ("agent.onee", "agent.rabat", "agent.fes")] == [401, 401, 401]
    # the sprayer's own valid account signs in, and that does not start the address's count again
    assert sign_in("agent.cnss", PASSWORD).status_code == 302
    assert sign_in("agent.tanger", "Printemps2026!").status_code == 401  # the 4th failure from this address

    refused = sign_in("agent.onee", PASSWORD)  # another account's right password, too late
    assert refused.status_code == 429
    assert "Trop de tentatives échouées" in page(refused)
    retry_after(refused, 15 * 60)
    refused = sign_in("agent.cnss", PASSWORD, language="ar")  # its pair has no failure, the address has
    assert refused.status_code == 429
    assert "محاولات فاشلة كثيرة" in page(refused)
    retry_after(refused, 15 * 60)

    # another address signs in as before
    assert sign_in("agent.onee", PASSWORD, environ_base=OTHER_ADDRESS).status_code == 302
