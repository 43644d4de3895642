"""What the retention commands of intake, prosecution and notify share (law 09-08: personal data
is kept no longer than its purpose needs): the period, the command line, the database.

`RETENTION_DAYS` (730 by default, `--days` overrides it) is how long personal data outlives the
end of a complaint.  Each service's `erase(session, cutoff, dry_run)` finds what ended before
`cutoff` and still holds personal data, erases it (committing as it goes, so that an interrupted
run keeps what it did and the next run does the rest) and returns counts; the command prints
those counts, never a number, a name or an address.
"""
import argparse
import logging
import os
import sys
from datetime import timedelta

from sqlalchemy.orm import sessionmaker

from services.common import config, crypto
from services.common.db import make_engine, migrate, utcnow

log = logging.getLogger(__name__)

DEFAULT_DAYS = 730
BATCH = 200


def retention_days() -> int:
    return int(os.environ.get("RETENTION_DAYS") or DEFAULT_DAYS)


def positive_days(text: str) -> int:
    days = int(text)
    if days < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return days


def command(service: str, metadata, erase, what: str, argv=None) -> int:
    """Run `erase` on the service's database (`<SERVICE>_DATABASE_URL`, else var/<service>.db);
    `what` says what the period counts from, for --help."""
    parser = argparse.ArgumentParser(
        description=f"Erase the personal data of {service}'s {what} longer ago than the retention period.")
    parser.add_argument("--days", type=positive_days, default=None,
                        help=f"the retention period in days (default RETENTION_DAYS, else {DEFAULT_DAYS})")
    parser.add_argument("--dry-run", action="store_true", help="count what would be erased, change nothing")
    args = parser.parse_args(argv)
    days = args.days or retention_days()
    try:
        crypto.require_keys()
    except crypto.MissingKeys as exc:
        print(f"nothing erased: {exc}", file=sys.stderr)
        return 1
    url = config.database_url(service)
    migrate(service, url, metadata)
    engine = make_engine(url)
    try:
        with sessionmaker(bind=engine)() as session:
            counts = erase(session, utcnow() - timedelta(days=days), args.dry_run)
    finally:
        engine.dispose()
    summary = ", ".join(f"{count} {name}" for name, count in counts.items())
    verb = "would erase (dry run, nothing changed)" if args.dry_run else "erased"
    print(f"{service}: {verb} the personal data of {summary} ({what} more than {days} days ago)")
    log.info("retention %s: %s %s", service, verb, summary)
    return 0
