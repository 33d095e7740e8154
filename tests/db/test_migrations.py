from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from relaydesk.models import Base


def test_migrations_build_exactly_the_models(database):
    """The migrated schema and the models agree, so no change ships without its migration."""
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_every_table_is_migrated(database):
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migration_files_do_not_import_application_code():
    from pathlib import Path

    import relaydesk.db.migrate as migrate

    for path in (Path(migrate.__file__).parent / "migrations" / "versions").glob("*.py"):
        assert "relaydesk" not in path.read_text(), path.name
