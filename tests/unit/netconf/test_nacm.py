"""RFC 8341 rule evaluation: pure functions over compiled rules and reply elements."""

from __future__ import annotations

import pytest
from lxml import etree

from nnfv_agent.datastore.schema import Schema
from nnfv_agent.netconf.access import default_nacm_xml
from nnfv_agent.netconf.nacm import (
    Access,
    NacmSchema,
    exec_denied,
    prune_for_read,
    schema_facts,
)
from nnfv_agent.netconf.nacm_rules import (
    NACM_NS,
    NC_NS,
    BadPath,
    Policy,
    Step,
    parse_data_path,
    parse_instance_path,
)

SG = "urn:nnfv:yang:nnfv-service-graph"
TPL = "urn:nnfv:yang:nnfv-nnf-template"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"


@pytest.fixture(scope="module")
def facts() -> NacmSchema:
    return schema_facts(Schema())


def nacm(body: str, **defaults: str) -> Policy:
    head = "".join(
        f"<{k.replace('_', '-')}>{v}</{k.replace('_', '-')}>" for k, v in defaults.items()
    )
    return Policy.from_xml(f'<nacm xmlns="{NACM_NS}" xmlns:sg="{SG}">{head}{body}</nacm>')


def rule(name: str, action: str, *, ops: str = "*", module: str = "*", extra: str = "") -> str:
    return (
        f"<rule><name>{name}</name><module-name>{module}</module-name>{extra}"
        f"<access-operations>{ops}</access-operations><action>{action}</action></rule>"
    )


def rule_list(name: str, group: str, *rules: str) -> str:
    return f"<rule-list><name>{name}</name><group>{group}</group>{''.join(rules)}</rule-list>"


def graph(name: str) -> tuple[Step, ...]:
    return (Step(SG, "graphs"), Step(SG, "graph", (("name", name),)))


def tenant_policy() -> Policy:
    return nacm(
        rule_list(
            "tenant-a",
            "tenant-a",
            rule("own-web", "permit", extra="<path>/sg:graphs/sg:graph[sg:name='a-web']</path>"),
            rule("other-graphs", "deny", extra="<path>/sg:graphs/sg:graph</path>"),
        )
    )


def reply(*graphs: str) -> list[etree._Element]:
    entries = "".join(
        f"<graph><name>{g}</name><description>{g} secret</description></graph>" for g in graphs
    )
    return list(
        etree.fromstring(
            f'<data><graphs xmlns="{SG}">{entries}</graphs>'
            f'<templates xmlns="{TPL}"><template><name>t</name></template></templates>'
            f'<nacm xmlns="{NACM_NS}"><enable-nacm>true</enable-nacm></nacm></data>'
        )
    )


# ---- compiling ------------------------------------------------------------------------------


def test_no_nacm_configuration_means_the_rfc_defaults():
    policy = Policy.from_xml(None)
    assert (policy.enabled, policy.read_default, policy.write_default, policy.exec_default) == (
        True,
        True,
        False,
        True,
    )


def test_rules_apply_only_to_the_groups_their_rule_list_names(facts):
    policy = nacm(rule_list("l", "ops", rule("r", "permit")))
    assert [r.name for r in policy.rules_for(frozenset({"ops"}))] == ["r"]
    assert policy.rules_for(frozenset({"other"})) == ()
    assert policy.rules_for(frozenset()) == ()


def test_rule_list_for_all_groups_applies_to_any_user_in_a_group():
    policy = nacm(rule_list("l", "*", rule("r", "deny")))
    assert [r.name for r in policy.rules_for(frozenset({"x"}))] == ["r"]


def test_rules_for_a_group_set_are_compiled_once_and_reused():
    policy = nacm(rule_list("l", "ops", rule("r", "permit")))
    assert policy.rules_for(frozenset({"ops"})) is policy.rules_for(frozenset({"ops"}))


def test_configured_and_external_groups_are_both_used():
    policy = nacm("<groups><group><name>ops</name><user-name>alice</user-name></group></groups>")
    assert policy.groups_of("alice", ["monitor"]) == {"ops", "monitor"}
    assert policy.groups_of("bob", ["monitor"]) == {"monitor"}


def test_external_groups_are_ignored_when_disabled():
    policy = nacm("", enable_external_groups="false")
    assert policy.groups_of("alice", ["admin"]) == frozenset()


def test_instance_path_with_prefixes_and_key_predicate_is_read():
    path = parse_instance_path("/sg:graphs/sg:graph[sg:name='a-web']", {"sg": SG})
    assert path == graph("a-web")


def test_instance_path_slash_means_everything():
    assert parse_instance_path("/", {}) == ()


def test_instance_path_with_an_unknown_prefix_is_refused():
    with pytest.raises(BadPath, match="unknown prefix 'x'"):
        parse_instance_path("/x:graphs", {})


def test_libyang_data_path_is_read_with_module_names():
    path = parse_data_path(
        "/nnfv-service-graph:graphs/graph[name='a]b']/nf[id=\"n'1\"]", {"nnfv-service-graph": SG}
    )
    assert path[1].keys == (("name", "a]b"),) and path[2] == Step(SG, "nf", (("id", "n'1"),))


# ---- protocol operations --------------------------------------------------------------------


def test_exec_default_permits_ordinary_operations(facts):
    access = Access.of("u", nacm(""), facts)
    assert access.may_exec(NC_NS, "get-config")


def test_kill_session_and_delete_config_are_denied_without_an_explicit_rule(facts):
    access = Access.of("u", nacm(""), facts)
    assert not access.may_exec(NC_NS, "kill-session")
    assert not access.may_exec(NC_NS, "delete-config")


def test_explicit_rule_permits_kill_session(facts):
    policy = nacm(
        rule_list("l", "g", rule("k", "permit", extra="<rpc-name>kill-session</rpc-name>"))
    )
    assert Access.of("u", policy, facts, external_groups=["g"]).may_exec(NC_NS, "kill-session")


def test_close_session_is_always_permitted(facts):
    policy = nacm(rule_list("l", "g", rule("all", "deny")), exec_default="deny")
    assert Access.of("u", policy, facts, external_groups=["g"]).may_exec(NC_NS, "close-session")


def test_first_matching_rule_wins(facts):
    policy = nacm(
        rule_list(
            "l",
            "g",
            rule("no-edit", "deny", extra="<rpc-name>edit-config</rpc-name>"),
            rule("all", "permit"),
        )
    )
    access = Access.of("u", policy, facts, external_groups=["g"])
    assert not access.may_exec(NC_NS, "edit-config")
    assert access.may_exec(NC_NS, "get")


def test_rpc_rule_of_another_module_does_not_match(facts):
    policy = nacm(
        rule_list(
            "l", "g", rule("r", "deny", module="nnfv-agent", extra="<rpc-name>commit</rpc-name>")
        )
    )
    assert Access.of("u", policy, facts, external_groups=["g"]).may_exec(NC_NS, "commit")


def test_rule_without_exec_does_not_match_an_operation(facts):
    policy = nacm(rule_list("l", "g", rule("r", "deny", ops="read")))
    assert Access.of("u", policy, facts, external_groups=["g"]).may_exec(NC_NS, "commit")


def test_recovery_user_and_disabled_nacm_bypass_everything(facts):
    deny_all = nacm(rule_list("l", "*", rule("r", "deny")), exec_default="deny")
    assert Access.of("root", deny_all, facts, recovery=True).may_exec(NC_NS, "kill-session")
    off = nacm("", enable_nacm="false")
    assert Access.of("u", off, facts).data(graph("x"), "delete")


def test_access_denied_for_an_operation_names_it_as_error_path():
    err = exec_denied(NC_NS, "kill-session", "nc")
    xml = etree.tostring(err.to_xml()).decode()
    assert err.tag == "access-denied" and err.path == "/nc:rpc/nc:kill-session"
    assert f'xmlns:nc="{NC_NS}"' in xml


# ---- data nodes -----------------------------------------------------------------------------


def test_write_default_denies_and_read_default_permits(facts):
    access = Access.of("u", nacm(""), facts)
    assert access.data(graph("x"), "read")
    assert not access.data(graph("x"), "create")


def test_nacm_subtree_is_default_deny_all_for_reads_and_writes(facts):
    access = Access.of("u", nacm(""), facts, external_groups=["g"])
    here = (Step(NACM_NS, "nacm"), Step(NACM_NS, "enable-nacm"))
    assert not access.data(here, "read")
    assert not access.data(here, "update")


def test_path_rule_covers_the_node_and_its_descendants_only(facts):
    access = Access.of("u", tenant_policy(), facts, external_groups=["tenant-a"])
    below = (*graph("a-web"), Step(SG, "description"))
    assert access.data(below, "update")
    assert not access.data((*graph("b-db"), Step(SG, "description")), "read")
    assert access.data((Step(SG, "graphs"),), "read")  # read-default for the container


def test_access_operations_bits_select_the_rule(facts):
    policy = nacm(rule_list("l", "g", rule("w", "permit", ops="create update")))
    access = Access.of("u", policy, facts, external_groups=["g"])
    assert access.data(graph("x"), "create")
    assert not access.data(graph("x"), "delete")


def test_shipped_monitor_group_reads_all_writes_nothing_kills_nothing(facts):
    policy = Policy.from_xml(default_nacm_xml())
    monitor = Access.of("m", policy, facts, external_groups=["monitor"])
    assert monitor.data(graph("x"), "read")
    assert not monitor.data(graph("x"), "create")
    assert not monitor.may_exec(NC_NS, "kill-session")
    assert not monitor.may_exec(NC_NS, "edit-config")
    assert monitor.may_exec(NC_NS, "get-config")
    assert monitor.sees_everything()


def test_shipped_admin_group_may_do_everything_nacm_included(facts):
    admin = Access.of("a", Policy.from_xml(default_nacm_xml()), facts, external_groups=["admin"])
    assert admin.may_exec(NC_NS, "kill-session")
    assert admin.data((Step(NACM_NS, "nacm"),), "update")
    assert admin.sees_everything()


# ---- read filtering -------------------------------------------------------------------------


def names(elements: list[etree._Element]) -> list[str]:
    return [e.text or "" for el in elements for e in el.iter(f"{{{SG}}}name")]


def test_user_without_groups_does_not_see_the_nacm_rules(facts):
    out = prune_for_read(Access.of("u", nacm(""), facts), reply("a"))
    assert [etree.QName(e).localname for e in out] == ["graphs", "templates"]


def test_tenant_sees_its_graph_and_not_the_others(facts):
    access = Access.of("u", tenant_policy(), facts, external_groups=["tenant-a"])
    out = prune_for_read(access, reply("a-web", "b-db", "b-web"))
    assert names(out) == ["a-web"]
    assert "b-db secret" not in "".join(etree.tostring(e, encoding="unicode") for e in out)


def test_denied_ancestor_is_kept_as_structure_with_its_key_for_a_readable_descendant(facts):
    policy = nacm(
        rule_list(
            "l",
            "g",
            rule(
                "desc",
                "permit",
                ops="read",
                extra="<path>/sg:graphs/sg:graph[sg:name='a']/sg:description</path>",
            ),
        ),
        read_default="deny",
    )
    out = prune_for_read(Access.of("u", policy, facts, external_groups=["g"]), reply("a", "b"))
    assert len(out) == 1
    entries = out[0].findall(f"{{{SG}}}graph")
    assert len(entries) == 1
    assert [etree.QName(c).localname for c in entries[0]] == ["name", "description"]


def test_everything_denied_leaves_an_empty_reply(facts):
    policy = nacm(rule_list("l", "g", rule("none", "deny", ops="read")))
    assert prune_for_read(Access.of("u", policy, facts, external_groups=["g"]), reply("a")) == []


def test_state_of_other_modules_follows_module_rules(facts):
    policy = nacm(rule_list("l", "g", rule("no-state", "deny", module="ietf-netconf-monitoring")))
    state = etree.fromstring(f'<netconf-state xmlns="{NCM}"><sessions/></netconf-state>')
    out = prune_for_read(Access.of("u", policy, facts, external_groups=["g"]), [*reply("a"), state])
    assert [etree.QName(e).localname for e in out] == ["graphs", "templates"]


def test_bypass_returns_the_reply_untouched(facts):
    data = reply("a")
    assert prune_for_read(Access.of("r", nacm(""), facts, recovery=True), data) is data


def test_example_file_holds_the_rules_the_agent_ships():
    from support.agentproc import EXAMPLES

    shipped = Policy.from_xml(default_nacm_xml())
    example = etree.parse(str(EXAMPLES / "nacm-default.xml")).getroot()
    assert Policy.from_xml(etree.tostring(example, encoding="unicode")) == shipped


def test_tenant_example_keeps_the_shipped_rules_and_limits_each_tenant_to_its_graphs(facts):
    from support.agentproc import EXAMPLES

    shipped = Policy.from_xml(default_nacm_xml())
    example = etree.parse(str(EXAMPLES / "nacm-tenants.xml")).getroot()
    policy = Policy.from_xml(etree.tostring(example, encoding="unicode"))
    assert policy.rule_lists[:2] == shipped.rule_lists  # admin and monitor as shipped
    alice = Access.of("alice", policy, facts, external_groups=["tenant-a"])
    bob = Access.of("bob", policy, facts, external_groups=["tenant-b"])
    for op in ("read", "create", "update", "delete"):
        assert alice.data(graph("tenantA-web"), op) and alice.data(graph("tenantA-vpn"), op)
        assert not alice.data(graph("tenantB-db"), op) and not alice.data(graph("other"), op)
        assert bob.data(graph("tenantB-db"), op) and not bob.data(graph("tenantA-web"), op)
    oss = Access.of("oss", policy, facts, external_groups=["admin"])
    assert oss.data(graph("tenantB-db"), "create") and oss.may_exec(NC_NS, "kill-session")
