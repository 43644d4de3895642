"""The authorization matrix: every kind of caller against every route that reaches a complaint, a
prosecution file or an attachment, on objects of their own and of others.

Each row of ROUTES names who may pass; every other caller must be turned away as designed: 404
for what is not theirs (as for what does not exist), 403 for a back-office page of another role,
401 on the agent API without a valid token, or a redirect to the sign-in or follow form.  Rows
that change something are sent with a body the allowed callers' validation refuses (400), so a
cell is about who gets through, not about what the step does; a 5xx anywhere fails too.  The
lists (inboxes) are checked for what they show, so nobody sees another's complaint there either.
"""
import io
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from tests.backoffice_support import KNOWN_CODES, PASSWORD, add_token, file_complaint, sign_in
from tests.gateway_support import PDF
from tests.helpers import rows
from tests.prosecution_support import filing, prosecution  # noqa: F401 (a fixture)

OFFICES = {"TPI_RABAT", "TPI_SALE"}
PHONE_A, PHONE_B, PHONE_P = "0612345678", "0623456789", "0634567890"
STAFF = ("agent_a", "supervisor_a", "agent_b", "platform_agent", "platform_admin",
         "clerk_x", "chief_x", "clerk_y")
PORTAL_STAFF = {"agent_a", "supervisor_a", "agent_b", "platform_agent", "platform_admin"}
PROSECUTION_STAFF = {"clerk_x", "chief_x", "clerk_y"}
OF_A = {"agent_a", "supervisor_a", "platform_agent", "platform_admin"}
OF_B = {"agent_b", "platform_agent", "platform_admin"}
OF_X = {"clerk_x", "chief_x"}
# where a caller that may not see a page is sent instead of it
DENIAL_REDIRECTS = {"/backoffice/login", "/track", "/prosecution/"}


@dataclass
class Caller:
    client: object
    contact: str = ""
    headers: dict = field(default_factory=dict)


def _staff_account(app, username, role, administration_code=None, office_code=None):
    app.extensions["accounts"].create_agent(
        username=username, full_name=f"{username.title()} Test", role=role,
        administration_code=administration_code, office_code=office_code, password=PASSWORD,
        known_codes=KNOWN_CODES, known_offices=OFFICES, must_change_password=False)


def _file_prosecution_complaint(app, gateway_db) -> str:
    client = app.test_client()
    challenge = client.post("/api/v1/prosecution/captcha").get_json()["captcha_id"]
    answer = rows(gateway_db, "select answer from captcha_challenges where id = :id", id=challenge)[0]["answer"]
    data = filing()
    data["complainant"]["phone"] = PHONE_P
    filed = client.post("/api/v1/prosecution/complaints", json={**data, "captcha": {"id": challenge, "answer": answer}})
    assert filed.status_code == 201, filed.get_json()
    code = filed.get_json()["tracking_code"]
    added = client.post(f"/api/v1/prosecution/complaints/{code}/documents",
                        data={"phone": PHONE_P, "attachments": [(io.BytesIO(PDF), "piece.pdf")]})
    assert added.status_code in (200, 201), added.get_json()
    return code


@pytest.fixture
def world(make_office, prosecution, intake):
    """Two administrations' complaints with a file each, a prosecution file with a document,
    and every kind of caller."""
    # every caller here comes from one address: the rate limits (tested on their own) stay out of the way
    app = make_office(TRACKING_RATE_LIMIT="100000 per minute")
    gateway_db = app.config["GATEWAY_DATABASE_URL"]
    for username, role, administration, office in [
            ("agent_a", "agent", "CNSS", None), ("supervisor_a", "supervisor", "CNSS", None),
            ("agent_b", "agent", "ONEE", None), ("platform_agent", "platform_agent", None, None),
            ("platform_admin", "platform_admin", None, None), ("victim", "agent", "CNSS", None),
            ("clerk_x", "prosecution_clerk", None, "TPI_RABAT"),
            ("chief_x", "chief_prosecutor", None, "TPI_RABAT"),
            ("clerk_y", "prosecution_clerk", None, "TPI_SALE")]:
        _staff_account(app, username, role, administration, office)
    number_a = file_complaint(app, "CNSS", attachments=[(io.BytesIO(PDF), "a.pdf")], phone=PHONE_A)
    number_b = file_complaint(app, "ONEE", attachments=[(io.BytesIO(PDF), "b.pdf")], phone=PHONE_B)
    code_p = _file_prosecution_complaint(app, gateway_db)

    def attachment_of(db_url, key, value):
        return rows(db_url, f"select a.id from attachments a join complaints c on c.id = a.complaint_id "
                            f"where c.{key} = :value", value=value)[0]["id"]

    callers = {"anonymous": Caller(app.test_client())}
    for name, phone, number in (("citizen_a", PHONE_A, number_a), ("citizen_b", PHONE_B, number_b)):
        client = app.test_client()
        assert client.post("/track", data={"tracking_number": number, "contact": phone}).status_code == 303
        callers[name] = Caller(client, contact=phone)
    client = app.test_client()
    assert client.post("/prosecution/track", data={"tracking_code": code_p, "phone": PHONE_P}).status_code == 303
    callers["complainant_p"] = Caller(client, contact=PHONE_P)
    for name in STAFF:
        callers[name] = Caller(sign_in(app, name))
    for name, administration in (("token_a", "CNSS"), ("token_b", "ONEE")):
        callers[name] = Caller(app.test_client(),
                               headers={"Authorization": f"Bearer {add_token(app, administration, name)}"})
    victim = app.extensions["accounts"].agent(
        next(agent.id for agent in app.extensions["accounts"].agents() if agent.username == "victim"))
    spare_token, _secret = app.extensions["accounts"].create_token(
        name="Jeton de rechange", administration_code="CNSS", known_codes=KNOWN_CODES)
    return {
        "app": app, "callers": callers, "A": number_a, "B": number_b, "P": code_p,
        "att_A": attachment_of(intake.db_url, "tracking_number", number_a),
        "att_B": attachment_of(intake.db_url, "tracking_number", number_b),
        "att_P": attachment_of(prosecution.db_url, "tracking_code", code_p),
        "victim": victim.id, "spare_token": spare_token.id,
    }


def routes(w) -> list:
    """(method, path, body, who may pass).  `{contact}` is the caller's own contact."""
    A, B, P = w["A"], w["B"], w["P"]
    att_a, att_b, att_p = w["att_A"], w["att_B"], w["att_P"]
    table = [
        # the back office of the administrations
        ("GET", "/backoffice/", None, PORTAL_STAFF | PROSECUTION_STAFF),
        ("GET", "/backoffice/password", None, PORTAL_STAFF | PROSECUTION_STAFF),
        ("GET", f"/backoffice/complaints/{A}", None, OF_A),
        ("GET", f"/backoffice/complaints/{B}", None, OF_B),
        ("POST", f"/backoffice/complaints/{A}/request-information", {}, OF_A),
        ("POST", f"/backoffice/complaints/{A}/answer", {}, OF_A),
        ("POST", f"/backoffice/complaints/{A}/close", {}, OF_A),
        ("POST", f"/backoffice/complaints/{A}/transfer", {}, OF_A),
        ("POST", f"/backoffice/complaints/{A}/notes", {}, OF_A),
        ("POST", f"/backoffice/complaints/{B}/notes", {}, OF_B),
        ("POST", f"/backoffice/complaints/{B}/acknowledge", {}, OF_B),
        ("POST", f"/backoffice/complaints/{A}/acknowledge", {}, OF_A),
        ("GET", "/backoffice/admin/accounts", None, {"platform_admin"}),
        ("POST", "/backoffice/admin/accounts", {}, {"platform_admin"}),
        ("POST", f"/backoffice/admin/accounts/{w['victim']}/password", {}, {"platform_admin"}),
        ("POST", f"/backoffice/admin/accounts/{w['victim']}/active", {"active": "0"}, {"platform_admin"}),
        ("GET", "/backoffice/admin/tokens", None, {"platform_admin"}),
        ("POST", "/backoffice/admin/tokens", {}, {"platform_admin"}),
        ("POST", f"/backoffice/admin/tokens/{w['spare_token']}/revoke", {}, {"platform_admin"}),
        ("GET", "/backoffice/admin/administrations", None, {"platform_admin"}),
        ("POST", "/backoffice/admin/administrations", {}, {"platform_admin"}),
        ("GET", "/backoffice/admin/administrations/CNSS/contacts", None, {"platform_admin"}),
        # the agent API
        ("GET", "/api/v1/agent/complaints", None, {"token_a", "token_b"}),
        ("GET", f"/api/v1/agent/complaints/{A}", None, {"token_a"}),
        ("GET", f"/api/v1/agent/complaints/{B}", None, {"token_b"}),
        ("POST", f"/api/v1/agent/complaints/{A}/notes", {}, {"token_a"}),
        ("POST", f"/api/v1/agent/complaints/{A}/answer", {}, {"token_a"}),
        ("POST", f"/api/v1/agent/complaints/{A}/close", {}, {"token_a"}),
        ("POST", f"/api/v1/agent/complaints/{A}/transfer", {}, {"token_a"}),
        ("POST", f"/api/v1/agent/complaints/{A}/request-information", {}, {"token_a"}),
        ("POST", f"/api/v1/agent/complaints/{B}/notes", {}, {"token_b"}),
        ("POST", f"/api/v1/agent/complaints/{B}/acknowledge", {}, {"token_b"}),
        ("GET", f"/api/v1/agent/complaints/{A}/attachments/{att_a}", None, {"token_a"}),
        ("GET", f"/api/v1/agent/complaints/{A}/attachments/{att_b}", None, set()),
        ("GET", f"/api/v1/agent/complaints/{B}/attachments/{att_b}", None, {"token_b"}),
        # the prosecution offices
        ("GET", "/backoffice/prosecution/", None, PROSECUTION_STAFF),
        ("GET", f"/backoffice/prosecution/complaints/{P}", None, OF_X),
        ("POST", f"/backoffice/prosecution/complaints/{P}/register", {}, OF_X),
        ("POST", f"/backoffice/prosecution/complaints/{P}/request_information", {}, OF_X),
        ("POST", f"/backoffice/prosecution/complaints/{P}/unseal", {}, {"chief_x"}),
        ("GET", f"/backoffice/prosecution/complaints/{P}/attachments/{att_p}", None, OF_X),
        # the citizens and the complainant: their own request and files only
        ("GET", f"/api/v1/complaints/{A}?contact={{contact}}", None, {"citizen_a"}),
        ("GET", f"/api/v1/complaints/{B}?contact={{contact}}", None, {"citizen_b"}),
        ("POST", f"/api/v1/complaints/{A}/messages", {"contact": "{contact}", "text": ""}, {"citizen_a"}),
        ("POST", f"/api/v1/complaints/{A}/rating", {"contact": "{contact}", "score": 9}, {"citizen_a"}),
        ("POST", f"/api/v1/complaints/{A}/reopening", {"contact": "{contact}", "reason": ""}, {"citizen_a"}),
        ("GET", f"/api/v1/complaints/{A}/attachments/{att_a}?contact={{contact}}", None, {"citizen_a"}),
        ("GET", f"/api/v1/complaints/{A}/attachments/{att_b}?contact={{contact}}", None, set()),
        ("GET", f"/api/v1/complaints/{B}/attachments/{att_b}?contact={{contact}}", None, {"citizen_b"}),
        ("GET", f"/track/{A}", None, {"citizen_a"}),
        ("GET", f"/track/{B}", None, {"citizen_b"}),
        ("GET", f"/track/{A}/attachments/{att_a}", None, {"citizen_a"}),
        ("GET", f"/track/{A}/attachments/{att_b}", None, set()),
        ("GET", f"/api/v1/prosecution/complaints/{P}?phone={{contact}}", None, {"complainant_p"}),
        ("POST", f"/api/v1/prosecution/complaints/{P}/documents", {"phone": "{contact}"}, {"complainant_p"}),
        ("GET", f"/prosecution/track/{P}", None, {"complainant_p"}),
    ]
    return table


def _fill(value, contact):
    if isinstance(value, str):
        return value.replace("{contact}", contact)
    if isinstance(value, dict):
        return {key: _fill(inner, contact) for key, inner in value.items()}
    return value


def _send(caller: Caller, method, path, body):
    path = _fill(path, caller.contact)
    if method == "GET":
        response = caller.client.get(path, headers=caller.headers)
        location = response.headers.get("Location", "")
        if response.status_code in (302, 303) and urlsplit(location).path.startswith("/files/"):
            # a page hands out a download link; whether it opens is decided when it is used
            response = caller.client.get(location, headers=caller.headers)
        return response
    body = _fill(body, caller.contact)
    if path.startswith("/api/"):
        return caller.client.post(path, json=body, headers=caller.headers)
    return caller.client.post(path, data=body, headers=caller.headers)


def _denied(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code in (302, 303) and urlsplit(response.headers["Location"]).path in DENIAL_REDIRECTS


def test_only_the_allowed_cells_get_through(world, capsys):
    callers = world["callers"]
    wrong, checked = [], 0
    for method, path, body, allowed in routes(world):
        # the callers turned away first, so that an allowed step cannot hide a refusal
        for name in sorted(callers, key=lambda name: name in allowed):
            response = _send(callers[name], method, path, body)
            checked += 1
            expected = "allowed" if name in allowed else "denied"
            if response.status_code >= 500 or (expected == "allowed") == _denied(response):
                wrong.append(f"{name} {method} {_fill(path, callers[name].contact)} -> "
                             f"{response.status_code} (should be {expected})")
    with capsys.disabled():
        print(f"\nauthorization matrix: {checked} cells checked, {len(wrong)} wrong")
    assert not wrong, "\n".join(wrong)


def test_lists_show_nobody_another_ones_complaints(world):
    callers, A, B, P = world["callers"], world["A"], world["B"], world["P"]
    expected = {"agent_a": {A}, "supervisor_a": {A}, "agent_b": {B}, "platform_admin": {A, B}}
    for name, numbers in expected.items():
        page = callers[name].client.get("/backoffice/").get_data(as_text=True)
        assert {number for number in (A, B) if number in page} == numbers, name
    for name, numbers in {"token_a": {A}, "token_b": {B}}.items():
        listed = callers[name].client.get("/api/v1/agent/complaints", headers=callers[name].headers).get_json()
        assert {number for number in (A, B) if number in str(listed)} == numbers, name
    for name, codes in {"clerk_x": {P}, "chief_x": {P}, "clerk_y": set()}.items():
        page = callers[name].client.get("/backoffice/prosecution/").get_data(as_text=True)
        assert {P} & {code for code in (P,) if code in page} == codes, name
