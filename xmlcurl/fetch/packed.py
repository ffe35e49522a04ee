"""Fetch statements whose rows come back as one JSON array each, read as named tuples.

PyMySQL parses every column's description packet in Python, for every statement: for a fetch that
reads one row of 16 to 25 columns this cost more than reading the row itself, and more than the
server's work on the statement. Packed into one JSON array (JSON_ARRAY on MariaDB, MySQL and
SQLite alike), the row is one column, decoded by the json module's C parser.
"""
from __future__ import annotations

import json
from collections import namedtuple
from typing import Any, Iterable, Mapping

from sqlalchemy import TextClause, bindparam, text

from .context import Reads


class PackedQuery:
    """A SELECT of named columns, sent as one JSON array per row and read back as named tuples."""

    def __init__(self, columns: Mapping[str, str], rest: str, expanding: Iterable[str] = (), with_: str = "") -> None:
        """`columns` maps each name to its SQL expression, in order; `rest` is the statement from FROM on;
        `expanding` names the parameters bound as lists (an IN); `with_` the common table expressions."""
        self.names = tuple(columns)
        self.row = namedtuple("PackedRow", self.names)  # type: ignore[misc]
        listed = ",\n    ".join(columns.values())
        head = f"WITH {with_.strip()}\n" if with_ else ""
        statement = text(f"{head}SELECT JSON_ARRAY(\n    {listed}\n) AS packed\n{rest.strip()}\n")
        expanding = tuple(expanding)
        self.statement: TextClause = (statement.bindparams(*(bindparam(name, expanding=True) for name in expanding))
                                      if expanding else statement)

    def rows(self, conn: Reads, parameters: Mapping[str, Any]) -> list[Any]:
        """The statement's rows for `parameters`, each a named tuple of the columns' values."""
        make, loads = self.row._make, json.loads
        return [make(loads(found[0])) for found in conn.execute(self.statement, parameters)]

    def __str__(self) -> str:
        return str(self.statement)


def json_list(value: Any) -> list[Any]:
    """A JSON aggregate column of a packed row as a list: MariaDB nests it as JSON; SQLite's JSON_ARRAYAGG
    (a Python aggregate, see db.JsonArrayAgg) gives its text; NULL (no rows aggregated) is an empty list."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else value
