"""The collection with a read-only NETCONF user (NACM group `monitor`, RFC 8341).

One simulated CPE whose agent.toml has a second user, `viewer`, with the fleet's key and
`groups = ["monitor"]` (the shipped defaults: read everything, write nothing). The OSS user
(`admin`, group admin) sets a graph up; then playbooks run as `viewer` (`-e ansible_user=`):
facts and `gathered` work, a push fails naming `access-denied` and changes nothing, and check
mode succeeds as long as the task only has to read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from collection_env import fw_nat_config

import simfleet
from support.collection import BRIDGE_TEMPLATE, restart_agent, running_xml

FLEET_SIZE = 1
VIEWER = "viewer"
AS_VIEWER = ("-e", f"ansible_user={VIEWER}")


@pytest.fixture(scope="module")
def cpe(fleet) -> simfleet.SimCpe:
    """The CPE, its agent restarted with the read-only user, and fw-nat pushed by the OSS.
    (The fleet is this module's own: the fleet fixture removes it afterwards.)"""
    cpe = fleet.cpes[0]
    viewer = {"name": VIEWER, "authorized_keys": [cpe.authorized_key], "groups": ["monitor"]}
    restart_agent(fleet, cpe, users=[viewer])
    setup = fleet.play(
        [
            {
                "name": "setup",
                "nnfv.cpe.service_graph": {"state": "overridden", "config": [fw_nat_config()]},
            }
        ]
    )
    assert setup.rc == 0, setup.explain()
    return cpe


def test_read_only_user_gathers_facts_and_resources(fleet, cpe):
    result = fleet.play(
        [
            {
                "name": "facts",
                "nnfv.cpe.cpe_facts": {"gather_network_resources": ["service_graph"]},
            },
            {"name": "gathered", "nnfv.cpe.service_graph": {"state": "gathered"}},
            {"name": "templates", "nnfv.cpe.nf_template": {"state": "gathered"}},
            {"name": "show", "ansible.builtin.debug": {"var": "ansible_facts.nnfv.graphs"}},
        ],
        *AS_VIEWER,
        keywords={"gather_facts": True},  # runs cpe_facts as well, through the inventory
    )
    assert result.rc == 0, result.explain()
    facts = result["facts"][cpe.id]["ansible_facts"]
    assert facts["ansible_network_resources"] == {"service_graph": [fw_nat_config()]}
    assert {"firewall", "nat"} <= set(facts["nnfv"]["functions_ready"])
    assert facts["nnfv"]["graphs"]["fw-nat"]["state"] == "deployed"
    assert result["gathered"][cpe.id]["gathered"] == [fw_nat_config()]
    assert result["gathered"][cpe.id]["rpcs"] == ["get-config"]
    assert result["templates"][cpe.id]["rpcs"] == ["get-config"]
    assert "gathered" in result["templates"][cpe.id]
    assert "fw-nat" in result["show"][cpe.id]["ansible_facts.nnfv.graphs"]
    assert f"user {VIEWER} logged in" in (Path(cpe.dir) / "agent.log").read_text()


def test_push_by_read_only_user_fails_naming_access_denied_and_changes_nothing(fleet, cpe):
    before = running_xml(cpe)
    changed = fw_nat_config(allow_tcp="22")
    result = fleet.play(
        [
            {
                "name": "push",
                "nnfv.cpe.service_graph": {"state": "merged", "config": [changed]},
                "ignore_errors": True,
            },
            {
                "name": "template",
                "nnfv.cpe.nf_template": {"state": "merged", "config": [BRIDGE_TEMPLATE]},
                "ignore_errors": True,
            },
        ],
        *AS_VIEWER,
    )
    push = result["push"][cpe.id]
    assert push["failed"] is True, result.explain()
    assert push["error_tag"] == "access-denied"
    assert "access-denied" in push["msg"], push["msg"]
    assert push["msg"] == (
        "lock failed: access-denied at /nc:rpc/nc:lock: "
        "access denied: you may not run the protocol operation <lock>"
    )
    assert push["error_path"] == "/nc:rpc/nc:lock"
    assert push["rpcs"] == ["get-config", "lock"]  # nothing locked: nothing to clean up
    template = result["template"][cpe.id]
    assert template["failed"] is True and template["error_tag"] == "access-denied"
    assert running_xml(cpe) == before
    assert "22" not in before


def test_check_mode_by_read_only_user_succeeds_when_it_only_reads(fleet, cpe):
    result = fleet.play(
        [
            {"name": "facts", "nnfv.cpe.cpe_facts": {"gather_subset": ["graphs"]}},
            {"name": "gathered", "nnfv.cpe.service_graph": {"state": "gathered"}},
            {
                "name": "same",
                "nnfv.cpe.service_graph": {"state": "merged", "config": [fw_nat_config()]},
            },
        ],
        "--check",
        *AS_VIEWER,
    )
    assert result.rc == 0, result.explain()
    assert result["facts"][cpe.id]["ansible_facts"]["nnfv"]["graphs"]["fw-nat"]
    assert result["gathered"][cpe.id]["gathered"] == [fw_nat_config()]
    same = result["same"][cpe.id]
    assert same["changed"] is False and same["rpcs"] == ["get-config"]


def test_check_mode_prediction_of_a_change_is_refused_to_a_read_only_user(fleet, cpe):
    """The prediction edits the candidate (then discards it): a write NACM refuses."""
    before = running_xml(cpe)
    result = fleet.play(
        [
            {
                "name": "predict",
                "nnfv.cpe.service_graph": {
                    "state": "merged",
                    "config": [fw_nat_config(allow_tcp="22")],
                },
                "ignore_errors": True,
            }
        ],
        "--check",
        *AS_VIEWER,
    )
    predict = result["predict"][cpe.id]
    assert predict["failed"] is True, result.explain()
    assert predict["error_tag"] == "access-denied"
    assert "access-denied" in predict["msg"]
    assert running_xml(cpe) == before
