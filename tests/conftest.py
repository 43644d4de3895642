"""Test fixtures: every run gets its own RabbitMQ vhost and its own PostgreSQL databases,
so runs can repeat and never see each other's messages or rows.

Run through `make test`, which uses `nameko test` (pytest with eventlet's monkey patch) so
nameko containers can run inside the test process.
"""
import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from cryptography.fernet import Fernet

pytest_plugins = ["tests.gateway_support", "tests.backoffice_support", "tests.platform_support",
                  "tests.protocol_peers"]

RUN_ID = uuid.uuid4().hex[:8]
# This run's key of the personal data at rest (services.common.crypto), inherited by every process
# the tests start: a test that sets a *_DATABASE_URL (a deployment) still has one.
os.environ.setdefault("PERSONAL_DATA_KEYS", Fernet.generate_key().decode())
# The tests file hundreds of complaints from 127.0.0.1, in the gateways they create and the
# platforms they start alike; tests/test_rate_limits.py sets the filing limit it checks.
os.environ.setdefault("FILING_RATE_LIMIT", "off")
RABBIT_USER = os.environ.get("TEST_RABBIT_USER", "guest")
RABBIT_PASSWORD = os.environ.get("TEST_RABBIT_PASSWORD", "guest")
RABBIT_HOST = os.environ.get("TEST_RABBIT_HOST", "127.0.0.1:5672")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def wait_for(predicate, timeout=20.0, interval=0.1, message="condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def _rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True)


def _erlang_binaries(names) -> str:
    return "[" + ", ".join(f'<<"{name}">>' for name in names) + "]"


class VhostPool:
    """The tests' vhosts, added and deleted in batches through `rabbitmqctl eval`: each rabbitmqctl
    call boots an Erlang node to reach the broker (0.3 s on a quiet machine, 1.5 s on a busy one),
    while the broker adds or deletes a vhost in milliseconds, and a vhost per test costs three
    calls one at a time.  Deletions go in the background; the last wait at the end of the run."""

    BATCH = 16
    ACTOR = "chikaya-tests"  # the broker logs who added and deleted the vhosts

    def __init__(self):
        self.numbers = itertools.count()
        self.free: list[str] = []
        self.used: list[str] = []
        self.deleting: list[subprocess.Popen] = []

    def take(self) -> str:
        if not self.free:
            names = [f"chikaya-test-{RUN_ID}-{next(self.numbers)}" for _ in range(self.BATCH)]
            _rabbitmqctl("eval", f"""
                lists:foreach(fun(Vhost) ->
                    ok = rabbit_vhost:add(Vhost, <<"{self.ACTOR}">>),
                    ok = rabbit_auth_backend_internal:set_permissions(
                        <<"{RABBIT_USER}">>, Vhost, <<".*">>, <<".*">>, <<".*">>, <<"{self.ACTOR}">>)
                end, {_erlang_binaries(names)}).""")
            self.free = names
        return self.free.pop(0)

    def give_back(self, vhost: str) -> None:
        """The vhost is deleted with its queues and messages: nothing it held reaches another test."""
        self.used.append(vhost)
        if len(self.used) >= self.BATCH:
            self.deleting.append(subprocess.Popen(["rabbitmqctl", "-q", "eval", self._deletion(self.used)],
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.used = []

    def close(self) -> None:
        if self.used or self.free:
            _rabbitmqctl("eval", self._deletion(self.used + self.free))
        for deletion in self.deleting:
            deletion.wait()

    def _deletion(self, names) -> str:
        return f"""lists:foreach(fun(Vhost) -> rabbit_vhost:delete(Vhost, <<"{self.ACTOR}">>) end,
                                 {_erlang_binaries(names)})."""


@pytest.fixture(scope="session")
def vhosts():
    pool = VhostPool()
    yield pool
    pool.close()


@pytest.fixture
def amqp_uri(vhosts):
    """A vhost of the test's own on the real broker: no queue or message outlives the test."""
    vhost = vhosts.take()
    yield f"amqp://{RABBIT_USER}:{RABBIT_PASSWORD}@{RABBIT_HOST}/{quote(vhost, safe='')}"
    vhosts.give_back(vhost)


@pytest.fixture
def rabbit_config(amqp_uri):
    """Overrides nameko's fixture of the same name, which needs the management plugin."""
    return {"AMQP_URI": amqp_uri, "SERIALIZER": "json"}


class PostgresDatabases:
    """Creates throw-away PostgreSQL databases and drops them at the end of the run."""

    def __init__(self, server_url):
        self.server_url = server_url
        self.created = []

    def _admin(self):
        connection = psycopg2.connect(self.server_url)
        connection.autocommit = True
        return connection

    def create(self, service: str) -> str:
        name = f"chikaya_{RUN_ID}_{service}_{len(self.created)}"
        connection = self._admin()
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        self.created.append(name)
        base, _slash, _db = self.server_url.rpartition("/")
        return f"{base}/{name}"

    def drop_all(self):
        connection = self._admin()
        with connection.cursor() as cursor:
            for name in self.created:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


@pytest.fixture(scope="session")
def postgres():
    databases = PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.drop_all()


@pytest.fixture
def database_url(postgres):
    """`database_url("intake")` gives a fresh, empty PostgreSQL database for that service."""
    return postgres.create


@pytest.fixture
def service_config(rabbit_config, database_url):
    """nameko config for one service under test: this run's vhost and a fresh database."""
    def make(service: str, **extra):
        return {**rabbit_config, "DATABASE_URL": database_url(service), **extra}
    return make


@pytest.fixture
def var_dir(tmp_path, monkeypatch):
    """Embedded-default files (blobs, the SMS/e-mail outbox, inboxes) in a fresh folder."""
    path = tmp_path / "var"
    path.mkdir()
    monkeypatch.setenv("CHIKAYA_VAR_DIR", str(path))
    return path


def pytest_report_header(config):
    missing = [tool for tool in ("rabbitmqctl",) if shutil.which(tool) is None]
    return f"chikaya test run {RUN_ID}" + (f" (missing: {missing})" if missing else "")


@pytest.fixture
def start_service(container_factory, service_config):
    """`start_service(IntakeService, **config)`: the real service started in a container on
    this test's vhost with a fresh database; `container.db_url` is that database."""
    def start(service_class, **extra_config):
        config = service_config(service_class.name, **extra_config)
        container = container_factory(service_class, config)
        container.start()
        container.db_url = config["DATABASE_URL"]
        return container
    return start


@pytest.fixture
def intake(start_service):
    from services.intake.service import IntakeService
    return start_service(IntakeService)


@pytest.fixture
def routing(start_service, var_dir):
    """With the shipped directory of administrations loaded."""
    from services.routing.service import RoutingService
    return start_service(RoutingService)


@pytest.fixture
def stats(start_service):
    from services.stats.service import StatsService
    return start_service(StatsService)


@pytest.fixture
def notify(start_service, var_dir):
    from services.notify.service import NotifyService
    return start_service(NotifyService)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """`host:port` of an S3-compatible server (moto in server mode) for this run; tests keep
    apart by using buckets of their own."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return server.poll() is not None  # stop waiting if it died; the tests then fail

    wait_for(listening, timeout=30, message="the S3 server to listen")
    assert server.poll() is None, "moto_server exited"
    yield f"127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)
