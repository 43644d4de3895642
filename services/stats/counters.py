"""The counters the statistics are read from, and how the facts add up to them.

Every fact contributes a few figures to each group it belongs to (all complaints, its
administration, type, region and month).  An event changes one fact, so the counters change by
that fact's contribution after the event minus its contribution before, written in the
transaction that records the event: the statistics then cost a read of a few thousand
counters however many complaints there are.  Since the counters are only ever a sum over the
facts, `rebuild` recomputes them from the facts tables, which is also what the events replayed
into an empty database give.

Figures of a complaint group (a missing figure is 0):

    submitted                 complaints counted (their type is known)
    status:<status>           complaints in that status now
    closed:<reason>           closed complaints, by their latest closing reason
    answered                  complaints answered at least once
    answer_days:<day>         first answers given <day> working days after receipt (0-365, 365 = a year or more)
    answer_hundredths:<day>   those answers' days_to_answer added up, in hundredths of a day
    rating:<score>            complaints whose latest rating is <score> (1-5)
    reopened, reopenings      complaints reopened at least once, reopenings in all
    transferred, transfers    complaints transferred at least once, transfers in all
    overdue, overdue_open     complaints whose deadline passed before they were answered or closed,
                              and of those the ones not answered or closed yet

Figures of a prosecution group: `filed` (complaints filed) and `step:<step>` (steps taken).
"""
import math
from collections import defaultdict
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.stats.models import ComplaintFact, Counter, ProsecutionStep

COMPLAINTS, PROSECUTION = "complaints", "prosecution"
COMPLAINT_BREAKDOWNS = ("administration", "type", "region", "month")
PROSECUTION_BREAKDOWNS = ("month", "category", "office")
PROCESSED_STATUSES = ("answered", "closed")
LONGEST_COUNTED_DAY = 365  # slower answers share the last day of the histogram (its mean stays exact)
MOROCCO = ZoneInfo("Africa/Casablanca")


# Texts, not insert constructs: SQLAlchemy 2.0 compiles an ON CONFLICT construct again on every
# run, a text only once.  PostgreSQL takes an event's rows as arrays, in one statement and in their
# order; SQLite (in the process) takes them one at a time.
_ADD_ON_CONFLICT = (' ON CONFLICT (scope, breakdown, "key", figure)'
                    " DO UPDATE SET value = counters.value + excluded.value")
ADD_ROWS = sa.text(
    'INSERT INTO counters (scope, breakdown, "key", figure, value)'
    ' SELECT scope, breakdown, "key", figure, value'
    " FROM unnest(CAST(:scopes AS text[]), CAST(:breakdowns AS text[]), CAST(:keys AS text[]),"
    " CAST(:figures AS text[]), CAST(:values AS bigint[]))"
    ' WITH ORDINALITY AS change (scope, breakdown, "key", figure, value, position) ORDER BY position'
    + _ADD_ON_CONFLICT)
ADD_ROW = sa.text('INSERT INTO counters (scope, breakdown, "key", figure, value)'
                  " VALUES (:scope, :breakdown, :key, :figure, :value)" + _ADD_ON_CONFLICT)


# the columns of complaint_facts that of_complaint reads (what rebuild selects, so the migration
# that first filled the counters keeps working when complaint_facts gains columns)
COUNTED_COLUMNS = tuple(getattr(ComplaintFact, name) for name in (
    "type", "status", "administration_code", "region", "submitted_at", "last_event_at", "closed_reason",
    "answered_at", "days_to_answer", "rating_score", "reopen_count", "transferred_count", "overdue"))


def month_of(moment) -> str:
    """The calendar month (Moroccan time) a complaint is counted in: `2026-11`."""
    return moment.astimezone(MOROCCO).strftime("%Y-%m")


def complaint_figures(fact) -> dict[str, int]:
    """What one complaint adds to each group it belongs to; nothing until its type is known
    (a complaint.delivered that overtook complaint.submitted waits for it)."""
    if fact.type is None:
        return {}
    figures = {"submitted": 1, f"status:{fact.status}": 1}
    if fact.status == "closed" and fact.closed_reason:
        figures[f"closed:{fact.closed_reason}"] = 1
    if fact.answered_at is not None:
        figures["answered"] = 1
        if fact.days_to_answer is not None:
            day = min(max(math.floor(fact.days_to_answer), 0), LONGEST_COUNTED_DAY)
            figures[f"answer_days:{day}"] = 1
            # whole hundredths (intake rounds days to two decimals): sums stay exact in any order
            figures[f"answer_hundredths:{day}"] = round(fact.days_to_answer * 100)
    if fact.rating_score is not None:
        figures[f"rating:{fact.rating_score}"] = 1
    if fact.reopen_count:
        figures["reopened"], figures["reopenings"] = 1, fact.reopen_count
    if fact.transferred_count:
        figures["transferred"], figures["transfers"] = 1, fact.transferred_count
    if fact.overdue:
        figures["overdue"] = 1
        if fact.status not in PROCESSED_STATUSES:
            figures["overdue_open"] = 1
    return figures


def complaint_groups(fact) -> list[tuple[str, str]]:
    """(breakdown, key) of every group the complaint is counted in.  Its month is the month it
    was submitted in (until complaint.submitted arrives, the month of its newest event)."""
    counted_from = fact.submitted_at or fact.last_event_at
    return [("all", ""), ("administration", fact.administration_code or ""), ("type", fact.type),
            ("region", fact.region or ""), ("month", month_of(counted_from) if counted_from else "")]


def of_complaint(fact) -> dict[tuple, int]:
    """The complaint's whole contribution: {(scope, breakdown, key, figure): value}."""
    figures = complaint_figures(fact)
    if not figures:
        return {}
    return {(COMPLAINTS, breakdown, key, figure): value
            for breakdown, key in complaint_groups(fact) for figure, value in figures.items()}


def of_prosecution_step(step) -> dict[tuple, int]:
    figure = "filed" if step.step == "received" else f"step:{step.step}"
    groups = [("all", ""), ("month", step.month), ("category", step.category), ("office", step.office_code)]
    return {(PROSECUTION, breakdown, key, figure): 1 for breakdown, key in groups}


def difference(before: dict, after: dict) -> dict:
    """What to add to the counters so that `before` becomes `after`."""
    changes = {key: after.get(key, 0) - before.get(key, 0) for key in before.keys() | after.keys()}
    return {key: change for key, change in changes.items() if change}


_PENDING = "counter changes"


def add(session: Session, changes: dict) -> None:
    """Add `changes` to the counters in the session's transaction.  They are written together
    just before it commits, in key order: after every complaint fact the transaction locks (the
    events handled together lock theirs in tracking-number order), so two transactions touching
    the same facts and counters wait for each other, never deadlock; and a counter that several
    events of the transaction move is written once."""
    pending = session.info.setdefault(_PENDING, defaultdict(int))
    for key, change in changes.items():
        pending[key] += change


@sa.event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    changes = {key: change for key, change in session.info.pop(_PENDING, {}).items() if change}
    if not changes:
        return
    ordered = sorted(changes.items())
    if session.get_bind().dialect.name == "postgresql":
        scopes, breakdowns, keys, figures = (list(column) for column in zip(*(key for key, _ in ordered)))
        session.execute(ADD_ROWS, {"scopes": scopes, "breakdowns": breakdowns, "keys": keys,
                                   "figures": figures, "values": [value for _, value in ordered]})
    else:
        session.execute(ADD_ROW, [{"scope": scope, "breakdown": breakdown, "key": key, "figure": figure,
                                   "value": value} for (scope, breakdown, key, figure), value in ordered])


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous_transaction) -> None:
    session.info.pop(_PENDING, None)


def rebuild(session: Session, batch: int = 10_000) -> int:
    """Recompute every counter from the facts tables, in one transaction; returns how many
    counters there are.  Events handled meanwhile wait for it, then add their change on top."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("LOCK TABLE counters IN EXCLUSIVE MODE"))
    session.execute(sa.delete(Counter))
    totals = defaultdict(int)
    for columns, contribution in ((COUNTED_COLUMNS, of_complaint), (ProsecutionStep.__table__.c, of_prosecution_step)):
        # plain rows (their attributes are the columns): no ORM objects to build for millions of facts
        for row in session.execute(sa.select(*columns).execution_options(yield_per=batch)):
            for key, value in contribution(row).items():
                totals[key] += value
    rows = [{"scope": scope, "breakdown": breakdown, "key": key, "figure": figure, "value": value}
            for (scope, breakdown, key, figure), value in sorted(totals.items()) if value]
    for start in range(0, len(rows), batch):
        session.execute(sa.insert(Counter), rows[start:start + batch])
    session.commit()
    return len(rows)
