"""Fetch statements prepared once per MariaDB connection, then run with EXECUTE ... USING.

MariaDB parses and resolves a statement's text at every execution; a statement prepared on the
connection skips that, which is a fifth of the server's CPU for a directory fetch. The text protocol
is kept (PyMySQL has no other): EXECUTE takes the values as literals escaped by the driver, exactly
as PyMySQL's own parameter interpolation would write them, so a fetch is still one round trip. The
first use of a statement on a connection adds its PREPARE; a connection replaced by the pool starts
with none prepared.
"""
from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("xmlcurl.db")

#: A bind parameter in PyMySQL's pyformat SQL.
_MARK = re.compile(r"%\((\w+)\)s")
#: MariaDB's "Unknown prepared statement handler": the server no longer holds it.
UNKNOWN_STATEMENT = 1243
#: MariaDB's "Can't create more than max_prepared_stmt_count statements" (a server-wide limit).
TOO_MANY_STATEMENTS = 1461
#: Where a connection's record remembers which statements it holds (`PoolProxiedConnection.info`,
#: cleared by SQLAlchemy when the connection is replaced).
_INFO_KEY = "xmlcurl.prepared"
#: Where it remembers whether its server takes literals after EXECUTE ... USING.
_SERVER_KEY = "xmlcurl.execute_using_literals"


def takes_literals(pooled: Any) -> bool:
    """Whether the pooled connection's server is MariaDB, whose EXECUTE ... USING takes literals (10.2+);
    MySQL's takes only user variables (@a), so there each fetch statement is sent as text. Noted in the
    connection's record the first time (the driver knows the server's version from its handshake)."""
    info = pooled.info
    found = info.get(_SERVER_KEY)
    if found is None:
        found = info[_SERVER_KEY] = "mariadb" in pooled.dbapi_connection.get_server_info().lower()
    return found


@dataclass(frozen=True)
class ServerStatement:
    """A pyformat statement in the server's own form: `?` marks, and the parameters' names in their order."""

    name: str
    text: str
    order: tuple[str, ...]

    def execute_sql(self, escape: Any, parameters: dict[str, Any]) -> str:
        """The EXECUTE for these values, each written as a literal by the driver's `escape`."""
        if not self.order:
            return f"EXECUTE {self.name}"
        return f"EXECUTE {self.name} USING " + ", ".join(escape(parameters[name]) for name in self.order)


_STATEMENTS: dict[str, ServerStatement | None] = {}
_NUMBERS = itertools.count(1)


def server_statement(sql: str) -> ServerStatement | None:
    """`sql` (pyformat) as a statement to prepare; None when it cannot be (a `?` the server would take for a mark)."""
    try:
        return _STATEMENTS[sql]
    except KeyError:
        pass
    unmarked = _MARK.sub("", sql)
    found = None
    if "?" not in unmarked:
        found = ServerStatement(f"xmlcurl_fetch_{next(_NUMBERS)}", _MARK.sub("?", sql).replace("%%", "%"),
                                tuple(_MARK.findall(sql)))
    _STATEMENTS[sql] = found
    return found


def execute(cursor: Any, info: dict, statement: ServerStatement, parameters: dict[str, Any], text_sql: str) -> None:
    """Run `statement` on the cursor's connection, preparing it there first if the connection does not hold it;
    sent as `text_sql` (pyformat) instead when the server will not hold another prepared statement."""
    held: dict[str, bool] = info.setdefault(_INFO_KEY, {})
    for attempt in (1, 2):
        if statement.name not in held:
            held[statement.name] = _prepare(cursor, statement)
        if not held[statement.name]:
            cursor.execute(text_sql, parameters)
            return
        try:
            cursor.execute(statement.execute_sql(cursor.connection.escape, parameters))
            return
        except Exception as exc:
            # Only if the server dropped it on a live connection (it cannot happen unless someone
            # deallocates it): prepare it again, once.
            if attempt == 2 or _error_code(exc) != UNKNOWN_STATEMENT:
                raise
            log.warning("prepared fetch statement %s was gone from its connection; preparing it again",
                        statement.name)
            del held[statement.name]


def _prepare(cursor: Any, statement: ServerStatement) -> bool:
    """PREPARE the statement on the cursor's connection; False when the server holds as many as it allows."""
    try:
        cursor.execute(f"PREPARE {statement.name} FROM {cursor.connection.escape(statement.text)}")
    except Exception as exc:
        if _error_code(exc) != TOO_MANY_STATEMENTS:
            raise
        log.warning("the database holds max_prepared_stmt_count prepared statements: fetch statement %s is sent "
                    "as text on this connection", statement.name)
        return False
    return True


def _error_code(exc: BaseException) -> Any:
    return exc.args[0] if exc.args else None
