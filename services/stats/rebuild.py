"""Recompute stats' counters from its facts tables:  python -m services.stats.rebuild

For an operator after changing how a figure is counted, or to check the counters: the
statistics afterwards are those the events, replayed into an empty database, would give.  It
works on `STATS_DATABASE_URL` (else var/stats.db) while the service runs: events handled in the
meantime wait for it, then count on top.
"""
import argparse

from sqlalchemy.orm import Session

from services.common import config
from services.common.db import make_engine, migrate
from services.stats import counters
from services.stats.models import Base


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    url = config.database_url("stats")
    migrate("stats", url, Base.metadata)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            print(f"{counters.rebuild(session)} counters rebuilt from the facts")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
