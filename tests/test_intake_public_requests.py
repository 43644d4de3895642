"""Intake's `public_requests` RPC (what the gateway's Open311 GET requests shows), in a real
container with a fresh PostgreSQL database: the filters, the order and the limit, and that
nothing of the complainant or of what they wrote comes out."""
from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, text

from services.common.db import utcnow
from services.common.errors import ValidationFailed
from services.intake.service import IntakeService
from tests.factories import valid_submission

DAY = timedelta(days=1)
PUBLIC_KEYS = {"tracking_number", "type", "administration_code", "status", "region", "submitted_at",
               "updated_at", "closed_at", "closed_reason", "reopen_count", "deadline_at", "overdue"}


def call(container, method, *args):
    with entrypoint_hook(container, method) as hook:
        return hook(*args)


def update(intake, number, assignments, **params):
    engine = create_engine(intake.db_url)
    with engine.begin() as connection:
        connection.execute(text(f"update complaints set {assignments} where tracking_number = :n"),
                           {"n": number, **params})
    engine.dispose()


def file(intake, **overrides):
    return call(intake, "submit", valid_submission(**overrides))["tracking_number"]


@pytest.fixture
def intake(start_service):
    return start_service(IntakeService, DEADLINE_CHECK_SECONDS=3600)


def test_the_public_view_has_codes_dates_and_the_clock_and_nothing_personal(intake):
    number = file(intake, client_reference="ref-0001-abcd")
    now = utcnow()
    update(intake, number, "status = 'received', received_at = :now, deadline_at = :deadline",
           now=now, deadline=now + 60 * DAY)
    [view] = call(intake, "public_requests", {"tracking_numbers": [number]})
    assert set(view) == PUBLIC_KEYS
    assert view["tracking_number"] == number
    assert (view["type"], view["administration_code"], view["status"], view["region"]) == \
        ("complaint", "CNSS", "received", "CS")
    assert view["deadline_at"] == (now + 60 * DAY).isoformat() and view["overdue"] is False
    submission = valid_submission()
    text_of_view = repr(view)
    for personal in (submission["subject"], submission["description"], "Fatima", "BK123456", "612345678",
                     "ref-0001-abcd"):
        assert personal not in text_of_view


def test_numbers_and_references_override_the_other_filters(intake):
    first = file(intake, client_reference="ref-first-0001")
    second = file(intake, type="suggestion")
    file(intake)
    old = utcnow() - 400 * DAY
    update(intake, first, "submitted_at = :old", old=old)
    typed = second.lower().replace("-", "")  # as people type it
    found = call(intake, "public_requests", {"tracking_numbers": [first, typed, "not-a-number"],
                                             "statuses": ["closed"], "submitted_from": utcnow().isoformat()})
    assert [view["tracking_number"] for view in found] == [second, first]
    by_reference = call(intake, "public_requests", {"client_references": ["ref-first-0001"]})
    assert [view["tracking_number"] for view in by_reference] == [first]
    assert call(intake, "public_requests", {"tracking_numbers": ["not-a-number"]}) == []


def test_services_statuses_and_dates_filter_newest_first(intake):
    cnss_complaint = file(intake)
    cnss_suggestion = file(intake, type="suggestion")
    onee_complaint = file(intake, administration_code="ONEE")
    closed = file(intake)
    update(intake, closed, "status = 'closed', closed_at = :now, closed_reason = 'resolved'", now=utcnow())
    update(intake, cnss_complaint, "submitted_at = :then", then=utcnow() - 10 * DAY)

    def numbers(**filters):
        return [view["tracking_number"] for view in call(intake, "public_requests", filters)]

    assert numbers() == [closed, onee_complaint, cnss_suggestion, cnss_complaint]
    assert numbers(services=[{"administration_code": "CNSS", "type": "complaint"}]) == [closed, cnss_complaint]
    assert numbers(services=[{"administration_code": "CNSS", "type": "suggestion"},
                             {"administration_code": "ONEE", "type": "complaint"}]) == \
        [onee_complaint, cnss_suggestion]
    open_statuses = ["submitted", "triage", "routed", "received", "in_progress", "information_requested",
                     "answered"]
    assert numbers(statuses=["closed"]) == [closed]
    assert numbers(statuses=open_statuses) == [onee_complaint, cnss_suggestion, cnss_complaint]
    week_ago = (utcnow() - 7 * DAY).isoformat()
    assert numbers(submitted_from=week_ago) == [closed, onee_complaint, cnss_suggestion]
    assert numbers(submitted_until=week_ago) == [cnss_complaint]
    assert numbers(limit=2) == [closed, onee_complaint]


def test_bad_filters_are_refused_with_codes(intake):
    with pytest.raises(ValidationFailed) as refused:
        call(intake, "public_requests", {"statuses": ["lost"], "limit": 5000,
                                         "services": [{"administration_code": "cnss", "type": "complaint"}]})
    assert refused.value.errors == {"statuses.0": ["invalid_choice"], "limit": ["invalid"],
                                    "services.0.administration_code": ["invalid_choice"]}
