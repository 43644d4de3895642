"""The statistics query and the statistics page at one million complaints.

Fills a fresh stats database with the counters that a million complaints (and 60,000 complaints
to the public prosecution) leave: 97 administrations of very different sizes, three years of
months, the 12 regions, the three request types, each with its statuses, closing reasons,
ratings and its histogram of days to answer.  The rows are made directly (a few seconds), not
by sending a million events.  Then it times what a visitor costs: the query stats answers
`totals` with (services/stats/reports.py), the page rendered in Arabic and French with its
charts, and the CSV.  Prints the figures the page shows.

    .venv/bin/python bench/stats_query.py [-n 1000000] [--repeat 20] [--postgres [URL]] [--from-facts]

`--from-facts` (PostgreSQL) writes a million rows of complaint facts instead, draws them at
random in SQL, and builds the counters from them with the operator's rebuild, which it times too.
Without `--postgres` the database is a SQLite file in a temporary folder.
"""
import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.submit_complaints import drop_databases  # noqa: E402
from services.common.db import make_engine, migrate  # noqa: E402
from services.stats import counters, reports  # noqa: E402
from services.stats.models import Base, Counter  # noqa: E402

ADMINISTRATIONS = json.loads((ROOT / "services/routing/data/administrations.json").read_text("utf-8"))
REGIONS = json.loads((ROOT / "services/common/data/regions.json").read_text("utf-8"))
COURTS = json.loads((ROOT / "services/prosecution/data/courts.json").read_text("utf-8"))
MONTHS = [f"{year}-{month:02d}" for year in (2024, 2025, 2026) for month in range(1, 13)]
STATUSES = {"closed": .46, "answered": .18, "in_progress": .12, "information_requested": .03, "received": .12,
            "routed": .05, "triage": .02, "submitted": .02}
CLOSE_REASONS = {"resolved": .35, "confirmed_by_citizen": .2, "no_reply_from_citizen": .2, "not_founded": .1,
                 "outside_competence": .08, "duplicate": .05, "before_courts": .02}
SCORES = {1: .15, 2: .1, 3: .15, 4: .3, 5: .3}
CATEGORIES = ["corruption", "embezzlement", "violence", "violence_against_women", "theft", "fraud", "forgery",
              "threats_defamation", "cybercrime", "family_abandonment", "dishonoured_cheque", "property_trespass",
              "other"]
PROSECUTION_STEPS = {"registered": .9, "referred_to_police": .5, "information_requested": .1,
                     "filed_without_action": .35, "prosecution_launched": .3, "referred_to_investigating_judge": .05,
                     "forwarded": .04}


def split(total: int, weights: dict, rng: random.Random, jitter: float = .2) -> dict:
    """`total` shared out in proportion to `weights` (each moved by up to ±jitter), as whole numbers
    that add up to it exactly (largest remainders)."""
    moved = {key: weight * rng.uniform(1 - jitter, 1 + jitter) for key, weight in weights.items()}
    whole = sum(moved.values())
    exact = {key: total * weight / whole for key, weight in moved.items()}
    shares = {key: math.floor(value) for key, value in exact.items()}
    for key in sorted(exact, key=lambda key: shares[key] - exact[key])[:total - sum(shares.values())]:
        shares[key] += 1
    return shares


def group_counts(complaints: int, rng: random.Random) -> dict:
    """The counters of a group of `complaints` complaints (see services/stats/counters.py)."""
    by_status = split(complaints, STATUSES, rng)
    counts = {"submitted": complaints, **{f"status:{status}": count for status, count in by_status.items()}}
    counts.update({f"closed:{reason}": count
                   for reason, count in split(by_status["closed"], CLOSE_REASONS, rng).items()})
    answered = by_status["answered"] + round(by_status["closed"] * .85)
    counts["answered"] = answered
    scale = rng.uniform(5, 20)  # days: a gamma-like spread, its peak at about 2.5 x scale
    days = split(answered, {day: (day + .5) ** 1.5 * math.exp(-(day + .5) / scale)
                            for day in range(counters.LONGEST_COUNTED_DAY + 1)}, rng, jitter=.1)
    for day, count in days.items():
        counts[f"answer_days:{day}"] = count
        counts[f"answer_hundredths:{day}"] = count * (day * 100 + rng.randint(0, 99))
    rated = round(answered * rng.uniform(.15, .45))
    counts.update({f"rating:{score}": count for score, count in split(rated, SCORES, rng, jitter=.4).items()})
    counts["reopened"] = round(answered * .06)
    counts["reopenings"] = round(counts["reopened"] * 1.2)
    counts["transferred"] = round(complaints * .04)
    counts["transfers"] = round(counts["transferred"] * 1.05)
    counts["overdue"] = round(complaints * rng.uniform(.05, .25))
    pending = complaints - by_status["closed"] - by_status["answered"]
    counts["overdue_open"] = round(counts["overdue"] * pending / complaints) if complaints else 0
    return {figure: value for figure, value in counts.items() if value}


def synthetic_counters(complaints: int, prosecution_complaints: int, rng: random.Random) -> list[dict]:
    """Every counter row: all complaints are the sum of the administrations' groups; the other
    breakdowns are drawn on their own with the same total."""
    rows, overall = [], {}

    def add(scope, breakdown, key, counts):
        rows.extend({"scope": scope, "breakdown": breakdown, "key": key, "figure": figure, "value": value}
                    for figure, value in counts.items())

    sizes = split(complaints, {entry["code"]: 1 / (rank + 1) ** .9 for rank, entry in enumerate(ADMINISTRATIONS)},
                  rng)
    for code, size in sizes.items():
        counts = group_counts(size, rng)
        add("complaints", "administration", code, counts)
        for figure, value in counts.items():
            overall[figure] = overall.get(figure, 0) + value
    add("complaints", "all", "", overall)
    for breakdown, weights in (("type", {"complaint": .7, "observation": .2, "suggestion": .1}),
                               ("region", {region["code"]: rng.uniform(.3, 3) for region in REGIONS}),
                               ("month", {month: 1 + index / 20 for index, month in enumerate(MONTHS)})):
        for key, size in split(complaints, weights, rng).items():
            add("complaints", breakdown, key, group_counts(size, rng))

    prosecution = {"filed": prosecution_complaints}
    prosecution.update({f"step:{step}": round(prosecution_complaints * share)
                        for step, share in PROSECUTION_STEPS.items()})
    add("prosecution", "all", "", prosecution)
    offices = [court["code"] for court in COURTS]
    for breakdown, keys in (("month", MONTHS), ("category", CATEGORIES), ("office", offices)):
        for key, size in split(prosecution_complaints, {key: rng.uniform(.2, 2) for key in keys}, rng).items():
            add("prosecution", breakdown, key, {figure: round(value * size / prosecution_complaints)
                                                for figure, value in prosecution.items()
                                                if round(value * size / prosecution_complaints)})
    return rows


FACTS_SQL = """
WITH draws AS (
    SELECT i, random() AS a, random() AS b, random() AS c, random() AS d, random() AS e, random() AS f,
           random() AS g
    FROM generate_series(1, :complaints) AS i
)
INSERT INTO complaint_facts (tracking_number, administration_code, type, region, status, submitted_at,
                             last_event_at, updated_at, answered_at, days_to_answer, closed_reason, rating_score,
                             reopen_count, transferred_count, overdue)
SELECT 'BENCH-' || i,
       (CAST(:codes AS text[]))[1 + floor(power(a, 3) * :code_count)::int],
       (ARRAY['complaint', 'observation', 'suggestion'])[1 + floor(b * b * 3)::int],
       (CAST(:regions AS text[]))[1 + floor(g * :region_count)::int],
       CASE WHEN c < .46 THEN 'closed' WHEN c < .64 THEN 'answered' WHEN c < .76 THEN 'in_progress'
            WHEN c < .79 THEN 'information_requested' WHEN c < .91 THEN 'received' WHEN c < .96 THEN 'routed'
            WHEN c < .98 THEN 'triage' ELSE 'submitted' END,
       TIMESTAMPTZ '2024-01-01 00:00+00' + d * INTERVAL '1095 days',
       TIMESTAMPTZ '2024-01-01 00:00+00' + d * INTERVAL '1095 days', now(),
       CASE WHEN c < .60 THEN TIMESTAMPTZ '2024-01-01 00:00+00' + d * INTERVAL '1095 days' END,
       CASE WHEN c < .60 THEN round(CAST(-ln(1 - e) * 25 AS numeric), 2) END,
       CASE WHEN c < .46 THEN (ARRAY['resolved', 'confirmed_by_citizen', 'no_reply_from_citizen', 'not_founded',
                                     'outside_competence', 'duplicate', 'before_courts'])[1 + floor(f * 7)::int] END,
       CASE WHEN c < .60 AND f < .3 THEN 1 + floor(f / .3 * 5)::int END,
       CASE WHEN f > .95 THEN 1 ELSE 0 END,
       CASE WHEN b > .96 THEN 1 ELSE 0 END,
       e > .85
FROM draws
"""


def fill_from_facts(engine, complaints: int) -> float:
    """A million random complaint facts in SQL, then the counters rebuilt from them; the rebuild's seconds."""
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT setseed(0.42)"))
        connection.execute(sa.text(FACTS_SQL), {
            "complaints": complaints, "codes": [entry["code"] for entry in ADMINISTRATIONS],
            "code_count": len(ADMINISTRATIONS), "regions": [region["code"] for region in REGIONS],
            "region_count": len(REGIONS)})
    started = time.perf_counter()
    with Session(engine) as session:
        counters.rebuild(session)
    return time.perf_counter() - started


def timed(action, repeat: int) -> dict:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return {"min_ms": 1000 * min(seconds), "median_ms": 1000 * statistics.median(seconds),
            "max_ms": 1000 * max(seconds)}


class FixedDesk:
    """What the page asks of the services, answered from memory: this times the page, not the bus
    (nor the gateway's cache of the figures, which would make every render but the first free)."""

    def __init__(self, document):
        self.document = document

    def get(self):
        return self.document

    def administrations(self):
        return ADMINISTRATIONS

    def offices(self):
        return COURTS


def time_page(document: dict, repeat: int, var: Path) -> dict:
    os.environ["CHIKAYA_VAR_DIR"] = str(var)
    from gateway.app import create_app
    app = create_app({"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/", "TESTING": True,
                      "SECRET_KEY": "bench-only", "GATEWAY_DATABASE_URL": f"sqlite:///{var / 'gateway.db'}"})
    app.extensions["complaint_desk"] = app.extensions["prosecution_desk"] = FixedDesk(document)
    app.extensions["statistics"] = FixedDesk(document)
    client = app.test_client()
    sizes, results = {}, {}
    for name, path in (("page ar", "/statistics?lang=ar"), ("page fr", "/statistics?lang=fr"),
                       ("csv", "/statistics.csv")):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        sizes[name] = len(response.data)
        results[name] = timed(lambda path=path: client.get(path), repeat)
    return {"timings": results, "bytes": sizes}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--complaints", type=int, default=1_000_000)
    parser.add_argument("--prosecution", type=int, default=60_000, help="complaints to the public prosecution")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", metavar="URL", nargs="?", const="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a fresh PostgreSQL database on this server instead of SQLite")
    parser.add_argument("--from-facts", action="store_true",
                        help="(PostgreSQL) write the complaints' facts and rebuild the counters from them")
    args = parser.parse_args()
    if args.from_facts and not args.postgres:
        parser.error("--from-facts needs --postgres")

    var = Path(tempfile.mkdtemp(prefix="chikaya-bench-stats-"))
    databases = []
    if args.postgres:
        import psycopg2
        name = f"chikaya_bench_stats_{uuid.uuid4().hex[:8]}"
        connection = psycopg2.connect(args.postgres)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        databases.append(name)
        url = f"{args.postgres.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{var / 'stats.db'}"
    try:
        migrate("stats", url, Base.metadata)
        engine = make_engine(url)
        started = time.perf_counter()
        rebuild_seconds = None
        if args.from_facts:
            rebuild_seconds = fill_from_facts(engine, args.complaints)
        else:
            rows = synthetic_counters(args.complaints, args.prosecution, random.Random(42))
            with engine.begin() as connection:
                for start in range(0, len(rows), 5000):
                    connection.execute(sa.insert(Counter), rows[start:start + 5000])
        filled = time.perf_counter() - started
        with Session(engine) as session:
            counter_rows = session.scalar(sa.select(sa.func.count()).select_from(Counter))
            document = reports.totals(session)
            query = timed(lambda: reports.totals(session), args.repeat)
        engine.dispose()
        page = time_page(document, max(3, args.repeat // 4), var)
    finally:
        drop_databases(args.postgres, databases)
        shutil.rmtree(var, ignore_errors=True)

    overall, ratings = document["overall"], document["overall"]["ratings"]
    print(f"\nstats at {document['submitted']:,} complaints ({'PostgreSQL' if args.postgres else 'SQLite'}; "
          f"{counter_rows:,} counter rows, filled in {filled:.1f} s"
          + (f", of which the rebuild from the facts {rebuild_seconds:.1f} s" if rebuild_seconds else "") + ")\n")
    print(f"{'what':<34}{'min ms':>10}{'median ms':>11}{'max ms':>10}{'bytes':>10}")
    print(f"{'stats query (reports.totals)':<34}{query['min_ms']:>10.1f}{query['median_ms']:>11.1f}"
          f"{query['max_ms']:>10.1f}{'':>10}")
    for name, figures in page["timings"].items():
        print(f"{'GET ' + name:<34}{figures['min_ms']:>10.1f}{figures['median_ms']:>11.1f}{figures['max_ms']:>10.1f}"
              f"{page['bytes'][name]:>10,}")
    print(f"\nsubmitted {overall['submitted']:,}; in progress {overall['in_progress']:,}; processed "
          f"{overall['processed']['complaints']:,} ({overall['processed']['percentage']}%)")
    print(f"days to the first answer: average {overall['days_to_answer']['average']}, median "
          f"{overall['days_to_answer']['median']}")
    print(f"satisfaction {ratings['satisfaction_rate']:.1%}: {ratings['count']:,} ratings out of "
          f"{overall['answered']:,} answered (rating rate {ratings['rating_rate']:.1%}); "
          f"average {ratings['average']}/5")
    print(f"reopened {overall['reopened']['complaints']:,}; transferred {overall['transferred']['complaints']:,}; "
          f"overdue {overall['overdue']['complaints']:,} ({overall['overdue']['open']:,} still open); "
          f"participating administrations {document['participating_administrations']}")
    print(f"public prosecution: {document['prosecution']['filed']:,} complaints filed, "
          f"{len(document['prosecution']['by_office'])} offices, {len(document['breakdowns']['month'])} months")
    print(json.dumps({"complaints": document["submitted"], "counter_rows": counter_rows, "fill_seconds": filled,
                      "rebuild_seconds": rebuild_seconds, "query": query, **page}))


if __name__ == "__main__":
    main()
