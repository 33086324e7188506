"""Alembic migrations. Run them with `cxloop db upgrade`."""
