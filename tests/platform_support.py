"""The whole platform as `make run` starts it (every service, the consumer, gunicorn), on
this test's vhost and PostgreSQL databases, for the end-to-end tests."""
import json
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
DATABASES = ("intake", "routing", "notify", "stats", "gateway")


def hidden_fields(html: str) -> dict:
    """The hidden fields a browser would send back (CSRF token, client reference)."""
    return dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


@dataclass
class Platform:
    base: str
    var: Path
    env: dict

    def sent(self, channel: str, tracking_number: str, template: str | None = None) -> list[dict]:
        """The SMS or e-mails the embedded outbox holds for a complaint."""
        path = self.var / "outbox" / f"{channel}.jsonl"
        lines = path.read_text("utf-8").splitlines() if path.exists() else []
        messages = [json.loads(line) for line in lines if tracking_number in line]
        return [message for message in messages if template in (None, message.get("template"))]

    def inbox_file(self, administration_code: str, tracking_number: str) -> Path:
        return self.var / "inbox" / administration_code / f"{tracking_number}.json"

    def command(self, *args: str) -> str:
        """Run an operator command (python -m ...) against this platform's settings."""
        done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
def platform_env() -> dict:
    """Settings a test module adds to the platform's environment (override this fixture)."""
    return {}


@pytest.fixture
def platform(amqp_uri, database_url, tmp_path, platform_env):
    """Its processes' output goes to tmp_path / "platform.log"."""
    with running_platform(amqp_uri, database_url, tmp_path, platform_env) as started:
        yield started


@contextmanager
def running_platform(amqp_uri: str, database_url, directory: Path, platform_env: dict):
    """The platform on that vhost, with fresh databases from `database_url(service)`, its files
    and log under `directory`: what the `platform` fixture gives each test, for fixtures that
    share one platform between several tests (tests/browser)."""
    port = free_port()
    var = directory / "var"
    env = {**os.environ, "AMQP_URI": amqp_uri, "PORT": str(port), "CHIKAYA_VAR_DIR": str(var),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "GATEWAY_WORKERS": "1",
           # a quorum queue per administration is heavy for a throw-away vhost: serve a few
           "CONSUMER_ADMINISTRATIONS": "CNSS,ONEE,TRIAGE", **platform_env}
    for service in DATABASES:
        env[f"{service.upper()}_DATABASE_URL"] = database_url(service)
    log_path = directory / "platform.log"
    log = log_path.open("w")
    launcher = subprocess.Popen([sys.executable, "scripts/run_platform.py"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up():
        assert launcher.poll() is None, log_path.read_text()
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet, or its worker still booting
            return False

    try:
        wait_for(up, timeout=120, interval=0.5, message="the platform to start")
        yield Platform(base, var, env)
    finally:
        launcher.send_signal(signal.SIGINT)  # what Ctrl-C does
        launcher.wait(timeout=30)
        log.close()
    assert launcher.returncode == 0, log_path.read_text()[-3000:]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=1)
