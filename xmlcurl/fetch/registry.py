"""Which handler answers which section for which node role."""
from __future__ import annotations

from typing import Callable

from lxml import etree

from .context import FetchContext

#: A handler answers a document, its bytes already serialised (from the cache), or None for `not found`.
Handler = Callable[[FetchContext], "etree._Element | bytes | None"]

_HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(section: str, *roles: str) -> Callable[[Handler], Handler]:
    """Register a handler for a section, for the given node roles."""

    def register(func: Handler) -> Handler:
        for role in roles:
            if (role, section) in _HANDLERS:
                raise RuntimeError(f"two handlers for {section} on {role}")
            _HANDLERS[(role, section)] = func
        return func

    return register


def handler_for(role: str, section: str) -> Handler | None:
    return _HANDLERS.get((role, section))


def load_handlers() -> None:
    """Import the section modules so their handlers register."""
    from . import directory  # noqa: F401
    from . import dialplan  # noqa: F401
    from . import configuration  # noqa: F401
