"""The last RFC gaps a conformance probe found: digits, capabilities the tools look for."""

from __future__ import annotations

from lxml import etree

from support.replies import field, info, the_error

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CAP = "urn:ietf:params:netconf:capability:"
SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no


def test_superscript_digit_as_session_id_returns_invalid_value(raw):
    err = the_error(
        raw.rpc(f"<kill-session><session-id>{SUPERSCRIPT_TWO}</session-id></kill-session>")
    )
    assert field(err, "error-tag") == "invalid-value"
    assert info(err, "bad-element") == "session-id"


def test_superscript_digit_as_confirm_timeout_returns_invalid_value(raw):
    err = the_error(
        raw.rpc(
            f"<commit><confirmed/><confirm-timeout>{SUPERSCRIPT_TWO}</confirm-timeout></commit>"
        )
    )
    assert field(err, "error-tag") == "invalid-value"
    assert info(err, "bad-element") == "confirm-timeout"


def test_hello_advertises_the_1_0_forms_of_confirmed_commit_and_validate(raw):
    hello = etree.fromstring(raw.server_hello.encode())
    caps = {c.text.strip() for c in hello.iter(f"{{{NC}}}capability")}
    for cap in ("confirmed-commit:1.0", "confirmed-commit:1.1", "validate:1.0", "validate:1.1"):
        assert CAP + cap in caps
