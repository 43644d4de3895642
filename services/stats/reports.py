"""The statistics stats publishes, computed from complaint_facts.

Kept apart from the entrypoint so the way totals are computed (GROUP BY today, running
counters later) can change without touching it.
"""
from collections import Counter, defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.db import utcnow
from services.stats.models import ComplaintFact as Fact

# A complaint counts once its type is known, i.e. once complaint.submitted or another event
# that carries it arrived; a complaint.delivered that overtook them all waits for them.
COUNTED = Fact.type.is_not(None)
PROCESSED_STATUSES = ("answered", "closed")


def totals(session: Session) -> dict:
    by_status, by_administration = Counter(), defaultdict(lambda: {"submitted": 0, "by_status": {}})
    for code, status, count in session.execute(
            sa.select(Fact.administration_code, Fact.status, sa.func.count())
            .where(COUNTED).group_by(Fact.administration_code, Fact.status)):
        by_status[status] += count
        by_administration[code]["submitted"] += count
        by_administration[code]["by_status"][status] = count
    submitted = sum(by_status.values())
    figures = session.execute(sa.select(
        _count(Fact.reopen_count > 0).label("reopened"),
        sa.func.coalesce(sa.func.sum(Fact.reopen_count), 0).label("reopenings"),
        _count(Fact.transferred_count > 0).label("transferred"),
        sa.func.coalesce(sa.func.sum(Fact.transferred_count), 0).label("transfers"),
        _count(Fact.overdue).label("overdue"),
        _count(Fact.overdue & Fact.status.not_in(PROCESSED_STATUSES)).label("overdue_open"),
        sa.func.count(Fact.answered_at).label("answered"),
        sa.func.count(Fact.rating_score).label("rated"),
        sa.func.avg(Fact.rating_score).label("average_rating"),
        sa.func.avg(Fact.days_to_answer).label("average_days"),
    ).where(COUNTED)).one()
    processed = sum(by_status[status] for status in PROCESSED_STATUSES)
    return {
        "submitted": submitted,
        "by_status": dict(by_status),
        "by_type": _count_by(session, Fact.type),
        "by_region": _count_by(session, Fact.region),
        "by_administration": dict(by_administration),
        "closed_by_reason": dict(session.execute(
            sa.select(Fact.closed_reason, sa.func.count())
            .where(COUNTED, Fact.status == "closed").group_by(Fact.closed_reason)).all()),
        # complaints reopened (transferred) at least once, and how many times in all
        "reopened": {"complaints": figures.reopened, "reopenings": figures.reopenings},
        "transferred": {"complaints": figures.transferred, "transfers": figures.transfers},
        # complaints whose deadline passed before they were answered or closed, and of those the
        # ones still waiting
        "overdue": {"complaints": figures.overdue, "open": figures.overdue_open},
        "ratings": {"count": figures.rated, "average": _rounded(figures.average_rating, 2),
                    "rating_rate": _rounded(_ratio(figures.rated, figures.answered), 3)},
        # working days (pauses excluded) from receipt to the first answer
        "days_to_answer": {"average": _rounded(figures.average_days, 1),
                           "median": _rounded(_median(session, Fact.days_to_answer), 1)},
        # answered or closed, of all submitted
        "processed": {"complaints": processed,
                      "percentage": _rounded(_ratio(100 * processed, submitted), 1)},
        "generated_at": utcnow().isoformat(),
    }


def _count(condition):
    """How many facts meet `condition`, as one column of a larger SELECT (on every database)."""
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _count_by(session: Session, column) -> dict:
    return dict(session.execute(sa.select(column, sa.func.count()).where(COUNTED).group_by(column)).all())


def _median(session: Session, column):
    """The median of a column, by sorting in the database rather than loading every value."""
    values = sa.select(column).where(COUNTED, column.is_not(None))
    count = session.scalar(sa.select(sa.func.count()).select_from(values.subquery()))
    if not count:
        return None
    middle = session.scalars(values.order_by(column).offset((count - 1) // 2).limit(2 - count % 2)).all()
    return sum(middle) / len(middle)


def _ratio(part, whole):
    return part / whole if whole else None


def _rounded(value, digits):
    return None if value is None else round(float(value), digits)
