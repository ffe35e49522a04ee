"""The XML boundary: nothing FreeSWITCH's pre-processor would act on ever leaves xmlcurl."""
from __future__ import annotations

import pytest
from lxml import etree

from xmlcurl.fetch.xmldoc import NOT_FOUND, UnsafeValue, document, element, safe, serialise


@pytest.mark.parametrize("value", ["$${hostname}", "a$${x}b", "<X-PRE-PROCESS cmd=exec>", "x-pre-process",
                                   "bell\x07", "nul\x00"])
def test_values_the_preprocessor_would_act_on_are_refused(value):
    with pytest.raises(UnsafeValue):
        safe(value)


@pytest.mark.parametrize("value", ["${dialed_user}", "<include>", "</include>", "<?php", "a\nb", "&amp;", "\"'"])
def test_markup_in_values_is_escaped_onto_one_line(value):
    doc, section = document("directory")
    element(section, "domain", name=value)
    xml = serialise(doc)
    for line in xml.decode().splitlines():
        assert "<?" not in line and "<include>" not in line and "</include>" not in line
    assert etree.fromstring(xml).find("section/domain").get("name") == value


def test_answers_carry_no_xml_declaration():
    assert not NOT_FOUND.startswith(b"<?")
