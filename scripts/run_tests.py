"""`make test`'s nameko suite, in processes that run at the same time.

Most of a test's time is spent waiting (for a service to start, a message to arrive, a broker
to come back), so on a machine of two cores two processes take about half as long as one.
The fault suite (`-m faults`: a RabbitMQ node and a PostgreSQL cluster of its own, restarted)
runs in a process of its own; the other tests are shared out among TEST_SHARDS processes
(default 2) by pytest-split, using the durations kept in tests/durations.json so that each
process gets about the same work.  Each process has its own run id (tests/conftest.py), hence
its own vhosts and databases, and its own temporary directory.

    python scripts/run_tests.py [pytest options...]      # what `make test` runs
    python scripts/run_tests.py --store-durations        # and rewrite tests/durations.json

Every line a process prints comes out prefixed with its name; the exit status is 0 only when
every process passed.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATIONS = ROOT / "tests" / "durations.json"
NAMEKO = Path(sys.executable).with_name("nameko")


def commands(shards: int, options: list[str], scratch: Path, store_durations: bool) -> dict:
    """Each process's name and command line."""
    base = [str(NAMEKO), "test", "tests", "-q", "-p", "no:cacheprovider"]
    wanted = {"faults": [*base, "-m", "faults"]}
    for group in range(1, shards + 1):
        wanted[f"shard {group}-of-{shards}"] = [
            *base, "-m", "not faults", "--splits", str(shards), "--group", str(group),
            "--splitting-algorithm", "least_duration"]
    for name, command in wanted.items():
        folder = scratch / name.replace(" ", "-")
        folder.mkdir()
        durations = DURATIONS
        if store_durations:
            # pytest-split reads the split from the file it writes: each process gets a copy of its
            # own, holding at the end just its tests' durations, and the copies are merged
            durations = folder / "durations.json"
            durations.write_text(DURATIONS.read_text() if DURATIONS.exists() else "{}")
            command += ["--store-durations", "--clean-durations"]
        command += [f"--durations-path={durations}", f"--basetemp={folder / 'tmp'}", *options]
    return wanted


def relay(name: str, process: subprocess.Popen) -> None:
    for line in process.stdout:
        sys.stdout.write(f"[{name}] {line}")
        sys.stdout.flush()


def main(arguments: list[str]) -> int:
    store_durations = "--store-durations" in arguments
    options = [argument for argument in arguments if argument != "--store-durations"]
    shards = int(os.environ.get("TEST_SHARDS", "2"))
    with tempfile.TemporaryDirectory(prefix="chikaya-tests-") as scratch:
        running = {}
        for name, command in commands(shards, options, Path(scratch), store_durations).items():
            running[name] = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True, bufsize=1)
        relays = [threading.Thread(target=relay, args=(name, process)) for name, process in running.items()]
        for thread in relays:
            thread.start()
        for thread in relays:
            thread.join()
        results = {name: process.wait() for name, process in running.items()}
        if store_durations:
            merged = {}
            for stored in Path(scratch).glob("*/durations.json"):
                merged.update(json.loads(stored.read_text()))
            DURATIONS.write_text(json.dumps(merged, sort_keys=True, indent=1) + "\n")
    for name, code in results.items():
        print(f"{name}: {'passed' if code == 0 else f'FAILED (exit status {code})'}")
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
