"""RPC dispatch: envelope checks, the handler registry, and the one reply for every outcome
(success, a failure of the family, a bug, a full disk), with the session's counters.

The session is a small stand-in with what the `Caller` protocol asks; handlers are plain
functions that record what they were given.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

import pytest
from lxml import etree

from nnfv_agent.errors import AgentError, AgentErrors, Kind, Scope
from nnfv_agent.netconf.dispatch import (
    CURRENT_SESSION,
    Caller,
    Counters,
    Dispatcher,
    RawData,
    Reply,
)
from nnfv_agent.xmlutil import NC, qn

X = "urn:example:ops"


@dataclass
class Session:
    id: int = 7
    username: str = "alice"
    source_host: str = "127.0.0.1"
    counters: Counters = field(default_factory=Counters)


@dataclass
class Recorder:
    """A handler that records its calls (and the current session then) and replies `reply`."""

    reply: Reply = None
    fail: BaseException | None = None
    calls: list[tuple[int, str]] = field(default_factory=list)
    current: list[Caller | None] = field(default_factory=list)

    def __call__(self, session: Session, op: etree._Element) -> Reply:
        self.calls.append((session.id, etree.QName(op).localname))
        self.current.append(CURRENT_SESSION.get())
        if self.fail is not None:
            raise self.fail
        return self.reply


@pytest.fixture
def session() -> Session:
    return Session()


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


@pytest.fixture
def dispatcher(handler: Recorder) -> Dispatcher[Session]:
    d: Dispatcher[Session] = Dispatcher(lambda: ["urn:ietf:params:netconf:base:1.1"])
    d.register(X, "poke", handler)
    return d


def rpc(body: str = f'<poke xmlns="{X}"/>', attrs: str = 'message-id="101"') -> bytes:
    return f'<rpc xmlns="{NC}" {attrs}>{body}</rpc>'.encode()


def errors_of(reply: bytes) -> list[dict[str, str]]:
    root = etree.fromstring(reply)
    assert root.tag == qn(NC, "rpc-reply")
    return [
        {etree.QName(c).localname: (c.text or "") for c in err if c.text}
        for err in root.findall(qn(NC, "rpc-error"))
    ]


def one_error(reply: bytes) -> dict[str, str]:
    [err] = errors_of(reply)
    return err


def counters(session: Session) -> tuple[int, int, int]:
    c = session.counters
    return (c.in_rpcs, c.in_bad_rpcs, c.out_rpc_errors)


# ---- replies to good RPCs ------------------------------------------------------------------


def test_handler_returning_none_gives_ok_echoing_every_rpc_attribute(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    reply = dispatcher.handle(session, rpc(attrs='message-id="101" xmlns:e="urn:e" e:user="x"'))
    assert reply is not None
    root = etree.fromstring(reply)
    assert [etree.QName(c).localname for c in root] == ["ok"]
    assert dict(root.attrib) == {"message-id": "101", "{urn:e}user": "x"}
    assert handler.calls == [(7, "poke")]
    assert counters(session) == (1, 0, 0)
    assert dispatcher.stats.in_rpcs == 1


def test_handler_elements_are_the_reply_content(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    handler.reply = [
        etree.fromstring('<a xmlns="urn:a">1</a>'),
        etree.fromstring('<b xmlns="urn:b"/>'),
    ]
    root = etree.fromstring(dispatcher.handle(session, rpc()) or b"")
    assert [c.tag for c in root] == ["{urn:a}a", "{urn:b}b"]
    assert root[0].text == "1"


def test_raw_data_is_spliced_into_its_wrapper_without_a_reparse(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    handler.reply = RawData('<g xmlns="urn:g"><n>1</n></g><h xmlns="urn:h"/>')
    root = etree.fromstring(dispatcher.handle(session, rpc()) or b"")
    assert root.get("message-id") == "101"
    [data] = root
    assert data.tag == qn(NC, "data")
    assert [c.tag for c in data] == ["{urn:g}g", "{urn:h}h"]


def test_raw_data_can_name_another_wrapper(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    handler.reply = RawData("<x/>", wrapper="config")
    root = etree.fromstring(dispatcher.handle(session, rpc()) or b"")
    assert [c.tag for c in root] == [qn(NC, "config")]


def test_handler_runs_with_its_session_as_the_current_one_and_only_then(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    dispatcher.handle(session, rpc())
    assert handler.current == [session]
    assert CURRENT_SESSION.get() is None


def test_operations_are_found_by_namespace_and_name(
    dispatcher: Dispatcher[Session], session: Session
) -> None:
    other = Recorder()
    dispatcher.register("urn:example:other", "poke", other)
    dispatcher.handle(session, rpc('<poke xmlns="urn:example:other"/>'))
    assert other.calls == [(7, "poke")]


# ---- envelope checks -------------------------------------------------------------------------


def test_message_that_is_not_xml_is_malformed_and_counted_as_a_bad_rpc(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    reply = dispatcher.handle(session, b"<rpc")
    assert reply is not None
    assert etree.fromstring(reply).get("message-id") is None
    err = one_error(reply)
    assert (err["error-type"], err["error-tag"]) == ("rpc", "malformed-message")
    assert "not well-formed" in err["error-message"]
    assert handler.calls == []
    assert counters(session) == (0, 1, 1)
    assert (dispatcher.stats.in_bad_rpcs, dispatcher.stats.out_rpc_errors) == (1, 1)


def test_message_with_a_doctype_is_refused_as_malformed(
    dispatcher: Dispatcher[Session], session: Session
) -> None:
    reply = dispatcher.handle(session, b"<!DOCTYPE rpc>" + rpc())
    assert one_error(reply or b"")["error-tag"] == "malformed-message"


def test_root_other_than_rpc_is_an_unknown_element(
    dispatcher: Dispatcher[Session], session: Session
) -> None:
    reply = dispatcher.handle(session, f'<hello xmlns="{NC}"/>'.encode()) or b""
    err = one_error(reply)
    assert (err["error-type"], err["error-tag"]) == ("rpc", "unknown-element")
    info = etree.fromstring(reply).find(f"{{{NC}}}rpc-error/{{{NC}}}error-info")
    assert info is not None and info.findtext(qn(NC, "bad-element")) == "hello"
    assert counters(session) == (0, 1, 1)


def test_rpc_in_another_namespace_is_an_unknown_element(
    dispatcher: Dispatcher[Session], session: Session
) -> None:
    reply = dispatcher.handle(session, b'<rpc xmlns="urn:not-netconf" message-id="1"/>')
    assert one_error(reply or b"")["error-tag"] == "unknown-element"


def test_rpc_without_message_id_is_missing_an_attribute(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    reply = dispatcher.handle(session, rpc(attrs="")) or b""
    err = one_error(reply)
    assert (err["error-type"], err["error-tag"]) == ("rpc", "missing-attribute")
    info = etree.fromstring(reply).find(f"{{{NC}}}rpc-error/{{{NC}}}error-info")
    assert info is not None
    assert (info.findtext(qn(NC, "bad-attribute")), info.findtext(qn(NC, "bad-element"))) == (
        "message-id",
        "rpc",
    )
    assert handler.calls == []
    assert counters(session) == (0, 1, 1)


@pytest.mark.parametrize(
    "body",
    ["", "<!-- nothing -->", f'<poke xmlns="{X}"/><poke xmlns="{X}"/>'],
    ids=["none", "comment-only", "two"],
)
def test_rpc_must_hold_exactly_one_operation(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder, body: str
) -> None:
    reply = dispatcher.handle(session, rpc(body)) or b""
    assert etree.fromstring(reply).get("message-id") == "101"
    err = one_error(reply)
    assert (err["error-type"], err["error-tag"]) == ("rpc", "malformed-message")
    assert handler.calls == []
    assert counters(session) == (0, 1, 1)  # an rpc-layer error: a bad rpc


def test_unknown_operation_is_not_supported_and_names_it(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    reply = dispatcher.handle(session, rpc('<frobnicate xmlns="urn:example:nope"/>')) or b""
    assert etree.fromstring(reply).get("message-id") == "101"
    err = one_error(reply)
    assert (err["error-type"], err["error-tag"]) == ("protocol", "operation-not-supported")
    assert "frobnicate" in err["error-message"] and "urn:example:nope" in err["error-message"]
    assert handler.calls == []
    assert session.counters.out_rpc_errors == 1


def test_known_name_in_an_unknown_namespace_is_not_supported(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    reply = dispatcher.handle(session, rpc("<poke/>")) or b""
    assert one_error(reply)["error-tag"] == "operation-not-supported"
    assert handler.calls == []


# ---- failures of the handler -----------------------------------------------------------------


def test_handler_agent_error_becomes_an_rpc_error_with_its_tag_app_tag_and_path(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    handler.fail = AgentError(
        "interface eth1 is used by graph a",
        kind=Kind.INVALID_VALUE,
        app_tag="interface-in-use",
        path="/sg:graphs/sg:graph[sg:name='b']",
        path_nsmap={"sg": "urn:nnfv:yang:nnfv-service-graph"},
    )
    reply = dispatcher.handle(session, rpc()) or b""
    assert etree.fromstring(reply).get("message-id") == "101"
    assert one_error(reply) == {
        "error-type": "application",
        "error-tag": "invalid-value",
        "error-severity": "error",
        "error-app-tag": "interface-in-use",
        "error-path": "/sg:graphs/sg:graph[sg:name='b']",
        "error-message": "interface eth1 is used by graph a",
    }
    # A well-formed rpc that failed: counted as an rpc and as an error, not as a bad rpc.
    assert counters(session) == (1, 0, 1)


def test_handler_bundle_of_errors_gives_one_rpc_error_each(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    handler.fail = AgentErrors(
        [AgentError("a", kind=Kind.MISSING_ELEMENT), AgentError("b", kind=Kind.DATA_EXISTS)]
    )
    reply = dispatcher.handle(session, rpc()) or b""
    assert [e["error-tag"] for e in errors_of(reply)] == ["missing-element", "data-exists"]
    assert session.counters.out_rpc_errors == 1  # one reply, one error counted


def test_handler_message_scope_error_counts_as_a_bad_rpc(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    handler.fail = AgentError("too big", kind=Kind.TOO_BIG, scope=Scope.MESSAGE)
    reply = dispatcher.handle(session, rpc()) or b""
    assert one_error(reply)["error-type"] == "rpc"
    assert counters(session) == (1, 1, 1)


def test_unexpected_exception_is_an_internal_operation_failure_and_the_next_rpc_works(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    handler.fail = KeyError("graph")
    reply = dispatcher.handle(session, rpc()) or b""
    assert etree.fromstring(reply).get("message-id") == "101"
    err = one_error(reply)
    assert (err["error-type"], err["error-tag"]) == ("application", "operation-failed")
    assert err["error-message"] == "internal error: KeyError: 'graph'"
    handler.fail = None
    ok = etree.fromstring(dispatcher.handle(session, rpc(attrs='message-id="102"')) or b"")
    assert [etree.QName(c).localname for c in ok] == ["ok"]
    assert counters(session) == (2, 0, 1)
    assert CURRENT_SESSION.get() is None


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def test_full_disk_is_resource_denied_naming_the_file(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder, code: int
) -> None:
    handler.fail = OSError(code, "No space left on device", "/var/lib/nnfv/running.xml")
    err = one_error(dispatcher.handle(session, rpc()) or b"")
    assert (err["error-type"], err["error-tag"]) == ("application", "resource-denied")
    assert err["error-message"] == (
        "the agent's disk is full: cannot write /var/lib/nnfv/running.xml: No space left on device"
    )
    assert session.counters.out_rpc_errors == 1


def test_other_os_error_is_an_internal_operation_failure(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    handler.fail = OSError(errno.EIO, "Input/output error", "/x")
    err = one_error(dispatcher.handle(session, rpc()) or b"")
    assert err["error-tag"] == "operation-failed"
    assert err["error-message"].startswith("internal error: OSError:")


def test_exec_check_refusal_keeps_the_handler_from_running(
    dispatcher: Dispatcher[Session], session: Session, handler: Recorder
) -> None:
    asked: list[tuple[int, str, str]] = []

    def deny(s: Session, namespace: str, name: str) -> None:
        asked.append((s.id, namespace, name))
        raise AgentError("not allowed", kind=Kind.ACCESS_DENIED, scope=Scope.REQUEST)

    dispatcher.exec_check = deny
    err = one_error(dispatcher.handle(session, rpc()) or b"")
    assert (err["error-type"], err["error-tag"]) == ("protocol", "access-denied")
    assert asked == [(7, X, "poke")]
    assert handler.calls == []


def test_counters_are_per_session_and_statistics_are_for_all(
    dispatcher: Dispatcher[Session], handler: Recorder
) -> None:
    first, second = Session(id=1), Session(id=2)
    dispatcher.handle(first, rpc())
    dispatcher.handle(second, rpc())
    dispatcher.handle(second, b"junk")
    assert (counters(first), counters(second)) == ((1, 0, 0), (1, 1, 1))
    stats = dispatcher.stats
    assert (stats.in_rpcs, stats.in_bad_rpcs, stats.out_rpc_errors) == (2, 1, 1)
    assert handler.calls == [(1, "poke"), (2, "poke")]
