"""Stats: the fact rules alone, then the service in a real nameko container counting real events
that arrive twice and out of order."""
from datetime import datetime, timedelta, timezone

from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.common.events import make_event
from services.stats import domain
from services.stats.models import ComplaintFact
from tests.factories import submitted_event_data
from tests.helpers import rows

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def submitted(number, code="CNSS", type_="complaint", region="CS"):
    return make_event("complaint.submitted", submitted_event_data(
        number, administration_code=code, type=type_, region=region))


def routed(number, code="CNSS", triage=False, type_="complaint", region="CS"):
    return make_event("complaint.routed", {"tracking_number": number, "administration_code": code,
                                           "triage": triage, "type": type_, "region": region})


def delivered(number, code="CNSS"):
    return make_event("complaint.delivered", {"tracking_number": number, "administration_code": code,
                                              "destination": "inbox"})


# -- the rules, without a broker ---------------------------------------------------------------

def new_fact():
    return ComplaintFact(tracking_number="ABCD-EFGH-JKMN0", status="submitted")


def test_a_status_never_moves_backwards():
    fact = new_fact()
    domain.record_delivered(fact, {"occurred_at": at(3), "administration_code": "CNSS"})
    domain.record_routed(fact, {"occurred_at": at(2), "administration_code": "CNSS", "triage": False,
                                "type": "complaint", "region": "CS"})
    domain.record_submitted(fact, {"occurred_at": at(1), "submitted_at": at(1), "administration_code": "CNSS",
                                   "type": "complaint", "region": "CS"})
    assert (fact.status, fact.administration_code) == ("received", "CNSS")
    assert (fact.submitted_at, fact.routed_at, fact.received_at) == (at(1), at(2), at(3))


def test_the_newest_routing_decides_between_triage_and_an_administration():
    triage = {"occurred_at": at(2), "administration_code": "TRIAGE", "triage": True,
              "type": "complaint", "region": "CS"}
    dispatched = {**triage, "occurred_at": at(5), "administration_code": "DGSN", "triage": False}
    for order in ([triage, dispatched], [dispatched, triage]):
        fact = new_fact()
        for event in order:
            domain.record_routed(fact, event)
        assert (fact.status, fact.administration_code, fact.routed_at) == ("routed", "DGSN", at(2))


def test_the_administration_a_citizen_did_not_know_is_replaced_by_routing():
    fact = new_fact()
    domain.record_routed(fact, {"occurred_at": at(2), "administration_code": "TRIAGE", "triage": True,
                                "type": "suggestion", "region": "RSK"})
    domain.record_submitted(fact, {"occurred_at": at(1), "submitted_at": at(1), "administration_code": "UNKNOWN",
                                   "type": "suggestion", "region": "RSK"})
    assert (fact.status, fact.administration_code, fact.type) == ("triage", "TRIAGE", "suggestion")


# -- the service -----------------------------------------------------------------------------

def test_totals_after_duplicate_and_out_of_order_events(stats, rabbit_config):
    dispatch = event_dispatcher(rabbit_config)
    handler = {"complaint.submitted": "on_submitted", "complaint.routed": "on_routed",
               "complaint.delivered": "on_delivered"}
    a_submitted, a_routed = submitted("AAAA-AAAA-AAAA1"), routed("AAAA-AAAA-AAAA1")
    b_submitted, b_routed, b_delivered = (submitted("BBBB-BBBB-BBBB1", type_="observation"),
                                          routed("BBBB-BBBB-BBBB1", type_="observation"),
                                          delivered("BBBB-BBBB-BBBB1"))
    c_submitted, c_routed = (submitted("CCCC-CCCC-CCCC1", code="UNKNOWN", type_="suggestion", region="RSK"),
                             routed("CCCC-CCCC-CCCC1", code="TRIAGE", triage=True, type_="suggestion",
                                    region="RSK"))
    sequence = [
        ("complaint.submitted", a_submitted), ("complaint.submitted", a_submitted),  # redelivered
        ("complaint.routed", a_routed),
        # B: delivered overtakes routing and submission, and routing comes twice
        ("complaint.delivered", b_delivered), ("complaint.routed", b_routed),
        ("complaint.routed", b_routed), ("complaint.submitted", b_submitted),
        # C: routed to triage before its submission arrives
        ("complaint.routed", c_routed), ("complaint.submitted", c_submitted),
        # D: only a delivery so far, so not counted yet
        ("complaint.delivered", delivered("DDDD-DDDD-DDDD1", code="DGSN")),
    ]
    for name, payload in sequence:
        with entrypoint_waiter(stats, handler[name]):
            dispatch("intake" if name == "complaint.submitted" else "routing", name, payload)

    with entrypoint_hook(stats, "totals") as totals:
        result = totals()
    assert result["submitted"] == 3
    assert result["by_status"] == {"routed": 1, "received": 1, "triage": 1}
    assert result["by_type"] == {"complaint": 1, "observation": 1, "suggestion": 1}
    assert result["by_region"] == {"CS": 2, "RSK": 1}
    assert result["by_administration"] == {
        "CNSS": {"submitted": 2, "by_status": {"routed": 1, "received": 1}},
        "TRIAGE": {"submitted": 1, "by_status": {"triage": 1}},
    }
    assert datetime.fromisoformat(result["generated_at"]).tzinfo is not None

    facts = {row["tracking_number"]: row for row in rows(stats.db_url, "select * from complaint_facts")}
    assert set(facts) == {"AAAA-AAAA-AAAA1", "BBBB-BBBB-BBBB1", "CCCC-CCCC-CCCC1", "DDDD-DDDD-DDDD1"}
    b = facts["BBBB-BBBB-BBBB1"]
    assert b["submitted_at"] and b["routed_at"] and b["received_at"]
    assert "full_name" not in b and "phone" not in b  # no personal data is kept
