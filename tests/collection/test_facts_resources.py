"""Facts and network resources on simulated CPEs, with the inventory simfleet writes:
`gather_facts: true`, `gather_network_resources`, ansible.netcommon.network_resource and the
action group of module_defaults."""

from __future__ import annotations

from collection_env import fw_nat_config

from support.collection import BRIDGE_TEMPLATE

FLEET_SIZE = 2


def overridden(graphs: list[dict], name: str = "setup") -> dict:
    return {
        "name": name,
        "nnfv.cpe.service_graph": {"state": "overridden", "config": graphs},
    }


def test_simfleet_inventory_has_facts_module_and_no_password(fleet):
    text = fleet.inventory.read_text()
    assert "ansible_facts_modules: [nnfv.cpe.cpe_facts]" in text
    assert "ansible_network_os: nnfv.cpe.cpe" in text
    assert "password" not in text.lower()
    assert "ansible_private_key_file:" in text


def test_gather_facts_true_runs_cpe_facts_on_every_cpe(fleet):
    result = fleet.play(
        [{"name": "show", "ansible.builtin.debug": {"var": "ansible_facts.nnfv.functions_ready"}}],
        keywords={"gather_facts": True},
    )
    assert result.rc == 0, result.explain()
    for host in fleet.hosts:
        ready = result["show"][host]["ansible_facts.nnfv.functions_ready"]
        assert {"firewall", "nat"} <= set(ready)


def test_gather_network_resources_fills_ansible_network_resources_in_one_get(fleet):
    result = fleet.play(
        [
            overridden([fw_nat_config()]),
            {
                "name": "tpl",
                "nnfv.cpe.nf_template": {"state": "overridden", "config": [BRIDGE_TEMPLATE]},
            },
            {
                "name": "facts",
                "nnfv.cpe.cpe_facts": {
                    "gather_subset": ["!all"],
                    "gather_network_resources": ["service_graph", "nf_template"],
                },
            },
            {
                "name": "all but templates",
                "nnfv.cpe.cpe_facts": {
                    "gather_subset": ["graphs"],
                    "gather_network_resources": ["!nf_template"],
                },
            },
            {"name": "clean", "nnfv.cpe.nf_template": {"state": "deleted"}},
        ]
    )
    assert result.rc == 0, result.explain()
    for host in fleet.hosts:
        facts = result["facts"][host]["ansible_facts"]
        assert facts["ansible_network_resources"] == {
            "service_graph": [fw_nat_config()],
            "nf_template": [BRIDGE_TEMPLATE],
        }
        assert facts["ansible_net_gather_network_resources"] == ["nf_template", "service_graph"]
        assert facts["ansible_net_gather_subset"] == []
        assert set(facts["nnfv"]) == {"agent"}
        assert result["facts"][host]["rpcs"] == ["get"]
        other = result["all but templates"][host]["ansible_facts"]
        assert set(other["ansible_network_resources"]) == {"service_graph"}
        assert other["nnfv"]["graphs"]["fw-nat"]["state"] == "deployed"
        assert result["all but templates"][host]["rpcs"] == ["get"]


def test_network_resource_lists_gathers_and_pushes_service_graphs(fleet):
    changed = fw_nat_config(allow_tcp="22")
    result = fleet.play(
        [
            overridden([fw_nat_config()]),
            {"name": "list", "ansible.netcommon.network_resource": {}},
            {
                "name": "gather",
                "ansible.netcommon.network_resource": {
                    "name": "service_graph",
                    "state": "gathered",
                },
            },
            {
                "name": "push",
                "ansible.netcommon.network_resource": {
                    "name": "service_graph",
                    "config": [changed],
                    "state": "merged",
                },
            },
            {
                "name": "again",
                "ansible.netcommon.network_resource": {
                    "name": "service_graph",
                    "config": [changed],
                    "state": "merged",
                },
            },
        ]
    )
    assert result.rc == 0, result.explain()
    for host in fleet.hosts:
        assert result["list"][host]["modules"] == ["nf_template", "service_graph"]
        assert result["gather"][host]["gathered"] == [fw_nat_config()]
        pushed = result["push"][host]
        assert pushed["changed"] is True and pushed["after"] == [changed]
        assert pushed["resource_module_name"] == "nnfv.cpe.service_graph"
        assert result["again"][host]["changed"] is False


def test_module_defaults_of_the_action_group_reach_the_modules(fleet):
    result = fleet.play(
        [
            overridden([fw_nat_config()]),
            {"name": "gather", "nnfv.cpe.service_graph": {}},
        ],
        keywords={"module_defaults": {"group/nnfv.cpe.cpe": {"state": "gathered"}}},
    )
    assert result.rc == 0, result.explain()
    for host in fleet.hosts:
        assert result["gather"][host]["gathered"] == [fw_nat_config()]
