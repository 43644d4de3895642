"""What Kubernetes' probes (deploy/k8s) read: each one passes while its process reaches the
broker and fails once the broker cuts it off, on the real RabbitMQ."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from gateway.app import create_app
from services.common import probe
from services.stats.service import StatsService
from tests.conftest import RABBIT_USER, _rabbitmqctl, wait_for

ROOT = Path(__file__).resolve().parents[1]


def vhost_of(amqp_uri: str) -> str:
    return unquote(urlsplit(amqp_uri).path[1:])


def cut_off(amqp_uri: str) -> None:
    """The broker refuses this test's vhost from now on and drops the connections open on it."""
    vhost = vhost_of(amqp_uri)
    _rabbitmqctl("clear_permissions", "-p", vhost, RABBIT_USER)
    _rabbitmqctl("close_all_connections", "-p", vhost, "test: the broker cut this client off")


def let_back(amqp_uri: str) -> None:
    _rabbitmqctl("set_permissions", "-p", vhost_of(amqp_uri), RABBIT_USER, ".*", ".*", ".*")


def probe_passes(path, max_age: float) -> bool:
    return probe.main([str(path), "--max-age", str(max_age)]) == 0


def test_the_probe_reads_the_age_of_the_heartbeat_file(tmp_path, capsys):
    heartbeat = tmp_path / "alive"
    assert not probe_passes(heartbeat, 60)
    assert "no heartbeat yet" in capsys.readouterr().err
    heartbeat.touch()
    assert probe_passes(heartbeat, 60)
    two_minutes_ago = time.time() - 120
    os.utime(heartbeat, (two_minutes_ago, two_minutes_ago))
    assert not probe_passes(heartbeat, 60)
    assert "last heartbeat 120s ago" in capsys.readouterr().err


def test_a_nameko_service_beats_while_it_consumes_and_stops_when_cut_off(start_service, amqp_uri, tmp_path):
    heartbeat = tmp_path / "alive"
    start_service(StatsService, LIVENESS_FILE=str(heartbeat))
    wait_for(lambda: probe_passes(heartbeat, 5), message="the service's first heartbeat")
    beaten_at = heartbeat.stat().st_mtime
    wait_for(lambda: heartbeat.stat().st_mtime > beaten_at, message="the heartbeat to go on while idle")

    cut_off(amqp_uri)
    wait_for(lambda: not probe_passes(heartbeat, 3), timeout=30, message="the probe to fail")


@pytest.fixture
def consumer_process(amqp_uri, tmp_path):
    """The ministry consumer as Kubernetes runs it: its own process, settings in the environment."""
    heartbeat = tmp_path / "alive"
    env = {**os.environ, "AMQP_URI": amqp_uri, "CHIKAYA_VAR_DIR": str(tmp_path / "var"),
           "LIVENESS_FILE": str(heartbeat)}
    process = subprocess.Popen([sys.executable, "-m", "services.routing.consumer", "--administration", "CNSS",
                                "--threads", "2", "--inbox-dir", str(tmp_path / "inbox")],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield process, heartbeat
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    process.stderr.close()


def test_a_consumer_fails_its_probe_while_its_connection_is_dead(consumer_process, amqp_uri):
    process, heartbeat = consumer_process
    wait_for(lambda: probe_passes(heartbeat, 5), timeout=30, message="the consumer's first heartbeat")

    cut_off(amqp_uri)
    wait_for(lambda: not probe_passes(heartbeat, 3), timeout=30, message="the probe to fail")
    assert process.poll() is None  # alive and retrying: the probe, not a crash, says it is stuck

    let_back(amqp_uri)
    wait_for(lambda: probe_passes(heartbeat, 3), timeout=60, message="the probe to pass after reconnecting")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


@pytest.fixture
def gateway_client(amqp_uri, var_dir):
    app = create_app({"AMQP_URI": amqp_uri, "TESTING": True, "SECRET_KEY": "test-only-secret"})
    yield app.test_client()
    app.extensions["broker_check"].close()
    app.extensions["complaint_desk"].pool.close()


def test_the_gateway_is_ready_only_while_the_broker_answers_it(gateway_client, amqp_uri):
    assert gateway_client.get("/readyz").json == {"status": "ready"}

    cut_off(amqp_uri)
    response = gateway_client.get("/readyz")
    assert response.status_code == 503 and response.json == {"status": "unavailable", "broker": "unreachable"}
    assert gateway_client.get("/healthz").status_code == 200  # alive all the same: no restart

    let_back(amqp_uri)
    assert gateway_client.get("/readyz").status_code == 200
