"""Shared fixtures: a real nnfv-agent process per test, reachable over SSH on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from support.agentproc import ROOT, AgentProcess, write_config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the collection root the collection tests made under /tmp (the symlink to this
    checkout and Ansible's local temporary files): it is made again on demand."""
    from collection_env import collections_base

    shutil.rmtree(collections_base(), ignore_errors=True)


@pytest.fixture(autouse=True)
def fast_ncclient(monkeypatch):
    """ncclient polls its send queue every TICK (0.1 s), which adds 100 ms to every RPC."""
    monkeypatch.setattr("ncclient.transport.session.TICK", 0.005)


@pytest.fixture(scope="session")
def client_key(tmp_path_factory) -> paramiko.ECDSAKey:
    key = paramiko.ECDSAKey.generate(bits=256)
    path = tmp_path_factory.mktemp("keys") / "id_ecdsa"
    key.write_private_key_file(str(path))
    key.path = str(path)  # type: ignore[attr-defined]
    return key


def _make_agent(tmp: Path, client_key: paramiko.ECDSAKey, **limits) -> AgentProcess:
    state = tmp / "state"
    state.mkdir()
    config = tmp / "agent.toml"
    write_config(
        config, state, pubkey=f"{client_key.get_name()} {client_key.get_base64()}", **limits
    )
    agent = AgentProcess(state, config, tmp / "agent.log")
    agent.start()
    return agent


@pytest.fixture
def agent(tmp_path, client_key) -> Iterator[AgentProcess]:
    """A fresh agent per test (start-up takes ~0.3 s)."""
    proc = _make_agent(tmp_path, client_key)
    try:
        yield proc
    finally:
        proc.stop()
        if os.environ.get("NNFV_KEEP_LOGS"):
            shutil.copy(proc.log, ROOT / f"agent-{tmp_path.name}.log")


@pytest.fixture
def agent_factory(tmp_path, client_key):
    """Build agents with other limits: agent_factory(max_sessions=2)."""
    made: list[AgentProcess] = []

    def make(**limits) -> AgentProcess:
        sub = tmp_path / f"agent{len(made)}"
        sub.mkdir()
        proc = _make_agent(sub, client_key, **limits)
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.stop()


@pytest.fixture
def raw(agent):
    """A raw-protocol client to the test's agent (base:1.1)."""
    from support.clients import RawClient

    client = RawClient(agent)
    try:
        yield client
    finally:
        client.close()
