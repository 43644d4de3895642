"""Fixtures of the back-office and agent-API tests: the gateway with its accounts in a fresh
PostgreSQL database, talking to the real intake and routing services; accounts and tokens
made directly in that database; complaints filed through the citizens' API and moved along
by routing's real events.

conftest.py registers this module as a plugin, so its fixtures need no import.
"""
from datetime import datetime, timedelta, timezone

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.common.events import make_event
from tests.conftest import wait_for
from tests.factories import valid_submission
from tests.helpers import rows

PASSWORD = "correct horse battery staple"
KNOWN_CODES = {"CNSS", "ONEE", "MIN_JUSTICE"}


@pytest.fixture
def make_office(intake, routing, gateway_apps, database_url):
    """`make_office(**settings)`: a gateway app; every app of a test shares one accounts database."""
    accounts_url = database_url("gateway")
    return lambda **overrides: gateway_apps(GATEWAY_DATABASE_URL=accounts_url, **overrides)


@pytest.fixture
def office(make_office):
    return make_office()


def add_account(app, username, role, administration_code=None, **options):
    agent, _password = app.extensions["accounts"].create_agent(
        username=username, full_name=f"{username.title()} Test", role=role,
        administration_code=administration_code, password=options.pop("password", PASSWORD),
        known_codes=KNOWN_CODES, must_change_password=options.pop("must_change_password", False))
    return agent


def sign_in(app, username, password=PASSWORD):
    """A test client signed in as `username` (its account made first if need be)."""
    client = app.test_client()
    response = client.post("/backoffice/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def add_token(app, administration_code="CNSS", name="Système de test"):
    _row, token = app.extensions["accounts"].create_token(
        name=name, administration_code=administration_code, known_codes=KNOWN_CODES)
    return token


def file_complaint(app, administration_code="CNSS", attachments=(), **overrides) -> str:
    """Filed through the citizens' JSON API; the tracking number once routing has routed it."""
    submission = valid_submission(administration_code=administration_code, **overrides)
    client = app.test_client()
    if attachments:
        fields = {key: value for key, value in submission.items() if key != "complainant"}
        fields.update({f"complainant.{key}": value or "" for key, value in submission["complainant"].items()})
        response = client.post("/api/v1/complaints", data={**fields, "attachments": list(attachments)})
    else:
        response = client.post("/api/v1/complaints", json=submission)
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["tracking_number"]
    contact = submission["complainant"]["phone"] or submission["complainant"]["email"]
    wait_for(lambda: client.get(f"/api/v1/complaints/{number}", query_string={"contact": contact})
             .get_json()["status"] != "submitted", message=f"{number} routed")
    return number


def status_of(intake, tracking_number) -> str:
    found = rows(intake.db_url, "select status from complaints where tracking_number = :number",
                 number=tracking_number)
    return found[0]["status"] if found else None


def wait_for_status(intake, tracking_number, status):
    wait_for(lambda: status_of(intake, tracking_number) == status,
             message=f"{tracking_number} to be {status}")


def deliver(intake, rabbit_config, tracking_number, administration_code="CNSS", days_ago=0):
    """What the administration's consumer reports once it handed the complaint over; the
    deadline runs from then (`days_ago` days back)."""
    event = make_event("complaint.delivered", {"tracking_number": tracking_number,
                                               "administration_code": administration_code,
                                               "destination": "inbox"})
    event["occurred_at"] = (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat()
    with entrypoint_waiter(intake, "on_delivered"):
        event_dispatcher(rabbit_config)("routing", "complaint.delivered", event)
