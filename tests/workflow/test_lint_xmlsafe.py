"""Safe XML parsing: XXE, billion laughs, malformed and empty input are refused with a located message."""

from __future__ import annotations

import pytest

from app.workflow.messages import ProcessInvalid
from app.workflow.xmlsafe import parse_xml

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">&xxe;</process></definitions>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""


def _refused(data: bytes) -> ProcessInvalid:
    with pytest.raises(ProcessInvalid) as info:
        parse_xml(data, "evil.bpmn")
    return info.value


def test_xxe_entity_is_refused_and_file_never_read() -> None:
    exc = _refused(XXE)
    (msg,) = exc.messages
    assert msg.file == "evil.bpmn"
    assert msg.line == 2
    assert msg.severity == "error"
    assert "DOCTYPE" in msg.text
    assert "root:" not in str(exc)


def test_billion_laughs_is_refused_quickly() -> None:
    exc = _refused(BILLION_LAUGHS)
    assert exc.messages[0].line == 2
    assert "实体" in exc.messages[0].text


def test_external_dtd_reference_is_refused() -> None:
    exc = _refused(b'<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "http://example.com/x.dtd">\n<d/>')
    assert exc.messages[0].line == 2


def test_utf16_doctype_is_refused() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode("utf-16")
    assert _refused(data).messages[0].severity == "error"


def test_malformed_xml_reports_line() -> None:
    exc = _refused(b"<definitions>\n  <process>\n  </definitions>\n")
    (msg,) = exc.messages
    assert msg.line == 3
    assert "malformed XML" in msg.text
    assert msg.format().startswith("evil.bpmn:3: -: XML 格式错误")


@pytest.mark.parametrize("data", [b"", b"   \n\t"])
def test_empty_input_is_refused(data: bytes) -> None:
    exc = _refused(data)
    assert exc.messages[0].line == 1
    assert "empty" in exc.messages[0].text


def test_comments_and_lines_are_kept() -> None:
    tree = parse_xml(b"<a>\n<!-- note -->\n<b/>\n</a>", "ok.bpmn")
    root = tree.getroot()
    assert len(root) == 2
    assert root[1].sourceline == 3
