"""Replicas that start together migrate one PostgreSQL database without tripping over each other."""
import subprocess
import sys

from tests.helpers import rows

MIGRATE = "from services.common.db import migrate; from services.routing.models import Base; migrate('routing', {url!r}, Base.metadata)"


def test_four_processes_migrating_one_database_at_once_all_succeed(database_url):
    url = database_url("routing")
    processes = [subprocess.Popen([sys.executable, "-W", "ignore", "-c", MIGRATE.format(url=url)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = [(process.wait(timeout=120), process.stderr.read()[-500:]) for process in processes]
    assert [code for code, _error in outcomes] == [0, 0, 0, 0], [error for code, error in outcomes if code]
    assert len(rows(url, "select version_num from alembic_version")) == 1
