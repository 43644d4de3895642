"""What the fault suite (tests/test_faults.py) runs the platform on, and how it disturbs it.

The machine's RabbitMQ and PostgreSQL are shared with other test runs and with CI, so they
are never restarted: the suite has a PostgreSQL cluster of its own (initdb into a temporary
directory, pg_ctl on a free port) and a RabbitMQ node of its own (rabbitmq-server with its own
node name, ports and data directory), which it stops and starts like an operator would.
Every process of the platform runs on its own, started with the launcher's own command lines
(scripts/run_platform.py), so that any one of them can be killed and started again.
"""
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import requests
from kombu import Connection

from scripts.run_platform import (SERVICES, child_environment, consumer_command, gateway_command,
                                  service_command, service_listening)
from tests.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def postgres_binaries() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian keeps them per version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(path.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of the suite's own, in a temporary directory, on a free port."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chikaya-faults-pg-"))
        self.data = self.root / "data"
        # initdb and postgres refuse to run as root: then they run as the postgres user
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.run_as:
            shutil.chown(self.root, "postgres")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self.run_as, str(self.binaries / tool), *args], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{tool} {args}: {done.stdout}{done.stderr}"

    def start(self) -> None:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--no-locale", "--no-sync")
        # fsync off: a restart here is a clean shutdown, and the suite needs speed, not a disk's durability
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")

    def restart(self) -> None:
        """What `systemctl restart postgresql` does: a fast shutdown (clients are disconnected,
        open transactions rolled back), then the server starts again."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-m", "fast", "-w",
                  "-t", "60", "restart")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        connection = psycopg2.connect(self.url())
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class PrivateRabbitMQ:
    """A RabbitMQ node of the suite's own: its own node name, ports, data and Erlang cookie (in
    its own HOME), no plugins.  `restart()` stops it the way systemd does (SIGTERM: the broker
    closes every connection and shuts down) and starts it again on the same data."""

    def __init__(self):
        self.port, self.dist_port = free_port(), free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chikaya-faults-rabbitmq-"))
        (self.root / "home").mkdir()
        (self.root / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq-env.conf").write_text("")  # not the machine's, which names its node
        self.env = {
            "PATH": os.environ["PATH"], "HOME": str(self.root / "home"), "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": f"chikaya-faults-{uuid.uuid4().hex[:8]}@localhost",
            "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"), "RABBITMQ_LOG_BASE": str(self.root / "log"),
            # the Erlang VM itself, not a shell that forwards signals: SIGTERM is a clean stop
            "RUNNING_UNDER_SYSTEMD": "true",
        }
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.process = None

    def answers(self) -> bool:
        try:
            with Connection(self.amqp_uri, connect_timeout=1) as connection:
                connection.connect()
            return True
        except Exception:  # not listening yet, or still booting
            return False

    def start(self, timeout: float = 60) -> None:
        log = (self.root / "server.out").open("a")
        self.process = subprocess.Popen([RABBITMQ_SERVER], env=self.env, cwd=self.root, stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        wait_for(lambda: self.process.poll() is not None or self.answers(), timeout=timeout, interval=0.2,
                 message="the suite's RabbitMQ node to accept connections")
        assert self.process.poll() is None, (self.root / "server.out").read_text()[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def queue_consumers(amqp_uri: str, queue: str) -> int:
    """How many consumers a queue has (0 if it is not declared, or the broker does not answer)."""
    try:
        with Connection(amqp_uri, connect_timeout=2) as connection:
            return connection.default_channel.queue_declare(queue, passive=True).consumer_count
    except Exception:  # not declared yet, or the broker is restarting
        return 0


class PlatformProcesses:
    """Each of the platform's processes on its own: `start`, `kill` (SIGKILL, to the whole
    process group, so gunicorn's workers die with their master), `terminate` (SIGTERM, and its
    exit status), `ready`.  Output goes to one log file per process."""

    def __init__(self, env: dict, logs: Path, port: int, consumers: dict):
        self.env = env
        self.logs = logs
        self.port = port
        self.consumers = consumers  # {name: (administration codes, extra options)}
        self.commands = {service: service_command(service) for service in SERVICES}
        for name, (codes, options) in consumers.items():
            self.commands[name] = consumer_command(codes, *options)
        self.commands["gateway"] = gateway_command(f"127.0.0.1:{port}", env)
        self.running: dict[str, subprocess.Popen] = {}
        self.started: list[subprocess.Popen] = []  # replaced ones too, so that none outlives the suite

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, name: str) -> subprocess.Popen:
        """Start `name` (beside the one running, if any: it is then the one `running` knows);
        returns the process started."""
        with (self.logs / f"{name}.log").open("a") as log:
            log.write(f"\n--- started at {time.strftime('%H:%M:%S')}\n")
            log.flush()
            self.running[name] = subprocess.Popen(
                self.commands[name], cwd=ROOT, env=child_environment(name, self.env), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.started.append(self.running[name])
        return self.running[name]

    def ready(self, name: str) -> bool:
        process = self.running[name]
        assert process.poll() is None, f"{name} exited ({process.returncode}):\n{self.log_tail(name)}"
        if name in SERVICES:
            return service_listening(name, self.env["AMQP_URI"])
        if name in self.consumers:
            codes, _options = self.consumers[name]
            return all(queue_consumers(self.env["AMQP_URI"], f"administration.{code}") for code in codes)
        try:
            return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, *names: str, timeout: float = 90) -> None:
        for name in names:
            wait_for(lambda: self.ready(name), timeout=timeout, interval=0.2, message=f"{name} to be ready")

    def signal(self, name: str, signum: int) -> None:
        os.killpg(self.running[name].pid, signum)

    def kill(self, name: str) -> None:
        self.signal(name, signal.SIGKILL)
        self.running[name].wait(timeout=30)

    @staticmethod
    def terminate(process: subprocess.Popen, timeout: float = 60) -> int:
        """SIGTERM to the process alone (gunicorn's master passes it to its workers); its exit status."""
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=timeout)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)

    def log_tail(self, name: str, characters: int = 4000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-characters:] if path.exists() else ""


# -- a ministry's own system, which takes its complaints by webhook -------------------------------

class MinistryWebhook:
    """An HTTP endpoint that accepts every complaint POSTed to it (README: `--webhook-url`) and
    keeps each request: `received` is [(Idempotency-Key, tracking number)], every POST, repeats
    included; a ministry's system keeps one case per key."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                complaint = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                peer.received.append((self.headers.get("Idempotency-Key"), complaint["tracking_number"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/complaints"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def cases(self) -> dict[str, set]:
        """{tracking number: the distinct Idempotency-Keys it came with}."""
        found: dict[str, set] = {}
        for key, tracking_number in self.received:
            found.setdefault(tracking_number, set()).add(key)
        return found

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- citizens filing ------------------------------------------------------------------------------

# Where the stream's complaints go: two ministries with a consumer each (one writes to its
# directory inbox, one posts to its webhook) and complaints whose administration is unknown
# (triage, served by the first consumer).
ADMINISTRATIONS = ("CNSS", "ONEE", "UNKNOWN")


@dataclass
class Filing:
    """One citizen's complaint and every answer the gateway gave to it."""
    reference: str
    administration_code: str
    phone: str
    email: str
    tracking_number: str | None = None
    replayed: bool = False
    # the answers that were not a tracking number: (HTTP status or exception name, error code)
    refusals: list = field(default_factory=list)
    first_sent_at: float = 0.0  # time.monotonic()
    accepted_at: float | None = None


def complaint_payload(filing: Filing) -> dict:
    return {
        "type": "complaint", "administration_code": filing.administration_code,
        "subject": "Retard de versement de la pension",
        "description": "Ma pension de retraite n'a pas été versée depuis trois mois malgré mes relances.",
        "region": "CS", "language": "fr", "client_reference": filing.reference,
        "complainant": {"full_name": "Fatima Zahra El Amrani", "status": "citizen", "id_type": "cnie",
                        "id_number": "BK123456", "email": filing.email, "phone": filing.phone},
    }


def queue_messages(node: "PrivateRabbitMQ", queue: str) -> int:
    """Messages in a queue, delivered to a consumer and not acknowledged yet included."""
    listed = subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-q", "-n", node.env["RABBITMQ_NODENAME"],
                             "list_queues", "name", "messages", "--no-table-headers"],
                            env=node.env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    counts = dict(line.split() for line in listed.stdout.splitlines() if line.strip())
    return int(counts.get(queue, 0))


class ComplaintStream:
    """`filers` citizens filing one complaint after another through the gateway's JSON API.

    A citizen whose filing is not answered with a tracking number (an error status, or no answer
    at all) sends the same filing again (same `client_reference`, as the mobile app does) until
    one is given, so every filing ends with a number; what was answered before is kept in
    `refusals`.  An answer 4xx other than 429 is a refusal of the filing itself: it is kept and
    not retried.  `pause()` returns once every citizen is between two filings."""

    def __init__(self, base: str, filers: int = 3, pause_between: float = 0.25, retry_after: float = 0.5):
        self.base = base
        self.filers = filers
        self.pause_between = pause_between
        self.retry_after = retry_after
        self.filings: list[Filing] = []
        self._running = threading.Event()
        self._idle = [threading.Event() for _ in range(filers)]
        self._closed = False
        self._threads = [threading.Thread(target=self._file, args=(n,), daemon=True) for n in range(filers)]
        for thread in self._threads:
            thread.start()

    def resume(self) -> None:
        for idle in self._idle:
            idle.clear()
        self._running.set()

    def pause(self, timeout: float = 180) -> None:
        self._running.clear()
        for idle in self._idle:
            assert idle.wait(timeout), "a citizen's filing never got an answer"

    def close(self) -> None:
        self._closed = True
        self._running.set()

    def file_together(self, count: int) -> list[threading.Thread]:
        """`count` more citizens, each sending one filing now, all at once; join the threads
        returned to wait for their answers (the filings are the last `count` of `filings`)."""
        threads = [threading.Thread(target=self._file_one, daemon=True) for _ in range(count)]
        for thread in threads:
            thread.start()
        return threads

    def accepted_since(self, moment: float) -> list[Filing]:
        """The filings first sent after `moment` that got their number."""
        return [filing for filing in self.filings if filing.first_sent_at > moment and filing.accepted_at]

    def _file(self, n: int) -> None:
        while not self._closed:
            if not self._running.is_set():
                self._idle[n].set()
                self._running.wait()
                continue
            self._idle[n].clear()
            self._file_one()
            time.sleep(self.pause_between)

    def _file_one(self) -> None:
        filing = Filing(reference=uuid.uuid4().hex, administration_code=random.choice(ADMINISTRATIONS),
                        phone=f"+21261{random.randrange(10**7):07d}", email=f"citoyen.{uuid.uuid4().hex[:12]}@example.ma")
        self.filings.append(filing)
        filing.first_sent_at = time.monotonic()
        while True:
            try:
                response = requests.post(f"{self.base}/api/v1/complaints?lang=fr", json=complaint_payload(filing),
                                         headers={"Connection": "close"}, timeout=60)
            except requests.RequestException as exc:  # refused, reset, or no answer in time
                filing.refusals.append((type(exc).__name__, None))
                time.sleep(self.retry_after)
                continue
            if response.status_code == 201:
                receipt = response.json()
                filing.tracking_number, filing.replayed = receipt["tracking_number"], receipt["replayed"]
                filing.accepted_at = time.monotonic()
                return
            try:
                code = response.json().get("error")
            except ValueError:
                code = None
            filing.refusals.append((response.status_code, code))
            if 400 <= response.status_code < 500 and response.status_code != 429:
                return
            time.sleep(self.retry_after)
