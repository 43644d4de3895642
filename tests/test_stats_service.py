"""Stats: the fact rules and the counters alone, then the service in a real nameko container
counting real events that arrive twice and out of order, every figure of a known sequence, and
the same figures again from a replay into an empty database and from a rebuild of the counters."""
import os
import subprocess
import sys
from datetime import datetime, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.stats import counters, domain, reports
from services.stats.models import ComplaintFact
from tests import stats_support as known
from tests.helpers import rows
from tests.stats_support import at, delivered, feed, known_sequence, routed, submitted

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def fact(**fields):
    values = dict(type="complaint", status="received", administration_code="CNSS", region="CS",
                  submitted_at=at(0), last_event_at=at(0), closed_reason=None, answered_at=None,
                  days_to_answer=None, rating_score=None, reopen_count=0, transferred_count=0, overdue=False)
    return SimpleNamespace(**{**values, **fields})


def test_a_complaint_counts_in_each_of_its_groups_once_its_type_is_known():
    assert counters.of_complaint(fact(type=None)) == {}
    contribution = counters.of_complaint(fact(status="answered", answered_at=at(5), days_to_answer=12.34,
                                              rating_score=4, overdue=True, reopen_count=2))
    groups = {(breakdown, key) for _scope, breakdown, key, _figure in contribution}
    assert groups == {("all", ""), ("administration", "CNSS"), ("type", "complaint"), ("region", "CS"),
                      ("month", "2026-11")}
    assert {figure: value for (_scope, breakdown, _key, figure), value in contribution.items()
            if breakdown == "all"} == {
        "submitted": 1, "status:answered": 1, "answered": 1, "answer_days:12": 1, "answer_hundredths:12": 1234,
        "rating:4": 1, "reopened": 1, "reopenings": 2, "overdue": 1}  # answered: no longer overdue_open


def test_the_month_is_the_moroccan_one_and_the_newest_event_stands_in_for_a_late_submission():
    assert counters.month_of(datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc)) == "2026-11"  # UTC+1
    assert counters.complaint_groups(fact(submitted_at=None, last_event_at=at(0)))[-1] == ("month", "2026-11")


def test_an_event_moves_the_counters_by_what_it_changed():
    before = fact(status="received")
    after = fact(status="closed", closed_reason="duplicate", administration_code="ONEE")
    change = counters.difference(counters.of_complaint(before), counters.of_complaint(after))
    assert change[("complaints", "all", "", "status:received")] == -1
    assert change[("complaints", "all", "", "status:closed")] == 1
    assert change[("complaints", "administration", "CNSS", "submitted")] == -1
    assert change[("complaints", "administration", "ONEE", "submitted")] == 1
    assert ("complaints", "all", "", "submitted") not in change  # unchanged figures are not written


def histogram(*answers):
    """The counters of answers given in these days."""
    counts = {}
    for value in answers:
        day = int(value)
        counts[f"answer_days:{day}"] = counts.get(f"answer_days:{day}", 0) + 1
        counts[f"answer_hundredths:{day}"] = counts.get(f"answer_hundredths:{day}", 0) + round(value * 100)
    return counts


def test_the_median_days_come_from_the_histogram():
    assert reports.figures(histogram(10, 20, 21, 45))["days_to_answer"] == {"average": 24.0, "median": 20.5}
    assert reports.figures(histogram(3, 9.5, 7))["days_to_answer"]["median"] == 7.0  # odd count: the middle
    # the middle answer shares its day with another: that day's mean, right to within the day (2.8)
    assert reports.figures(histogram(2.2, 2.8, 30))["days_to_answer"]["median"] == 2.5
    assert reports.figures({})["days_to_answer"] == {"average": None, "median": None}


def test_a_satisfaction_rate_always_comes_with_its_ratings_and_the_answers():
    counts = {"submitted": 10, "status:answered": 10, "answered": 10, "rating:5": 1}
    assert reports.figures(counts)["ratings"] == {"count": 1, "average": 5.0, "rating_rate": 0.1, "satisfied": 1,
                                                  "satisfaction_rate": 1.0}


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


def without_moment(document):
    return {key: value for key, value in document.items() if key != "generated_at"}


def test_every_figure_of_a_known_sequence_and_the_same_after_a_replay_and_a_rebuild(start_service, rabbit_config):
    from services.stats.service import StatsService
    first = start_service(StatsService)
    sequence = known_sequence()
    feed(first, rabbit_config, sequence)
    with entrypoint_hook(first, "totals") as totals:
        result = totals()

    assert result["overall"] == known.OVERALL
    assert result["breakdowns"]["administration"] == known.BY_ADMINISTRATION
    assert result["breakdowns"]["month"] == known.BY_MONTH
    assert result["breakdowns"]["type"] == known.BY_TYPE
    assert result["breakdowns"]["region"] == known.BY_REGION
    assert result["participating_administrations"] == 2  # CNSS and ONEE; triage is not one
    assert result["prosecution"] == known.PROSECUTION
    # the first version's keys are still there, with what they meant
    assert {key: result[key] for key in known.OVERALL} == known.OVERALL
    assert result["by_type"] == {"complaint": 5, "observation": 1, "suggestion": 1}
    assert result["by_region"] == {"CS": 5, "RSK": 2}
    assert result["by_administration"] == {
        "CNSS": {"submitted": 4, "by_status": {"closed": 2, "in_progress": 1, "answered": 1}},
        "ONEE": {"submitted": 2, "by_status": {"closed": 1, "answered": 1}},
        "TRIAGE": {"submitted": 1, "by_status": {"triage": 1}},
    }
    facts = {row["tracking_number"]: row for row in rows(first.db_url, "select * from complaint_facts")}
    assert (facts[known.A]["reopen_count"], facts[known.A]["rating_score"], facts[known.A]["days_to_answer"]) == (
        2, 4, 10.0)
    assert (facts[known.B]["administration_code"], facts[known.B]["transferred_count"]) == ("ONEE", 1)
    assert facts[known.C]["overdue"] is True and facts[known.D]["answered_at"] is None
    assert facts[known.B]["status"] == "closed"
    steps = rows(first.db_url, "select * from prosecution_steps")
    assert len(steps) == 8 and set(steps[0]) == {"event_id", "step", "month", "category", "office_code"}

    # the same events, last first, into an empty database
    first.stop()
    replayed = start_service(StatsService)
    feed(replayed, rabbit_config, list(reversed(sequence)))
    with entrypoint_hook(replayed, "totals") as totals:
        assert without_moment(totals()) == without_moment(result)

    # counters lost or wrong: rebuilt from the facts by the operator's command
    engine = sa.create_engine(replayed.db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("delete from counters where breakdown <> 'month'"))
        connection.execute(sa.text("update counters set value = value + 7"))
    engine.dispose()
    with entrypoint_hook(replayed, "totals") as totals:
        assert without_moment(totals()) != without_moment(result)
    command = subprocess.run([sys.executable, "-m", "services.stats.rebuild"], cwd=ROOT, capture_output=True,
                             text=True, env={**os.environ, "STATS_DATABASE_URL": replayed.db_url}, timeout=120)
    assert command.returncode == 0, command.stderr
    assert "counters rebuilt from the facts" in command.stdout
    with entrypoint_hook(replayed, "totals") as totals:
        assert without_moment(totals()) == without_moment(result)


def test_totals_with_nothing_answered_yet(stats, rabbit_config):
    with entrypoint_waiter(stats, "on_submitted"):
        event_dispatcher(rabbit_config)("intake", "complaint.submitted", submitted("AAAA-AAAA-AAAA1"))
    with entrypoint_hook(stats, "totals") as totals:
        result = totals()
    assert result["ratings"] == {"count": 0, "average": None, "rating_rate": None, "satisfied": 0,
                                 "satisfaction_rate": None}
    assert result["days_to_answer"] == {"average": None, "median": None}
    assert result["processed"] == {"complaints": 0, "percentage": 0.0}
    assert result["reopened"] == {"complaints": 0, "reopenings": 0} and result["closed_by_reason"] == {}
    assert result["prosecution"] == {"filed": 0, "steps": {}, "by_month": {}, "by_category": {}, "by_office": {}}
