"""The database adapter: one engine per service, a session per nameko worker, migrations.

SQLite under var/ is the embedded default; `<SERVICE>_DATABASE_URL` points a service at
PostgreSQL.  Under nameko's eventlet hub psycopg2 must yield while it waits on the
server, which psycogreen arranges.
"""
from datetime import datetime, timezone
from pathlib import Path
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from services.common import config, crypto

_ALEMBIC_DIR = Path(__file__).with_name("alembic")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def make_engine(url: str) -> sa.Engine:
    # an error's message never shows the values of its statement: they hold citizens' data,
    # and errors end up in logs
    if url.startswith("sqlite"):
        # One connection per process: SQLite allows one writer, and its busy-wait would block
        # eventlet's whole hub (and so the greenthread holding the lock). Workers queue for
        # the connection instead; each service has a file of its own.
        engine = sa.create_engine(url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0,
                                  pool_timeout=60, hide_parameters=True)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True)


def _green_psycopg_if_needed():
    from eventlet import patcher
    if patcher.is_monkey_patched("socket"):
        from psycogreen.eventlet import patch_psycopg
        patch_psycopg()


def migrations_dir(owner: str) -> Path:
    """Where an owner's alembic history lives: services/<name>/migrations, or gateway/migrations
    for the gateway (which owns the back office's accounts)."""
    package = Path(config.ROOT, owner) if owner == "gateway" else Path(config.ROOT, "services", owner)
    return package / "migrations"


def alembic_config(service: str, url: str, metadata: sa.MetaData) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_ALEMBIC_DIR))
    cfg.set_main_option("version_locations", str(migrations_dir(service)))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["url"] = url
    cfg.attributes["metadata"] = metadata
    return cfg


def migrate(service: str, url: str, metadata: sa.MetaData) -> None:
    """Bring the service's database to the newest migration in its migrations_dir."""
    command.upgrade(alembic_config(service, url, metadata), "heads")


class Database(DependencyProvider):
    """Gives each worker its own session; what the worker did not commit is rolled back."""

    def __init__(self, metadata: sa.MetaData):
        self.metadata = metadata

    def setup(self):
        _green_psycopg_if_needed()
        if crypto.encrypted_columns(self.metadata):
            crypto.require_keys()  # a deployment without PERSONAL_DATA_KEYS does not start
        url = self.container.config.get("DATABASE_URL") or config.database_url(self.container.service_name)
        self.engine = make_engine(url)
        migrate(self.container.service_name, url, self.metadata)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.sessions = WeakKeyDictionary()

    def stop(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        session = self.sessionmaker()
        # kept here, not in worker_ctx.data: nameko sends that along with every RPC call and event
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()


class ProcessedEventMixin:
    """One row per event a consumer has handled, written in the consumer's own transaction."""
    consumer: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
