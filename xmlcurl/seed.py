"""Loading SQL fixture scripts (demo data) into MySQL/MariaDB or SQLite."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from .db import schema_statements

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEMO_SQL = FIXTURES / "demo.sql"


def load_sql_file(engine: Engine, path: Path) -> int:
    """Run every statement of a fixture script in one transaction; returns the statement count."""
    statements = schema_statements(path.read_text(encoding="utf-8"))
    with engine.begin() as conn:
        for stmt in statements:
            conn.exec_driver_sql(stmt)
    return len(statements)
