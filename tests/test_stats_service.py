"""Stats: the fact rules alone, then the service in a real nameko container counting real events
that arrive twice and out of order."""
from datetime import datetime, timedelta, timezone

from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.common.events import make_event
from services.stats import domain
from services.stats.models import ComplaintFact
from tests.factories import complaint_snapshot, lifecycle_event_data, submitted_event_data
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
    return ComplaintFact(tracking_number="ABCD-EFGH-JKMN0", status="submitted", reopen_count=0,
                         transferred_count=0, overdue=False)


def step(minute, status, code="CNSS", **fields):
    """A lifecycle event's data, as the consumer gets it once loaded."""
    return {"occurred_at": at(minute), "status": status, "administration_code": code,
            "type": "complaint", "region": "CS", **fields}


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


def test_a_reopened_complaint_goes_back_to_routed_and_a_late_older_step_does_not_undo_it():
    fact = new_fact()
    domain.record_delivered(fact, {"occurred_at": at(3), "administration_code": "CNSS"})
    domain.record_answered(fact, step(10, "answered", answer="...", days_to_answer=7.0))
    domain.record_reopened(fact, step(20, "routed", reopen_count=1))
    domain.record_closed(fact, step(12, "closed", reason="confirmed_by_citizen"))  # late, and older
    assert (fact.status, fact.reopen_count) == ("routed", 1)
    domain.record_delivered(fact, {"occurred_at": at(21), "administration_code": "CNSS"})
    assert fact.status == "received"
    domain.record_reopened(fact, step(19, "routed", reopen_count=1))  # redelivered with a new id
    assert (fact.status, fact.reopen_count) == ("received", 1)


def test_the_first_answer_the_latest_rating_and_the_latest_closing_count():
    fact = new_fact()
    domain.record_answered(fact, step(30, "answered", days_to_answer=4.0))
    domain.record_answered(fact, step(10, "answered", days_to_answer=9.5))  # the first, arriving late
    domain.record_rated(fact, step(40, "answered", score=4))
    domain.record_rated(fact, step(15, "answered", score=1))
    domain.record_closed(fact, step(50, "closed", reason="confirmed_by_citizen"))
    domain.record_closed(fact, step(12, "closed", reason="no_reply_from_citizen"))
    assert (fact.answered_at, fact.days_to_answer) == (at(10), 9.5)
    assert (fact.rating_score, fact.closed_reason, fact.status) == (4, "confirmed_by_citizen", "closed")


def test_a_transfer_moves_the_complaint_and_a_passed_deadline_stays_on_record():
    fact = new_fact()
    domain.record_delivered(fact, {"occurred_at": at(3), "administration_code": "CNSS"})
    domain.record_deadline_passed(fact, step(5, "received"))
    domain.record_transferred(fact, step(6, "routed", code="ONEE"))
    domain.record_delivered(fact, {"occurred_at": at(7), "administration_code": "ONEE"})
    domain.record_step(fact, step(8, "in_progress", code="ONEE"))
    assert (fact.status, fact.administration_code, fact.transferred_count, fact.overdue) == (
        "in_progress", "ONEE", 1, True)


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


def timed(name, payload, minute):
    return name, {**payload, "occurred_at": at(minute).isoformat()}


def lifecycle(name, number, minute, status, code="CNSS", **fields):
    return timed(name, make_event(name, lifecycle_event_data(number, administration_code=code, status=status,
                                                             **fields)), minute)


def filed(number, minute, code="CNSS", routed_to=None, triage=False):
    """Submitted, routed and (unless to triage) delivered, a minute apart."""
    routed_to = routed_to or code
    events = [timed("complaint.submitted", submitted(number, code=code), minute),
              timed("complaint.routed", routed(number, code=routed_to, triage=triage), minute + 1)]
    if not triage:
        events.append(timed("complaint.delivered", delivered(number, code=routed_to), minute + 2))
    return events


def test_totals_of_complaints_answered_rated_reopened_transferred_closed_and_overdue(stats, rabbit_config):
    a, b, c, d, e, f = (f"{letter * 4}-{letter * 4}-{letter * 4}1" for letter in "ABCDEF")
    snapshot = complaint_snapshot()
    # A: answered, rated 2/5, reopened twice, answered again, rated 4/5, then confirmed
    a_first_answer = lifecycle("complaint.answered", a, 10, "answered", answer="...", received_at=at(2).isoformat(),
                               days_to_answer=10.0)
    sequence = filed(a, 0) + [
        lifecycle("complaint.acknowledged", a, 5, "in_progress"),
        lifecycle("complaint.answered", a, 30, "answered", answer="...", received_at=at(22).isoformat(),
                  days_to_answer=3.0),
        a_first_answer,  # the first answer arrives after the second: days_to_answer stays the first's
        lifecycle("complaint.rated", a, 11, "answered", actor="citizen", score=2),
        lifecycle("complaint.reopened", a, 20, "routed", actor="citizen", reason="...", reopen_count=1,
                  deadline_at=at(100).isoformat(), complaint=snapshot),
        timed("complaint.routed", routed(a), 21), timed("complaint.delivered", delivered(a), 22),
        lifecycle("complaint.reopened", a, 31, "routed", actor="citizen", reason="...", reopen_count=2,
                  deadline_at=at(200).isoformat(), complaint=snapshot),
        lifecycle("complaint.answered", a, 40, "answered", answer="...", received_at=at(32).isoformat(),
                  days_to_answer=2.0),
        lifecycle("complaint.rated", a, 41, "answered", actor="citizen", score=4),
        lifecycle("complaint.closed", a, 42, "closed", actor="citizen", reason="confirmed_by_citizen"),
    ]
    # B: transferred to ONEE (the event comes twice), asked for information, answered, rated 5/5,
    # closed with no reply from the citizen; its delivery to CNSS arrives late
    b_transferred = lifecycle("complaint.transferred", b, 4, "routed", code="ONEE", from_administration_code="CNSS",
                              reason="...", complaint=snapshot)
    b_filed = filed(b, 0)
    sequence += b_filed[:2] + [b_transferred, b_transferred] + [
        timed("complaint.routed", routed(b, code="ONEE"), 5), timed("complaint.delivered", delivered(b, "ONEE"), 6),
        lifecycle("complaint.information_requested", b, 7, "information_requested", code="ONEE", message="?"),
        lifecycle("complaint.citizen_replied", b, 8, "in_progress", code="ONEE", actor="citizen",
                  attachments_added=1),
        lifecycle("complaint.answered", b, 9, "answered", code="ONEE", answer="...",
                  received_at=at(6).isoformat(), days_to_answer=20.0),
        lifecycle("complaint.rated", b, 10, "answered", code="ONEE", actor="citizen", score=5),
        lifecycle("complaint.closed", b, 50, "closed", code="ONEE", actor="system", reason="no_reply_from_citizen"),
        b_filed[2],  # delivered to CNSS at minute 2, arriving last: changes nothing
    ]
    # C: its deadline approaches, then passes, before anyone acknowledges it
    sequence += filed(c, 0) + [
        lifecycle("complaint.deadline_approaching", c, 10, "received", actor="system",
                  deadline_at=at(20).isoformat(), days_left=15),
        lifecycle("complaint.deadline_passed", c, 20, "received", actor="system", deadline_at=at(20).isoformat()),
        lifecycle("complaint.acknowledged", c, 21, "in_progress"),
    ]
    # D: closed as a duplicate without an answer; E: waiting in triage; F: answered, not rated
    sequence += filed(d, 0) + [lifecycle("complaint.closed", d, 5, "closed", reason="duplicate", duplicate_of=a)]
    sequence += filed(e, 0, code="UNKNOWN", routed_to="TRIAGE", triage=True)
    sequence += filed(f, 0) + [lifecycle("complaint.answered", f, 9, "answered", answer="...",
                                         received_at=at(2).isoformat(), days_to_answer=45.0)]

    dispatch = event_dispatcher(rabbit_config)
    for name, payload in sequence:
        source = "routing" if name in ("complaint.routed", "complaint.delivered") else "intake"
        with entrypoint_waiter(stats, "on_" + name.split(".")[1]):
            dispatch(source, name, payload)

    with entrypoint_hook(stats, "totals") as totals:
        result = totals()
    assert result["submitted"] == 6
    assert result["by_status"] == {"closed": 3, "in_progress": 1, "triage": 1, "answered": 1}
    assert result["by_administration"] == {
        "CNSS": {"submitted": 4, "by_status": {"closed": 2, "in_progress": 1, "answered": 1}},
        "ONEE": {"submitted": 1, "by_status": {"closed": 1}},
        "TRIAGE": {"submitted": 1, "by_status": {"triage": 1}},
    }
    assert result["closed_by_reason"] == {"confirmed_by_citizen": 1, "no_reply_from_citizen": 1, "duplicate": 1}
    assert result["reopened"] == {"complaints": 1, "reopenings": 2}
    assert result["transferred"] == {"complaints": 1, "transfers": 1}
    assert result["overdue"] == {"complaints": 1, "open": 1}
    # A's latest rating (4) and B's (5); A, B and F were answered
    assert result["ratings"] == {"count": 2, "average": 4.5, "rating_rate": 0.667}
    # A's first answer (10), B's (20), F's (45)
    assert result["days_to_answer"] == {"average": 25.0, "median": 20.0}
    assert result["processed"] == {"complaints": 4, "percentage": 66.7}  # A, B, D closed and F answered
    assert result["by_type"] == {"complaint": 6} and result["by_region"] == {"CS": 6}

    facts = {row["tracking_number"]: row for row in rows(stats.db_url, "select * from complaint_facts")}
    assert (facts[a]["reopen_count"], facts[a]["rating_score"], facts[a]["days_to_answer"]) == (2, 4, 10.0)
    assert (facts[b]["administration_code"], facts[b]["transferred_count"]) == ("ONEE", 1)
    assert facts[c]["overdue"] is True and facts[d]["answered_at"] is None


def test_totals_with_nothing_answered_yet(stats, rabbit_config):
    with entrypoint_waiter(stats, "on_submitted"):
        event_dispatcher(rabbit_config)("intake", "complaint.submitted", submitted("AAAA-AAAA-AAAA1"))
    with entrypoint_hook(stats, "totals") as totals:
        result = totals()
    assert result["ratings"] == {"count": 0, "average": None, "rating_rate": None}
    assert result["days_to_answer"] == {"average": None, "median": None}
    assert result["processed"] == {"complaints": 0, "percentage": 0.0}
    assert result["reopened"] == {"complaints": 0, "reopenings": 0} and result["closed_by_reason"] == {}
