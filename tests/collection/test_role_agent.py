"""roles/agent installs nnfv-agent on a local target (connection: local) and it answers.

Everything goes below a temporary directory; the agent runs with dataplane "none" under
start-stop-daemon (there is no init system here), listening on 127.0.0.1 only.
"""

from __future__ import annotations

import json

import pytest
from collection_env import playbook
from ncclient import manager
from ncclient.operations.rpc import RPCError

from support.collection import free_port, install_target

GRAPH = (
    '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
    '<graphs xmlns="urn:nnfv:yang:nnfv-service-graph"><graph><name>g</name></graph></graphs>'
    "</config>"
)


@pytest.fixture
def target():
    with install_target("nnfv-role-", "run/nnfv-agent.pid") as base:
        yield base


def test_agent_role_installs_a_running_agent_and_a_second_run_changes_nothing(target):
    port = free_port()
    book = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": True,
            "vars": {
                "ansible_python_interpreter": "/usr/bin/python3",
                "agent_venv": str(target / "opt"),
                "agent_config_dir": str(target / "etc"),
                "agent_state_dir": str(target / "state"),
                "agent_run_dir": str(target / "run"),
                "agent_wheel_dir": str(target / "wheel"),
                "agent_listen": f"127.0.0.1:{port}",
                "agent_dataplane": "none",
                "agent_service_manager": "daemon",
                "agent_users": [
                    {"name": "admin", "password": "role-test"},
                    {"name": "inventory", "password": "role-test", "groups": ["monitor"]},
                    {"name": "rescue", "password": "role-test", "groups": [], "recovery": True},
                ],
            },
            "roles": ["nnfv.cpe.agent"],
        }
    ]
    path = target / "deploy.yml"
    path.write_text(json.dumps(book))
    rc, first, err = playbook(path, "localhost,", timeout=540)
    assert rc == 0, (first, err)
    assert first["stats"]["localhost"]["changed"] > 0
    rc, second, err = playbook(path, "localhost,", timeout=300)
    assert rc == 0, (second, err)
    assert second["stats"]["localhost"]["changed"] == 0, json.dumps(second)[-4000:]

    config = (target / "etc" / "agent.toml").read_text()
    assert 'name = "admin"' in config and "pbkdf2-sha256$200000$" in config
    assert oct((target / "etc" / "agent.toml").stat().st_mode & 0o777) == "0o600"
    with manager.connect(
        host="127.0.0.1",
        port=port,
        username="admin",
        password="role-test",
        hostkey_verify=False,
        look_for_keys=False,
        allow_agent=False,
    ) as m:
        assert any("nnfv-service-graph" in c for c in m.server_capabilities)
        assert "<graphs" not in m.get_config("running").data_xml
    assert 'groups = ["monitor"]' in config and config.count("recovery = true") == 1
    with manager.connect(
        host="127.0.0.1",
        port=port,
        username="inventory",
        password="role-test",
        hostkey_verify=False,
        look_for_keys=False,
        allow_agent=False,
    ) as m:  # in the monitor group: reads, and is refused a write
        assert m.get_config("running").ok
        with pytest.raises(RPCError) as denied:
            m.edit_config(target="running", config=GRAPH)
        assert denied.value.tag == "access-denied"


def test_agent_role_refuses_bad_variables_before_touching_the_host(tmp_path):
    book = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {
                "agent_venv": str(tmp_path / "opt"),
                "agent_service_manager": "runit",
                "agent_max_sessions": "many",
                "agent_users": [{"password": "no-name"}],
            },
            "roles": ["nnfv.cpe.agent"],
        }
    ]
    path = tmp_path / "deploy.yml"
    path.write_text(json.dumps(book))
    rc, result, _err = playbook(path, "localhost,", timeout=300)
    assert rc != 0
    task = result["plays"][0]["tasks"][0]
    assert "Validating arguments against arg spec" in task["task"]["name"]
    msg = task["hosts"]["localhost"]["msg"]
    assert "agent_service_manager" in msg and "runit" in msg
    assert "agent_max_sessions" in msg
    assert "name" in msg  # the user without a name
    assert not (tmp_path / "opt").exists()
