"""One alembic environment for every service: the caller passes the URL and the metadata."""
from alembic import context

from services.common.db import make_engine

url = context.config.attributes["url"]
metadata = context.config.attributes["metadata"]

if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
