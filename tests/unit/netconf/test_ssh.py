"""The SSH server's rules that need no network: login throttle, equal cost, log levels."""

from __future__ import annotations

import errno
import logging
import socket

import paramiko

from nnfv_agent.config import AgentConfig, User, hash_password
from nnfv_agent.netconf import ssh
from nnfv_agent.netconf.ssh import FAILURE_MEMORY, LoginThrottle


def test_failed_login_delay_doubles_per_failure_from_one_source_up_to_the_maximum():
    throttle = LoginThrottle(0.5, 4.0)
    delays = [throttle.failed("192.0.2.1", now=10.0 + i) for i in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_failed_login_delay_is_kept_per_source():
    throttle = LoginThrottle(0.5, 4.0)
    for i in range(3):
        throttle.failed("192.0.2.1", now=float(i))
    assert throttle.failed("192.0.2.2", now=3.0) == 0.5


def test_failed_login_delay_is_forgotten_after_a_success_or_a_quiet_while():
    throttle = LoginThrottle(0.5, 4.0)
    throttle.failed("192.0.2.1", now=0.0)
    throttle.failed("192.0.2.1", now=1.0)
    throttle.succeeded("192.0.2.1")
    assert throttle.failed("192.0.2.1", now=2.0) == 0.5
    assert throttle.failed("192.0.2.1", now=3.0 + FAILURE_MEMORY) == 0.5


def test_failed_login_sources_are_bounded_in_number():
    throttle = LoginThrottle(0.5, 4.0)
    for i in range(ssh.MAX_TRACKED_SOURCES + 50):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", now=1.0)
    assert len(throttle._failures) == ssh.MAX_TRACKED_SOURCES


class _Server:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.dummy_hash = hash_password("x", iterations=ssh._iterations(config))


def _auth(config: AgentConfig) -> ssh._Auth:
    conn = ssh._Connection("192.0.2.1", transport=None)  # type: ignore[arg-type]
    return ssh._Auth(_Server(config), conn)  # type: ignore[arg-type]


def test_unknown_user_and_known_user_cost_one_hash_of_the_same_iterations(monkeypatch):
    config = AgentConfig(
        users=[User("admin", hash_password("secret", iterations=1234)), User("keys-only")]
    )
    auth = _auth(config)
    calls = []
    real = ssh.verify_password

    def counting(password: str, stored: str) -> bool:
        calls.append(stored.split("$")[1])
        return real(password, stored)

    monkeypatch.setattr(ssh, "verify_password", counting)
    assert auth.check_auth_password("admin", "wrong") == paramiko.AUTH_FAILED
    assert auth.check_auth_password("nobody", "wrong") == paramiko.AUTH_FAILED
    assert auth.check_auth_password("keys-only", "wrong") == paramiko.AUTH_FAILED
    assert auth.check_auth_password("admin", "secret") == paramiko.AUTH_SUCCESSFUL
    assert calls == ["1234", "1234", "1234", "1234"]


def test_the_dummy_hash_never_lets_anyone_in():
    config = AgentConfig(users=[User("keys-only")])
    auth = _auth(config)
    assert auth.check_auth_password("keys-only", "x") == paramiko.AUTH_FAILED
    assert auth.check_auth_password("nobody", "x") == paramiko.AUTH_FAILED


def _logged_by_transport(caplog, message: str) -> list[int]:
    left, right = socket.socketpair()
    try:
        transport = ssh._Transport(left)
        with caplog.at_level(logging.DEBUG, logger="paramiko.transport"):
            caplog.clear()
            transport._log(logging.ERROR, message)
        return [r.levelno for r in caplog.records if r.getMessage() == message]
    finally:
        left.close()
        right.close()


def test_a_connection_reset_by_the_peer_is_logged_at_debug_not_as_an_error(caplog):
    message = f"Socket exception: Connection reset by peer ({errno.ECONNRESET})"
    assert _logged_by_transport(caplog, message) == [logging.DEBUG]


def test_other_socket_errors_stay_errors(caplog):
    message = f"Socket exception: No route to host ({errno.EHOSTUNREACH})"
    assert _logged_by_transport(caplog, message) == [logging.ERROR]
