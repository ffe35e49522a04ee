"""Objects an app (so each gunicorn worker) keeps for its life, in app.extensions."""
from __future__ import annotations

from typing import Any, Callable, MutableMapping, TypeVar

T = TypeVar("T")


def kept(extensions: MutableMapping[str, Any], key: str, make: Callable[[], T]) -> T:
    """The app's object under `key`, made on first use (two threads racing keep the same one)."""
    found = extensions.get(key)
    if found is None:
        found = extensions.setdefault(key, make())
    return found
