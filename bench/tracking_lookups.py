"""Tracking lookups per second through the real gateway, against the whole platform as `make run`
starts it: files `--complaints` complaints through the API, then `GET /api/v1/complaints/<tn>
?contact=<e-mail>` `--lookups` times with `--concurrency` clients, each for one of those
complaints with its right contact (a lookup is gateway → intake RPC → its database).

Prints lookups per second and p50/p95/p99 latency; every answer must be 200.
TRACKING_RATE_LIMIT is raised for the run (only failed lookups count against it anyway).

    .venv/bin/python bench/tracking_lookups.py -n 2000 -c 16 [--postgres]
"""
import argparse
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.submit_complaints import complaint, percentiles, running_platform  # noqa: E402

WARM_UP = 50


def file_complaints(url: str, count: int, concurrency: int) -> dict[str, str]:
    """{tracking number: the contact that proves who asks} of `count` complaints filed now."""
    filed = {}

    def one(number):
        body = complaint(number)
        response = requests.post(f"{url}/api/v1/complaints", json=body, timeout=60)
        response.raise_for_status()
        filed[response.json()["tracking_number"]] = body["complainant"]["email"]

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    return filed


def lookups(url: str, filed: dict[str, str], total: int, concurrency: int) -> dict:
    """`total` GETs of a random filed complaint with its contact; latencies of the 200s."""
    numbers = list(filed)
    sessions = {}

    def one(number):
        session = sessions.setdefault(number % concurrency, requests.Session())
        tracking = random.choice(numbers)
        started = time.perf_counter()
        try:
            response = session.get(f"{url}/api/v1/complaints/{tracking}", params={"contact": filed[tracking]},
                                   timeout=30)
        except requests.ConnectionError:  # e.g. a keep-alive connection the server closed meanwhile
            return time.perf_counter() - started, "connection error"
        return time.perf_counter() - started, response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - started
    statuses = {}
    for _latency, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"lookups": total, "seconds": elapsed, "per_second": total / elapsed, "statuses": statuses,
            **percentiles([latency for latency, status in results if status == 200])}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--lookups", type=int, default=2000)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--complaints", type=int, default=200, help="complaints filed first, looked up at random")
    parser.add_argument("--postgres", metavar="URL", nargs="?", const="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="give each service a fresh PostgreSQL database on this server instead of SQLite")
    args = parser.parse_args()

    with running_platform(args.postgres, TRACKING_RATE_LIMIT="1000000 per minute") as platform:
        url = platform["url"]
        # filing opens the gateway's RPC proxies; the warm-up lookups fill what else is cached
        filed = file_complaints(url, args.complaints, args.concurrency)
        lookups(url, filed, WARM_UP, args.concurrency)
        figures = lookups(url, filed, args.lookups, args.concurrency)
        env = platform["env"]

    print(f"\nGET /api/v1/complaints/<tracking number>?contact=, {args.lookups} lookups of {len(filed)} complaints, "
          f"{args.concurrency} concurrent clients, gunicorn {env['GATEWAY_WORKERS']} workers x "
          f"{env['GATEWAY_THREADS']} threads, {'PostgreSQL' if args.postgres else 'SQLite (embedded defaults)'}\n")
    print(f"{'lookups/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  answers")
    print(f"{figures['per_second']:>10.1f}{figures['p50']:>9.1f}{figures['p95']:>9.1f}{figures['p99']:>9.1f}  "
          f"{figures['statuses']}")
    print(json.dumps(figures))
    if set(figures["statuses"]) != {200}:
        raise SystemExit("some lookups did not answer 200")


if __name__ == "__main__":
    main()
