"""What a section handler is given: the parsed fetch, the authenticated node, a session."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Hashable, Mapping, Protocol, TypeVar, Union

from sqlalchemy.exc import SQLAlchemyError

from . import compact
from .request import FetchRequest
from .scopes import EVERYTHING, Scope
from .xmldoc import serialise

if TYPE_CHECKING:
    from lxml import etree

    from .cache import FetchCache

T = TypeVar("T")
#: What a cached value depends on: scopes, or a function of the value giving them.
ScopeOf = Union[Scope, Callable[[Any], Scope]]

class Reads(Protocol):
    """What the fetch path's queries run on: the request's db.FetchReader, or a session (`xmlcurl render`, route-test)."""

    def execute(self, statement: Any, parameters: Any = None) -> Any: ...

    def rollback(self) -> None: ...


class UnreadableAnswer(SQLAlchemyError):
    """The database failed and the last-good answer for the key is in a form this code cannot read: the
    fetch is answered as if there were none."""


#: The node id under which data shared by all nodes is cached (node ids start at 1).
SHARED_NODE_ID = 0


#: What the keys of `cached_document`'s answers start with, after the node and section: "kept", not the
#: "document" under which earlier versions stored answers whole, so neither ever reads the other's form
#: from the last-good store (one is put back, or both run side by side).
KEPT = "kept"


def cache_key(owner: int, section: str, key_parts: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """The fetch cache's key for what `owner` (a node id, or SHARED_NODE_ID) looked up in `section`."""
    return (owner, section, *key_parts)


def kept_key(node_id: int, section: str, key_parts: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """The cache key of the answer `cached_document` keeps for a node under `key_parts`."""
    return cache_key(node_id, section, (KEPT, *key_parts))


def kept_answer(answer: bytes | None, outcome: str | None = None,
                key: str | None = None) -> tuple[bytes | None, str | None, str | None]:
    """The value `cached_document` keeps: the answer shrunk (None stays None), with the fetch log's outcome
    and key when its build set them."""
    return (None if answer is None else compact.shrink(answer), outcome, key)


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
    #: Opens (or returns) the request's read connection (a Core connection in autocommit on the fetch
    #: path, a session in `xmlcurl render`); a fetch answered from the cache never opens one.
    open_session: Callable[[], Reads]
    settings: Mapping[str, Any]
    #: Short description of what was looked up, for the fetch log line.
    key: str = ""
    #: Why an answer is `not found` or a rejection, for the fetch log line.
    outcome: str = "ok"
    #: The worker's fetch cache; None when it is switched off (and in `xmlcurl render`).
    cache: "FetchCache | None" = None

    @property
    def session(self) -> Reads:
        """The request's read connection, opened on first use."""
        return self.open_session()

    def cached(self, key_parts: tuple[Hashable, ...], loader: Callable[[], T], scope: ScopeOf = EVERYTHING,
               kind: str = "answer", last_good: bool = True) -> T:
        """`loader()`'s plain, immutable result, remembered for this node and section until `scope` changes.

        `key_parts` must name everything the result depends on (e.g. the query's arguments); `scope`
        the data it was made from (scopes.py: a tenant, shared tables; by default every change);
        `kind` what the lookup counts as in the metrics (metrics.CACHE_KINDS); `last_good` False keeps
        the result out of the last-good store (FetchCache.get_or_load).
        """
        return self._lookup(self.node.id, key_parts, loader, scope, kind, last_good)

    def shared(self, key_parts: tuple[Hashable, ...], loader: Callable[[], T], scope: ScopeOf = EVERYTHING) -> T:
        """Like `cached`, for data that does not depend on the asking node, kept once for all nodes.

        Only for what a node's isolation does not rest on: the routers' view of tenants, routes and
        DIDs (every router may route every tenant). Under node id 0, which no node has.
        """
        return self._lookup(SHARED_NODE_ID, key_parts, loader, scope)

    def _lookup(self, owner: int, key_parts: tuple[Hashable, ...], loader: Callable[[], T], scope: ScopeOf,
                kind: str = "answer", last_good: bool = True) -> T:
        if self.cache is None:
            return loader()
        return self.cache.get_or_load(cache_key(owner, self.request.section, key_parts), loader, recover=self._rollback, scope=scope, kind=kind,
                                      last_good=last_good)

    def cached_document(self, key_parts: tuple[Hashable, ...],
                        build: Callable[[], "etree._Element | None"], scope: ScopeOf = EVERYTHING) -> bytes | None:
        """`build()`'s document, serialised once and remembered like `cached` (None stays None).

        For answers that depend only on the configuration and the fetch's key (directory users,
        configuration files): a warm fetch then sends stored bytes, kept shrunk (compact.py). The fetch
        log's key and outcome that `build` sets are remembered with them (only what `build` itself changed).
        """
        if self.cache is None:
            doc = build()
            return None if doc is None else serialise(doc)

        built: list[bytes] = []  # what this fetch's own build serialised, sent as it is

        def load() -> tuple[bytes | None, str | None, str | None]:
            outcome, key = self.outcome, self.key
            doc = build()
            if doc is not None:
                built.append(serialise(doc))
            return kept_answer(built[0] if built else None, None if self.outcome == outcome else self.outcome,
                               None if self.key == key else self.key)

        kept, outcome, key = self.cached((KEPT, *key_parts), load, scope)
        if outcome is not None:
            self.outcome = outcome
        if key is not None:
            self.key = key
        if kept is None:
            return None
        if built:
            return built[0]
        try:
            return compact.expand(kept)
        except ValueError as exc:  # only a last-good entry kept with another dictionary can be one
            raise UnreadableAnswer(str(exc)) from exc

    def _rollback(self) -> None:
        self.open_session().rollback()
