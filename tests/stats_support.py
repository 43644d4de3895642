"""Events for the statistics tests, and one known sequence of them whose every figure the
tests check: seven complaints (answered, rated, reopened, transferred, overdue, closed for
different reasons, waiting in triage) over two months, and three complaints to the public
prosecution with their steps."""
from datetime import datetime, timedelta, timezone

from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.common.events import make_event
from tests.factories import complaint_snapshot, lifecycle_event_data, submitted_event_data

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
A, B, C, D, E, F, G = (f"{letter * 4}-{letter * 4}-{letter * 4}1" for letter in "ABCDEFG")


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def submitted(number, code="CNSS", type_="complaint", region="CS", submitted_at=None):
    data = submitted_event_data(number, administration_code=code, type=type_, region=region)
    if submitted_at is not None:
        data["submitted_at"] = submitted_at.isoformat()
    return make_event("complaint.submitted", data)


def routed(number, code="CNSS", triage=False, type_="complaint", region="CS"):
    return make_event("complaint.routed", {"tracking_number": number, "administration_code": code,
                                           "triage": triage, "type": type_, "region": region})


def delivered(number, code="CNSS"):
    return make_event("complaint.delivered", {"tracking_number": number, "administration_code": code,
                                              "destination": "inbox"})


def timed(name, payload, moment):
    """(event name, payload) that happened at `moment` (minutes after T0, or a datetime)."""
    moment = at(moment) if isinstance(moment, (int, float)) else moment
    return name, {**payload, "occurred_at": moment.isoformat()}


def lifecycle(name, number, minute, status, code="CNSS", type_="complaint", region="CS", **fields):
    data = lifecycle_event_data(number, administration_code=code, status=status, **fields)
    return timed(name, make_event(name, {**data, "type": type_, "region": region}), minute)


def filed(number, minute, code="CNSS", routed_to=None, triage=False, type_="complaint", region="CS",
          submitted_at=None):
    """Submitted, routed and (unless to triage) delivered, a minute apart."""
    routed_to = routed_to or code
    submitted_at = submitted_at or at(minute)
    events = [timed("complaint.submitted", submitted(number, code, type_, region, submitted_at), submitted_at),
              timed("complaint.routed", routed(number, routed_to, triage, type_, region),
                    submitted_at + timedelta(minutes=1))]
    if not triage:
        events.append(timed("complaint.delivered", delivered(number, routed_to), submitted_at + timedelta(minutes=2)))
    return events


def prosecution_event(name, code, month, category, office, step, status, **fields):
    data = {"tracking_code": code, "office_code": office, "category": category, "month": month, "step": step,
            "status": status, "citizen": {"language": "fr", "phone": "+212612345678", "email": None}, **fields}
    if name == "prosecution.complaint_registered":
        data["submitted_at"] = T0.isoformat()
    return name, make_event(name, data)


def known_sequence() -> list[tuple[str, dict]]:
    snapshot = complaint_snapshot()
    october = datetime(2026, 10, 15, 10, 0, tzinfo=timezone.utc)
    # A: answered, rated 2/5, reopened twice, answered again, rated 4/5, then confirmed; its first
    # answer (10 days) arrives after the second
    sequence = filed(A, 0) + [
        lifecycle("complaint.acknowledged", A, 5, "in_progress"),
        lifecycle("complaint.answered", A, 30, "answered", answer="...", received_at=at(22).isoformat(),
                  days_to_answer=3.0),
        lifecycle("complaint.answered", A, 10, "answered", answer="...", received_at=at(2).isoformat(),
                  days_to_answer=10.0),
        lifecycle("complaint.rated", A, 11, "answered", actor="citizen", score=2),
        lifecycle("complaint.reopened", A, 20, "routed", actor="citizen", reason="...", reopen_count=1,
                  deadline_at=at(100).isoformat(), complaint=snapshot),
        timed("complaint.routed", routed(A), 21), timed("complaint.delivered", delivered(A), 22),
        lifecycle("complaint.reopened", A, 31, "routed", actor="citizen", reason="...", reopen_count=2,
                  deadline_at=at(200).isoformat(), complaint=snapshot),
        lifecycle("complaint.answered", A, 40, "answered", answer="...", received_at=at(32).isoformat(),
                  days_to_answer=2.0),
        lifecycle("complaint.rated", A, 41, "answered", actor="citizen", score=4),
        lifecycle("complaint.closed", A, 42, "closed", actor="citizen", reason="confirmed_by_citizen"),
    ]
    # B: transferred to ONEE (the event comes twice), asked for information, answered in 20 days,
    # rated 5/5, closed with no reply from the citizen; its delivery to CNSS arrives last
    b_transferred = lifecycle("complaint.transferred", B, 4, "routed", code="ONEE", from_administration_code="CNSS",
                              reason="...", complaint=snapshot)
    b_filed = filed(B, 0)
    sequence += b_filed[:2] + [b_transferred, b_transferred] + [
        timed("complaint.routed", routed(B, code="ONEE"), 5), timed("complaint.delivered", delivered(B, "ONEE"), 6),
        lifecycle("complaint.information_requested", B, 7, "information_requested", code="ONEE", message="?"),
        lifecycle("complaint.citizen_replied", B, 8, "in_progress", code="ONEE", actor="citizen",
                  attachments_added=1),
        lifecycle("complaint.answered", B, 9, "answered", code="ONEE", answer="...",
                  received_at=at(6).isoformat(), days_to_answer=20.0),
        lifecycle("complaint.rated", B, 10, "answered", code="ONEE", actor="citizen", score=5),
        lifecycle("complaint.closed", B, 50, "closed", code="ONEE", actor="system", reason="no_reply_from_citizen"),
        b_filed[2],
    ]
    # C: its deadline approaches, then passes, before anyone acknowledges it
    sequence += filed(C, 0) + [
        lifecycle("complaint.deadline_approaching", C, 10, "received", actor="system",
                  deadline_at=at(20).isoformat(), days_left=15),
        lifecycle("complaint.deadline_passed", C, 20, "received", actor="system", deadline_at=at(20).isoformat()),
        lifecycle("complaint.acknowledged", C, 21, "in_progress"),
    ]
    # D: closed as a duplicate without an answer; E: a suggestion waiting in triage
    sequence += filed(D, 0) + [lifecycle("complaint.closed", D, 5, "closed", reason="duplicate", duplicate_of=A)]
    sequence += filed(E, 0, code="UNKNOWN", routed_to="TRIAGE", triage=True, type_="suggestion", region="RSK")
    # F (October): answered in 45 days, rated 2/5; G (October, an observation to ONEE): answered
    # in 21 days, not rated
    sequence += filed(F, 0, submitted_at=october) + [
        lifecycle("complaint.answered", F, 9, "answered", answer="...", received_at=october.isoformat(),
                  days_to_answer=45.0),
        lifecycle("complaint.rated", F, 12, "answered", actor="citizen", score=2)]
    sequence += filed(G, 0, code="ONEE", type_="observation", region="RSK",
                      submitted_at=october + timedelta(days=5)) + [
        lifecycle("complaint.answered", G, 9, "answered", code="ONEE", type_="observation", region="RSK",
                  answer="...", received_at=october.isoformat(), days_to_answer=21.0)]
    # the prosecution: one corruption complaint at the court of appeal (October), prosecuted in
    # November; two thefts in Rabat, one forwarded to Salé where it is filed without action, the
    # other's registration delivered twice
    p3_filed = prosecution_event("prosecution.complaint_registered", "P3", "2026-11", "theft", "TPI_RABAT",
                                 "received", "received")
    sequence += [
        prosecution_event("prosecution.complaint_registered", "P1", "2026-10", "corruption", "CA_RABAT",
                          "received", "received"),
        prosecution_event("prosecution.step_recorded", "P1", "2026-10", "corruption", "CA_RABAT", "registered",
                          "registered", register_number="2026/1"),
        prosecution_event("prosecution.step_recorded", "P1", "2026-11", "corruption", "CA_RABAT",
                          "prosecution_launched", "prosecution_launched"),
        prosecution_event("prosecution.complaint_registered", "P2", "2026-11", "theft", "TPI_RABAT",
                          "received", "received"),
        prosecution_event("prosecution.step_recorded", "P2", "2026-11", "theft", "TPI_SALE", "forwarded",
                          "received", from_office_code="TPI_RABAT", to_office_code="TPI_SALE"),
        prosecution_event("prosecution.step_recorded", "P2", "2026-11", "theft", "TPI_SALE", "registered",
                          "registered", register_number="2026/7"),
        prosecution_event("prosecution.step_recorded", "P2", "2026-11", "theft", "TPI_SALE",
                          "filed_without_action", "filed_without_action", reason="insufficient_evidence"),
        p3_filed, p3_filed,
    ]
    return sequence


SOURCES = {"complaint.routed": "routing", "complaint.delivered": "routing",
           "prosecution.complaint_registered": "prosecution", "prosecution.step_recorded": "prosecution"}


def feed(stats, rabbit_config, sequence) -> None:
    """Publish each event as its producer would and wait until stats has handled it."""
    dispatch = event_dispatcher(rabbit_config)
    for name, payload in sequence:
        handler = "on_" + name.split(".")[1] if name.startswith("complaint.") else "on_" + name.replace(".", "_")
        with entrypoint_waiter(stats, handler):
            dispatch(SOURCES.get(name, "intake"), name, payload)


def figures(submitted=0, in_progress=0, by_status=None, processed=(0, None), answered=0, closed_by_reason=None,
            reopened=(0, 0), transferred=(0, 0), overdue=(0, 0), days=(None, None), ratings=(0, None, None, 0, None)):
    """The figures of one group as stats publishes them; what is not given is 0, empty or None."""
    count, average, rating_rate, satisfied, satisfaction_rate = ratings
    return {"submitted": submitted, "in_progress": in_progress, "by_status": by_status or {},
            "processed": {"complaints": processed[0], "percentage": processed[1]}, "answered": answered,
            "closed_by_reason": closed_by_reason or {},
            "reopened": {"complaints": reopened[0], "reopenings": reopened[1]},
            "transferred": {"complaints": transferred[0], "transfers": transferred[1]},
            "overdue": {"complaints": overdue[0], "open": overdue[1]},
            "days_to_answer": {"average": days[0], "median": days[1]},
            "ratings": {"count": count, "average": average, "rating_rate": rating_rate, "satisfied": satisfied,
                        "satisfaction_rate": satisfaction_rate}}


# What the known sequence adds up to, group by group (worked out by hand from the story above).
OVERALL = figures(
    submitted=7, in_progress=2, by_status={"closed": 3, "in_progress": 1, "triage": 1, "answered": 2},
    processed=(5, 71.4), answered=4,
    closed_by_reason={"confirmed_by_citizen": 1, "no_reply_from_citizen": 1, "duplicate": 1},
    reopened=(1, 2), transferred=(1, 1), overdue=(1, 1),
    days=(24.0, 20.5),  # first answers: A 10, B 20, G 21, F 45
    ratings=(3, 3.67, 0.75, 2, 0.667))  # A 4, B 5, F 2 of A, B, F, G answered
BY_ADMINISTRATION = {
    "CNSS": figures(submitted=4, in_progress=1, by_status={"closed": 2, "in_progress": 1, "answered": 1},
                    processed=(3, 75.0), answered=2, closed_by_reason={"confirmed_by_citizen": 1, "duplicate": 1},
                    reopened=(1, 2), overdue=(1, 1), days=(27.5, 27.5), ratings=(2, 3.0, 1.0, 1, 0.5)),
    "ONEE": figures(submitted=2, by_status={"closed": 1, "answered": 1}, processed=(2, 100.0), answered=2,
                    closed_by_reason={"no_reply_from_citizen": 1}, transferred=(1, 1), days=(20.5, 20.5),
                    ratings=(1, 5.0, 0.5, 1, 1.0)),
    "TRIAGE": figures(submitted=1, in_progress=1, by_status={"triage": 1}, processed=(0, 0.0)),
}
BY_MONTH = {
    "2026-10": figures(submitted=2, by_status={"answered": 2}, processed=(2, 100.0), answered=2,
                       days=(33.0, 33.0), ratings=(1, 2.0, 0.5, 0, 0.0)),
    "2026-11": figures(submitted=5, in_progress=2, by_status={"closed": 3, "in_progress": 1, "triage": 1},
                       processed=(3, 60.0), answered=2,
                       closed_by_reason={"confirmed_by_citizen": 1, "no_reply_from_citizen": 1, "duplicate": 1},
                       reopened=(1, 2), transferred=(1, 1), overdue=(1, 1), days=(15.0, 15.0),
                       ratings=(2, 4.5, 1.0, 2, 1.0)),
}
BY_TYPE = {
    "complaint": figures(submitted=5, in_progress=1, by_status={"closed": 3, "in_progress": 1, "answered": 1},
                         processed=(4, 80.0), answered=3,
                         closed_by_reason={"confirmed_by_citizen": 1, "no_reply_from_citizen": 1, "duplicate": 1},
                         reopened=(1, 2), transferred=(1, 1), overdue=(1, 1), days=(25.0, 20.0),
                         ratings=(3, 3.67, 1.0, 2, 0.667)),
    "observation": figures(submitted=1, by_status={"answered": 1}, processed=(1, 100.0), answered=1,
                           days=(21.0, 21.0), ratings=(0, None, 0.0, 0, None)),
    "suggestion": figures(submitted=1, in_progress=1, by_status={"triage": 1}, processed=(0, 0.0)),
}
BY_REGION = {
    "CS": BY_TYPE["complaint"],
    "RSK": figures(submitted=2, in_progress=1, by_status={"answered": 1, "triage": 1}, processed=(1, 50.0),
                   answered=1, days=(21.0, 21.0), ratings=(0, None, 0.0, 0, None)),
}
PROSECUTION = {
    "filed": 3,
    "steps": {"registered": 2, "prosecution_launched": 1, "forwarded": 1, "filed_without_action": 1},
    "by_month": {
        "2026-10": {"filed": 1, "steps": {"registered": 1}},
        "2026-11": {"filed": 2, "steps": {"prosecution_launched": 1, "forwarded": 1, "registered": 1,
                                          "filed_without_action": 1}},
    },
    "by_category": {
        "corruption": {"filed": 1, "steps": {"registered": 1, "prosecution_launched": 1}},
        "theft": {"filed": 2, "steps": {"forwarded": 1, "registered": 1, "filed_without_action": 1}},
    },
    "by_office": {
        "CA_RABAT": {"filed": 1, "steps": {"registered": 1, "prosecution_launched": 1}},
        "TPI_RABAT": {"filed": 2, "steps": {"forwarded": 1}},
        "TPI_SALE": {"filed": 0, "steps": {"registered": 1, "filed_without_action": 1}},
    },
}
