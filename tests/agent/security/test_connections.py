"""SSH connections and sessions a hostile client may hold: caps, grace times, clean refusals."""

from __future__ import annotations

import socket
from pathlib import Path

import paramiko
import pytest

from support.agentproc import PASSWORD, USER
from support.clients import RawClient
from support.hostile import log_has, wait_until
from support.replies import data_of

GET_CONFIG = "<get-config><source><running/></source></get-config>"
# What a peer sees when the agent has dropped its channel or connection.
CLOSED = (EOFError, OSError, socket.timeout, paramiko.SSHException)


def _threads(pid: int) -> int:
    return int(
        next(
            line.split()[1]
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("Threads:")
        )
    )


def _idle_threads(agent) -> int:
    """The agent's threads once the sessions of earlier steps have wound down."""
    wait_until(lambda: _threads(agent.proc.pid) <= 1, timeout=5)
    return _threads(agent.proc.pid)


def _works(agent) -> None:
    raw = RawClient(agent)
    try:
        data_of(raw.rpc(GET_CONFIG))
    finally:
        raw.close()


def _authenticated(agent) -> paramiko.Transport:
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    transport.connect(username=USER, password=PASSWORD)
    return transport


def test_connections_beyond_max_startups_are_refused_and_threads_stay_bounded(agent_factory):
    agent = agent_factory(max_startups=3, max_startups_per_source=3)
    _works(agent)
    baseline = _idle_threads(agent)
    idle = []
    try:
        for _ in range(30):  # TCP connections that never speak SSH
            idle.append(socket.create_connection(("127.0.0.1", agent.port), timeout=10))
        assert log_has(agent.log, "too many connections without a session")
        # Three connections with one thread each, whatever the number of connections
        # (one more allowed for a thread that is just ending).
        assert _threads(agent.proc.pid) <= baseline + 3 + 1
        assert agent.alive
    finally:
        for sock in idle:
            sock.close()
    wait_until(lambda: _threads(agent.proc.pid) <= baseline)
    _works(agent)


def test_one_source_cannot_take_more_than_max_startups_per_source(agent_factory):
    agent = agent_factory(max_startups=10, max_startups_per_source=2)
    _works(agent)
    baseline = _idle_threads(agent)
    idle = []
    try:
        for _ in range(6):
            idle.append(socket.create_connection(("127.0.0.1", agent.port), timeout=10))
        assert log_has(agent.log, "max_startups_per_source 2")
        assert _threads(agent.proc.pid) <= baseline + 2 + 1
    finally:
        for sock in idle:
            sock.close()
    wait_until(lambda: _threads(agent.proc.pid) <= baseline)
    _works(agent)


def test_connection_that_never_logs_in_is_closed_after_login_grace_time(agent_factory):
    agent = agent_factory(login_grace_time=1)
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    try:
        transport.start_client(timeout=10)  # key exchange done, no authentication
        assert wait_until(lambda: not transport.is_active(), timeout=15)
    finally:
        transport.close()
    assert log_has(agent.log, "no NETCONF session within 1 s (login_grace_time)")
    _works(agent)


def test_session_that_never_sends_hello_is_closed_after_hello_timeout(agent_factory):
    agent = agent_factory(hello_timeout=1)
    raw = RawClient(agent, hello=False)
    try:
        raw.chan.settimeout(15)
        with pytest.raises(CLOSED):
            raw.recv()
    finally:
        raw.close()
    assert log_has(agent.log, "no <hello> from 127.0.0.1 within 1 s")
    _works(agent)


def test_session_beyond_max_sessions_is_refused_at_channel_open_with_resource_shortage(
    agent_factory,
):
    agent = agent_factory(max_sessions=2)
    first, second = RawClient(agent), RawClient(agent)
    extra = _authenticated(agent)
    try:
        with pytest.raises(paramiko.ChannelException) as refused:
            extra.open_session(timeout=10)
        assert refused.value.code == paramiko.OPEN_FAILED_RESOURCE_SHORTAGE
        assert log_has(agent.log, "session limit 2 reached")
        data_of(first.rpc(GET_CONFIG))
    finally:
        extra.close()
        first.close()
        second.close()
    _works(agent)


def test_default_agent_serves_twenty_sessions_at_once(agent_factory):
    agent = agent_factory(max_sessions=None)  # the agent's own default
    clients = []
    try:
        for _ in range(20):
            clients.append(RawClient(agent))
        for client in clients:
            data_of(client.rpc(GET_CONFIG))
    finally:
        for client in clients:
            client.close()


def test_netconf_subsystem_on_the_second_channel_gets_the_hello(agent):
    transport = _authenticated(agent)
    try:
        spare = transport.open_session(timeout=10)
        netconf = transport.open_session(timeout=10)
        netconf.settimeout(10)
        netconf.invoke_subsystem("netconf")
        received = b""
        while b"]]>]]>" not in received:
            chunk = netconf.recv(65536)
            assert chunk, "the agent closed the netconf channel without a hello"
            received += chunk
        assert b"<hello" in received
        spare.settimeout(0.2)
        with pytest.raises(socket.timeout):
            spare.recv(1)
    finally:
        transport.close()


def test_connections_left_open_after_close_session_are_kept_at_most_max_startups_and_briefly(
    agent_factory,
):
    agent = agent_factory(max_startups=2, max_startups_per_source=2)
    clients = []
    try:
        for _ in range(4):  # each ends its session, then keeps its connection open
            raw = RawClient(agent)
            clients.append(raw)
            assert "<ok/>" in raw.rpc("<close-session/>")
        # The agent leaves the first two connections to their clients for a while (see
        # test_sessions.py); the two beyond max_startups it closes at once.
        assert wait_until(lambda: not any(c.transport.is_active() for c in clients[2:]))
        assert all(c.transport.is_active() for c in clients[:2])
        # After the grace it closes those too.
        assert wait_until(lambda: not any(c.transport.is_active() for c in clients))
        _works(agent)
    finally:
        for raw in clients:
            raw.close()
