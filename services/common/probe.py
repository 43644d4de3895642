"""Kubernetes' exec probe for the processes that serve no HTTP (the nameko services, the
ministry consumers): passes while their heartbeat file (services.common.liveness) is fresh.

    python -m services.common.probe /tmp/alive --max-age 60

Exit 0 when the file was beaten within `--max-age` seconds, 1 otherwise (missing: not
connected yet).  Standard library only, so the probe starts fast in the pod.
"""
import argparse
import sys
import time
from pathlib import Path


def heartbeat_age(path) -> float | None:
    """Seconds since the heartbeat file was last beaten; None if it was never written."""
    try:
        return time.time() - Path(path).stat().st_mtime
    except FileNotFoundError:
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Pass while a heartbeat file is fresh.")
    parser.add_argument("path", help="the heartbeat file (LIVENESS_FILE)")
    parser.add_argument("--max-age", type=float, required=True, metavar="SECONDS")
    args = parser.parse_args(argv)
    age = heartbeat_age(args.path)
    if age is None:
        print(f"{args.path}: no heartbeat yet (never connected to the broker)", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"{args.path}: last heartbeat {age:.0f}s ago (allowed {args.max_age:.0f}s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
