"""The collection as operators get it: built into a tarball, installed with ansible-galaxy into
a fresh path, then `nnfv.cpe.deploy_agent` installs the agent on a local target and the same
inventory entry manages that agent over NETCONF.

Nothing of this checkout is on the controller's collection path: ANSIBLE_COLLECTIONS_PATH is
the fresh install and the `ansible` package's site-packages (ansible.netcommon). The target
is this machine through the `local` connection (the play's SSH settings are inventory
variables: nnfv_ssh_connection), with everything below a temporary directory, the agent
under start-stop-daemon with dataplane "none", on 127.0.0.1 only, logging in with a key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import build_collection
import pytest
import yaml

import simfleet
from support.collection import BRIDGE_TEMPLATE, free_port, install_target

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir():
    with install_target("nnfv-galaxy-", "target/run/nnfv-agent.pid") as base:
        yield base


def install(tarball: Path, dest: Path) -> dict[str, str]:
    """ansible-galaxy collection install into `dest`; the environment that uses only it."""
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": f"{dest}{os.pathsep}{sysconfig.get_paths()['purelib']}",
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_HOST_KEY_CHECKING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCAL_TEMP": str(dest.parent / "ansible-tmp"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    subprocess.run(
        # --no-deps: ansible.netcommon comes with the `ansible` package
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            str(tarball),
            "-p",
            str(dest),
            "--no-deps",
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=dest.parent,
        timeout=300,
    )
    assert (dest / "ansible_collections/nnfv/cpe/MANIFEST.json").exists()
    return env


def playbook(env: dict[str, str], cwd: Path, inventory: Path, book: str) -> tuple[int, dict]:
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), book],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )
    try:
        return proc.returncode, json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        return proc.returncode, {"stdout": proc.stdout[-4000:], "stderr": proc.stderr[-4000:]}


def task(result: dict, name: str) -> dict:
    for play in result["plays"]:
        for t in play["tasks"]:
            if t["task"]["name"].split(" : ")[-1] == name:
                return t["hosts"]["cpe-local"]
    raise KeyError(name)


def inventory(base: Path, port: int, key_file: Path, public_key: str) -> Path:
    target = base / "target"
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": port,
        # NETCONF, as playbooks/inventory/group_vars/cpes/netconf.yml has it
        "ansible_connection": "ansible.netcommon.netconf",
        "ansible_network_os": "nnfv.cpe.cpe",
        "ansible_facts_modules": ["nnfv.cpe.cpe_facts"],
        "ansible_user": "admin",
        "ansible_private_key_file": str(key_file),
        "ansible_netconf_host_key_checking": False,
        # how deploy_agent.yml reaches the same host: here the local connection
        "nnfv_ssh_connection": "local",
        "nnfv_ssh_become": False,
        "nnfv_ssh_python": "/usr/bin/python3",
        # the agent role
        "agent_venv": str(target / "opt"),
        "agent_config_dir": str(target / "etc"),
        "agent_state_dir": str(target / "state"),
        "agent_run_dir": str(target / "run"),
        "agent_listen": f"127.0.0.1:{port}",
        "agent_dataplane": "none",
        "agent_service_manager": "daemon",
        "agent_users": [{"name": "admin", "authorized_keys": [public_key]}],
    }
    path = base / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"cpes": {"hosts": {"cpe-local": host}}}}}))
    return path


def test_tarball_install_deploys_the_agent_then_the_same_entry_manages_it(workdir):
    tarball = build_collection.build(workdir / "dist")
    env = install(tarball, workdir / "collections")
    key_file, public_key = simfleet.fleet_key(workdir)
    inv = inventory(workdir, free_port(), key_file, public_key)

    rc, deployed = playbook(env, workdir, inv, "nnfv.cpe.deploy_agent")
    assert rc == 0, json.dumps(deployed)[-6000:]
    origin = task(
        deployed,
        "Choose what to install (package index, checkout of nnfv, or wheel in the collection)",
    )
    assert origin["ansible_facts"]["agent_origin"] == "bundled"

    manage = [
        {
            "hosts": "cpes",
            "gather_facts": True,
            "tasks": [
                {
                    "name": "resources",
                    "nnfv.cpe.cpe_facts": {
                        "gather_subset": ["min"],
                        "gather_network_resources": ["all"],
                    },
                },
                {"name": "template", "nnfv.cpe.nf_template": {"config": [BRIDGE_TEMPLATE]}},
                {"name": "again", "nnfv.cpe.nf_template": {"config": [BRIDGE_TEMPLATE]}},
                {"name": "gone", "nnfv.cpe.nf_template": {"state": "deleted"}},
            ],
        }
    ]
    (workdir / "manage.yml").write_text(json.dumps(manage))
    rc, managed = playbook(env, workdir, inv, "manage.yml")
    assert rc == 0, json.dumps(managed)[-6000:]
    facts = task(managed, "Gathering Facts")["ansible_facts"]
    assert facts["nnfv"]["agent"]["network_os"] == "nnfv.cpe.cpe"
    assert "infrastructural" in facts["nnfv"]["capabilities"]  # gather_subset all
    resources = task(managed, "resources")["ansible_facts"]["ansible_network_resources"]
    assert resources == {"service_graph": [], "nf_template": []}
    assert task(managed, "template")["changed"] is True
    assert task(managed, "again")["changed"] is False
    assert task(managed, "gone")["after"] == []


def test_collection_without_an_agent_wheel_fails_saying_what_is_missing(workdir):
    subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "build",
            str(ROOT),
            "--output-path",
            str(workdir / "dist"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    tarball = next((workdir / "dist").glob("nnfv-cpe-*.tar.gz"))
    env = install(tarball, workdir / "collections")
    key_file, public_key = simfleet.fleet_key(workdir)
    inv = inventory(workdir, free_port(), key_file, public_key)
    rc, result = playbook(env, workdir, inv, "nnfv.cpe.deploy_agent")
    assert rc != 0
    failed = task(result, "Fail when there is no agent to install")
    assert failed["msg"].startswith("No nnfv-agent to install: this copy of the nnfv.cpe")
    assert "scripts/build_collection.py" in failed["msg"] and "agent_package" in failed["msg"]
