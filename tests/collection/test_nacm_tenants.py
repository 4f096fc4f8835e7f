"""Tenants through the collection (NACM, RFC 8341): the recipe of docs/nacm.md, end to end.

One simulated CPE whose agent.toml has two tenant users, `alice` (group tenant-a) and `bob`
(group tenant-b), with the fleet's key. The OSS user (`admin`) replaces /nacm with
yang/examples/nacm-tenants.xml using ansible.netcommon.netconf_config, as the documentation
shows, and sets up one graph per tenant; then each tenant runs the collection's modules.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

import simfleet
from support.collection import running_xml

FLEET_SIZE = 1
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "yang" / "examples" / "nacm-tenants.xml"
GRAPH_A = {
    "name": "tenantA-web",
    "description": "web of tenant A",
    "endpoints": [{"id": "lan", "interface": "lan0"}],
}
GRAPH_B = {
    "name": "tenantB-db",
    "description": "database of tenant B",
    "endpoints": [{"id": "wan", "interface": "wan0"}],
}
# The task of docs/nacm.md ("Tenants"), with the example file's absolute path.
PUSH_NACM = {
    "name": "nacm",
    "ansible.netcommon.netconf_config": {
        "content": (
            '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"\n'
            '        xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">\n'
            "{{ lookup('ansible.builtin.file', nacm_file)"
            " | replace('<nacm ', '<nacm nc:operation=\"replace\" ', 1) }}\n"
            "</config>\n"
        )
    },
}


def as_user(name: str) -> tuple[str, str]:
    return ("-e", f"ansible_user={name}")


@pytest.fixture(scope="module")
def cpe(fleet) -> simfleet.SimCpe:
    """The CPE with the tenant users, the example's rules and one graph per tenant.
    (The fleet is this module's own: the fleet fixture removes it afterwards.)"""
    cpe = fleet.cpes[0]
    key = [cpe.authorized_key]
    users = [
        {"name": "alice", "authorized_keys": key, "groups": ["tenant-a"]},
        {"name": "bob", "authorized_keys": key, "groups": ["tenant-b"]},
    ]
    cpe.stop_agent()
    cpe.write_config(users=users)
    cpe.start_agent()
    # keep fleet.json (read by `simfleet.py down`) in step with the new agent pid
    (fleet.dir / "fleet.json").write_text(json.dumps([asdict(c) for c in fleet.cpes]))
    setup = fleet.play(
        [
            PUSH_NACM,
            {
                "name": "graphs",
                "nnfv.cpe.service_graph": {"state": "overridden", "config": [GRAPH_A, GRAPH_B]},
            },
        ],
        play_vars={"nacm_file": str(EXAMPLE)},
    )
    assert setup.rc == 0, setup.explain()
    assert setup["nacm"][cpe.id]["changed"] is True
    return cpe


def test_each_tenant_gathers_only_its_own_graph(fleet, cpe):
    for user, mine in (("alice", GRAPH_A), ("bob", GRAPH_B)):
        result = fleet.play(
            [
                {"name": "gathered", "nnfv.cpe.service_graph": {"state": "gathered"}},
                {"name": "facts", "nnfv.cpe.cpe_facts": {"gather_subset": ["graphs"]}},
            ],
            *as_user(user),
        )
        assert result.rc == 0, result.explain()
        assert result["gathered"][cpe.id]["gathered"] == [mine]
        assert set(result["facts"][cpe.id]["ansible_facts"]["nnfv"]["graphs"]) == {mine["name"]}


def test_tenant_changes_its_graph_but_not_the_other_tenants(fleet, cpe):
    result = fleet.play(
        [
            {
                "name": "own",
                "nnfv.cpe.service_graph": {
                    "state": "merged",
                    "config": [{"name": "tenantA-web", "description": "changed by alice"}],
                },
            },
            {
                "name": "other",
                "nnfv.cpe.service_graph": {
                    "state": "merged",
                    "config": [{"name": "tenantB-db", "description": "changed by alice"}],
                },
                "ignore_errors": True,
            },
        ],
        *as_user("alice"),
    )
    assert result["own"][cpe.id]["changed"] is True, result.explain()
    other = result["other"][cpe.id]
    assert other["failed"] is True
    assert other["error_tag"] == "access-denied"
    assert other["rpc_error"]["option_path"].startswith("config[name=tenantB-db]")
    assert "access-denied at /nfg:graphs/nfg:graph[nfg:name='tenantB-db']" in other["msg"]
    assert other["rpcs"][-2:] == ["discard-changes", "unlock"]  # its candidate is left clean
    running = running_xml(cpe)
    assert running.count("changed by alice") == 1 and "database of tenant B" in running


def test_overridden_by_a_tenant_leaves_the_graphs_it_cannot_see(fleet, cpe):
    result = fleet.play(
        [{"name": "mine", "nnfv.cpe.service_graph": {"state": "overridden", "config": [GRAPH_A]}}],
        *as_user("alice"),
    )
    assert result.rc == 0, result.explain()
    running = running_xml(cpe)
    assert "web of tenant A" in running and "database of tenant B" in running
