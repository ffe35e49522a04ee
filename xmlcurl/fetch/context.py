"""What a section handler is given: the parsed fetch, the authenticated node, a session."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Hashable, Mapping, TypeVar

from sqlalchemy.orm import Session

from .request import FetchRequest

if TYPE_CHECKING:
    from .cache import FetchCache

T = TypeVar("T")


@dataclass(frozen=True)
class NodeIdentity:
    """The authenticated node, as plain data."""

    id: int
    name: str
    role: str
    sip_address: str
    sip_port: int
    cluster_port: int


@dataclass
class FetchContext:
    request: FetchRequest
    node: NodeIdentity
    session: Session
    settings: Mapping[str, Any]
    #: Short description of what was looked up, for the fetch log line.
    key: str = ""
    #: Why an answer is `not found` or a rejection, for the fetch log line.
    outcome: str = "ok"
    #: The worker's fetch cache; None when it is switched off (and in `xmlcurl render`).
    cache: "FetchCache | None" = None

    def cached(self, key_parts: tuple[Hashable, ...], loader: Callable[[], T]) -> T:
        """`loader()`'s plain, immutable result, remembered for this node and section until the config changes.

        `key_parts` must name everything the result depends on (e.g. the query's arguments).
        """
        if self.cache is None:
            return loader()
        key = (self.node.id, self.request.section, *key_parts)
        return self.cache.get_or_load(key, loader, recover=self.session.rollback)
