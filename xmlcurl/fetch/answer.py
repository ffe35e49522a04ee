"""Turning a parsed, authenticated fetch into the bytes FreeSWITCH receives."""
from __future__ import annotations

from .context import FetchContext
from .registry import handler_for
from .xmldoc import NOT_FOUND, UnsafeValue, serialise


def answer(ctx: FetchContext) -> bytes:
    """Dispatch on section and role; `not found` for anything xmlcurl does not serve."""
    handler = handler_for(ctx.node.role, ctx.request.section)
    if handler is None:
        ctx.outcome = f"section {ctx.request.section} not served to {ctx.node.role} nodes"
        return NOT_FOUND
    try:
        doc = handler(ctx)
    except UnsafeValue as exc:
        # Stored data that FreeSWITCH would rewrite is never sent; the node falls back to static.
        ctx.outcome = f"refused unsafe data: {exc}"
        return NOT_FOUND
    if doc is None:
        if ctx.outcome == "ok":
            ctx.outcome = "not found"
        return NOT_FOUND
    return doc if isinstance(doc, bytes) else serialise(doc)
