"""One alembic environment for every service: the caller passes the URL and the metadata."""
import sqlalchemy as sa
from alembic import context

from services.common.db import make_engine

# Replicas that start together (a rolling update) migrate one at a time: the others wait on
# this PostgreSQL lock, held until the migration's transaction ends, then find nothing to do.
MIGRATION_LOCK = 0x636869_6B6179  # "chikay"

url = context.config.attributes["url"]
metadata = context.config.attributes["metadata"]

if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # batch mode rebuilds a table by dropping it: the rows of other tables that refer to
            # it must not stop that (the pragma only takes effect outside a transaction)
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()
