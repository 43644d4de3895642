"""How each event changes a complaint's facts, whatever order the events arrive in.

Plain Python on any object with ComplaintFact's attributes, so tests call it without a broker.

The newest event says where the complaint is and which administration has it.  While it is
being routed (submitted, triage/routed, received) its events come from different services'
clocks, so there a status never moves backwards; the later steps are decided by time alone,
since a reopened or transferred complaint does go back to routed.
"""
ROUTING_RANK = {"submitted": 0, "triage": 1, "routed": 1, "received": 2}


def _apply(fact, at, status: str, administration_code: str) -> None:
    """Triage and routed share a rank: a triaged complaint that an agent dispatches is routed
    again, and the newer of the two routing events decides."""
    newest = fact.last_event_at is None or at >= fact.last_event_at
    if newest:
        fact.last_event_at = at
        fact.administration_code = administration_code
    if status in ROUTING_RANK and fact.status in ROUTING_RANK:
        rank, current = ROUTING_RANK[status], ROUTING_RANK[fact.status]
        if rank > current or (rank == current and newest):
            fact.status = status
    elif newest:
        fact.status = status


def _earliest(*times):
    return min(time for time in times if time is not None)


def record_submitted(fact, event: dict) -> None:
    fact.type, fact.region = event["type"], event["region"]
    fact.submitted_at = event["submitted_at"]
    _apply(fact, event["occurred_at"], "submitted", event["administration_code"])


def record_routed(fact, event: dict) -> None:
    fact.type, fact.region = event["type"], event["region"]
    fact.routed_at = _earliest(fact.routed_at, event["occurred_at"])
    _apply(fact, event["occurred_at"], "triage" if event["triage"] else "routed",
           event["administration_code"])


def record_delivered(fact, event: dict) -> None:
    fact.received_at = _earliest(fact.received_at, event["occurred_at"])
    _apply(fact, event["occurred_at"], "received", event["administration_code"])


def record_step(fact, event: dict) -> None:
    """Any lifecycle event (acknowledged, information requested, ...): the status it led to."""
    fact.type, fact.region = event["type"], event["region"]
    _apply(fact, event["occurred_at"], event["status"], event["administration_code"])


def record_answered(fact, event: dict) -> None:
    """The first answer is the one the legal deadline is about; later ones (after a
    reopening) leave days_to_answer as it was."""
    record_step(fact, event)
    if fact.answered_at is None or event["occurred_at"] < fact.answered_at:
        fact.answered_at, fact.days_to_answer = event["occurred_at"], event["days_to_answer"]


def record_closed(fact, event: dict) -> None:
    record_step(fact, event)
    if fact.closed_at is None or event["occurred_at"] >= fact.closed_at:
        fact.closed_at, fact.closed_reason = event["occurred_at"], event["reason"]


def record_rated(fact, event: dict) -> None:
    record_step(fact, event)
    if fact.rated_at is None or event["occurred_at"] >= fact.rated_at:
        fact.rated_at, fact.rating_score = event["occurred_at"], event["score"]


def record_reopened(fact, event: dict) -> None:
    """The event carries the count, so reopenings counted out of order still add up right."""
    record_step(fact, event)
    fact.reopen_count = max(fact.reopen_count, event["reopen_count"])


def record_transferred(fact, event: dict) -> None:
    """Counted once per event: @consumes handles a redelivered event only once."""
    record_step(fact, event)
    fact.transferred_count += 1


def record_deadline_passed(fact, event: dict) -> None:
    record_step(fact, event)
    fact.overdue = True
