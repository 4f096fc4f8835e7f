"""<filter> on get-config and get: subtree filtering (RFC 6241 section 6) and :xpath."""

from __future__ import annotations

import pytest
from lxml import etree

from support.agentproc import example_config
from support.clients import RawClient
from support.replies import assert_ok, data_of, field, info, the_error

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NFG = "urn:nnfv:yang:nnfv-service-graph"
NNFT = "urn:nnfv:yang:nnfv-nnf-template"
NODE = "urn:nnfv:yang:nnfv-node"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
NS = {"nc": NC, "nfg": NFG, "nnft": NNFT, "node": NODE, "ncm": NCM}
XMLNS = f'xmlns:nfg="{NFG}" xmlns:nnft="{NNFT}" xmlns:node="{NODE}"'

NODE_CONFIG = (
    f'<node xmlns="{NODE}"><allowed-interface>eth0</allowed-interface>'
    "<allowed-interface>eth1</allowed-interface>"
    "<accelerator><name>qat0</name><kind>crypto</kind></accelerator></node>"
)
# Extra graphs without interface endpoints, so that they never clash with the examples.
EXTRA_GRAPHS = "".join(
    f"<graph><name>extra{i}</name><description>extra graph {i}</description>"
    f"<nf><id>a{i}</id><functional-type>f</functional-type>"
    f"<port><name>p{i}</name></port><port><name>q{i}</name></port></nf>"
    f"<nf><id>noport{i}</id><template>t</template></nf></graph>"
    for i in range(4)
)
# (key leaves of each list) for the structural checks below
KEYS = {
    f"{{{NFG}}}graph": ("name",),
    f"{{{NFG}}}nf": ("id",),
    f"{{{NFG}}}port": ("name",),
    f"{{{NFG}}}endpoint": ("id",),
    f"{{{NFG}}}flow-rule": ("id",),
    f"{{{NFG}}}config-parameter": ("name",),
    f"{{{NNFT}}}template": ("name",),
    f"{{{NODE}}}accelerator": ("name",),
}


# ---- helpers ----------------------------------------------------------------------------


@pytest.fixture
def loaded(raw):
    """Running holds graphs access and uplink, a template and node config."""
    for name in ("graphs-internal.xml", "template-firewall.xml"):
        assert_ok(
            raw.rpc(f"<edit-config><target><running/></target>{example_config(name)}</edit-config>")
        )
    assert_ok(
        raw.rpc(
            f'<edit-config><target><running/></target><config xmlns="{NC}">{NODE_CONFIG}'
            "</config></edit-config>"
        )
    )
    return raw


def subtree(raw: RawClient, inner: str, op: str = "get-config") -> etree._Element:
    source = "<source><running/></source>" if op == "get-config" else ""
    return data_of(raw.rpc(f'<{op}>{source}<filter type="subtree">{inner}</filter></{op}>'))


def xpath_reply(raw: RawClient, select: str, op: str = "get-config") -> str:
    source = "<source><running/></source>" if op == "get-config" else ""
    return raw.rpc(f'<{op}>{source}<filter type="xpath" {XMLNS} select="{select}"/></{op}>')


def xpath_repeatedly(raw: RawClient, select: str, times: int = 10) -> list[etree._Element]:
    """The same query several times: the answer must not depend on the agent's memory layout."""
    return [data_of(xpath_reply(raw, select)) for _ in range(times)]


def full(raw: RawClient) -> etree._Element:
    return data_of(raw.rpc("<get-config><source><running/></source></get-config>"))


def canonical(el: etree._Element) -> tuple:
    children = tuple(sorted(canonical(c) for c in el if isinstance(c.tag, str)))
    return (el.tag, "" if children else (el.text or "").strip(), children)


def tree(xml: str) -> tuple:
    return canonical(etree.fromstring(xml))


def values(data: etree._Element, xpath: str) -> list[str]:
    return [str(v).strip() for v in data.xpath(xpath, namespaces=NS)]


def child_tags(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


def assert_well_formed_entries(data: etree._Element) -> None:
    """Every list entry carries each of its keys exactly once, as a plain leaf, first."""
    for el in data.iter():
        keys = KEYS.get(el.tag)
        if not keys:
            continue
        tags = child_tags(el)
        for key in keys:
            assert tags.count(key) == 1, etree.tostring(el)
            key_el = el.find(f"{{{etree.QName(el).namespace}}}{key}")
            assert len(key_el) == 0, etree.tostring(el)


# ---- subtree filters ---------------------------------------------------------------------


def test_subtree_selection_node_returns_the_whole_subtree_of_that_module_only(loaded):
    data = subtree(loaded, f'<graphs xmlns="{NFG}"/>')
    assert child_tags(data) == ["graphs"]
    assert canonical(data[0]) == canonical(full(loaded).find(f"{{{NFG}}}graphs"))


def test_subtree_content_match_on_the_key_selects_one_graph(loaded):
    data = subtree(loaded, f'<graphs xmlns="{NFG}"><graph><name>uplink</name></graph></graphs>')
    assert values(data, "nfg:graphs/nfg:graph/nfg:name/text()") == ["uplink"]
    expected = full(loaded).xpath("nfg:graphs/nfg:graph[nfg:name='uplink']", namespaces=NS)[0]
    assert canonical(data.xpath("nfg:graphs/nfg:graph", namespaces=NS)[0]) == canonical(expected)


def test_subtree_containment_nodes_return_only_the_selected_leaves_with_list_keys(loaded):
    data = subtree(
        loaded,
        f'<graphs xmlns="{NFG}"><graph><name>access</name>'
        "<flow-rule><priority/></flow-rule></graph></graphs>",
    )
    rules = "".join(
        f"<flow-rule><id>{r}</id><priority>10</priority></flow-rule>"
        for r in ("lan-to-fw", "fw-to-uplink", "uplink-to-fw", "fw-to-lan")
    )
    expected = f'<graphs xmlns="{NFG}"><graph><name>access</name>{rules}</graph></graphs>'
    assert [canonical(c) for c in data] == [tree(expected)]


def test_subtree_selection_below_a_list_includes_the_key_of_every_entry(loaded):
    data = subtree(loaded, f'<graphs xmlns="{NFG}"><graph><description/></graph></graphs>')
    expected = (
        f'<graphs xmlns="{NFG}">'
        "<graph><name>access</name>"
        "<description>LAN side: firewall, then the shared internal link</description></graph>"
        "<graph><name>uplink</name>"
        "<description>WAN side: the shared internal link to the WAN interface</description>"
        "</graph></graphs>"
    )
    assert [canonical(c) for c in data] == [tree(expected)]
    assert_well_formed_entries(data)


def test_subtree_content_match_on_a_nested_leaf_selects_matching_entries_only(loaded):
    data = subtree(
        loaded,
        f'<graphs xmlns="{NFG}"><graph><flow-rule><match><port-in>endpoint:lan</port-in>'
        "</match></flow-rule></graph></graphs>",
    )
    expected = (
        f'<graphs xmlns="{NFG}"><graph><name>access</name><flow-rule><id>lan-to-fw</id>'
        "<match><port-in>endpoint:lan</port-in></match></flow-rule></graph></graphs>"
    )
    assert [canonical(c) for c in data] == [tree(expected)]


def test_subtree_content_match_that_matches_nothing_returns_empty_data(loaded):
    data = subtree(loaded, f'<graphs xmlns="{NFG}"><graph><name>nope</name></graph></graphs>')
    assert len(data) == 0


def test_subtree_empty_filter_returns_empty_data(loaded):
    data = subtree(loaded, "")
    assert len(data) == 0
    data = data_of(loaded.rpc('<get><filter type="subtree"/></get>'))
    assert len(data) == 0


def test_subtree_filter_with_a_wrong_namespace_selects_nothing(loaded):
    data = subtree(loaded, f'<graphs xmlns="{NODE}"/><node xmlns="{NFG}"/>')
    assert len(data) == 0


def test_subtree_filter_on_several_modules_returns_each_selected_part(loaded):
    data = subtree(
        loaded,
        f'<graphs xmlns="{NFG}"><graph><name>uplink</name><endpoint><id>wan</id></endpoint>'
        f'</graph></graphs><templates xmlns="{NNFT}"><template><functional-type/></template>'
        f'</templates><node xmlns="{NODE}"><accelerator><kind/></accelerator></node>',
    )
    expected = [
        f'<graphs xmlns="{NFG}"><graph><name>uplink</name><endpoint><id>wan</id>'
        "<interface>veth-wan</interface></endpoint></graph></graphs>",
        f'<templates xmlns="{NNFT}"><template><name>nnf-firewall</name>'
        "<functional-type>firewall</functional-type></template></templates>",
        f'<node xmlns="{NODE}"><accelerator><name>qat0</name><kind>crypto</kind>'
        "</accelerator></node>",
    ]
    assert sorted(canonical(c) for c in data) == sorted(tree(x) for x in expected)


def test_subtree_filter_on_get_selects_state_data(loaded):
    data = subtree(loaded, f'<netconf-state xmlns="{NCM}"><datastores/></netconf-state>', "get")
    expected = (
        f'<netconf-state xmlns="{NCM}"><datastores>'
        "<datastore><name>running</name></datastore>"
        "<datastore><name>candidate</name></datastore>"
        "<datastore><name>startup</name></datastore></datastores></netconf-state>"
    )
    assert [canonical(c) for c in data] == [tree(expected)]


# ---- XPath filters ------------------------------------------------------------------------


def test_xpath_filter_returns_selected_nfs_with_their_ancestors_and_keys(loaded):
    data = data_of(xpath_reply(loaded, "/nfg:graphs/nfg:graph[nfg:name='access']/nfg:nf"))
    nf = full(loaded).xpath("nfg:graphs/nfg:graph[nfg:name='access']/nfg:nf", namespaces=NS)[0]
    assert child_tags(data) == ["graphs"]
    graph = data[0][0]
    assert child_tags(data[0]) == ["graph"]
    assert child_tags(graph) == ["name", "nf"]
    assert graph[0].text == "access"
    assert canonical(graph[1]) == canonical(nf)
    assert_well_formed_entries(data)


def test_xpath_filter_selecting_a_key_leaf_does_not_duplicate_it(loaded):
    data = data_of(xpath_reply(loaded, "/nfg:graphs/nfg:graph/nfg:name"))
    expected = (
        f'<graphs xmlns="{NFG}"><graph><name>access</name></graph>'
        "<graph><name>uplink</name></graph></graphs>"
    )
    assert [canonical(c) for c in data] == [tree(expected)]
    for graph in data.iter(f"{{{NFG}}}graph"):
        assert child_tags(graph) == ["name"]


def test_xpath_filter_union_of_key_and_leaf_gives_one_key_per_entry(loaded):
    select = (
        "/nfg:graphs/nfg:graph[nfg:name='uplink']/nfg:flow-rule/nfg:id"
        " | /nfg:graphs/nfg:graph[nfg:name='uplink']/nfg:flow-rule/nfg:priority"
    )
    data = data_of(xpath_reply(loaded, select))
    expected = (
        f'<graphs xmlns="{NFG}"><graph><name>uplink</name>'
        "<flow-rule><id>access-to-wan</id><priority>10</priority></flow-rule>"
        "<flow-rule><id>wan-to-access</id><priority>10</priority></flow-rule></graph></graphs>"
    )
    assert [canonical(c) for c in data] == [tree(expected)]
    assert_well_formed_entries(data)


def test_xpath_filter_on_nested_leaves_keeps_each_under_its_own_list_entry(raw):
    example = example_config("graph-firewall-nat.xml")
    assert_ok(raw.rpc(f"<edit-config><target><running/></target>{example}</edit-config>"))
    everything = full(raw)
    expected = {
        (rule.findtext(f"{{{NFG}}}id"), tuple(values(rule, "nfg:actions/nfg:output/text()")))
        for rule in everything.iter(f"{{{NFG}}}flow-rule")
    }
    assert len(expected) == 6
    select = "/nfg:graphs/nfg:graph/nfg:flow-rule/nfg:actions/nfg:output"
    for data in xpath_repeatedly(raw, select):
        assert_well_formed_entries(data)
        rules = data.xpath("nfg:graphs/nfg:graph/nfg:flow-rule", namespaces=NS)
        for rule in rules:
            assert child_tags(rule) == ["id", "actions"], etree.tostring(rule)
        got = {
            (rule.findtext(f"{{{NFG}}}id"), tuple(values(rule, "nfg:actions/nfg:output/text()")))
            for rule in rules
        }
        assert got == expected
        assert len(rules) == 6


def test_xpath_filter_across_several_graphs_keeps_each_graph_separate(loaded):
    assert_ok(
        loaded.rpc(
            f'<edit-config><target><running/></target><config xmlns="{NC}">'
            f'<graphs xmlns="{NFG}">{EXTRA_GRAPHS}</graphs></config></edit-config>'
        )
    )
    expected = {("access", "fw"): ["in", "out"]}
    expected.update({(f"extra{i}", f"a{i}"): [f"p{i}", f"q{i}"] for i in range(4)})
    for data in xpath_repeatedly(loaded, "/nfg:graphs/nfg:graph/nfg:nf/nfg:port/nfg:name"):
        assert_well_formed_entries(data)
        got = {}
        for graph in data.iter(f"{{{NFG}}}graph"):
            assert set(child_tags(graph)) == {"name", "nf"}, etree.tostring(graph)
            for nf in graph.iter(f"{{{NFG}}}nf"):
                assert set(child_tags(nf)) == {"id", "port"}, etree.tostring(nf)
                for port in nf.iter(f"{{{NFG}}}port"):
                    assert child_tags(port) == ["name"], etree.tostring(port)
                got[(graph.findtext(f"{{{NFG}}}name"), nf.findtext(f"{{{NFG}}}id"))] = values(
                    nf, "nfg:port/nfg:name/text()"
                )
        assert got == expected


def test_xpath_filter_on_several_modules(loaded):
    select = (
        "/nfg:graphs/nfg:graph[nfg:name='uplink']/nfg:description"
        " | /node:node/node:allowed-interface | /nnft:templates/nnft:template/nnft:uri"
    )
    data = data_of(xpath_reply(loaded, select))
    expected = [
        f'<graphs xmlns="{NFG}"><graph><name>uplink</name>'
        "<description>WAN side: the shared internal link to the WAN interface</description>"
        "</graph></graphs>",
        f'<node xmlns="{NODE}"><allowed-interface>eth0</allowed-interface>'
        "<allowed-interface>eth1</allowed-interface></node>",
        f'<templates xmlns="{NNFT}"><template><name>nnf-firewall</name>'
        "<uri>file:///var/lib/nnfv/nnf/firewall.tgz</uri></template></templates>",
    ]
    assert sorted(canonical(c) for c in data) == sorted(tree(x) for x in expected)


def test_xpath_filter_on_get_selects_state_data(loaded):
    reply = loaded.rpc(
        f'<get><filter type="xpath" xmlns:ncm="{NCM}" '
        'select="/ncm:netconf-state/ncm:datastores/ncm:datastore/ncm:name"/></get>'
    )
    data = data_of(reply)
    assert values(data, "ncm:netconf-state/ncm:datastores/ncm:datastore/ncm:name/text()") == [
        "running",
        "candidate",
        "startup",
    ]
    assert data.find(f"{{{NFG}}}graphs") is None


def test_xpath_filter_with_an_invalid_expression_returns_invalid_value(loaded):
    before = full(loaded)
    err = the_error(xpath_reply(loaded, "/nfg:graphs/nfg:graph[["))
    assert field(err, "error-type") == "protocol"
    assert field(err, "error-tag") == "invalid-value"
    assert info(err, "bad-attribute") == "select"
    assert canonical(full(loaded)) == canonical(before)


def test_xpath_filter_with_an_undeclared_prefix_returns_an_error(loaded):
    reply = loaded.rpc(
        '<get-config><source><running/></source><filter type="xpath" '
        'select="/nope:graphs"/></get-config>'
    )
    err = the_error(reply)
    assert field(err, "error-tag") == "invalid-value"


def test_xpath_filter_whose_result_is_not_a_node_set_returns_an_error(loaded):
    for select in ("count(/nfg:graphs/nfg:graph)", "string(/nfg:graphs/nfg:graph/nfg:name)"):
        err = the_error(xpath_reply(loaded, select))
        assert field(err, "error-type") == "protocol"
        assert field(err, "error-tag") == "invalid-value"
        assert "node-set" in field(err, "error-message")


def test_xpath_filter_without_select_returns_missing_attribute(loaded):
    reply = loaded.rpc('<get-config><source><running/></source><filter type="xpath"/></get-config>')
    err = the_error(reply)
    assert field(err, "error-tag") == "missing-attribute"
    assert info(err, "bad-attribute") == "select"
    assert info(err, "bad-element") == "filter"


def test_filter_with_an_unknown_type_returns_bad_attribute(loaded):
    reply = loaded.rpc(
        '<get-config><source><running/></source><filter type="jsonpath"/></get-config>'
    )
    err = the_error(reply)
    assert field(err, "error-tag") == "bad-attribute"
    assert info(err, "bad-attribute") == "type"
