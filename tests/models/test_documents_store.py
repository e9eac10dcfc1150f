"""The documents' tables come from migration 0005 and match the ORM, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models.db import get_engine
from models.orm import Base
from services.runtime import Runtime


def test_migrations_create_the_document_tables_and_match_the_orm(rt: Runtime) -> None:
    engine = get_engine(rt.settings.database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"document", "review_name", "anonymisation_override", "document_sent"} <= tables
    columns = {c["name"] for c in inspect(engine).get_columns("outbox_message")}
    assert "attachment_document_id" in columns
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
