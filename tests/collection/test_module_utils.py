"""Unit tests of plugins/module_utils/nnfv: YAML <-> XML, diff, states, error mapping, device
sequences (with a fake connection: no device, no Ansible run)."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv import errors
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.config.service_graph import (
    ServiceGraphs,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.device import Device
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.nf_template import TEMPLATES
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import GRAPHS
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.model import render_changes
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import parse, tostring
from collection_env import fw_nat_config

from graphs import fw_nat_graph, graphs_config
from support.fake_netconf import FakeConnection, FakeModule, run

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def data(xml: str) -> str:
    return f'<data xmlns="{NC}">{xml}</data>'


def from_xml(xml: str) -> list[dict]:
    return [GRAPHS.clean(e) for e in GRAPHS.entries_from_xml(parse(data(xml)))]


# ---- YAML <-> XML -------------------------------------------------------------------------


def test_graph_xml_of_scripts_graphs_parses_to_the_same_yaml_as_collection_env():
    assert from_xml(graphs_config(fw_nat_graph())) == [fw_nat_config()]


def test_yaml_renders_to_xml_that_parses_back_to_the_same_yaml():
    graph = fw_nat_config(allow_tcp="22")
    graph["flow_rules"].append(
        {
            "id": "drop-dns",
            "priority": 200,
            "match": {"port_in": "endpoint:lan", "ip_protocol": 17, "destination_port": 53},
            "actions": {"drop": True},
        }
    )
    rendered = tostring(GRAPHS.config_element([graph]))
    assert rendered.startswith(f'<config xmlns="{NC}" xmlns:nc="{NC}"><graphs xmlns="urn:nnfv')
    assert "<drop/>" in rendered
    assert from_xml(rendered) == [graph]


def test_keys_come_first_and_yang_names_are_used():
    xml = tostring(GRAPHS.config_element([fw_nat_config()]))
    assert "<graph><name>fw-nat</name><nf><id>fw</id><functional-type>firewall" in xml
    assert "<flow-rule><id>fwd-0</id><priority>100</priority><match><port-in>" in xml
    assert "<config-parameter><name>in-address</name><value>192.0.2.1/24</value>" in xml


def test_values_are_normalised_as_libyang_stores_them():
    graph = {
        "name": "g",
        "flow_rules": [
            {
                "id": "r",
                "match": {"source_ipv4": "10.1.2.3/8", "source_mac": "AA:BB:CC:00:11:22"},
                "actions": {"set_source_ipv6": "2001:DB8:0:0::1"},
            }
        ],
    }
    rule = GRAPHS.clean(graph)["flow_rules"][0]
    assert rule["match"] == {"source_ipv4": "10.0.0.0/8", "source_mac": "aa:bb:cc:00:11:22"}
    assert rule["actions"] == {"set_source_ipv6": "2001:db8::1"}


def test_state_data_in_a_get_reply_is_ignored_and_status_is_read():
    from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
        graph_status,
    )

    xml = (
        '<graphs xmlns="urn:nnfv:yang:nnfv-service-graph"><graph><name>g</name>'
        "<nf><id>fw</id><functional-type>firewall</functional-type><status><state>failed"
        "</state><last-error>start exited 1</last-error></status></nf>"
        "<status><state>failed</state><error>fw: start exited 1</error></status></graph></graphs>"
    )
    root = parse(data(xml))
    assert from_xml(xml) == [{"name": "g", "nfs": [{"id": "fw", "functional_type": "firewall"}]}]
    status = graph_status(root)["g"]
    assert status["state"] == "failed"
    assert status["nfs"]["fw"]["last_error"] == "start exited 1"


# ---- states and diff ------------------------------------------------------------------------


def test_defaults_written_explicitly_compare_equal_to_absent():
    have = fw_nat_config()
    have["admin_state"] = "enabled"
    have["nfs"][0]["flavour"] = "any"
    changes, edit = GRAPHS.diff([have], [fw_nat_config()])
    assert (changes, edit) == ([], None)


def test_merged_changes_one_parameter_and_edits_only_that_nf():
    have = [fw_nat_config()]
    want = [
        {
            "name": "fw-nat",
            "nfs": [
                {"id": "fw", "config_parameters": [{"name": "allow-tcp-ports", "value": "22"}]}
            ],
        }
    ]
    target = GRAPHS.target("merged", have, want)
    changes, edit = GRAPHS.diff(have, target)
    assert changes == [
        {
            "path": "graph[fw-nat]/nf[fw]",
            "change": "changed",
            "fields": [
                "config_parameters[allow-tcp-ports]: added",
                "config_parameters[allow-tcp-ports].value: (absent) -> '22'",
            ],
        }
    ]
    xml = tostring(edit)
    assert xml.count("<nf ") == 1 and 'nc:operation="replace"' in xml
    assert "<flow-rule" not in xml and "<endpoint" not in xml
    assert "<functional-type>firewall</functional-type>" in xml  # the merged NF, whole


def test_merged_choice_replaces_the_other_case():
    have = [{"name": "g", "nfs": [{"id": "x", "functional_type": "firewall"}]}]
    target = GRAPHS.target("merged", have, [{"name": "g", "nfs": [{"id": "x", "template": "t"}]}])
    assert target == [{"name": "g", "nfs": [{"id": "x", "template": "t"}]}]
    rule = {"id": "r", "actions": {"output": ["endpoint:a"]}}
    have = [{"name": "g", "flow_rules": [rule]}]
    want = [{"name": "g", "flow_rules": [{"id": "r", "actions": {"drop": True}}]}]
    assert GRAPHS.target("merged", have, want)[0]["flow_rules"][0]["actions"] == {"drop": True}


def test_replaced_keeps_other_graphs_and_overridden_removes_them():
    have = [fw_nat_config(), {"name": "other"}]
    small = {"name": "fw-nat", "description": "x"}
    assert GRAPHS.target("replaced", have, [small]) == [small, {"name": "other"}]
    assert GRAPHS.target("overridden", have, [small]) == [small]
    changes, edit = GRAPHS.diff(have, [small])
    assert {"path": "graph[other]", "change": "removed", "fields": []} in changes
    assert {"path": "graph[fw-nat]/nf[fw]", "change": "removed", "fields": []} in changes
    xml = tostring(edit)
    assert '<graph nc:operation="remove"><name>other</name></graph>' in xml
    assert '<nf nc:operation="remove"><id>fw</id></nf>' in xml


def test_deleted_without_config_removes_all_and_with_ids_only_those():
    have = [fw_nat_config(), {"name": "other"}]
    assert GRAPHS.target("deleted", have, []) == []
    only_rule = GRAPHS.target(
        "deleted", have, [{"name": "fw-nat", "flow_rules": [{"id": "fwd-0"}]}]
    )
    assert [r["id"] for r in only_rule[0]["flow_rules"]] == [
        "rev-0",
        "fwd-1",
        "rev-1",
        "fwd-2",
        "rev-2",
    ]
    assert GRAPHS.target("deleted", have, [{"name": "nope"}]) == have


def test_leaf_removed_at_graph_level_gets_a_remove_operation():
    have = [{"name": "g", "description": "old", "admin_state": "disabled"}]
    changes, edit = GRAPHS.diff(have, [{"name": "g"}])
    assert changes == [
        {
            "path": "graph[g]",
            "change": "changed",
            "fields": ["admin_state: 'disabled' -> 'enabled'", "description: 'old' -> (absent)"],
        }
    ]
    xml = tostring(edit)
    assert (
        '<description nc:operation="remove"/>' in xml
        and '<admin-state nc:operation="remove"/>' in xml
    )


def test_output_order_does_not_matter():
    a = {
        "name": "g",
        "flow_rules": [{"id": "r", "actions": {"output": ["endpoint:a", "endpoint:b"]}}],
    }
    b = copy.deepcopy(a)
    b["flow_rules"][0]["actions"]["output"].reverse()
    assert GRAPHS.diff([a], [b]) == ([], None)


def test_templates_are_replaced_whole_and_compare_with_defaults():
    tpl = {"name": "t", "functional_type": "bridge", "ports": [{"name": "in", "index": 0}]}
    with_defaults = dict(tpl, vnf_type="native", sharable=False)
    assert TEMPLATES.diff([with_defaults], [tpl]) == ([], None)
    changes, edit = TEMPLATES.diff([tpl], [dict(tpl, sharable=True)])
    assert changes == [
        {"path": "template[t]", "change": "changed", "fields": ["sharable: false -> true"]}
    ]
    assert 'nc:operation="replace"' in tostring(edit)


def test_render_changes_is_one_line_per_path():
    text = render_changes(
        [
            {"path": "graph[a]", "change": "added", "fields": []},
            {
                "path": "graph[b]/nf[x]",
                "change": "changed",
                "fields": ["flavour: 'any' -> 'native'"],
            },
        ]
    )
    assert (
        text == "+ graph[a] (added)\n~ graph[b]/nf[x] (changed)\n    flavour: 'any' -> 'native'\n"
    )


# ---- error mapping --------------------------------------------------------------------------

MUST = (
    f'<rpc-reply xmlns="{NC}"><rpc-error><error-type>application</error-type>'
    "<error-tag>operation-failed</error-tag><error-severity>error</error-severity>"
    "<error-app-tag>must-violation</error-app-tag>"
    '<error-path xmlns:nfg="urn:nnfv:yang:nnfv-service-graph">'
    "/nfg:graphs/nfg:graph[nfg:name='b']/nfg:flow-rule[nfg:id='r']/nfg:match/nfg:port-in"
    '</error-path><error-message xml:lang="en">port-in: no such endpoint in this graph'
    "</error-message></rpc-error></rpc-reply>"
)


def test_rpc_error_becomes_a_message_with_tag_path_and_option_path():
    failure = errors.from_connection_error("commit", Exception(MUST))
    assert isinstance(failure, errors.RpcFailure)
    assert failure.message == (
        "commit failed: operation-failed (must-violation) at "
        "/nfg:graphs/nfg:graph[nfg:name='b']/nfg:flow-rule[nfg:id='r']/nfg:match/nfg:port-in "
        "[option config[name=b].flow_rules[id=r].match.port_in]: "
        "port-in: no such endpoint in this graph"
    )
    result = failure.result()
    assert result["error_tag"] == "operation-failed"
    assert result["rpc_error"]["option_path"] == "config[name=b].flow_rules[id=r].match.port_in"


def test_several_rpc_errors_are_all_reported_and_error_info_is_kept():
    two = MUST.replace(
        "</rpc-reply>",
        "<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag>"
        "<error-severity>error</error-severity><error-info><session-id>7</session-id>"
        "</error-info><error-message>locked</error-message></rpc-error></rpc-reply>",
    )
    failure = errors.from_connection_error("lock", Exception(two))
    assert len(failure.errors) == 2
    assert failure.errors[1]["error_info"] == {"session-id": "7"}
    assert "; lock-denied: locked" in failure.message


def test_a_connection_error_without_rpc_error_keeps_its_text():
    failure = errors.from_connection_error("get", Exception("socket path does not exist"))
    assert type(failure) is errors.NnfvError
    assert failure.message == "get failed: socket path does not exist"


@pytest.mark.parametrize(
    ("xpath", "option"),
    [
        ("/nfg:graphs/nfg:graph[nfg:name='g']", "config[name=g]"),
        (
            "/nfg:graphs/nfg:graph[nfg:name='g']/nfg:nf[nfg:id='fw']/nfg:config-parameter"
            "[nfg:name='x']/nfg:value",
            "config[name=g].nfs[id=fw].config_parameters[name=x].value",
        ),
        (
            "/nnft:templates/nnft:template[nnft:name='t']/nnft:resources/nnft:memory-limit",
            "config[name=t].resources.memory_limit",
        ),
    ],
)
def test_error_paths_translate_to_module_options(xpath, option):
    assert errors.option_path(xpath) == option


ACCESS_DENIED = (
    f'<rpc-reply xmlns="{NC}"><rpc-error><error-type>protocol</error-type>'
    "<error-tag>access-denied</error-tag><error-severity>error</error-severity>"
    f'<error-path xmlns:nc="{NC}">/nc:rpc/nc:lock</error-path>'
    '<error-message xml:lang="en">access denied: you may not run the protocol operation '
    "&lt;lock&gt;</error-message></rpc-error></rpc-reply>"
)


@pytest.mark.parametrize(
    "xpath", ["/nc:rpc/nc:edit-config", "/nacm:nacm/nacm:groups", "/nfg:other/nfg:graph"]
)
def test_paths_outside_the_resource_lists_have_no_option_path(xpath):
    assert errors.option_path(xpath) is None


def test_access_denied_on_a_protocol_operation_names_the_tag_and_no_option():
    failure = errors.from_connection_error("lock", Exception(ACCESS_DENIED))
    assert failure.message == (
        "lock failed: access-denied at /nc:rpc/nc:lock: "
        "access denied: you may not run the protocol operation <lock>"
    )
    assert failure.details["error_tag"] == "access-denied"
    assert failure.errors[0]["option_path"] is None


# ---- the device sequence, with a fake connection ----------------------------------------------


EMPTY = ""
FW_NAT = graphs_config(fw_nat_graph())


def test_push_with_confirmed_commit_runs_seven_rpcs_in_order():
    conn = FakeConnection(FW_NAT)
    result = run(conn, config=[fw_nat_config(allow_tcp="22")], confirm_timeout=30)
    assert conn.calls == ["get_config", "lock", "edit_config", "commit", "get", "commit", "unlock"]
    assert result["changed"] is True
    assert result["diff"]["prepared"].startswith("~ graph[fw-nat]/nf[fw] (changed)")


def test_plain_commit_reads_back_with_get_config_only():
    conn = FakeConnection(FW_NAT)
    result = run(conn, config=[fw_nat_config(allow_tcp="22")])
    assert conn.calls == ["get_config", "lock", "edit_config", "commit", "get_config", "unlock"]
    assert "status" not in result


def test_no_change_is_one_rpc_and_no_commands():
    conn = FakeConnection(FW_NAT)
    result = run(conn, config=[fw_nat_config()])
    assert conn.calls == ["get_config"]
    assert result["changed"] is False and result["commands"] == []


def test_check_mode_never_commits_and_discards():
    conn = FakeConnection(EMPTY)
    result = run(conn, config=[fw_nat_config()], check_mode=True)
    assert conn.calls == [
        "get_config",
        "lock",
        "edit_config",
        "get_config",
        "preview_commit",
        "discard_changes",
        "unlock",
    ]
    assert "commit" not in conn.calls and result["changed"] is True


def test_refused_commit_discards_and_unlocks_then_raises_the_commit_error():
    conn = FakeConnection(EMPTY, fail={"commit": MUST})
    with pytest.raises(errors.RpcFailure) as info:
        run(conn, config=[fw_nat_config()])
    assert conn.calls[-2:] == ["discard_changes", "unlock"]
    assert info.value.operation == "commit"


def test_failed_graph_cancels_the_confirmed_commit():
    conn = FakeConnection(EMPTY, status="failed")
    conn.running = ""

    def get(*args, **kwargs):
        conn.calls.append("get")
        return data(
            graphs_config(fw_nat_graph()).replace(
                "</graph>", "<status><state>failed</state><error>nat: boom</error></status></graph>"
            )
        )

    conn.get = get
    with pytest.raises(errors.NnfvError) as info:
        run(conn, config=[fw_nat_config()], confirm_timeout=30)
    assert conn.calls == [
        "get_config",
        "lock",
        "edit_config",
        "commit",
        "get",
        "cancel_commit",
        "unlock",
    ]
    assert "graph fw-nat failed to deploy: nat: boom" in info.value.message
    assert info.value.details["rolled_back"] is True


def test_unconfirmed_commit_is_left_pending_with_a_warning():
    conn = FakeConnection(FW_NAT)
    module = FakeModule(config=[fw_nat_config(allow_tcp="1")], confirm_timeout=5, confirm=False)
    result = ServiceGraphs(module, device=Device(module, connection=conn)).execute()
    assert conn.calls.count("commit") == 1
    assert result["pending_confirm"] is True
    assert "rolls back in 5 s" in module.warnings[0]


def test_rendered_and_parsed_never_touch_the_connection():
    conn = FakeConnection(FW_NAT)
    rendered = run(conn, state="rendered", config=[fw_nat_config()])["rendered"]
    parsed = run(conn, state="parsed", running_config=rendered)["parsed"]
    assert parsed == [fw_nat_config()] and conn.calls == []
