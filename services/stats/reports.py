"""The statistics stats publishes, read from the counters (services.stats.counters): a few
thousand rows whatever the number of complaints.

The answer keeps the keys the first version had (`submitted`, `by_status`, `by_type`,
`by_region`, `by_administration`, ...) and adds the figures of all complaints under `overall`,
the same figures of every group under `breakdowns` (by administration, type, region and the
month of submission), the number of participating administrations and the prosecution's counts.
"""
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.db import utcnow
from services.common.events import TRIAGE, UNKNOWN_ADMINISTRATION
from services.stats.counters import (COMPLAINT_BREAKDOWNS, COMPLAINTS, PROCESSED_STATUSES, PROSECUTION,
                                     PROSECUTION_BREAKDOWNS)
from services.stats.models import Counter

SATISFIED_SCORES = (4, 5)  # a rating of 4 or 5 out of 5 counts as satisfied
NOT_ADMINISTRATIONS = (TRIAGE, UNKNOWN_ADMINISTRATION)


def totals(session: Session) -> dict:
    groups = _groups(session)
    breakdowns = {breakdown: {key: figures(counts) for (scope, kind, key), counts in sorted(groups.items())
                              if scope == COMPLAINTS and kind == breakdown}
                  for breakdown in COMPLAINT_BREAKDOWNS}
    overall = figures(groups.get((COMPLAINTS, "all", ""), {}))
    return {
        **overall,  # the first version's keys, kept at the top
        "overall": overall,
        "by_type": {key: group["submitted"] for key, group in breakdowns["type"].items()},
        "by_region": {key: group["submitted"] for key, group in breakdowns["region"].items()},
        "by_administration": {key: {"submitted": group["submitted"], "by_status": group["by_status"]}
                              for key, group in breakdowns["administration"].items()},
        # administrations that have received at least one complaint (triage is not one)
        "participating_administrations": sum(1 for key in breakdowns["administration"]
                                             if key not in NOT_ADMINISTRATIONS),
        "breakdowns": breakdowns,
        "prosecution": _prosecution(groups),
        "generated_at": utcnow().isoformat(),
    }


def _groups(session: Session) -> dict:
    """{(scope, breakdown, key): {figure: value}}; a group whose counters are all 0 (the
    administration a complaint was transferred away from) is left out.  Read through the
    connection, not the ORM: tens of thousands of plain rows."""
    groups = defaultdict(dict)
    for scope, breakdown, key, figure, value in session.connection().execute(
            sa.select(Counter.scope, Counter.breakdown, Counter.key, Counter.figure, Counter.value)
            .where(Counter.value != 0)):
        groups[(scope, breakdown, key)][figure] = value
    return groups


def _parts(counts: dict) -> tuple[dict, defaultdict]:
    """A group's plain figures, and its named ones by family: {"status": {"closed": 3}, ...}."""
    plain, families = {}, defaultdict(dict)
    for figure, value in counts.items():
        family, colon, name = figure.partition(":")
        if colon:
            families[family][name] = value
        else:
            plain[figure] = value
    return plain, families


def figures(counts: dict) -> dict:
    """The published figures of one group, from its counters."""
    plain, families = _parts(counts)
    submitted = plain.get("submitted", 0)
    by_status = families["status"]
    processed = sum(by_status.get(status, 0) for status in PROCESSED_STATUSES)
    answered = plain.get("answered", 0)
    scores = {int(score): count for score, count in families["rating"].items()}
    rated = sum(scores.values())
    satisfied = sum(scores.get(score, 0) for score in SATISFIED_SCORES)
    days = {int(day): (count, families["answer_hundredths"].get(day, 0))
            for day, count in families["answer_days"].items()}
    answers = sum(count for count, _hundredths in days.values())
    return {
        "submitted": submitted,
        # not answered nor closed yet (by_status says where they are)
        "in_progress": submitted - processed,
        "by_status": by_status,
        # answered or closed, of all submitted
        "processed": {"complaints": processed, "percentage": _rounded(_ratio(100 * processed, submitted), 1)},
        # answered at least once (the rating rate's denominator)
        "answered": answered,
        "closed_by_reason": families["closed"],
        # complaints reopened (transferred) at least once, and how many times in all
        "reopened": {"complaints": plain.get("reopened", 0), "reopenings": plain.get("reopenings", 0)},
        "transferred": {"complaints": plain.get("transferred", 0), "transfers": plain.get("transfers", 0)},
        # complaints whose deadline passed before they were answered or closed, and of those the
        # ones still waiting
        "overdue": {"complaints": plain.get("overdue", 0), "open": plain.get("overdue_open", 0)},
        # days the deadline clock ran (pauses excluded) from receipt to the first answer
        "days_to_answer": {
            "average": _rounded(_ratio(sum(hundredths for _count, hundredths in days.values()), 100 * answers), 1),
            "median": _rounded(_median(days), 1)},
        # the latest rating of each rated complaint; satisfied: 4 or 5 out of 5
        "ratings": {"count": rated,
                    "average": _rounded(_ratio(sum(score * count for score, count in scores.items()), rated), 2),
                    "rating_rate": _rounded(_ratio(rated, answered), 3),
                    "satisfied": satisfied,
                    "satisfaction_rate": _rounded(_ratio(satisfied, rated), 3)},
    }


def _median(days: dict):
    """The median of the days to answer from the histogram {day: (answers, hundredths)}: the
    mean of the day the middle answer falls in (of the two middle ones' days, averaged).  Exact
    when the answers of that day took the same time, else within that day."""
    answers = sum(count for count, _hundredths in days.values())
    if not answers:
        return None
    middles, seen, found = {(answers - 1) // 2, answers // 2}, 0, []
    for day in sorted(days):
        count, hundredths = days[day]
        found += [hundredths / count / 100 for middle in middles if seen <= middle < seen + count]
        seen += count
    return sum(found) / len(found)


def _prosecution(groups: dict) -> dict:
    """Complaints filed and steps taken: in all, and by month, category and office only."""
    def counts_of(counts: dict) -> dict:
        plain, families = _parts(counts)
        return {"filed": plain.get("filed", 0), "steps": families["step"]}

    answer = counts_of(groups.get((PROSECUTION, "all", ""), {}))
    for breakdown in PROSECUTION_BREAKDOWNS:
        answer[f"by_{breakdown}"] = {key: counts_of(counts) for (scope, kind, key), counts in sorted(groups.items())
                                     if scope == PROSECUTION and kind == breakdown}
    return answer


def _ratio(part, whole):
    return part / whole if whole else None


def _rounded(value, digits):
    return None if value is None else round(float(value), digits)
