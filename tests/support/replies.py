"""Reading RFC 6241 replies in tests: <ok/>, <data>, and well-formed <rpc-error>s."""

from __future__ import annotations

from lxml import etree

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def parse_reply(text: str) -> etree._Element:
    reply = etree.fromstring(text.encode())
    assert reply.tag == f"{{{NC}}}rpc-reply", text
    return reply


def assert_ok(text: str) -> None:
    reply = parse_reply(text)
    assert reply.find(f"{{{NC}}}ok") is not None, text
    assert reply.find(f"{{{NC}}}rpc-error") is None, text


def data_of(text: str) -> etree._Element:
    data = parse_reply(text).find(f"{{{NC}}}data")
    assert data is not None, text
    return data


def rpc_errors(text: str) -> list[etree._Element]:
    """Every <rpc-error>, each checked for the fields RFC 6241 4.3 makes mandatory."""
    reply = parse_reply(text)
    assert reply.find(f"{{{NC}}}ok") is None, text
    assert reply.find(f"{{{NC}}}data") is None, text
    errors = reply.findall(f"{{{NC}}}rpc-error")
    assert errors, f"expected an rpc-error, got {text}"
    for err in errors:
        assert field(err, "error-type") in ("transport", "rpc", "protocol", "application")
        assert field(err, "error-tag")
        assert field(err, "error-severity") == "error"
    return errors


def the_error(text: str) -> etree._Element:
    return rpc_errors(text)[0]


def field(err: etree._Element, name: str) -> str | None:
    found = err.find(f"{{{NC}}}{name}")
    return None if found is None else (found.text or "").strip()


def info(err: etree._Element, name: str) -> str | None:
    found = err.find(f"{{{NC}}}error-info/{{{NC}}}{name}")
    return None if found is None else (found.text or "").strip()
