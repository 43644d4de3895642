"""Run the whole platform on one machine: every nameko service, the administrations'
consumer and the gateway, each in its own process.  Ctrl-C stops everything it started.

Settings come from the environment (see .env.example); with none set it runs on the
embedded defaults: SQLite and files under var/, RabbitMQ on localhost.  With METRICS_PORT=N each
process serves its Prometheus metrics on a port of its own, N, N+1, ... in the order of PROCESSES.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from kombu import Connection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common import config  # noqa: E402

# Event consumers start first so their queues exist before intake publishes anything.
SERVICES = ["routing", "notify", "stats", "prosecution", "intake"]
PROCESSES = [*SERVICES, "consumer", "gateway"]
STARTUP_TIMEOUT = 90


def bin_path(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


# eventlet announces on import, in every process, that it is in maintenance mode
QUIET_EVENTLET = ",".join(f"ignore::Warning:nameko.{module}" for module in ("cli.commands", "containers", "extensions"))


def metrics_ports() -> dict[str, str]:
    """{process: its METRICS_PORT}, or {} when METRICS_PORT is not set."""
    first = os.environ.get("METRICS_PORT")
    if not first:
        return {}
    return {name: str(int(first) + offset) for offset, name in enumerate(PROCESSES)}


def service_command(service: str) -> list[str]:
    return [bin_path("nameko"), "run", "--config", "services/nameko.yaml", f"services.{service}.service"]


def consumer_command(codes: list[str], *options: str) -> list[str]:
    """The administrations' consumer for `codes` (every administration when there are none)."""
    served = [f"--administration={code}" for code in codes] or ["--all"]
    return [sys.executable, "-m", "services.routing.consumer", *served, *options]


def gateway_command(bind: str, environment=os.environ) -> list[str]:
    return [bin_path("gunicorn"), "--bind", bind,
            "--workers", environment.get("GATEWAY_WORKERS", "2"),
            "--threads", environment.get("GATEWAY_THREADS", "4"),
            "--config", "python:gateway.gunicorn_config", "gateway.wsgi:app"]


def child_environment(name: str, environment=os.environ) -> dict:
    env = {**environment, "PYTHONWARNINGS": environment.get("PYTHONWARNINGS", QUIET_EVENTLET)}
    if name in metrics_ports():
        env["METRICS_PORT"] = metrics_ports()[name]
    return env


def start(name: str, args: list[str], processes: dict) -> None:
    print(f"  starting {name}", flush=True)
    processes[name] = subprocess.Popen(args, cwd=ROOT, env=child_environment(name), start_new_session=True)


def wait_until(check, what: str, processes: dict) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not check():
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} stopped while waiting for {what} (exit {process.returncode})")
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.3)


def service_listening(service: str, amqp_uri: str | None = None) -> bool:
    """The service consumes its RPC queue, so its event queues are declared too (the queue
    itself outlives a stopped service, hence the consumer count)."""
    try:
        with Connection(amqp_uri or config.amqp_uri(), connect_timeout=2) as connection:
            declared = connection.default_channel.queue_declare(f"rpc-{service}", passive=True)
        return declared.consumer_count > 0
    except Exception:  # not declared yet, or the broker is still starting
        return False


def gateway_up(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# gunicorn's graceful timeout (30 s) and a little: what a process may take to finish what it holds
STOP_TIMEOUT = 35


def stop(processes: dict) -> None:
    """SIGTERM, on which each process finishes or gives back what it holds (README, "Faults").
    The gateway goes first, so that the requests it holds are answered while the services
    still run; then the others together."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
    first = {name: process for name, process in processes.items() if name == "gateway"}
    then = {name: process for name, process in processes.items() if name not in first}
    for group in (first, then):
        for process in group.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, process in group.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop in time; killing it", flush=True)
                os.killpg(process.pid, signal.SIGKILL)


def interrupt(*_args):
    """SIGTERM (from a supervisor) stops the platform like Ctrl-C does."""
    raise KeyboardInterrupt


def show_demo_credentials() -> None:
    """How to sign in to the back office with the demo accounts, which the gateway made (the
    first time) on the embedded default; nothing in production, which never gets them."""
    from gateway.demo import credentials_path, demo_wanted
    if demo_wanted({"CHIKAYA_DEMO": os.environ.get("CHIKAYA_DEMO"),
                    "GATEWAY_DATABASE_URL": os.environ.get("GATEWAY_DATABASE_URL")}) \
            and credentials_path().exists():
        print(credentials_path().read_text(), flush=True)


def main() -> int:
    # a newcomer's laptop gets demo back-office accounts (gateway.demo: never with a DATABASE_URL)
    os.environ.setdefault("CHIKAYA_DEMO", "1")
    port = os.environ.get("PORT", "8080")
    processes: dict[str, subprocess.Popen] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a background shell ignores it
        signal.signal(signum, interrupt)
    print(f"Chikaya on {config.amqp_uri().rsplit('@', 1)[-1]}; data in {config.var_dir()}", flush=True)
    try:
        for service in SERVICES:
            start(service, service_command(service), processes)
            wait_until(lambda: service_listening(service), f"the {service} service", processes)
        served = [code.strip() for code in os.environ.get("CONSUMER_ADMINISTRATIONS", "").split(",")
                  if code.strip()]
        start("consumer", consumer_command(served), processes)
        start("gateway", gateway_command(f"{os.environ.get('HOST', '127.0.0.1')}:{port}"), processes)
        wait_until(lambda: gateway_up(port), "the gateway", processes)
        print(f"\nChikaya is up: http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n", flush=True)
        for name, metrics_port in metrics_ports().items():
            print(f"  metrics of {name}: http://127.0.0.1:{metrics_port}/metrics", flush=True)
        show_demo_credentials()
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    raise SystemExit(f"{name} stopped (exit {process.returncode}); stopping the rest")
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
