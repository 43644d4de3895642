"""The statistics stats publishes, computed from complaint_facts.

Kept apart from the entrypoint so the way totals are computed (GROUP BY today, running
counters later) can change without touching it.
"""
from collections import Counter, defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.db import utcnow
from services.stats.models import ComplaintFact as Fact

# A complaint counts once its type is known, i.e. once complaint.submitted or complaint.routed
# arrived; a complaint.delivered that overtook both waits for them.
COUNTED = Fact.type.is_not(None)


def totals(session: Session) -> dict:
    by_status, by_administration = Counter(), defaultdict(lambda: {"submitted": 0, "by_status": {}})
    for code, status, count in session.execute(
            sa.select(Fact.administration_code, Fact.status, sa.func.count())
            .where(COUNTED).group_by(Fact.administration_code, Fact.status)):
        by_status[status] += count
        by_administration[code]["submitted"] += count
        by_administration[code]["by_status"][status] = count
    return {
        "submitted": sum(by_status.values()),
        "by_status": dict(by_status),
        "by_type": _count_by(session, Fact.type),
        "by_region": _count_by(session, Fact.region),
        "by_administration": dict(by_administration),
        "generated_at": utcnow().isoformat(),
    }


def _count_by(session: Session, column) -> dict:
    return dict(session.execute(sa.select(column, sa.func.count()).where(COUNTED).group_by(column)).all())
