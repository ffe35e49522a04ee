"""The one boundary between data and FreeSWITCH XML: documents built with lxml, serialised once.

FreeSWITCH runs every answer through its pre-processor before parsing it: ``$${name}`` is
expanded on every line, lines holding ``<?``, ``<include>`` or ``</include>`` are dropped, and a
line holding ``X-PRE-PROCESS`` (any case) is executed or dropped. lxml escapes ``<`` and newlines
in attributes, so ``$${`` and ``X-PRE-PROCESS`` are what needs refusing here.
"""
from __future__ import annotations

import re

from lxml import etree

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class UnsafeValue(ValueError):
    """A value would be rewritten by FreeSWITCH's pre-processor or is not XML text."""


#: Anything `safe` refuses, found in one pass (most values hold none of it).
_SUSPECT = re.compile("\\$\\$\\{|x-pre-process|[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", re.IGNORECASE)


def safe(value: object) -> str:
    """Text as it may appear in an answer; raises UnsafeValue for pre-processor syntax."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if _SUSPECT.search(text) is None:
        return text
    if "$${" in text:
        raise UnsafeValue("value carries $${...}, which FreeSWITCH would expand")
    if "x-pre-process" in text.lower():
        raise UnsafeValue("value carries X-PRE-PROCESS, which FreeSWITCH's pre-processor acts on")
    if _XML_ILLEGAL.search(text):
        raise UnsafeValue("value carries control characters")
    return text


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXPANSION = re.compile(r"[${}]")


def plain_text_problem(value: str) -> str | None:
    """Why `value` is not text FreeSWITCH takes as it is (control characters, '$', '{' or '}' it would
    expand, what `safe` refuses), or None. What the API accepts and what the directory serves."""
    if _CONTROL.search(value):
        return "must not contain control characters"
    if _EXPANSION.search(value):
        return "must not contain '$', '{' or '}'"
    try:
        safe(value)
    except UnsafeValue as exc:
        return f"cannot be served to FreeSWITCH: {exc}"
    return None


def element(parent: etree._Element, tag: str, **attrs: object) -> etree._Element:
    """Append a child whose attributes pass through safe()."""
    return etree.SubElement(parent, tag, {name: safe(value) for name, value in attrs.items()})


def document(section: str) -> tuple[etree._Element, etree._Element]:
    """A ``freeswitch/xml`` document with one section; returns (document, section)."""
    doc = etree.Element("document", type="freeswitch/xml")
    sec = etree.SubElement(doc, "section", name=section)
    return doc, sec


def params(parent: etree._Element, tag: str, items: list[tuple[str, object]], child: str = "param") -> etree._Element:
    """``<params><param name= value=/>...`` (or variables/variable)."""
    container = etree.SubElement(parent, tag)
    for name, value in items:
        etree.SubElement(container, child, name=safe(name), value=safe(value))
    return container


def serialise(doc: etree._Element) -> bytes:
    """Indented XML without a declaration (a declaration line would be dropped anyway)."""
    return etree.tostring(doc, pretty_print=True, encoding="utf-8")


def not_found_document() -> etree._Element:
    doc, sec = document("result")
    etree.SubElement(sec, "result", status="not found")
    return doc


NOT_FOUND = serialise(not_found_document())
