"""config-filter, max-depth and origin annotation (RFC 8526), on small trees with a stand-in
schema. The YANG library's datastores are tested in test_yanglib.py."""

from __future__ import annotations

from lxml import etree

from nnfv_agent.netconf.filters import subtree
from nnfv_agent.netconf.nmda import state_origin
from nnfv_agent.netconf.nmda_tree import (
    ORIGIN,
    SELECTED,
    annotate_origin,
    keep_config,
    limit_depth,
    unmark,
)
from nnfv_agent.netconf.xpath_filter import xpath
from nnfv_agent.xmlutil import NCDS

G = "urn:nnfv:yang:nnfv-service-graph"
S = "urn:example:server-state"
STATE_NAMES = {"status", "counters", "server"}
KEYS = {"graph": ("name",), "nf": ("id",)}


def is_config(el: etree._Element) -> bool | None:
    name = etree.QName(el).localname
    if etree.QName(el).namespace not in (G, S):
        return None
    if name in STATE_NAMES:
        return False
    parent = el.getparent()
    while parent is not None and etree.QName(parent).namespace in (G, S):
        if etree.QName(parent).localname in STATE_NAMES:
            return False
        parent = parent.getparent()
    return True


def keys_of(el: etree._Element) -> tuple[str, ...]:
    return KEYS.get(etree.QName(el).localname, ())


def sample() -> list[etree._Element]:
    graphs = etree.fromstring(
        f'<graphs xmlns="{G}"><graph><name>a</name><description>d</description>'
        "<nf><id>fw</id><template>t</template><status><state>up</state></status></nf>"
        "<status><state>deployed</state></status></graph>"
        "<graph><name>b</name><description>e</description></graph></graphs>"
    )
    server = etree.fromstring(f'<server xmlns="{S}"><uptime>5</uptime></server>')
    return [graphs, server]


def names(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el]


def test_config_filter_true_removes_state_at_every_level() -> None:
    data = keep_config(sample(), True, is_config, keys_of)
    assert [etree.QName(t).localname for t in data] == ["graphs"]
    graph = data[0][0]
    assert names(graph) == ["name", "description", "nf"]
    assert names(graph.find(f"{{{G}}}nf")) == ["id", "template"]


def test_config_filter_false_keeps_state_with_its_ancestors_and_their_keys() -> None:
    data = keep_config(sample(), False, is_config, keys_of)
    assert [etree.QName(t).localname for t in data] == ["graphs", "server"]
    graphs = data[0]
    assert len(graphs) == 1  # graph b holds no state
    graph = graphs[0]
    assert names(graph) == ["name", "nf", "status"]
    assert names(graph.find(f"{{{G}}}nf")) == ["id", "status"]


def test_max_depth_counts_from_the_top_without_a_filter() -> None:
    data = sample()
    limit_depth(data, 2, keys_of, marked=False)
    assert [names(g) for g in data[0]] == [["name"], ["name"]]
    assert names(data[1]) == ["uptime"]


def test_max_depth_one_keeps_only_the_top_nodes() -> None:
    data = sample()
    limit_depth(data, 1, keys_of, marked=False)
    assert [len(t) for t in data] == [0, 0]


def test_max_depth_counts_from_the_nodes_a_subtree_filter_selects() -> None:
    filt = etree.fromstring(
        f'<filter xmlns:g="{G}"><g:graphs><g:graph><g:name>a</g:name><g:nf/></g:graph>'
        "</g:graphs></filter>"
    )
    data = subtree(sample(), filt, keys_of, mark=SELECTED)
    limit_depth(data, 2, keys_of, marked=True)
    unmark(data)
    nf = data[0].find(f"{{{G}}}graph/{{{G}}}nf")
    assert nf is not None
    assert names(nf) == ["id", "template", "status"]
    assert len(nf.find(f"{{{G}}}status")) == 0  # the third level below the selected node
    assert b"selected" not in etree.tostring(data[0])


def test_max_depth_counts_from_the_nodes_an_xpath_filter_selects() -> None:
    data = xpath(sample(), "/g:graphs/g:graph[g:name='a']/g:status", {"g": G}, keys_of)
    assert b"selected" not in etree.tostring(data[0])  # unmarked unless asked
    data = xpath(
        sample(), "/g:graphs/g:graph[g:name='a']/g:status", {"g": G}, keys_of, mark=SELECTED
    )
    limit_depth(data, 1, keys_of, marked=True)
    unmark(data)
    graph = data[0][0]
    assert names(graph) == ["name", "status"]
    assert len(graph.find(f"{{{G}}}status")) == 0


def test_origin_marks_configuration_roots_intended_and_state_roots_by_their_source() -> None:
    wrapper = etree.Element(f"{{{NCDS}}}data", nsmap={None: NCDS, "or": ORIGIN})
    wrapper.extend(sample())
    annotate_origin(list(wrapper), is_config, state_origin)
    attr = f"{{{ORIGIN}}}origin"
    graphs, server = wrapper
    assert graphs.get(attr) == "or:intended"
    assert server.get(attr) == "or:system"
    graph = graphs[0]
    assert graph.get(attr) is None  # inherited from graphs
    assert graph.find(f"{{{G}}}status").get(attr) == "or:learned"
    assert graph.find(f"{{{G}}}nf/{{{G}}}status").get(attr) == "or:learned"
    assert graph.find(f"{{{G}}}nf/{{{G}}}status/{{{G}}}state").get(attr) is None
    text = etree.tostring(wrapper).decode()
    assert 'or:origin="or:intended"' in text  # the attribute uses the declared prefix
