"""Run the whole platform on one machine: every nameko service, the administrations'
consumer and the gateway, each in its own process.  Ctrl-C stops everything it started.

Settings come from the environment (see .env.example); with none set it runs on the
embedded defaults: SQLite and files under var/, RabbitMQ on localhost.
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
STARTUP_TIMEOUT = 90


def bin_path(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


# eventlet announces on import, in every process, that it is in maintenance mode
QUIET_EVENTLET = ",".join(f"ignore::Warning:nameko.{module}" for module in ("cli.commands", "containers", "extensions"))


def start(name: str, args: list[str], processes: dict) -> None:
    print(f"  starting {name}", flush=True)
    env = {**os.environ, "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", QUIET_EVENTLET)}
    processes[name] = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)


def wait_until(check, what: str, processes: dict) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not check():
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} stopped while waiting for {what} (exit {process.returncode})")
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.3)


def service_listening(service: str) -> bool:
    """The service consumes its RPC queue, so its event queues are declared too (the queue
    itself outlives a stopped service, hence the consumer count)."""
    try:
        with Connection(config.amqp_uri(), connect_timeout=2) as connection:
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


def stop(processes: dict) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for name, process in processes.items():
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
            start(service, [bin_path("nameko"), "run", "--config", "services/nameko.yaml",
                            f"services.{service}.service"], processes)
            wait_until(lambda: service_listening(service), f"the {service} service", processes)
        served = [f"--administration={code.strip()}"
                  for code in os.environ.get("CONSUMER_ADMINISTRATIONS", "").split(",") if code.strip()]
        start("consumer", [sys.executable, "-m", "services.routing.consumer", *(served or ["--all"])],
              processes)
        start("gateway", [bin_path("gunicorn"), "--bind", f"{os.environ.get('HOST', '127.0.0.1')}:{port}",
                          "--workers", os.environ.get("GATEWAY_WORKERS", "2"),
                          "--threads", os.environ.get("GATEWAY_THREADS", "4"),
                          "--access-logfile", "-", "gateway.wsgi:app"], processes)
        wait_until(lambda: gateway_up(port), "the gateway", processes)
        print(f"\nChikaya is up: http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n", flush=True)
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
