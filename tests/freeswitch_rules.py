"""What FreeSWITCH does to an answer before and while reading it, as checks for tests."""
from __future__ import annotations

import re

from lxml import etree

_PREPROCESSOR_LINE = re.compile(r"<include>|</include>|<\?|\$\$\{|<!--#", re.IGNORECASE)


def preprocessor_problems(xml: bytes) -> list[str]:
    """Lines FreeSWITCH's pre-processor would drop, expand or execute (switch_xml.c preprocess)."""
    problems = []
    for number, line in enumerate(xml.decode("utf-8").splitlines(), 1):
        if _PREPROCESSOR_LINE.search(line) or "x-pre-process" in line.lower():
            problems.append(f"line {number}: {line.strip()[:120]}")
    return problems


def assert_freeswitch_can_read(xml: bytes) -> etree._Element:
    """The answer is well-formed, a freeswitch/xml document, and passes the pre-processor unchanged."""
    assert preprocessor_problems(xml) == []
    doc = etree.fromstring(xml)
    assert doc.tag == "document" and doc.get("type") == "freeswitch/xml"
    assert len(doc.findall("section")) == 1
    return doc


def action_data(doc: etree._Element) -> list[str]:
    """Every application and data string of every dialplan action and anti-action."""
    out = []
    for action in doc.iter("action", "anti-action"):
        out.append(action.get("application", ""))
        out.append(action.get("data", ""))
    return out
