"""How the launcher (scripts/run_platform.py) stops what it started: the gateway first, so the
requests it holds are answered while the services behind it still run, then the others."""
import signal
import subprocess
import sys

from scripts.run_platform import stop

# A stand-in for a process of the platform: on SIGTERM it notes so, takes a moment to finish
# what it holds, notes that too and exits.
STAND_IN = """
import signal, sys, time
name, journal = sys.argv[1], sys.argv[2]

def finish(*_args):
    with open(journal, "a") as lines:
        lines.write(f"{name} got SIGTERM\\n")
    time.sleep(1)
    with open(journal, "a") as lines:
        lines.write(f"{name} finished\\n")
    sys.exit(0)

signal.signal(signal.SIGTERM, finish)
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def test_the_gateway_stops_and_finishes_before_the_services_get_sigterm(tmp_path):
    journal = tmp_path / "journal"
    processes = {}
    for name in ("intake", "gateway"):
        processes[name] = subprocess.Popen([sys.executable, "-c", STAND_IN, name, str(journal)],
                                           stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert processes[name].stdout.readline() == "ready\n"
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop(processes)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert journal.read_text().splitlines() == [
        "gateway got SIGTERM", "gateway finished", "intake got SIGTERM", "intake finished"]
    assert [process.returncode for process in processes.values()] == [0, 0]
