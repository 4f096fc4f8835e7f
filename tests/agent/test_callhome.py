"""NETCONF Call Home (RFC 8071): a real agent calls a real ncclient `manager.call_home` listener.

The agent is the TCP client and the SSH server; the test is the TCP listener and the NETCONF
client. Backoff is checked through the agent's one log line per attempt (attempt numbers and
the wait that follows), never through durations.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest
from ncclient import manager

from support.agentproc import PASSWORD, USER, AgentProcess, example_config, write_config
from support.clients import ncclient_connect

ATTEMPT = re.compile(
    r"call home (?P<name>\S+) \(.*?\): attempt (?P<n>\d+) (?P<outcome>.*?); "
    r"next attempt in (?P<delay>[0-9.]+) s"
)
# Waiting for the agent is bounded so that a broken agent fails the test instead of hanging it;
# no assertion is made on how long anything took.
PATIENCE = 60.0


class _ListenerSockets:
    """`socket` for ncclient.manager, whose `call_home` makes its listening socket with it.

    Two gaps of `call_home` are closed here: it listens without SO_REUSEADDR, so it cannot
    listen again on its port while an earlier call-home connection it closed first is in
    TIME_WAIT (60 s on Linux); and it never closes its listening socket, so a failed call keeps
    the port bound for as long as its traceback lives. `_call_home` closes what was made.
    """

    def __init__(self) -> None:
        self.made: list[socket.socket] = []

    def __getattr__(self, name: str) -> object:
        return getattr(socket, name)

    def socket(self, *args: object, **kwargs: object) -> socket.socket:
        sock = socket.socket(*args, **kwargs)  # type: ignore[arg-type]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.made.append(sock)
        return sock

    def close_all(self) -> None:
        while self.made:
            self.made.pop().close()


_LISTENERS = _ListenerSockets()


@pytest.fixture(autouse=True)
def closed_call_home_listeners(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manager, "socket", _LISTENERS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call_home_toml(name: str, port: int, **options: float | str) -> str:
    lines = [f'name = "{name}"', 'address = "127.0.0.1"', f"port = {port}"]
    for key, value in options.items():
        lines.append(f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}")
    return "[[call_home]]\n" + "\n".join(lines) + "\n"


@pytest.fixture
def call_home_agent(tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    """call_home_agent(port, max_sessions=, login_grace_time=, **call_home_options) -> agent."""
    made: list[AgentProcess] = []

    def make(
        port: int,
        *,
        max_sessions: int = 8,
        login_grace_time: float = 30,
        **options: float | str,
    ) -> AgentProcess:
        sub = tmp_path / f"agent{len(made)}"
        state = sub / "state"
        state.mkdir(parents=True)
        config = sub / "agent.toml"
        write_config(config, state, max_sessions=max_sessions, login_grace_time=login_grace_time)
        if options.get("strategy", "persistent") == "persistent":
            options = {"retry_interval": 0.05, "max_retry_interval": 0.2, "jitter": 0, **options}
        config.write_text(config.read_text() + _call_home_toml("oss", port, **options))
        proc = AgentProcess(state, config, sub / "agent.log")
        proc.start()
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.stop()


def _attempts(agent: AgentProcess) -> list[re.Match[str]]:
    return list(ATTEMPT.finditer(agent.log.read_text()))


def _wait_for(what: str, predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _call_home(port: int, **kw: object) -> manager.Manager:
    """The management system's side: listen on 127.0.0.1:port, accept one call, log in."""
    options: dict[str, object] = {
        "username": USER,
        "password": PASSWORD,
        "hostkey_verify": False,
        "allow_agent": False,
        "look_for_keys": False,
        "timeout": PATIENCE,
    }
    options.update(kw)
    try:
        return manager.call_home(host="127.0.0.1", port=port, **options)
    finally:
        _LISTENERS.close_all()  # the listener; an accepted call keeps its own socket


def _abort(m: manager.Manager) -> None:
    """The management system crashes: its TCP connection is reset (RST, no TIME_WAIT)."""
    sock = m._session._transport.sock
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _host_key_b64(agent: AgentProcess) -> str:
    return paramiko.ECDSAKey.from_private_key_file(
        str(agent.state_dir / "ssh_host_ecdsa_key")
    ).get_base64()


def _counts(pid: int) -> tuple[int, int]:
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))


class _AcceptAndClose:
    """A listener that takes every call and hangs up at once (a broken management system)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.accepted = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


# ---- a session over call home --------------------------------------------------------------


def test_call_home_session_serves_get_config_edit_config_and_commit(call_home_agent):
    port = _free_port()
    agent = call_home_agent(port)
    # The management system checks it reached the right CPE: the agent's own host key.
    with _call_home(port, hostkey_verify=True, hostkey_b64=_host_key_b64(agent)) as m:
        m.edit_config(target="candidate", config=example_config("graph-firewall-nat.xml"))
        m.commit()
        running = m.get_config(source="running").data_xml
    assert "<name>fw-nat</name>" in running
    with ncclient_connect(agent) as dial_in:  # the change is the agent's, seen by dial-in too
        assert "<name>fw-nat</name>" in dial_in.get_config(source="running").data_xml
    assert re.search(
        r"call home oss \(127\.0\.0\.1:\d+\): attempt \d+ connected", agent.log.read_text()
    )


def test_call_home_login_uses_the_dial_in_users_and_refuses_a_wrong_password(call_home_agent):
    port = _free_port()
    agent = call_home_agent(port)
    with pytest.raises(Exception, match=r"(?i)auth"):  # ncclient's AuthenticationError
        _call_home(port, password="not-the-password")
    _wait_for(
        "the failed call's log line",
        lambda: any("before a NETCONF session" in a["outcome"] for a in _attempts(agent)),
    )
    assert "failed password login for user 'admin'" in agent.log.read_text()
    with _call_home(port) as m:  # and it calls again
        assert m.get_config(source="running").ok


def test_agent_calls_again_after_the_listener_restarts(call_home_agent):
    port = _free_port()
    agent = call_home_agent(port)
    first = _call_home(port)
    first_session = first.session_id
    assert first.get_config(source="running").ok
    _abort(first)  # the management system goes away without a goodbye
    _wait_for(
        "the end of the first call",
        lambda: any("ended its session" in a["outcome"] for a in _attempts(agent)),
    )
    with _call_home(port) as second:  # the management system is back: the agent calls it
        assert second.get_config(source="running").ok
        assert int(second.session_id) > int(first_session)
    connected = re.findall(r"attempt (\d+) connected", agent.log.read_text())
    assert len(connected) >= 2 and int(connected[-1]) > int(connected[0])


def test_agent_calls_again_after_the_management_system_closes_the_session(call_home_agent):
    port = _free_port()
    agent = call_home_agent(port)
    with _call_home(port) as m:
        assert m.get_config(source="running").ok
    with _call_home(port) as m:
        assert m.get_config(source="running").ok
    assert len(re.findall(r"attempt \d+ connected", agent.log.read_text())) >= 2


# ---- nobody listening ----------------------------------------------------------------------


def test_calls_while_nobody_listens_wait_longer_each_time_up_to_the_maximum(call_home_agent):
    port = _free_port()  # nothing listens there
    agent = call_home_agent(port, retry_interval=0.01, max_retry_interval=0.08, backoff=2)
    _wait_for("eight refused calls", lambda: len(_attempts(agent)) >= 8)
    attempts = _attempts(agent)[:8]
    assert [int(a["n"]) for a in attempts] == list(range(1, 9))  # one line per attempt
    assert all("Connection refused" in a["outcome"] for a in attempts)
    delays = [float(a["delay"]) for a in attempts]
    assert delays == [0.01, 0.02, 0.04, 0.08, 0.08, 0.08, 0.08, 0.08]


def test_calls_answered_and_hung_up_back_off_and_are_each_logged(call_home_agent):
    port = _free_port()
    listener = _AcceptAndClose(port)
    try:
        agent = call_home_agent(port, retry_interval=0.01, max_retry_interval=0.16, backoff=2)
        _wait_for("six hung-up calls", lambda: len(_attempts(agent)) >= 6)
        accepted = listener.accepted
    finally:
        listener.close()
    attempts = _attempts(agent)
    # Every connection the listener took is one attempt of the agent, logged as failed.
    assert accepted in (len(attempts), len(attempts) + 1)  # +1: the attempt under way
    assert all("before a NETCONF session" in a["outcome"] for a in attempts[:6])
    delays = [float(a["delay"]) for a in attempts[:6]]
    assert delays == [0.01, 0.02, 0.04, 0.08, 0.16, 0.16]


def test_calls_held_unused_until_login_grace_time_do_not_back_off(call_home_agent):
    """A management system that keeps the call without starting SSH (a broker holding calls
    for a client) is there: the agent calls again after the first wait, not a growing one."""
    port = _free_port()
    held: list[socket.socket] = []
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(16)
        agent = call_home_agent(
            port, login_grace_time=0.1, retry_interval=0.01, max_retry_interval=1
        )
        listener.settimeout(PATIENCE)
        while len(held) < 4:
            held.append(listener.accept()[0])  # take the call, say nothing
        _wait_for("three held calls", lambda: len(_attempts(agent)) >= 3)
    for sock in held:
        sock.close()
    attempts = _attempts(agent)[:3]
    assert all("held without a NETCONF session" in a["outcome"] for a in attempts)
    assert [float(a["delay"]) for a in attempts] == [0.01, 0.01, 0.01]
    assert "no NETCONF session within 0.1 s (login_grace_time)" in agent.log.read_text()


def test_many_failed_calls_leave_no_growing_fds_or_threads(call_home_agent):
    port = _free_port()
    listener = _AcceptAndClose(port)  # each call gets as far as the SSH handshake
    try:
        agent = call_home_agent(port, retry_interval=0.005, max_retry_interval=0.01)
        assert agent.proc is not None
        pid = agent.proc.pid

        def lowest_counts(first: int, last: int) -> tuple[int, int]:
            """The fewest fds and threads seen while attempts first..last were made."""
            fds, tasks = [], []
            _wait_for(f"attempt {first}", lambda: len(_attempts(agent)) >= first)
            while len(_attempts(agent)) < last:
                f, t = _counts(pid)
                fds.append(f)
                tasks.append(t)
            return min(fds), min(tasks)

        early = lowest_counts(10, 30)
        late = lowest_counts(150, 170)
    finally:
        listener.close()
    assert listener.accepted >= 150
    assert late[0] <= early[0], f"fds grew from {early[0]} to {late[0]}"
    assert late[1] <= early[1], f"threads grew from {early[1]} to {late[1]}"


# ---- limits and lifecycle ------------------------------------------------------------------


def test_call_home_session_counts_against_max_sessions(call_home_agent):
    port = _free_port()
    agent = call_home_agent(port, max_sessions=1)
    dial_in = ncclient_connect(agent)
    try:
        with pytest.raises(paramiko.ChannelException, match="Resource shortage"):
            _call_home(port)  # the one session slot is taken: the channel is refused
        assert "session limit 1 reached" in agent.log.read_text()
    finally:
        dial_in.close_session()
    with _call_home(port) as m:  # the slot is free again, and the agent still calls
        assert m.get_config(source="running").ok


def test_periodic_call_home_session_idle_past_idle_timeout_is_closed_and_called_again(
    call_home_agent,
):
    port = _free_port()
    agent = call_home_agent(
        port,
        strategy="periodic",
        period=0.2,
        idle_timeout=0.3,
    )
    m = _call_home(port)
    try:
        assert m.get_config(source="running").ok
        _wait_for("the idle session to be closed", lambda: not m.connected)
    finally:
        if m.connected:
            m.close_session()
    assert "(idle_timeout), closing" in agent.log.read_text()
    with _call_home(port) as again:  # the next period's call
        assert again.get_config(source="running").ok


def test_periodic_call_home_session_with_a_subscription_is_not_closed_when_idle(call_home_agent):
    port = _free_port()
    agent = call_home_agent(port, strategy="periodic", period=0.2, idle_timeout=0.1)
    with _call_home(port) as m:
        m.create_subscription()
        with ncclient_connect(agent) as other:  # the subscriber still hears what happens
            other.edit_config(target="candidate", config=example_config("graph-firewall-nat.xml"))
            other.commit()
        notification = m.take_notification(timeout=PATIENCE)
        while (
            notification is not None
            and "netconf-config-change" not in notification.notification_xml
        ):
            notification = m.take_notification(timeout=PATIENCE)
        assert notification is not None
        assert m.connected
    assert "(idle_timeout), closing" not in agent.log.read_text()


def test_agent_stops_cleanly_with_a_call_home_session_and_while_calling(call_home_agent):
    port = _free_port()
    agent = call_home_agent(port)
    m = _call_home(port)
    assert m.get_config(source="running").ok
    assert agent.proc is not None
    proc = agent.proc
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=PATIENCE) == 0
    _wait_for("the management system to see the session end", lambda: not m.connected)
    assert f"call home oss (127.0.0.1:{port}): stopped after" in agent.log.read_text()
