"""Errors in the task's own option names: mandatory options checked before the device, an
interface conflict blamed on the task's graph, and every rpc-error of a reply reported."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv import errors
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.config.nf_template import (
    NfTemplates,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.device import Device
from ansible_collections.nnfv.cpe.plugins.netconf.cpe import rpc_error_text
from collection_env import fw_nat_config
from ncclient.operations.rpc import RPCError, RPCReply

from graphs import fw_nat_graph, graphs_config
from support.fake_netconf import FakeConnection, FakeModule, run

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
FW_NAT = graphs_config(fw_nat_graph())


def without(config: dict, rule: str, field: str) -> dict:
    config = copy.deepcopy(config)
    for r in config["flow_rules"]:
        if r["id"] == rule:
            r.pop(field)
    return config


@pytest.mark.parametrize("state", ["replaced", "overridden", "rendered"])
def test_missing_priority_fails_before_any_rpc_naming_graph_and_rule(state):
    conn = FakeConnection(FW_NAT)
    bad = without(without(fw_nat_config(), "fwd-1", "priority"), "rev-2", "priority")
    with pytest.raises(errors.NnfvError) as info:
        run(conn, state=state, config=[bad])
    assert info.value.message == (
        "missing required options (the CPE refuses a graph without them): "
        "config[name=fw-nat].flow_rules[id=fwd-1].priority, "
        "config[name=fw-nat].flow_rules[id=rev-2].priority"
    )
    assert info.value.details["missing_options"] == [
        "config[name=fw-nat].flow_rules[id=fwd-1].priority",
        "config[name=fw-nat].flow_rules[id=rev-2].priority",
    ]
    assert conn.calls == []


def test_merged_checks_a_new_rule_after_get_config_only():
    conn = FakeConnection(FW_NAT)
    rule = {"id": "new", "match": {"port_in": "endpoint:lan"}, "actions": {"drop": True}}
    with pytest.raises(errors.NnfvError) as info:
        run(conn, config=[{"name": "fw-nat", "flow_rules": [rule]}])
    assert info.value.details["missing_options"] == [
        "config[name=fw-nat].flow_rules[id=new].priority"
    ]
    assert conn.calls == ["get_config"]


def test_merged_rule_given_in_part_takes_its_priority_from_the_device():
    conn = FakeConnection(FW_NAT)
    rule = {"id": "fwd-0", "actions": {"output": ["nf:fw:in"]}}
    result = run(conn, config=[{"name": "fw-nat", "flow_rules": [rule]}])
    assert result["changed"] is False and conn.calls == ["get_config"]


def test_every_mandatory_kind_is_named_with_its_keys():
    graph = {
        "name": "g",
        "nfs": [{"id": "x", "config_parameters": [{"name": "p"}]}],
        "endpoints": [{"id": "a"}, {"id": "v", "vlan": {"interface": "lan0"}}],
        "flow_rules": [{"id": "r", "priority": 1}],
    }
    with pytest.raises(errors.NnfvError) as info:
        run(FakeConnection(FW_NAT), state="replaced", config=[graph])
    assert info.value.details["missing_options"] == [
        "config[name=g].nfs[id=x].{functional_type|template}",
        "config[name=g].nfs[id=x].config_parameters[name=p].value",
        "config[name=g].endpoints[id=a].{interface|vlan|vxlan|internal_group}",
        "config[name=g].endpoints[id=v].vlan.vlan_id",
        "config[name=g].flow_rules[id=r].match.port_in",
        "config[name=g].flow_rules[id=r].{actions.output|actions.drop}",
    ]


def test_template_without_uri_and_digest_fails_before_any_rpc():
    conn = FakeConnection("")
    module = FakeModule(state="replaced", config=[{"name": "t", "functional_type": "bridge"}])
    with pytest.raises(errors.NnfvError) as info:
        NfTemplates(module, device=Device(module, connection=conn)).execute()
    assert info.value.details["missing_options"] == ["config[name=t].uri", "config[name=t].sha256"]
    assert conn.calls == []


CONFLICT = (
    f'<rpc-reply xmlns="{NC}"><rpc-error><error-type>application</error-type>'
    "<error-tag>operation-failed</error-tag><error-severity>error</error-severity>"
    "<error-app-tag>must-violation</error-app-tag><error-path>"
    "/nfg:graphs/nfg:graph[nfg:name='fw-nat']/nfg:endpoint[nfg:id='lan']/nfg:interface"
    "</error-path><error-message>interface endpoint: the interface is already used by "
    "another graph</error-message></rpc-error></rpc-reply>"
)


def test_interface_conflict_is_blamed_on_the_graph_of_the_task():
    conn = FakeConnection(FW_NAT, fail={"commit": CONFLICT})
    newcomer = {
        "name": "newcomer",
        "endpoints": [{"id": "uplink", "interface": "lan0"}, {"id": "b", "internal_group": "x"}],
        "flow_rules": [
            {
                "id": "r",
                "priority": 1,
                "match": {"port_in": "endpoint:uplink"},
                "actions": {"output": ["endpoint:b"]},
            }
        ],
    }
    with pytest.raises(errors.RpcFailure) as info:
        run(conn, config=[newcomer])
    error = info.value.errors[0]
    assert error["option_path"] == "config[name=newcomer].endpoints[id=uplink].interface"
    assert error["error_path"] == (
        "/nfg:graphs/nfg:graph[nfg:name='newcomer']/nfg:endpoint[nfg:id='uplink']/nfg:interface"
    )
    assert error["device_error_path"].startswith("/nfg:graphs/nfg:graph[nfg:name='fw-nat']")
    assert info.value.message == (
        "commit failed: operation-failed (must-violation) at "
        "/nfg:graphs/nfg:graph[nfg:name='newcomer']/nfg:endpoint[nfg:id='uplink']/nfg:interface "
        "[option config[name=newcomer].endpoints[id=uplink].interface]: interface endpoint: "
        "the interface is already used by another graph (interface lan0 is held by "
        "config[name=fw-nat].endpoints[id=lan])"
    )
    assert conn.calls[-2:] == ["discard_changes", "unlock"]


def test_every_rpc_error_of_an_ncclient_reply_reaches_the_task_message():
    body = "".join(
        f"<rpc-error><error-type>application</error-type><error-tag>missing-element</error-tag>"
        f"<error-severity>error</error-severity><error-path>/nfg:graphs/nfg:graph"
        f"[nfg:name='g']/nfg:flow-rule[nfg:id='{rule}']/nfg:priority</error-path>"
        f'<error-message>Mandatory node "priority" instance does not exist.</error-message>'
        f"</rpc-error>"
        for rule in ("r1", "r2")
    )
    reply = RPCReply(f'<rpc-reply xmlns="{NC}" message-id="1">{body}</rpc-reply>')
    reply.parse()
    exc = RPCError(reply._root, errs=reply.errors)  # what ncclient raises for several errors
    failure = errors.from_connection_error("commit", Exception(rpc_error_text(exc)))
    assert [e["option_path"] for e in failure.errors] == [
        "config[name=g].flow_rules[id=r1].priority",
        "config[name=g].flow_rules[id=r2].priority",
    ]
    assert failure.message.count("missing-element at") == 2
