"""The hardened parser every message and state file goes through, and the element helpers."""

from __future__ import annotations

import pytest
from lxml import etree

from nnfv_agent.xmlutil import (
    NC,
    MalformedXml,
    child,
    child_text,
    identity,
    local,
    ns_of,
    parse,
    qn,
    reply_element,
    tostring,
)

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<lolz>&lol2;</lolz>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
)


def test_parse_accepts_bytes_and_str_alike() -> None:
    from_bytes = parse(b'<rpc xmlns="urn:x" message-id="1"><get/></rpc>')
    from_str = parse('<rpc xmlns="urn:x" message-id="1"><get/></rpc>')
    assert from_bytes.tag == from_str.tag == "{urn:x}rpc"
    assert from_str.get("message-id") == "1"


def test_parse_keeps_non_ascii_text_of_a_utf8_message() -> None:
    assert parse("<a>é€</a>".encode()).text == "é€"
    assert parse("<a>é€</a>").text == "é€"


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<!DOCTYPE r><r/>", b'<!DOCTYPE r SYSTEM "r.dtd"><r/>'],
    ids=["entity-expansion", "external-entity", "bare-doctype", "external-dtd"],
)
def test_parse_refuses_doctype_and_entity_declarations(document: bytes) -> None:
    with pytest.raises(MalformedXml, match="DOCTYPE"):
        parse(document)


@pytest.mark.parametrize(
    "document",
    [
        b"<a>\xff</a>",
        b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>',
        "<a>é</a>".encode("utf-16"),
    ],
    ids=["invalid-byte", "latin-1-bytes", "utf-16"],
)
def test_parse_refuses_a_message_that_is_not_utf8(document: bytes) -> None:
    with pytest.raises(MalformedXml, match="must be UTF-8"):
        parse(document)


def test_parse_refuses_a_declaration_of_another_encoding() -> None:
    with pytest.raises(MalformedXml):
        parse('<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>'.encode())


@pytest.mark.parametrize("document", [b"", b"   \n", ""], ids=["empty", "blank", "empty-str"])
def test_parse_refuses_an_empty_document(document: bytes | str) -> None:
    with pytest.raises(MalformedXml):
        parse(document)


@pytest.mark.parametrize("document", [b"<a>", b"<a></b>", b"<a/><b/>", b"text"], ids=str)
def test_parse_refuses_xml_that_is_not_well_formed_with_the_parsers_reason(
    document: bytes,
) -> None:
    with pytest.raises(MalformedXml) as err:
        parse(document)
    assert str(err.value)  # libxml2's reason, for the client's error-message


def test_parse_refuses_deeply_nested_documents() -> None:
    depth = 1000
    with pytest.raises(MalformedXml, match="depth"):
        parse(b"<a>" * depth + b"</a>" * depth)


def test_malformed_xml_is_a_value_error() -> None:
    assert issubclass(MalformedXml, ValueError)


def test_parse_drops_comments_processing_instructions_and_blank_text() -> None:
    root = parse(b"<!-- c --><a>\n  <?pi x?>\n  <b/>\n  <!-- d -->\n</a>")
    assert tostring(root) == "<a><b/></a>"


def test_qualified_name_local_name_and_namespace() -> None:
    el = etree.Element(qn("urn:x", "graph"))
    assert el.tag == "{urn:x}graph"
    assert (local(el), ns_of(el)) == ("graph", "urn:x")
    assert ns_of(etree.Element("plain")) is None


def test_child_and_child_text_look_in_the_netconf_namespace_by_default() -> None:
    rpc = parse(
        f'<rpc xmlns="{NC}"><target>  running  </target><empty/>'
        '<x:target xmlns:x="urn:x">other</x:target></rpc>'
    )
    assert child(rpc, "target") is rpc[0]
    assert child_text(rpc, "target") == "running"
    assert child_text(rpc, "empty") == ""
    assert child_text(rpc, "missing") is None
    assert child_text(rpc, "target", "urn:x") == "other"
    assert child(rpc, "missing") is None


def test_reply_element_is_an_empty_rpc_reply_echoing_the_rpc_attributes() -> None:
    reply = reply_element({"message-id": "7", "{urn:x}user": "me"})
    assert reply.tag == qn(NC, "rpc-reply")
    assert len(reply) == 0
    assert dict(reply.attrib) == {"message-id": "7", "{urn:x}user": "me"}
    assert reply.nsmap[None] == NC


def test_identity_resolves_its_prefix_in_scope() -> None:
    el = etree.fromstring('<d xmlns:x="urn:x">x:running</d>')
    assert identity(el) == ("urn:x", "running")
    assert identity(etree.fromstring('<d xmlns="urn:y">running</d>')) == ("urn:y", "running")
    assert identity(etree.fromstring("<d>y:running</d>")) == (None, "running")
