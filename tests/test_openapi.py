"""The OpenAPI 3 document of /api/v1 (/api/v1/openapi.json) and its page (/api/v1/docs): a valid
document, made from the schemas that validate the requests, that documents every /api/v1 route
of the application and nothing else; the page works in headless Chromium under the site's
Content-Security-Policy, with nothing loaded from another site."""
import re
import shutil
import subprocess
import threading
import warnings

import pytest
from openapi_spec_validator import validate
from werkzeug.serving import make_server

from gateway import openapi
from gateway.app import create_app
from services.intake import domain, schemas as intake
from tests.conftest import free_port

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def app(rabbit_config, var_dir):
    """The gateway alone: the document and the page ask no service anything."""
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "SECRET_KEY": "test-only"})
    yield app
    app.extensions["complaint_desk"].pool.close()


def document(client, language):
    response = client.get(f"/api/v1/openapi.json?lang={language}")
    assert response.status_code == 200
    return response.json


def api_routes(app) -> set[tuple[str, str]]:
    """(path in OpenAPI's form, method) of every /api/v1 route of the application."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_document_is_valid_openapi_3_and_made_without_warnings(app):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # apispec warns of schemas it had to rename or could not map
        for language in ("ar", "fr"):
            with app.test_request_context(f"/api/v1/openapi.json?lang={language}"):
                validate(openapi.build())
    client = app.test_client()
    for language in ("ar", "fr"):
        spec = document(client, language)
        validate(spec)
        assert spec["openapi"].startswith("3.")


def test_every_api_route_is_documented_and_nothing_else(app):
    spec = document(app.test_client(), "fr")
    documented = {(path, method) for path, operations in spec["paths"].items()
                  for method in operations if method in METHODS}
    assert documented == api_routes(app)
    assert ("/api/v1/complaints/{tracking_number}/attachments/{attachment_id}", "get") in documented
    assert any(path.startswith("/api/v1/agent/") for path, _method in documented)
    assert any(path.startswith("/api/v1/prosecution/") for path, _method in documented)


def test_request_bodies_are_the_schemas_that_validate_them(app):
    spec = document(app.test_client(), "fr")
    schemas = spec["components"]["schemas"]
    body = spec["paths"]["/api/v1/complaints"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/ComplaintRequest"}
    filing = schemas["ComplaintRequest"]
    validating = intake.ComplaintSubmission()
    assert set(filing["required"]) == {name for name, field in validating.fields.items() if field.required}
    assert set(filing["properties"]) == set(validating.fields) - {"attachments"}
    assert filing["properties"]["type"]["enum"] == list(domain.REQUEST_TYPES)
    assert (filing["properties"]["subject"]["minLength"], filing["properties"]["subject"]["maxLength"]) == (5, 200)
    assert filing["properties"]["description"]["maxLength"] == 5000
    assert filing["properties"]["complainant"] == {"$ref": "#/components/schemas/Complainant"}
    complainant = schemas["Complainant"]
    assert complainant["properties"]["id_number"]["pattern"] == "^[A-Za-z0-9]{4,20}$"
    assert complainant["properties"]["email"]["format"] == "email"
    assert complainant["properties"]["status"]["enum"] == list(domain.COMPLAINANT_STATUSES)
    # the same fields as a multipart form, with dotted names, and the files
    form = body["multipart/form-data"]["schema"]
    assert {"complainant.full_name", "complainant.id_number", "subject", "attachments"} <= set(form["properties"])
    assert form["properties"]["attachments"]["items"] == {"type": "string", "format": "binary"}
    rating = schemas["RatingRequest"]["properties"]["score"]
    assert (rating["minimum"], rating["maximum"]) == (1, 5)
    close = spec["paths"]["/api/v1/agent/complaints/{tracking_number}/close"]["post"]
    assert close["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Close"}
    assert schemas["Close"]["properties"]["reason"]["enum"] == list(domain.AGENT_CLOSE_REASONS)
    inbox = spec["paths"]["/api/v1/agent/complaints"]["get"]["parameters"]
    assert {parameter["name"] for parameter in inbox if parameter.get("in") == "query"} >= \
        {"status", "type", "subject", "overdue", "administration_code"}


def test_errors_agent_tokens_and_languages_are_documented(app):
    client = app.test_client()
    spec = document(client, "fr")
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "fields"}
    assert error["properties"]["fields"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"]["503"] == {"$ref": "#/components/responses/Unavailable"}, (path, method)
            assert {"$ref": "#/components/parameters/lang"} in operation["parameters"]
            assert (operation.get("security") == [{"agentToken": []}]) == path.startswith("/api/v1/agent/")
    assert spec["components"]["securitySchemes"]["agentToken"]["scheme"] == "bearer"
    refused = spec["paths"]["/api/v1/complaints/{tracking_number}/reopening"]["post"]["responses"]["409"]
    assert refused == {"$ref": "#/components/responses/Refused"}
    assert spec["paths"]["/api/v1/complaints"]["post"]["summary"] == \
        "Déposer une réclamation, une observation ou une suggestion"
    assert document(client, "ar")["paths"]["/api/v1/complaints"]["post"]["summary"] == \
        "إيداع شكاية أو ملاحظة أو اقتراح"


@pytest.fixture
def served(app):
    """The gateway on a real port, for a browser."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_docs_page_works_in_a_browser_under_the_csp_with_nothing_from_another_site(served, tmp_path):
    page = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000", "--dump-dom",
         f"{served}/api/v1/docs?lang=fr"],
        capture_output=True, text=True, timeout=120)
    rendered = page.stdout
    # Swagger UI drew an entry for each operation, from the document on this site
    paths = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', rendered))
    assert {"/api/v1/complaints", "/api/v1/agent/complaints/{tracking_number}/answer",
            "/api/v1/prosecution/offices"} <= paths
    assert "Déposer une réclamation, une observation ou une suggestion" in rendered
    assert "Content Security Policy" not in page.stderr
    # what the page loads (scripts, images, style sheets), not the links a person may follow
    loaded = re.findall(r'<(?:script|img)[^>]* src="([^"]+)"', rendered) + \
        re.findall(r'<link[^>]* href="([^"]+)"', rendered)
    assert loaded and [source for source in loaded
                       if re.match(r"(https?:)?//", source) and not source.startswith(served)] == []
