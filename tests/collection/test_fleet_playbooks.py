"""ansible-playbook against 10 simulated CPEs: every state, check and diff mode, safe push.

The tests share one fleet and run in file order; each one first sets the graphs it needs.
"""

from __future__ import annotations

import subprocess

from collection_env import fw_nat_config

from support.collection import restart_agent, running_xml

FLEET_SIZE = 10


def push(config, state="merged", name="push", **options):
    args = {"state": state, **({"config": config} if config is not None else {}), **options}
    return {"name": name, "nnfv.cpe.service_graph": args, "ignore_errors": True}


def setup(*graphs):
    """A first task that makes `graphs` (default: firewall -> NAT) the only graphs."""
    return push(list(graphs) or [fw_nat_config()], "overridden", name="setup")


def ping(cpe) -> bool:
    proc = subprocess.run(
        ["ip", "netns", "exec", cpe.lan_ns, "ping", "-c1", "-W1", cpe.wan_host],
        capture_output=True,
        timeout=10,
    )
    return proc.returncode == 0


def extra_graph(name="extra") -> dict:
    return {
        "name": name,
        "description": "two internal endpoints, one rule",
        "endpoints": [
            {"id": "a", "internal_group": f"{name}-a"},
            {"id": "b", "internal_group": f"{name}-b"},
        ],
        "flow_rules": [
            {
                "id": "a-to-b",
                "priority": 10,
                "match": {"port_in": "endpoint:a", "ip_protocol": 17, "destination_port": 53},
                "actions": {"output": ["endpoint:b"]},
            }
        ],
    }


def test_merged_pushes_to_every_cpe_with_confirmed_commit_then_repeats_as_no_op(fleet):
    task = {"confirm_timeout": 60}
    result = fleet.play(
        [
            push(None, "deleted", name="clean"),
            push([fw_nat_config()], name="first", **task),
            push([fw_nat_config()], name="second", **task),
        ]
    )
    assert result.rc == 0, result.explain()
    assert len(result["first"]) == FLEET_SIZE
    for host, res in result["first"].items():
        assert res["changed"] is True, (host, res)
        assert res["status"]["fw-nat"]["state"] == "deployed"
        assert res["changes"] == [{"path": "graph[fw-nat]", "change": "added", "fields": []}]
        assert res["after"] == [fw_nat_config()]
        # confirmed commit, confirmed by the task once fw-nat reported deployed
        assert res["rpcs"] == [
            "get-config",
            "lock",
            "edit-config",
            "commit",
            "get",
            "commit",
            "unlock",
        ]
    for host, res in result["second"].items():
        assert res["changed"] is False, (host, res)
        assert res["commands"] == []
        assert res["rpcs"] == ["get-config"]


def test_traffic_from_lan_host_reaches_wan_host_through_the_chain(fleet):
    result = fleet.play([setup()])
    assert result.rc == 0, result.explain()
    reached = {cpe.id: ping(cpe) for cpe in fleet.cpes}
    assert all(reached.values()), reached


def test_check_mode_predicts_the_change_and_leaves_running_untouched(fleet):
    hosts = fleet.hosts[:3]
    fleet.play([setup()], "--limit", ",".join(hosts))
    before = {host: running_xml(fleet.cpe(host)) for host in hosts}
    changed = fw_nat_config(allow_tcp="22,443")
    result = fleet.play(
        [
            {**push([changed], name="check"), "check_mode": True},
            push([fw_nat_config()], name="real"),
        ],
        "--limit",
        ",".join(hosts),
    )
    assert result.rc == 0, result.explain()
    for host, res in result["check"].items():
        assert res["changed"] is True
        assert res["rpcs"] == [
            "get-config",
            "lock",
            "edit-config",
            "get-config",
            "preview-commit",
            "discard-changes",
            "unlock",
        ]
        assert res["after"][0]["nfs"][0]["config_parameters"] == [
            {"name": "allow-tcp-ports", "value": "22,443"}
        ]
        assert any("fw-nat/fw" in op for op in res["plan"]), res["plan"]
        assert running_xml(fleet.cpe(host)) == before[host]
        # the candidate was discarded and unlocked: the next push runs, and finds no change
        assert result["real"][host]["changed"] is False


def test_diff_mode_shows_which_nf_changed_and_how(fleet):
    host = fleet.hosts[0]
    changed = fw_nat_config(allow_tcp="22")
    check_diff = {**push([changed], name="diff"), "check_mode": True, "diff": True}
    result = fleet.play([setup(), check_diff], "--limit", host)
    prepared = result["diff"][host]["diff"]["prepared"]
    assert prepared.splitlines() == [
        "~ graph[fw-nat]/nf[fw] (changed)",
        "    config_parameters[allow-tcp-ports]: added",
        "    config_parameters[allow-tcp-ports].value: (absent) -> '22'",
    ]
    text = fleet.play([push([changed])], "--diff", "--check", "--limit", host, json_output=False)
    assert "~ graph[fw-nat]/nf[fw] (changed)" in text.raw
    assert "<config" not in text.raw  # path-level, not two XML documents


def test_replaced_rewrites_only_the_given_graph_and_keeps_the_others(fleet):
    smaller = fw_nat_config()
    smaller["description"] = "replaced"
    smaller["flow_rules"] = [r for r in smaller["flow_rules"] if r["id"] != "rev-2"]
    result = fleet.play(
        [
            setup(fw_nat_config(), extra_graph()),
            push([smaller], "replaced", name="replace"),
            push([smaller], "replaced", name="again"),
        ],
        "--limit",
        ",".join(fleet.hosts[:3]),
    )
    for host, res in result["replace"].items():
        assert res["changed"] is True, (host, res)
        paths = {(c["path"], c["change"]) for c in res["changes"]}
        assert paths == {
            ("graph[fw-nat]", "changed"),
            ("graph[fw-nat]/flow-rule[rev-2]", "removed"),
        }
        names = {g["name"]: g for g in res["after"]}
        assert set(names) == {"fw-nat", "extra"}
        assert names["fw-nat"] == smaller
        assert result["again"][host]["changed"] is False


def test_overridden_removes_every_graph_not_given(fleet):
    result = fleet.play(
        [
            setup(fw_nat_config(), extra_graph()),
            push([fw_nat_config()], "overridden", name="override"),
            push([fw_nat_config()], "overridden", name="again"),
        ],
        "--limit",
        ",".join(fleet.hosts[:3]),
    )
    for host, res in result["override"].items():
        assert res["changes"] == [{"path": "graph[extra]", "change": "removed", "fields": []}]
        assert [g["name"] for g in res["after"]] == ["fw-nat"]
        again = result["again"][host]
        assert again["changed"] is False and again["commands"] == []


def test_deleted_removes_one_rule_then_the_graph_then_nothing(fleet):
    result = fleet.play(
        [
            setup(fw_nat_config(), extra_graph()),
            push([{"name": "extra", "flow_rules": [{"id": "a-to-b"}]}], "deleted", name="rule"),
            push([{"name": "extra"}], "deleted", name="graph"),
            push([{"name": "extra"}], "deleted", name="again"),
        ],
        "--limit",
        ",".join(fleet.hosts[:3]),
    )
    for host in fleet.hosts[:3]:
        assert result["rule"][host]["changes"] == [
            {"path": "graph[extra]/flow-rule[a-to-b]", "change": "removed", "fields": []}
        ]
        extra = next(g for g in result["rule"][host]["after"] if g["name"] == "extra")
        assert "flow_rules" not in extra
        assert [g["name"] for g in result["graph"][host]["after"]] == ["fw-nat"]
        assert result["again"][host]["changed"] is False


def test_gathered_rendered_and_parsed_round_trip_and_need_no_device(fleet):
    host = fleet.hosts[0]
    local_play = {
        "hosts": "localhost",
        "vars": {"ansible_connection": "local"},
        "tasks": [
            {
                "name": "render",
                "nnfv.cpe.service_graph": {"state": "rendered", "config": [fw_nat_config()]},
                "register": "r",
            },
            {
                "name": "parse",
                "nnfv.cpe.service_graph": {"state": "parsed", "running_config": "{{ r.rendered }}"},
            },
        ],
    }
    gather = {"name": "gather", "nnfv.cpe.service_graph": {"state": "gathered"}}
    # rendered and parsed run on localhost with a local connection: no NETCONF session exists
    result = fleet.play([setup(), gather], hosts=host, more_plays=[local_play])
    assert result.rc == 0, result.explain()
    assert result["gather"][host]["gathered"] == [fw_nat_config()]
    rendered = result["render"]["localhost"]["rendered"]
    assert rendered.startswith('<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"')
    assert "<functional-type>firewall</functional-type>" in rendered
    assert result["parse"]["localhost"]["parsed"] == [fw_nat_config()]
    assert "rpcs" not in result["render"]["localhost"]


def test_confirmed_commit_left_unconfirmed_rolls_back_by_itself(fleet):
    hosts = fleet.hosts[:2]
    changed = fw_nat_config(allow_tcp="8080")
    result = fleet.play(
        [
            setup(),
            push([changed], confirm_timeout=3, confirm=False),
            {"name": "wait", "ansible.builtin.pause": {"seconds": 5}},
            {"name": "gather", "nnfv.cpe.service_graph": {"state": "gathered"}},
        ],
        "--limit",
        ",".join(hosts),
    )
    assert result.rc == 0, result.explain()
    for host in hosts:
        pushed = result["push"][host]
        assert pushed["changed"] is True and pushed["pending_confirm"] is True
        assert pushed["after"] == [changed]
        # same NETCONF session still open: the confirm-timeout rolled it back
        assert result["gather"][host]["gathered"] == [fw_nat_config()], "not rolled back"
        assert ping(fleet.cpe(host))


def test_refused_edit_fails_with_error_tag_and_path_and_leaves_cpe_usable(fleet):
    host = fleet.hosts[0]
    bad = extra_graph("bad")
    bad["flow_rules"][0]["match"]["port_in"] = "endpoint:nowhere"
    result = fleet.play(
        [setup(), push([bad], name="bad"), push([extra_graph("good")], name="good")],
        "--limit",
        host,
    )
    res = result["bad"][host]
    assert res["failed"] is True
    assert res["error_tag"] == "operation-failed"
    assert res["rpc_error"]["option_path"] == "config[name=bad].flow_rules[id=a-to-b].match.port_in"
    xpath = "/nfg:graphs/nfg:graph[nfg:name='bad']/nfg:flow-rule[nfg:id='a-to-b']/nfg:match"
    assert res["msg"] == (
        f"commit failed: operation-failed (must-violation) at {xpath}/nfg:port-in "
        "[option config[name=bad].flow_rules[id=a-to-b].match.port_in]: "
        "port-in: no such endpoint in this graph"
    )
    assert res["rpcs"][-2:] == ["discard-changes", "unlock"]
    assert result["good"][host]["changed"] is True, result.explain()
    assert "bad" not in running_xml(fleet.cpe(host))


def test_missing_priority_fails_before_contacting_the_cpe_naming_graph_and_rule(fleet):
    host = fleet.hosts[0]
    bad = extra_graph("bad")
    del bad["flow_rules"][0]["priority"]
    result = fleet.play([push([bad], "replaced", name="bad")], "--limit", host)
    res = result["bad"][host]
    assert res["failed"] is True
    assert res["msg"] == (
        "missing required options (the CPE refuses a graph without them): "
        "config[name=bad].flow_rules[id=a-to-b].priority"
    )
    assert res["missing_options"] == ["config[name=bad].flow_rules[id=a-to-b].priority"]
    assert "rpcs" not in res  # no NETCONF operation at all


def test_interface_conflict_names_the_graph_of_the_task_not_the_holder(fleet):
    host = fleet.hosts[0]
    newcomer = extra_graph("newcomer")
    newcomer["endpoints"][0] = {"id": "a", "interface": "lan0"}  # fw-nat holds lan0
    result = fleet.play([setup(), push([newcomer], name="conflict")], "--limit", host)
    res = result["conflict"][host]
    assert res["failed"] is True
    assert res["rpc_error"]["option_path"] == "config[name=newcomer].endpoints[id=a].interface"
    assert "config[name=newcomer].endpoints[id=a].interface" in res["msg"]
    assert "interface lan0 is already used by graph fw-nat, endpoint lan" in res["msg"]
    assert res["rpcs"][-2:] == ["discard-changes", "unlock"]
    assert "newcomer" not in running_xml(fleet.cpe(host))


def test_cpe_missing_a_capability_fails_clearly_while_the_others_succeed(fleet):
    weak = fleet.cpes[-1]
    # take the graph off that CPE, then restart its agent without /usr/sbin in its executable
    # path: nft is missing there, so the firewall template cannot run
    fleet.play([push(None, "deleted")], "--limit", weak.id)
    restart_agent(fleet, weak, executable_path="/usr/bin:/bin")
    try:
        result = fleet.play(
            [
                {"name": "facts", "nnfv.cpe.cpe_facts": {"gather_subset": ["capabilities"]}},
                push([fw_nat_config(allow_tcp="22")], confirm_timeout=60),
            ]
        )
        failed = {h for h, r in result["push"].items() if r.get("failed")}
        assert failed == {weak.id}, result.explain()
        res = result["push"][weak.id]
        assert res["error_tag"] == "operation-failed"
        assert "commit refused" in res["msg"] and "firewall" in res["msg"], res["msg"]
        assert res["rpcs"][-2:] == ["discard-changes", "unlock"]
        nnfv = result["facts"][weak.id]["ansible_facts"]["nnfv"]
        assert "firewall" in nnfv["functions_not_ready"]
        for host, r in result["push"].items():
            if host != weak.id:
                assert r["changed"] is True and r["status"]["fw-nat"]["state"] == "deployed"
        assert "fw-nat" not in running_xml(weak)
    finally:
        restart_agent(fleet, weak)
    assert fleet.play([push([fw_nat_config()])], "--limit", weak.id).rc == 0


def test_cpe_facts_feed_when_conditions(fleet):
    ipsec = {
        "name": "vpn",
        "nfs": [{"id": "x", "functional_type": "ipsec", "ports": [{"name": "in"}]}],
        "endpoints": [{"id": "a", "internal_group": "vpn-a"}],
    }
    hosts = fleet.hosts[:3]
    result = fleet.play(
        [
            setup(),
            {"name": "facts", "nnfv.cpe.cpe_facts": {}},
            {
                "name": "ipsec where ready",
                "nnfv.cpe.service_graph": {"config": [ipsec]},
                "when": "'ipsec' in ansible_facts.nnfv.functions_ready",
            },
            {
                "name": "firewall where ready",
                "ansible.builtin.debug": {"msg": "ok"},
                "when": "ansible_facts.nnfv.capabilities.functional.firewall.ready",
            },
        ],
        "--limit",
        ",".join(hosts),
    )
    assert result.rc == 0, result.explain()
    for host in hosts:
        facts = result["facts"][host]["ansible_facts"]["nnfv"]
        assert {"firewall", "nat", "bridge"} <= set(facts["functions_ready"])
        assert "kernel feature esp" in facts["functions_not_ready"]["ipsec"]
        assert facts["resources"]["memory_free"] > 0
        assert facts["graphs"]["fw-nat"]["state"] == "deployed"
        assert facts["capabilities"]["infrastructural"]["kernel_features"]["netns"]["available"]
        assert facts["agent"]["network_os"] == "nnfv.cpe.cpe"
        assert result["facts"][host]["rpcs"] == ["get"]
        assert result["ipsec where ready"][host].get("skipped") is True
        assert result["firewall where ready"][host].get("skipped") is not True


def test_nf_template_merged_is_idempotent_and_deleted_removes_it(fleet):
    hosts = fleet.hosts[:3]
    template = {
        "name": "my-bridge",
        "functional_type": "bridge",
        "uri": "file:///var/lib/nnfv/nnf/my-bridge.tgz",
        "sha256": "0" * 64,
        "ports": [{"name": "in", "index": 0}, {"name": "out", "index": 1}],
        "dependencies": [{"kind": "kernel-feature", "name": "bridge"}],
        "lifecycle_management_scripts": [
            {"event": "start", "script": "scripts/start"},
            {"event": "stop", "script": "scripts/stop"},
        ],
        "parameters": [{"name": "stp", "type": "boolean", "default": "false"}],
    }

    def tpl(name, state, config=None):
        args = {"state": state, **({"config": config} if config is not None else {})}
        return {"name": name, "nnfv.cpe.nf_template": args}

    result = fleet.play(
        [
            tpl("first", "merged", [template]),
            tpl("second", "merged", [template]),
            {"name": "facts", "nnfv.cpe.cpe_facts": {"gather_subset": ["all"]}},
            tpl("gone", "deleted", [{"name": "my-bridge"}]),
        ],
        "--limit",
        ",".join(hosts),
    )
    assert result.rc == 0, result.explain()
    for host in hosts:
        assert result["first"][host]["changed"] is True
        assert result["first"][host]["after"] == [template]
        assert result["second"][host]["changed"] is False
        nnfv = result["facts"][host]["ansible_facts"]["nnfv"]
        assert nnfv["templates"]["my-bridge"]["source"] == "configured"
        assert "my-bridge" in nnfv["capabilities"]["functional"]["bridge"]["templates"]
        assert result["gone"][host]["changed"] is True
        assert result["gone"][host]["after"] == []


def test_states_that_need_config_refuse_to_run_without_it(fleet):
    states = ["merged", "replaced", "overridden", "rendered"]
    host = fleet.hosts[0]
    result = fleet.play([push(None, s, name=s) for s in states], "--limit", host)
    for state in states:
        res = result[state][host]
        assert res["failed"] is True
        assert res["msg"] == f"state is {state} but all of the following are missing: config"
