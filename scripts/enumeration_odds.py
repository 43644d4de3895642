"""How many tracking numbers (and prosecution codes) an attacker can try per day from one client
address under the rate limits, and the chance that one of them hits a real complaint.

    python -m scripts.enumeration_odds [--complaints N] [--files N] [--workers W]

A hit also needs the complainant's contact (e-mail or phone): the figures assume the attacker
somehow has it, so they are an upper bound.  With RATELIMIT_STORAGE_URI=memory:// each gateway
process counts on its own, so W workers allow W times the limit (--workers).
"""
import argparse

from limits import parse

from gateway.app import settings_from_environment
from services.intake.domain import TRACKING_NUMBERS
from services.prosecution.domain import TRACKING_CODES
from services.common.tracking import ALPHABET

DAY = 24 * 3600


def guesses_per_day(limit: str) -> int:
    item = parse(limit)
    return item.amount * DAY // item.get_expiry()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=10_000_000, help="complaints in the database")
    parser.add_argument("--files", type=int, default=1_000_000, help="prosecution files in the database")
    parser.add_argument("--workers", type=int, default=1, help="gateway processes counting on their own")
    args = parser.parse_args(argv)
    settings = settings_from_environment()
    per_day = guesses_per_day(settings["TRACKING_RATE_LIMIT"]) * args.workers
    print(f"TRACKING_RATE_LIMIT={settings['TRACKING_RATE_LIMIT']!r}, {args.workers} worker(s): "
          f"{per_day} failed guesses per day per client address")
    print("| code | random symbols | possible codes | existing | guesses/day | chance of a hit per day |")
    print("|---|---|---|---|---|---|")
    for name, code_format, existing in (("tracking number", TRACKING_NUMBERS, args.complaints),
                                        ("prosecution code", TRACKING_CODES, args.files)):
        space = len(ALPHABET) ** code_format.random_symbols
        chance = 1 - (1 - existing / space) ** per_day
        print(f"| {name} | {code_format.random_symbols} | {space:.3e} | {existing:,} | {per_day} | {chance:.2e} |")


if __name__ == "__main__":
    main()
