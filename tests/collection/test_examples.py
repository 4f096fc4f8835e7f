"""The documentation's examples: the EXAMPLES of service_graph and the example inventory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import GRAPHS
from ansible_collections.nnfv.cpe.plugins.modules import service_graph
from collection_env import ansible_env, fw_nat_config

ROOT = Path(__file__).resolve().parents[2]


def test_first_service_graph_example_chains_lan_firewall_nat_wan_both_ways():
    tasks = yaml.safe_load(service_graph.EXAMPLES)
    graph = GRAPHS.clean(tasks[0]["nnfv.cpe.service_graph"]["config"][0])
    assert graph == fw_nat_config(allow_tcp="22,443")


def test_example_inventory_has_one_entry_per_cpe_for_netconf_and_facts():
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-inventory"),
            "-i",
            str(ROOT / "playbooks/inventory/hosts.yml"),
            "--list",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=ansible_env(),
        check=True,
    )
    inventory = json.loads(proc.stdout)
    hosts = inventory["cpes"]["hosts"]
    assert sorted(hosts) == ["cpe-lyon-01", "cpe-paris-01", "cpe-paris-02"]
    assert set(inventory["all"]["children"]) == {"cpes", "ungrouped"}
    addresses = [inventory["_meta"]["hostvars"][h]["ansible_host"] for h in hosts]
    assert len(set(addresses)) == len(addresses)  # each CPE once
    for host in hosts:
        hostvars = inventory["_meta"]["hostvars"][host]
        assert hostvars["ansible_connection"] == "ansible.netcommon.netconf"
        assert hostvars["ansible_network_os"] == "nnfv.cpe.cpe"
        assert hostvars["ansible_facts_modules"] == ["nnfv.cpe.cpe_facts"]
        assert hostvars["agent_users"][0]["name"] == "{{ nnfv_netconf_user }}"
