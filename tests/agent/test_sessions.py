"""Session life cycle: hello, SSH authentication, session limit, close-session and kill-session."""

from __future__ import annotations

import logging
import socket
import time

import paramiko
import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError

from support.agentproc import PASSWORD, USER
from support.clients import RawClient, ncclient_connect
from support.hostile import wait_until

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
CAP = "urn:ietf:params:netconf:capability:"
GET_CONFIG = "<get-config><source><running/></source></get-config>"
SESSIONS_FILTER = (
    "subtree",
    f'<netconf-state xmlns="{NCM}"><sessions><session><session-id/></session></sessions>'
    "</netconf-state>",
)
# What a peer sees when the agent has dropped its channel or connection.
CLOSED = (EOFError, OSError, socket.timeout, paramiko.SSHException)


def _transport(agent) -> paramiko.Transport:
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    transport.start_client(timeout=10)
    return transport


def _open_netconf(transport: paramiko.Transport) -> paramiko.Channel:
    chan = transport.open_session(timeout=10)
    chan.settimeout(10)
    chan.invoke_subsystem("netconf")
    return chan


def _reply(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


def _error_tag(reply: etree._Element) -> str | None:
    return reply.findtext(f"{{{NC}}}rpc-error/{{{NC}}}error-tag")


def _session_ids(m) -> set[str]:
    data = m.get(filter=SESSIONS_FILTER).data_ele
    return {e.text for e in data.iter(f"{{{NCM}}}session-id")}


# ---- hello ----------------------------------------------------------------------------------


def test_server_hello_has_session_id_and_the_advertised_capabilities(agent):
    raw = RawClient(agent, hello=False)
    try:
        hello = _reply(raw.server_hello)
    finally:
        raw.close()
    assert hello.tag == f"{{{NC}}}hello"
    session_id = hello.findtext(f"{{{NC}}}session-id")
    assert session_id is not None and session_id.isdigit() and int(session_id) > 0
    caps = {c.text.strip() for c in hello.iter(f"{{{NC}}}capability")}
    for cap in (
        "urn:ietf:params:netconf:base:1.0",
        "urn:ietf:params:netconf:base:1.1",
        CAP + "candidate:1.0",
        CAP + "confirmed-commit:1.1",
        CAP + "validate:1.1",
        CAP + "startup:1.0",
        CAP + "xpath:1.0",
    ):
        assert cap in caps
    with_defaults = [c for c in caps if c.startswith(CAP + "with-defaults:1.0?")]
    assert with_defaults and "basic-mode=" in with_defaults[0]
    yang_library = [c for c in caps if c.startswith(CAP + "yang-library:1.")]
    assert yang_library
    assert "revision=" in yang_library[0]
    assert "content-id=" in yang_library[0] or "module-set-id=" in yang_library[0]


def test_each_session_gets_its_own_session_id(agent):
    with ncclient_connect(agent) as one, ncclient_connect(agent) as two:
        assert one.session_id != two.session_id
        assert {one.session_id, two.session_id} <= _session_ids(one)


def test_base10_only_client_is_answered_with_end_of_message_framing(agent):
    raw = RawClient(agent, base11=False)
    try:
        raw.send(f'<rpc xmlns="{NC}" message-id="7">{GET_CONFIG}</rpc>')
        # Read the raw bytes: an EOM-framed reply ends with ]]>]]> and has no chunk header.
        while b"]]>]]>" not in raw.buf:
            raw._fill()
        assert not raw.buf.startswith(b"\n#")
        reply = _reply(raw.recv())
    finally:
        raw.close()
    assert reply.tag == f"{{{NC}}}rpc-reply"
    assert reply.get("message-id") == "7"
    assert reply.find(f"{{{NC}}}data") is not None


def test_base10_whitespace_between_messages_is_not_part_of_the_next_message(agent):
    # Clients such as scrapli 2.x send a newline after each ]]>]]>, and start each message with
    # an XML declaration. The XML document is what follows that inter-message whitespace.
    raw = RawClient(agent, base11=False)
    try:
        raw.send_raw(b"\n")
        raw.send(
            f'<?xml version="1.0" encoding="UTF-8"?><rpc xmlns="{NC}" message-id="9">'
            f"{GET_CONFIG}</rpc>\n"
        )
        reply = _reply(raw.recv())
    finally:
        raw.close()
    assert _error_tag(reply) is None, etree.tostring(reply)
    assert reply.get("message-id") == "9"
    assert reply.find(f"{{{NC}}}data") is not None


def test_base11_client_is_answered_with_chunked_framing(agent):
    raw = RawClient(agent, base11=True)
    try:
        raw.send(f'<rpc xmlns="{NC}" message-id="8">{GET_CONFIG}</rpc>')
        while len(raw.buf) < 3:
            raw._fill()
        assert raw.buf.startswith(b"\n#")
        reply = _reply(raw.recv())
    finally:
        raw.close()
    assert reply.get("message-id") == "8"
    assert reply.find(f"{{{NC}}}data") is not None


# ---- authentication -------------------------------------------------------------------------


def test_password_login_opens_a_netconf_session(agent):
    transport = _transport(agent)
    try:
        transport.auth_password(USER, PASSWORD)
        assert transport.is_authenticated()
        assert transport.get_username() == USER
        chan = _open_netconf(transport)
        assert b"<hello" in chan.recv(65536)
    finally:
        transport.close()


def test_wrong_password_is_refused_and_logged(agent):
    transport = _transport(agent)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password(USER, PASSWORD + "-wrong")
        assert not transport.is_authenticated()
    finally:
        transport.close()
    assert wait_until(lambda: "failed password login" in agent.log.read_text())


def test_unknown_user_is_refused(agent):
    transport = _transport(agent)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password("nobody", PASSWORD)
        assert not transport.is_authenticated()
    finally:
        transport.close()


def test_public_key_login_with_an_authorized_key_works(agent, client_key):
    transport = _transport(agent)
    try:
        transport.auth_publickey(USER, client_key)
        assert transport.is_authenticated()
        chan = _open_netconf(transport)
        assert b"<hello" in chan.recv(65536)
    finally:
        transport.close()


def test_public_key_login_with_the_key_file_through_ncclient(agent, client_key):
    from ncclient import manager

    with manager.connect(
        host="127.0.0.1",
        port=agent.port,
        username=USER,
        key_filename=client_key.path,
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
        timeout=20,
    ) as m:
        assert m.session_id
        assert m.get_config(source="running").ok


def test_unknown_public_key_is_refused(agent):
    stranger = paramiko.ECDSAKey.generate(bits=256)
    transport = _transport(agent)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_publickey(USER, stranger)
        assert not transport.is_authenticated()
    finally:
        transport.close()


def test_anonymous_none_authentication_is_not_offered(agent):
    transport = _transport(agent)
    try:
        with pytest.raises(paramiko.BadAuthenticationType) as exc:
            transport.auth_none(USER)
        assert not transport.is_authenticated()
        assert "none" not in exc.value.allowed_types
        assert set(exc.value.allowed_types) <= {"publickey", "password"}
    finally:
        transport.close()


def test_unauthenticated_client_cannot_open_a_channel(agent):
    transport = _transport(agent)
    try:
        with pytest.raises(paramiko.SSHException):
            transport.open_session(timeout=5)
    finally:
        transport.close()


def test_other_subsystems_are_refused(agent):
    transport = _transport(agent)
    try:
        transport.auth_password(USER, PASSWORD)
        chan = transport.open_session(timeout=10)
        with pytest.raises(paramiko.SSHException):
            chan.invoke_subsystem("sftp")
    finally:
        transport.close()


# ---- session limit --------------------------------------------------------------------------


def test_session_limit_refuses_the_extra_session_and_frees_a_slot_on_close(agent_factory):
    agent = agent_factory(max_sessions=2)
    first = ncclient_connect(agent)
    second = ncclient_connect(agent)
    try:
        transport = _transport(agent)
        try:
            transport.auth_password(USER, PASSWORD)
            with pytest.raises(paramiko.SSHException):
                _open_netconf(transport)
        finally:
            transport.close()
        # The two sessions are unaffected.
        assert first.get_config(source="running").ok
        assert second.get_config(source="running").ok
        assert agent.alive

        first.close_session()

        def third_session():
            try:
                return ncclient_connect(agent)
            except Exception:  # noqa: BLE001 - refused until the agent has reaped the first
                return None

        third = wait_until(third_session, timeout=5, interval=0.2)
        assert third is not None, "a slot freed by close-session was not given to a new session"
        try:
            assert third.get_config(source="running").ok
            assert second.get_config(source="running").ok
        finally:
            third.close_session()
    finally:
        if first.connected:
            first.close_session()
        second.close_session()


# ---- close-session and kill-session ---------------------------------------------------------


def test_close_session_replies_ok_then_ends_the_session(agent):
    raw = RawClient(agent)
    with ncclient_connect(agent) as watcher:
        raw_id = _reply(raw.server_hello).findtext(f"{{{NC}}}session-id")
        assert raw_id in _session_ids(watcher)
        try:
            reply = _reply(raw.rpc("<close-session/>", "3"))
            assert reply.get("message-id") == "3"
            assert reply.find(f"{{{NC}}}ok") is not None
            with pytest.raises(CLOSED):
                raw.recv()
        finally:
            raw.close()
        assert wait_until(lambda: raw_id not in _session_ids(watcher))


def test_close_session_leaves_closing_the_connection_to_the_client(agent):
    # Were the agent to close first, the client's answer to its channel close would reach a
    # closed socket, and the kernel would reset the connection under the client.
    raw = RawClient(agent)
    try:
        assert _reply(raw.rpc("<close-session/>", "2")).find(f"{{{NC}}}ok") is not None
        with pytest.raises(CLOSED):
            raw.recv()  # the channel is closed
        time.sleep(0.5)  # the agent waits PEER_CLOSE_GRACE (3 s) for the client
        assert raw.transport.is_active()
    finally:
        raw.close()


def test_sessions_ended_by_close_session_leave_no_reset_connection_on_either_side(agent, caplog):
    caplog.set_level(logging.ERROR, logger="paramiko")
    for _ in range(10):
        with ncclient_connect(agent) as m:  # leaving the block sends close-session
            assert m.get_config(source="running").ok
        raw = RawClient(agent)
        try:
            assert _reply(raw.rpc("<close-session/>")).find(f"{{{NC}}}ok") is not None
        finally:
            raw.close()  # at once, with the agent's channel close perhaps unread
    assert [r.getMessage() for r in caplog.records if r.name.startswith("paramiko")] == []
    errors = [line for line in agent.log.read_text().splitlines() if " ERROR " in line]
    assert errors == []


def test_kill_session_ends_the_other_session(agent):
    victim = RawClient(agent)
    victim_id = _reply(victim.server_hello).findtext(f"{{{NC}}}session-id")
    try:
        with ncclient_connect(agent) as killer:
            assert killer.kill_session(victim_id).ok
            with pytest.raises(CLOSED):
                victim.rpc(GET_CONFIG, "2")
            assert victim_id not in _session_ids(killer)
    finally:
        victim.close()


def test_kill_session_of_itself_is_invalid_value(agent):
    with ncclient_connect(agent) as m:
        with pytest.raises(RPCError) as exc:
            m.kill_session(m.session_id)
        assert exc.value.tag == "invalid-value"
        assert m.get_config(source="running").ok  # still alive


def test_kill_session_of_an_unknown_id_is_invalid_value(agent):
    with ncclient_connect(agent) as m:
        with pytest.raises(RPCError) as exc:
            m.kill_session("4242")
        assert exc.value.tag == "invalid-value"


def test_abrupt_disconnect_releases_the_sessions_locks(agent):
    raw = RawClient(agent)
    for target in ("running", "candidate"):
        reply = _reply(raw.rpc(f"<lock><target><{target}/></target></lock>"))
        assert reply.find(f"{{{NC}}}ok") is not None
    with ncclient_connect(agent) as m:
        with pytest.raises(RPCError) as exc:
            m.lock("running")
        assert exc.value.tag == "lock-denied"
        raw_id = _reply(raw.server_hello).findtext(f"{{{NC}}}session-id")
        raw.transport.close()  # no close-session: the TCP connection just goes away

        def locked():
            try:
                m.lock("running")
            except RPCError:
                return False
            return True

        assert wait_until(locked), "the lock of a vanished session was never released"
        m.lock("candidate")
        assert raw_id not in _session_ids(m)


def test_second_netconf_channel_on_one_connection_is_refused_and_leaks_no_slot(agent_factory):
    """One NETCONF session per SSH connection: a second netconf subsystem request on the same
    connection is refused, the first session keeps working, and closing the connection gives
    its slot back."""
    agent = agent_factory(max_sessions=2)
    transport = _transport(agent)
    try:
        transport.auth_password(USER, PASSWORD)
        first = _open_netconf(transport)
        with pytest.raises(paramiko.SSHException):
            _open_netconf(transport)
        hello = b""
        while b"]]>]]>" not in hello:
            chunk = first.recv(4096)
            assert chunk, "the first session closed after the second channel was refused"
            hello += chunk
        assert b"<session-id>" in hello
    finally:
        transport.close()

    def two_sessions():
        opened = []
        try:
            opened.append(ncclient_connect(agent))
            opened.append(ncclient_connect(agent))
            return True
        except Exception:  # noqa: BLE001 - refused while a slot is still taken
            return False
        finally:
            for m in opened:
                m.close_session()

    assert wait_until(two_sessions, timeout=6, interval=0.3), (
        "after the connection closed, max_sessions=2 no longer admits two sessions"
    )
