"""The gateway's pages under a hostile browser, against the real intake, routing, stats and
prosecution services, with CSRF protection on as in production:

- every GET route of the app (app.url_map, its path parameters filled with real complaints,
  attachments, prosecution files and captchas) answers with a CSP that runs no inline script,
  frame denial and nosniff;
- every form that posts carries a CSRF token, and the same post without it is refused (400)
  and changes nothing;
- the session (and language) cookies are HttpOnly, SameSite and, served over HTTPS, Secure;
- a script typed into any free-text field of a complaint is shown as text to the citizen and
  in the back office.

`-s` prints what was tried.
"""
import io
import re
from html import unescape

from markupsafe import escape

import pytest
import sqlalchemy as sa
from flask import url_for
from werkzeug.routing import Rule

from gateway.app import create_app
from gateway.portal_content import letter_slugs
from gateway.uploads import Upload, store_uploads
from tests.backoffice_support import PASSWORD, add_account, add_token, file_complaint
from tests.conftest import RABBIT_HOST, RABBIT_PASSWORD, RABBIT_USER
from tests.gateway_support import PDF
from tests.prosecution_support import filing, prosecution  # noqa: F401 (a fixture)

PHONE = "0612345678"
CLIENT_REFERENCE = "7f1c2a9e-0b7d-4a53-9a55-1d0f1e2c3b4a"
SCRIPT = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in(app, username: str):
    client = app.test_client()
    token = csrf_token(client.get("/backoffice/login").get_data(as_text=True))
    response = client.post("/backoffice/login", data={"username": username, "password": PASSWORD,
                                                      "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def tracking_client(app, number: str, contact: str = PHONE):
    """A citizen's browser that has opened its request with the tracking form."""
    client = app.test_client()
    token = csrf_token(client.get("/track").get_data(as_text=True))
    response = client.post("/track", data={"tracking_number": number, "contact": contact, "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


class World:
    """One platform for the module's tests: the app, its people and a thing of every kind."""

    def __init__(self, app):
        self.app = app
        for username, role, code in (("admin", "platform_admin", None), ("agent.cnss", "agent", "CNSS")):
            add_account(app, username, role, code)
        app.extensions["accounts"].create_agent(
            username="greffe.rabat", full_name="Greffe Test", role="prosecution_clerk", administration_code=None,
            password=PASSWORD, known_codes=set(), office_code="TPI_RABAT", known_offices={"TPI_RABAT"},
            must_change_password=False)
        self.token = add_token(app, "CNSS")
        self.number = file_complaint(app, "CNSS", attachments=[(io.BytesIO(PDF), "facture.pdf")],
                                     client_reference=CLIENT_REFERENCE)
        api = app.test_client()
        [self.attachment] = api.get(f"/api/v1/complaints/{self.number}?contact={PHONE}").json["attachments"]
        self.download = api.get(f"/api/v1/complaints/{self.number}/attachments/{self.attachment['id']}"
                                f"?contact={PHONE}").headers["Location"]
        self.service_code = api.get("/open311/v2/services.json").json[0]["service_code"]
        self.challenge = api.post("/api/v1/prosecution/captcha").json["captcha_id"]
        [document] = store_uploads(app.extensions["complaint_desk"].blobs,
                                   [Upload(filename="pv.pdf", content_type="application/pdf", data=PDF)])
        pool = app.extensions["prosecution_desk"].pool
        self.code = pool.call("prosecution", "file_complaint", filing(attachments=[document]))["tracking_code"]
        [self.prosecution_attachment] = pool.call("prosecution", "track", self.code, PHONE)["attachments"]


@pytest.fixture
def world(make_office, prosecution, stats):  # noqa: F811 (the fixture imported above)
    return World(make_office(WTF_CSRF_ENABLED=True, TRACKING_RATE_LIMIT="100000 per minute",
                             CAPTCHA_RATE_LIMIT="100000 per minute"))


# what the API asks beside the path: the contact that proves the request is the caller's
QUERIES = {"api.track_complaint": {"contact": PHONE}, "api.attachment": {"contact": PHONE},
           "prosecution_api.track": {"phone": PHONE}}


# A route's path parameter, filled from the world (None: the route is left out, said why below).
def path_values(world: World, rule: Rule) -> list[dict]:
    fill = {"tracking_number": world.number, "number": world.number,
            "attachment_id": world.prosecution_attachment["id"] if rule.endpoint.startswith("prosecution")
            else world.attachment["id"],
            "code": world.code if rule.endpoint.startswith("prosecution") else "CNSS",
            "challenge": world.challenge, "token": world.download.removeprefix("/files/"),
            "service_request_id": world.number, "service_code": world.service_code, "slug": letter_slugs()[0],
            "filename": "style.css"}
    if rule.endpoint == "open311.token":
        fill["token"] = CLIENT_REFERENCE  # Open311's token of a filing is its client reference
    values = {name: fill[name] for name in rule.arguments if name != "response_format"}
    values.update(QUERIES.get(rule.endpoint, {}))
    if "response_format" in rule.arguments:
        return [{**values, "response_format": kind} for kind in ("json", "xml")]
    return [values]


def client_for(world: World, rule: Rule, clients: dict):
    """Who asks: a prosecution clerk, the platform administrator, or the citizen who opened the request."""
    if rule.endpoint.startswith("prosecution_office."):
        return clients["clerk"]
    if rule.endpoint.startswith("backoffice."):
        return clients["admin"]
    return clients["citizen"]


def script_policy(policy: str) -> str:
    """The directive that decides which scripts run: script-src, else default-src."""
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())
    return directives.get("script-src", directives.get("default-src", ""))


def every_get_page(world: World, clients: dict):
    """(url, response) of every GET route of the app."""
    for rule in sorted(world.app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in rule.methods:
            continue
        for values in path_values(world, rule):
            with world.app.test_request_context():
                url = url_for(rule.endpoint, **values)
            # the agent API answers a bearer token, not a session
            headers = {"Authorization": f"Bearer {world.token}"} if rule.endpoint.startswith("agent_api.") else {}
            yield rule, url, client_for(world, rule, clients).get(url, headers=headers)


def test_every_page_forbids_inline_script_framing_and_sniffing_and_every_form_needs_its_token(world, intake,
                                                                                             capsys):
    clients = {"admin": signed_in(world.app, "admin"), "clerk": signed_in(world.app, "greffe.rabat"),
               "citizen": tracking_client(world.app, world.number)}
    pages, forms = 0, []
    for rule, url, response in every_get_page(world, clients):
        assert response.status_code < 500, (url, response.status_code)
        assert response.status_code in (200, 302, 303), (url, response.status_code)
        policy = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in script_policy(policy) and script_policy(policy), (url, policy)
        assert "'unsafe-eval'" not in script_policy(policy), (url, policy)
        assert "frame-ancestors 'none'" in policy and response.headers["X-Frame-Options"] == "DENY", url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        pages += 1
        if response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            for form in re.findall(r"<form\b[^>]*>.*?</form>", html, re.S):
                if re.search(r'method="post"', form, re.I):
                    forms.append((url, rule, form))
    assert pages >= len([rule for rule in world.app.url_map.iter_rules() if "GET" in rule.methods])

    before = snapshot(world, intake)
    posted = set()
    for url, rule, form in forms:
        assert 'name="csrf_token"' in form, (url, form[:200])
        action = unescape(re.search(r'action="([^"]*)"', form).group(1)) or url
        if action in posted:
            continue
        posted.add(action)
        fields = {unescape(name): unescape(value) for name, value in
                  re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form) if name != "csrf_token"}
        refused = client_for(world, rule, clients).post(action, data=fields)
        assert refused.status_code == 400, (action, refused.status_code)
    assert snapshot(world, intake) == before
    assert clients["admin"].get("/backoffice/").status_code == 200  # the logout form, unsent, signed no one out
    with capsys.disabled():
        print(f"\nweb hardening: {pages} GET pages × 3 headers (CSP script, frame denial, nosniff) = "
              f"{pages * 3} checks; {len(forms)} posting forms carry a token; {len(posted)} distinct "
              f"form actions refused without it")


def snapshot(world: World, intake) -> dict:
    """Every row of intake's, prosecution's and the gateway's databases."""
    urls = {"intake": intake.db_url, "gateway": world.app.config["GATEWAY_DATABASE_URL"]}
    tables = {}
    for name, url in urls.items():
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            for table in sa.inspect(connection).get_table_names():
                tables[f"{name}.{table}"] = sorted(map(repr, connection.execute(sa.text(f'select * from "{table}"'))))
        engine.dispose()
    return tables


def test_session_and_language_cookies_are_httponly_samesite_and_secure_over_https(var_dir, monkeypatch):
    """A deployment served over HTTPS (PUBLIC_BASE_URL https://...) marks its cookies Secure."""
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://chikaya.example.ma")
    app = create_app({"AMQP_URI": f"amqp://{RABBIT_USER}:{RABBIT_PASSWORD}@{RABBIT_HOST}/no-such-vhost",
                      "SECRET_KEY": "test-only-secret"})  # CSRF on: the login page puts its token in the session
    try:
        response = app.test_client().get("/backoffice/login?lang=fr")
        cookies = {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}
        assert set(cookies) == {"session", "lang"}
        for name, header in cookies.items():
            attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
            assert {"httponly", "secure", "samesite"} <= attributes, header
            assert "SameSite=Lax" in header, header
    finally:
        app.extensions["complaint_desk"].pool.close()


# a file's name loses everything before a slash, so its script is one without a closing tag
FILENAME = "filename <img src=x onerror=alert(1)>.pdf"


def free_text(field: str) -> str:
    return f"{field} {SCRIPT}"


def test_a_script_in_any_free_text_field_is_shown_as_text(world, capsys):
    app = world.app
    number = file_complaint(app, "CNSS", attachments=[(io.BytesIO(PDF), FILENAME)],
                            subject=free_text("subject"), description=free_text("description"),
                            full_name=free_text("full_name"), phone="0698765432")
    contact = "0698765432"
    citizen_api, headers = app.test_client(), {"Authorization": f"Bearer {world.token}"}

    def agent(action, **body):
        response = citizen_api.post(f"/api/v1/agent/complaints/{number}/{action}", json=body, headers=headers)
        assert response.status_code in (200, 201), (action, response.json)

    def citizen(action, **body):
        response = citizen_api.post(f"/api/v1/complaints/{number}/{action}", json={"contact": contact, **body})
        assert response.status_code in (200, 201), (action, response.json)

    agent("acknowledge")
    agent("request-information", message=free_text("information_request"))
    citizen("messages", text=free_text("citizen_message"))
    agent("notes", text=free_text("agent_note"))
    agent("answer", text=free_text("agent_answer"))
    citizen("rating", score=1, comment=free_text("rating_comment"))
    citizen("reopening", reason=free_text("reopening_reason"))

    pages = {"citizen": tracking_client(app, number, contact).get(f"/track/{number}").get_data(as_text=True),
             "back office": signed_in(app, "admin").get(f"/backoffice/complaints/{number}").get_data(as_text=True)}
    # the rating comment is sent too but shown on neither page (it goes to the statistics)
    fields = ("subject", "description", "full_name", "filename", "information_request", "citizen_message",
              "agent_note", "agent_answer", "reopening_reason")
    shown = {field: [] for field in fields}
    for page, html in pages.items():
        assert "<script>alert" not in html and "<img src=x" not in html, page
        for field in fields:
            if str(escape(FILENAME if field == "filename" else free_text(field))) in html:
                shown[field].append(page)
    assert all(shown.values()), shown  # each field is on a page, as text
    with capsys.disabled():
        print(f"\nscript in free text: {len(fields)} fields, shown as text on "
              f"{sum(map(len, shown.values()))} field-pages: {shown}")
