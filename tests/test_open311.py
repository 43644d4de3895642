"""Open311 GeoReport v2 (/open311/v2/) against the real intake and routing services: every
resource in JSON and in XML with the specification's field names, filing a real complaint that
GET then shows, the filters, the spec's error format, and no personal data in any GET answer."""
import json
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

import pytest
from sqlalchemy import create_engine, text

from gateway.app import create_app
from services.common.crypto import decrypt
from services.common.db import utcnow
from tests.conftest import wait_for
from tests.gateway_support import complaints_in_intake

W3_UTC = "%Y-%m-%dT%H:%M:%SZ"
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address"]
ATTRIBUTE_FIELDS = ["variable", "code", "datatype", "required", "datatype_description", "order", "description"]
PERSON = {"first_name": "Fatima Zahra", "last_name": "El Amrani", "email": "fatima.amrani@example.ma",
          "phone": "06 12 34 56 78"}
FILING = {
    "service_code": "CNSS-complaint", **PERSON,
    "description": "Ma pension de retraite n'a pas été versée depuis trois mois malgré mes relances.",
    "attribute[subject]": "Retard de versement de la pension",
    "attribute[region]": "CS", "attribute[complainant_status]": "citizen",
    "attribute[id_type]": "cnie", "attribute[id_number]": "BK123456",
    "lat": "33.5731", "long": "-7.5898", "address_string": "12 rue Allal Ben Abdellah, Casablanca",
    "device_id": "device-42", "account_id": "account-7", "media_url": "https://photos.example.org/1.jpg",
}
# what the complainant wrote or is: none of it may come out of a GET
PERSONAL = ["Fatima", "Amrani", "fatima.amrani", "612345678", "BK123456", "Retard de versement",
            "pension de retraite", "Allal Ben Abdellah", "device-42", "account-7", "photos.example.org"]


def xml(response) -> ElementTree.Element:
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ElementTree.fromstring(response.data)


def as_json(response):
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.data.decode("utf-8"))


def children(element) -> dict:
    return {child.tag: child.text for child in element}


def file_request(client, response_format="json", **changes):
    fields = {key: value for key, value in {**FILING, **changes}.items() if value is not None}
    return client.post(f"/open311/v2/requests.{response_format}?lang=fr", data=fields)


def filed(client, **changes) -> str:
    response = file_request(client, **changes)
    assert response.status_code == 200, response.data
    [answer] = as_json(response)
    return answer["service_request_id"]


def update(intake, number, assignments, **params):
    engine = create_engine(intake.db_url)
    with engine.begin() as connection:
        connection.execute(text(f"update complaints set {assignments} where tracking_number = :n"),
                           {"n": number, **params})
    engine.dispose()


def routed(intake, number):
    """Routing has taken the complaint (its status moves no further with no consumer running)."""
    wait_for(lambda: any(row["tracking_number"] == number and row["status"] == "routed"
                         for row in complaints_in_intake(intake)), message="the complaint to be routed")


def test_service_discovery_in_both_formats(client):
    discovery = as_json(client.get("/open311/discovery.json?lang=fr"))
    assert set(discovery) == {"changeset", "contact", "key_service", "endpoints"}
    [endpoint] = discovery["endpoints"]
    assert endpoint == {"specification": "http://wiki.open311.org/GeoReport_v2",
                        "url": "http://localhost/open311/v2", "changeset": discovery["changeset"],
                        "type": "production", "formats": ["text/xml", "application/json"]}
    assert discovery["key_service"] == "Aucune clé n’est nécessaire, ni pour lire ni pour déposer des demandes."
    root = xml(client.get("/open311/discovery.xml?lang=fr"))
    assert root.tag == "discovery"
    formats = root.find("endpoints/endpoint/formats")
    assert [format_.text for format_ in formats] == ["text/xml", "application/json"]
    assert root.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"


def test_the_services_are_the_request_types_of_each_administration(client):
    services = as_json(client.get("/open311/v2/services.json?lang=fr"))
    administrations = client.get("/api/v1/administrations").json
    assert len(services) == 3 * (len(administrations) + 1)
    assert all(list(service) == SERVICE_FIELDS for service in services)
    by_code = {service["service_code"]: service for service in services}
    assert by_code["CNSS-complaint"] == {
        "service_code": "CNSS-complaint",
        "service_name": "Réclamation — Caisse nationale de sécurité sociale",
        "description": by_code["CNSS-complaint"]["description"],
        "metadata": True, "type": "realtime",
        "keywords": "CNSS, Réclamation, Établissements publics",
        "group": "Caisse nationale de sécurité sociale",
    }
    assert "Caisse nationale de sécurité sociale" in by_code["CNSS-complaint"]["description"]
    assert {"CNSS-observation", "CNSS-suggestion", "UNKNOWN-complaint", "UNKNOWN-suggestion"} <= set(by_code)
    assert by_code["UNKNOWN-complaint"]["group"] == "Je ne sais pas quelle administration"

    root = xml(client.get("/open311/v2/services.xml?lang=fr"))
    assert root.tag == "services"
    assert [children(service) for service in root] == [
        {**service, "metadata": "true"} for service in services]
    arabic = as_json(client.get("/open311/v2/services.json", headers={"Accept-Language": "ar"}))
    assert {service["service_code"]: service for service in arabic}["CNSS-complaint"]["service_name"] == \
        "شكاية — الصندوق الوطني للضمان الاجتماعي"


def test_a_service_definition_lists_what_a_complaint_needs(client):
    definition = as_json(client.get("/open311/v2/services/CNSS-complaint.json?lang=fr"))
    assert list(definition) == ["service_code", "attributes"]
    assert definition["service_code"] == "CNSS-complaint"
    attributes = definition["attributes"]
    assert [attribute["code"] for attribute in attributes] == [
        "filing", "subject", "region", "complainant_status", "id_type", "id_number", "language",
        "client_reference"]
    assert [attribute["order"] for attribute in attributes] == list(range(1, 9))
    assert all(list(attribute)[:7] == ATTRIBUTE_FIELDS for attribute in attributes)
    by_code = {attribute["code"]: attribute for attribute in attributes}
    assert by_code["filing"]["variable"] is False
    assert [(a["code"], a["required"]) for a in attributes if a["variable"] and a["required"]] == [
        ("subject", True), ("region", True), ("complainant_status", True), ("id_type", True),
        ("id_number", True)]
    assert by_code["region"]["datatype"] == "singlevaluelist"
    assert {"key": "CS", "name": "Casablanca-Settat"} in by_code["region"]["values"]
    assert by_code["id_type"]["values"][0] == {"key": "cnie",
                                               "name": "Carte nationale d’identité électronique (CNIE)"}
    assert "values" not in by_code["subject"]

    root = xml(client.get("/open311/v2/services/CNSS-complaint.xml?lang=fr"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "CNSS-complaint"
    region = root.find("attributes/attribute[code='region']")
    assert region.findtext("required") == "true" and region.findtext("order") == "3"
    assert {"key": "CS", "name": "Casablanca-Settat"} in [children(value) for value in region.find("values")]


def test_an_unknown_service_gets_404_in_the_spec_error_format(client):
    response = client.get("/open311/v2/services/NOWHERE-complaint.json?lang=fr")
    assert response.status_code == 404
    assert as_json(response) == [{"code": 404, "description": "Aucun service n’a ce service_code : "
                                                              "voyez la liste des services."}]
    response = client.get("/open311/v2/services/CNSS-petition.xml?lang=fr")
    assert response.status_code == 404
    [error] = xml(response)
    assert error.tag == "error" and children(error)["code"] == "404"


def test_a_request_posted_is_a_real_complaint_that_get_then_shows(client, intake):
    response = file_request(client)
    assert response.status_code == 200
    [answer] = as_json(response)
    assert list(answer) == ["service_request_id", "service_notice", "account_id"]
    assert answer["account_id"] is None
    [complaint] = complaints_in_intake(intake)
    assert answer["service_request_id"] == complaint["tracking_number"]
    assert (complaint["administration_code"], complaint["type"], complaint["subject"], complaint["region"]) == \
        ("CNSS", "complaint", "Retard de versement de la pension", "CS")
    assert (*(decrypt(complaint[f"complainant_{field}"]) for field in ("full_name", "email", "phone", "id_number")),
            complaint["language"]) == \
        ("Fatima Zahra El Amrani", "fatima.amrani@example.ma", "+212612345678", "BK123456", "fr")

    number = answer["service_request_id"]
    routed(intake, number)
    [shown] = as_json(client.get(f"/open311/v2/requests/{number}.json?lang=fr"))
    assert list(shown) == REQUEST_FIELDS
    assert shown["service_request_id"] == number
    assert (shown["status"], shown["status_notes"]) == ("open", "Transmise à l’administration concernée.")
    assert (shown["service_code"], shown["service_name"]) == \
        ("CNSS-complaint", "Réclamation — Caisse nationale de sécurité sociale")
    assert shown["agency_responsible"] == "Caisse nationale de sécurité sociale"
    assert shown["description"] is None and shown["address"] == "Casablanca-Settat"
    assert shown["requested_datetime"] == complaint["submitted_at"].astimezone(timezone.utc).strftime(W3_UTC)
    assert datetime.strptime(shown["updated_datetime"], W3_UTC)
    assert shown["expected_datetime"] is None  # no administration has received it yet

    root = xml(client.get(f"/open311/v2/requests/{number}.xml?lang=fr"))
    assert root.tag == "service_requests"
    [request] = root
    assert request.tag == "request" and [child.tag for child in request] == REQUEST_FIELDS
    assert children(request) == {**shown, "description": None, "expected_datetime": None}

    listed = as_json(client.get("/open311/v2/requests.json?lang=fr"))
    assert listed == [shown]
    assert [children(item) for item in xml(client.get("/open311/v2/requests.xml?lang=fr"))] == \
        [children(request)]


def test_a_request_can_be_posted_for_an_xml_answer_and_to_an_unknown_administration(client, intake):
    response = file_request(client, "xml", service_code="UNKNOWN-suggestion")
    assert response.status_code == 200
    [answer] = xml(response)
    assert answer.tag == "request" and [child.tag for child in answer] == \
        ["service_request_id", "service_notice", "account_id"]
    number = answer.findtext("service_request_id")
    [complaint] = complaints_in_intake(intake)
    assert (complaint["tracking_number"], complaint["administration_code"], complaint["type"]) == \
        (number, "UNKNOWN", "suggestion")
    # routing sends it to the dispatch team: still the unknown administration's service
    wait_for(lambda: complaints_in_intake(intake)[0]["administration_code"] == "TRIAGE", message="triage")
    [shown] = as_json(client.get(f"/open311/v2/requests/{number}.json?lang=fr"))
    assert shown["service_code"] == "UNKNOWN-suggestion"
    assert shown["agency_responsible"] == "À déterminer par l’équipe d’orientation"
    found = as_json(client.get("/open311/v2/requests.json?service_code=UNKNOWN-suggestion"))
    assert [item["service_request_id"] for item in found] == [number]


def test_a_retry_with_the_same_client_reference_files_once_and_is_the_token(client, intake):
    reference = "app-7f1c2a9e-0b7d-4a53"
    first = filed(client, **{"attribute[client_reference]": reference})
    again = filed(client, **{"attribute[client_reference]": reference})
    assert first == again and len(complaints_in_intake(intake)) == 1
    assert as_json(client.get(f"/open311/v2/tokens/{reference}.json")) == \
        [{"service_request_id": first, "token": reference}]
    [token] = xml(client.get(f"/open311/v2/tokens/{reference}.xml"))
    assert children(token) == {"service_request_id": first, "token": reference}
    for unknown in ("app-unknown-reference", "bad"):
        response = client.get(f"/open311/v2/tokens/{unknown}.json?lang=fr")
        assert response.status_code == 404
        assert as_json(response) == [{"code": 404, "description": "Aucune demande n’a été déposée avec ce jeton."}]


def test_bad_fields_get_one_error_each_and_nothing_is_filed(client, intake):
    response = file_request(client, description="Trop court", email=None, phone=None, first_name=None,
                            last_name=None, **{"attribute[region]": "ATLANTIS", "attribute[id_type]": None})
    assert response.status_code == 400
    errors = as_json(response)
    assert all(error["code"] == 400 for error in errors)
    assert sorted(error["description"] for error in errors) == sorted([
        "description: Veuillez écrire au moins 20 caractères.",
        "attribute[region]: Choisissez une région dans la liste.",
        "attribute[id_type]: Ce champ est obligatoire.",
        "first_name, last_name: Ce champ est obligatoire.",
        "email, phone: Indiquez une adresse e-mail ou un numéro de mobile (ou les deux) : "
        "nous y envoyons le numéro de suivi.",
    ])
    root = xml(file_request(client, "xml", service_code=None))
    assert [children(error) for error in root] == [
        {"code": "400", "description": "service_code: Ce champ est obligatoire."}]
    response = file_request(client, service_code="CNSS-petition")
    assert response.status_code == 404
    assert complaints_in_intake(intake) == []


def test_filing_needs_one_of_the_api_keys_when_some_are_set(intake, routing, rabbit_config, var_dir):
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "SECRET_KEY": "test-only",
                      "OPEN311_API_KEYS": "key-of-app-one, key-of-app-two"})
    client = app.test_client()
    for key in (None, "", "key-of-app-three"):
        response = file_request(client, "xml", api_key=key)
        assert response.status_code == 403
        assert [children(error) for error in xml(response)] == [{
            "code": "403", "description": "api_key absente ou invalide : déposer une demande par Open311 "
                                          "demande une clé donnée par les exploitants de la plateforme."}]
    assert complaints_in_intake(intake) == []
    assert file_request(client, api_key="key-of-app-two").status_code == 200
    assert client.get("/open311/v2/services.json").status_code == 200  # reading needs no key
    assert "api_key" in as_json(client.get("/open311/discovery.json?lang=fr"))["key_service"]
    app.extensions["complaint_desk"].pool.close()


def test_get_requests_filters_as_the_spec_says(client, intake):
    complaint = filed(client)
    suggestion = filed(client, service_code="CNSS-suggestion")
    other = filed(client, service_code="ONEE-complaint")
    old = filed(client)
    closed = filed(client)
    for number in (complaint, suggestion, other, old, closed):
        routed(intake, number)
    now = utcnow()
    update(intake, old, "submitted_at = :then", then=now - timedelta(days=120))
    update(intake, closed, "status = 'closed', closed_at = :at, closed_reason = 'resolved'", at=now)

    def numbers(query=""):
        response = client.get(f"/open311/v2/requests.json?{query}")
        assert response.status_code == 200, response.data
        return [item["service_request_id"] for item in as_json(response)]

    recent = [closed, other, suggestion, complaint]  # newest first, the last 90 days by default
    assert numbers() == recent
    assert numbers("status=open") == [other, suggestion, complaint]
    assert numbers("status=closed") == [closed]
    assert numbers("status=open,closed") == recent
    assert numbers("service_code=CNSS-complaint") == [closed, complaint]
    assert numbers("service_code=CNSS-suggestion,ONEE-complaint") == [other, suggestion]
    assert numbers("service_code=CNSS-complaint&status=open") == [complaint]
    start = (now - timedelta(days=150)).strftime(W3_UTC)
    end = (now - timedelta(days=100)).strftime(W3_UTC)
    assert numbers(f"start_date={start}&end_date={end}") == [old]
    assert numbers(f"start_date={start}") == [old]  # 90 days from the start
    assert numbers(f"end_date={end}") == [old]  # 90 days up to the end
    # service_request_id overrides every other argument, and takes the numbers as typed
    assert numbers(f"service_request_id={old},{complaint.lower()}&status=closed&service_code=ONEE-complaint") \
        == [complaint, old]

    [shown] = as_json(client.get(f"/open311/v2/requests/{closed}.json?lang=fr"))
    assert shown["status"] == "closed"
    assert shown["status_notes"] == "Demande close : Résolue"
    assert shown["updated_datetime"] == now.strftime(W3_UTC)


def test_get_requests_refuses_bad_arguments_in_the_spec_error_format(client):
    too_wide = "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"
    cases = {
        "status=pending": "status: Veuillez choisir l’une des options proposées.",
        "service_code=NOWHERE-complaint": "service_code: Veuillez choisir l’une des options proposées.",
        "start_date=yesterday": "start_date: Saisissez une date et une heure au format W3C, "
                                "par exemple 2026-03-01T00:00:00Z.",
        too_wide: "end_date: Les dates peuvent couvrir au plus 90 jours.",
        "start_date=2026-03-01T00:00:00Z&end_date=2026-02-01T00:00:00Z":
            "start_date: La date de début doit précéder la date de fin.",
        "service_request_id=" + ",".join(["K7QM-2ZT9-W4HR8"] * 1001):
            "service_request_id: Donnez au plus 1000 valeurs.",
    }
    for query, description in cases.items():
        response = client.get(f"/open311/v2/requests.json?lang=fr&{query}")
        assert response.status_code == 400, query
        assert as_json(response) == [{"code": 400, "description": description}]
    root = xml(client.get(f"/open311/v2/requests.xml?lang=fr&{too_wide}"))
    assert [children(error) for error in root] == [
        {"code": "400", "description": "end_date: Les dates peuvent couvrir au plus 90 jours."}]


def test_unknown_resources_and_methods_answer_in_the_spec_error_format(client):
    response = client.get("/open311/v2/requests/K7QM-2ZT9-W4HR8.json?lang=fr")
    assert response.status_code == 404
    assert as_json(response) == [{"code": 404, "description": "Aucune demande n’a ce service_request_id."}]
    response = client.get("/open311/v2/requests.csv")
    assert response.status_code == 404
    assert [child.tag for child in xml(response)[0]] == ["code", "description"]
    response = client.delete("/open311/v2/requests.json")
    assert response.status_code == 400
    assert as_json(response)[0]["code"] == 405


def test_the_deadline_and_overdue_requests(client, intake):
    number = filed(client)
    routed(intake, number)
    deadline = utcnow() - timedelta(days=1)
    update(intake, number, "status = 'received', received_at = :received, deadline_at = :deadline",
           received=deadline - timedelta(days=60), deadline=deadline)
    [shown] = as_json(client.get(f"/open311/v2/requests/{number}.json?lang=fr"))
    assert shown["expected_datetime"] == deadline.strftime(W3_UTC)
    assert shown["status_notes"] == "Reçue par l’administration. Le délai légal de réponse a expiré."


@pytest.mark.parametrize("response_format", ["json", "xml"])
def test_no_get_answer_carries_personal_data(client, intake, response_format):
    number = filed(client, **{"attribute[client_reference]": "app-ref-0001-private"})
    routed(intake, number)
    answers = [client.get(f"/open311/{path}") for path in (
        f"v2/requests.{response_format}", f"v2/requests/{number}.{response_format}",
        f"v2/requests.{response_format}?service_request_id={number}",
        f"v2/tokens/app-ref-0001-private.{response_format}", f"v2/services.{response_format}",
        f"v2/services/CNSS-complaint.{response_format}", f"discovery.{response_format}")]
    assert all(answer.status_code == 200 for answer in answers)
    for answer in answers:
        body = answer.data.decode("utf-8")
        assert [word for word in PERSONAL if word in body] == []
    assert number in answers[0].data.decode("utf-8")
