"""Replicas that start together migrate one PostgreSQL database without tripping over each other,
and each owner's migrations build exactly the tables its models describe."""
import importlib
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.common.db import migrate
from tests.helpers import rows

MIGRATE = "from services.common.db import migrate; from services.routing.models import Base; migrate('routing', {url!r}, Base.metadata)"


def test_four_processes_migrating_one_database_at_once_all_succeed(database_url):
    url = database_url("routing")
    processes = [subprocess.Popen([sys.executable, "-W", "ignore", "-c", MIGRATE.format(url=url)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = [(process.wait(timeout=120), process.stderr.read()[-500:]) for process in processes]
    assert [code for code, _error in outcomes] == [0, 0, 0, 0], [error for code, error in outcomes if code]
    assert len(rows(url, "select version_num from alembic_version")) == 1


@pytest.mark.parametrize("owner", ["gateway", "intake", "routing", "notify", "stats", "prosecution"])
def test_the_migrations_build_what_the_models_describe(owner, database_url):
    """A column, index or constraint added to a model without its migration shows up here."""
    url = database_url(owner)
    metadata = importlib.import_module("gateway.models" if owner == "gateway"
                                       else f"services.{owner}.models").Base.metadata
    migrate(owner, url, metadata)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []
