"""How each event changes a complaint's facts, whatever order the events arrive in.

Plain Python on any object with ComplaintFact's attributes, so tests call it without a broker.
"""
STATUS_RANK = {"submitted": 0, "triage": 1, "routed": 1, "received": 2}


def _apply(fact, at, status: str, administration_code: str) -> None:
    """The newest event names the administration; the status never moves backwards.

    Triage and routed share a rank: a triaged complaint that an agent dispatches is routed
    again, and the newer of the two routing events decides.
    """
    newest = fact.last_event_at is None or at >= fact.last_event_at
    if newest:
        fact.last_event_at = at
        fact.administration_code = administration_code
    rank, current = STATUS_RANK[status], STATUS_RANK[fact.status]
    if rank > current or (rank == current and newest):
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
