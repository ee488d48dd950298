"""Alembic environment: run by ``epbatch.store.migrate`` on the connection it hands over.

No alembic.ini: ``epbatch.store.migrate.alembic_config`` builds the configuration in code
and puts its open connection (inside the caller's transaction) in
``config.attributes["connection"]``. A ``sqlalchemy.url`` main option works too (offline SQL
scripts, or a hand-made Config).
"""

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from epbatch.store.database import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs by table copy
    )
    with context.begin_transaction():  # joins the caller's transaction if one is open
        context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    run_on(given)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        run_on(connection)
