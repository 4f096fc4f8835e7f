"""scripts/callhome_broker.py: a dial-out client (ncclient, Ansible) reaches a CPE that calls home.

A real agent calls a real broker; the client goes through the broker's `connect` ProxyCommand,
the way ansible.netcommon's netconf connection uses `ansible_netconf_proxy_command`.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from collection_env import playbook
from ncclient import manager

from support.agentproc import PASSWORD, ROOT, USER, AgentProcess, example_config, write_config

BROKER = ROOT / "scripts" / "callhome_broker.py"
PATIENCE = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_text(path: Path, text: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while text not in (path.read_text() if path.exists() else ""):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {text!r} in {path}")
        time.sleep(0.02)


@pytest.fixture
def broker_and_agent(tmp_path: Path) -> Iterator[tuple[Path, AgentProcess]]:
    """A broker on a free port, and an agent that calls it (persistent strategy)."""
    port = _free_port()
    control = tmp_path / "broker.sock"
    log = tmp_path / "broker.log"
    with open(log, "wb") as out:
        broker = subprocess.Popen(
            [sys.executable, str(BROKER), "serve", "--listen", f"127.0.0.1:{port}",
             "--control", str(control)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "agent.toml"
    write_config(config, state)
    config.write_text(
        config.read_text()
        + f'[[call_home]]\nname = "broker"\naddress = "127.0.0.1"\nport = {port}\n'
        "retry_interval = 0.05\nmax_retry_interval = 0.2\n"
    )
    agent = AgentProcess(state, config, tmp_path / "agent.log")
    try:
        _wait_for_text(log, "listening on port")
        agent.start()
        _wait_for_text(log, "holding the call from 127.0.0.1")
        yield control, agent
    finally:
        agent.stop()
        broker.terminate()
        broker.wait(timeout=10)


def _proxy_command(control: Path) -> str:
    return (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(BROKER))} connect %h --control {control}"
    )


def test_ncclient_reaches_a_calling_cpe_through_the_broker_proxy_command(broker_and_agent):
    control, agent = broker_and_agent
    host_key = paramiko.ECDSAKey.from_private_key_file(str(agent.state_dir / "ssh_host_ecdsa_key"))
    proxy = paramiko.ProxyCommand(_proxy_command(control).replace("%h", "127.0.0.1"))
    with manager.connect(
        host="127.0.0.1",
        sock=proxy,
        username=USER,
        password=PASSWORD,
        hostkey_verify=True,  # the CPE proves who it is, whoever handed the call over
        hostkey_b64=host_key.get_base64(),
        allow_agent=False,
        look_for_keys=False,
        timeout=PATIENCE,
    ) as m:
        m.edit_config(target="candidate", config=example_config("graph-firewall-nat.xml"))
        m.commit()
        assert "<name>fw-nat</name>" in m.get_config(source="running").data_xml
    assert "attempt" in agent.log.read_text() and "connected to 127.0.0.1" in agent.log.read_text()


def test_ansible_netconf_connection_reaches_a_calling_cpe_through_the_broker(
    broker_and_agent, tmp_path
):
    control, _agent = broker_and_agent
    inventory = tmp_path / "inventory.json"
    inventory.write_text(
        json.dumps(
            {
                "cpes": {
                    "hosts": {
                        "home-cpe-1": {
                            "ansible_host": "127.0.0.1",  # the address the CPE calls from
                            "ansible_connection": "ansible.netcommon.netconf",
                            "ansible_network_os": "nnfv.cpe.cpe",
                            "ansible_user": USER,
                            "ansible_password": PASSWORD,
                            "ansible_netconf_proxy_command": _proxy_command(control),
                        }
                    }
                }
            }
        )
    )
    play = tmp_path / "play.json"
    play.write_text(
        json.dumps(
            [
                {
                    "hosts": "cpes",
                    "gather_facts": False,
                    "tasks": [
                        {"name": "facts", "nnfv.cpe.cpe_facts": {"gather_subset": ["all"]}},
                        {
                            "name": "read running",
                            "ansible.netcommon.netconf_get": {
                                "source": "running",
                                "display": "xml",
                            },
                        },
                    ],
                }
            ]
        )
    )
    rc, raw, err = playbook(play, inventory)
    assert rc == 0, f"{raw}\n{err}"
    assert isinstance(raw, dict)
    facts, running = (t["hosts"]["home-cpe-1"] for t in raw["plays"][0]["tasks"])
    assert "agent" in facts["ansible_facts"]["nnfv"]
    assert "<data" in running["stdout"]
