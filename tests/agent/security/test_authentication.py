"""Logins as the log tells them: once, with the source, after every check."""

from __future__ import annotations

import paramiko
import pytest

from support.agentproc import PASSWORD, USER
from support.hostile import log_has


class _ForgedKey(paramiko.ECDSAKey):
    """Offers someone else's public key, but signs with its own private key."""

    def __init__(self, offered: paramiko.PKey) -> None:
        own = paramiko.ECDSAKey.generate(bits=256)
        super().__init__(vals=(own.signing_key, own.verifying_key))
        self._offered = offered

    def asbytes(self) -> bytes:
        return self._offered.asbytes()

    def get_base64(self) -> str:
        return self._offered.get_base64()


def test_public_key_with_a_forged_signature_is_refused_and_logged_as_a_failure(agent, client_key):
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    try:
        transport.start_client(timeout=10)
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_publickey(USER, _ForgedKey(client_key))
        assert not transport.is_authenticated()
    finally:
        transport.close()
    assert log_has(agent.log, "failed public-key login for user 'admin' from 127.0.0.1")
    assert "logged in" not in agent.log.read_text()


def test_public_key_login_is_logged_once_after_the_signature_check(agent, client_key):
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    try:
        transport.start_client(timeout=10)
        transport.auth_publickey(USER, client_key)
        assert transport.is_authenticated()
    finally:
        transport.close()
    assert log_has(agent.log, "user admin logged in from 127.0.0.1 (public key")
    assert agent.log.read_text().count("logged in") == 1


def test_wrong_password_is_logged_once_with_its_source(agent):
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    try:
        transport.start_client(timeout=10)
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password(USER, PASSWORD + "-wrong")
    finally:
        transport.close()
    assert log_has(agent.log, "failed password login for user 'admin' from 127.0.0.1")
    log = agent.log.read_text()
    assert log.count("failed password login") == 1
    assert "logged in" not in log


def test_unknown_user_is_refused_like_a_wrong_password(agent):
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    try:
        transport.start_client(timeout=10)
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password("nobody", PASSWORD)
    finally:
        transport.close()
    assert log_has(agent.log, "failed password login for user 'nobody' from 127.0.0.1")
