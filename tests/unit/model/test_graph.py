"""Service graphs as values: what is read from one graph's config XML, and which changes the
steering rules depend on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lxml import etree

from nnfv_agent.model.graph import SG, Endpoint, Graph, PortRef, graph_from_xml

EXAMPLES = Path(__file__).resolve().parents[3] / "agent" / "nnfv_agent" / "yang" / "examples"


def graph_xml(body: str, name: str = "g") -> str:
    return f'<graph xmlns="{SG}"><name>{name}</name>{body}</graph>'


def rule_xml(rid: str, match: str, actions: str | None, priority: int = 10) -> str:
    acts = "" if actions is None else f"<actions>{actions}</actions>"
    return (
        f"<flow-rule><id>{rid}</id><priority>{priority}</priority>"
        f"<match>{match}</match>{acts}</flow-rule>"
    )


def example_graph() -> Graph:
    doc = etree.parse(str(EXAMPLES / "graph-firewall-nat.xml"))
    [el] = doc.getroot().findall(f"{{{SG}}}graph")
    return graph_from_xml(etree.tostring(el).decode())


def test_shipped_example_reads_into_nfs_endpoints_and_rules() -> None:
    g = example_graph()
    assert (g.name, g.enabled) == ("fw-nat", True)
    assert list(g.nfs) == ["fw", "nat"]
    fw = g.nfs["fw"]
    assert (fw.functional_type, fw.template, fw.flavour, fw.ports) == (
        "firewall",
        None,
        "native",
        ("in", "out"),
    )
    assert fw.param_dict == {"allow-tcp-ports": "22,80,443"}
    assert g.endpoints["lan"] == Endpoint("lan", "interface", interface="veth-lan")
    assert len(g.rules) == 6
    rule = g.rules["fw-to-nat"]
    assert (rule.priority, rule.port_in, rule.outputs, rule.drop) == (
        10,
        PortRef(nf="fw", port="out"),
        (PortRef(nf="nat", port="in"),),
        False,
    )


def test_leaves_left_out_take_their_defaults() -> None:
    graph = graph_from_xml(
        graph_xml("<nf><id>fw</id><template>t</template><port><name>in</name></port></nf>")
    )
    nf = graph.nfs["fw"]
    assert (nf.flavour, nf.admin_state, nf.functional_type, nf.restart) == (
        "any",
        "running",
        None,
        (),
    )
    assert graph.enabled is True


def test_disabled_graph_and_paused_nf_are_read_as_such() -> None:
    g = graph_from_xml(
        graph_xml(
            "<admin-state>disabled</admin-state>"
            "<nf><id>fw</id><template>t</template><admin-state>paused</admin-state></nf>"
        )
    )
    assert g.enabled is False
    assert g.nfs["fw"].admin_state == "paused"


def test_nf_parameters_are_sorted_by_name_kept_verbatim_and_empty_when_missing() -> None:
    g = graph_from_xml(
        graph_xml(
            "<nf><id>fw</id><template>t</template>"
            "<config-parameter><name>z</name><value> 1 </value></config-parameter>"
            "<config-parameter><name>a</name></config-parameter></nf>"
        )
    )
    assert g.nfs["fw"].params == (("a", ""), ("z", " 1 "))


def test_nf_restart_policy_leaves_are_kept_by_local_name_sorted() -> None:
    g = graph_from_xml(
        graph_xml(
            "<nf><id>fw</id><template>t</template><restart-policy>"
            "<retry-minimum-wait-interval>5</retry-minimum-wait-interval>"
            "<auto-restart> false </auto-restart></restart-policy></nf>"
        )
    )
    assert g.nfs["fw"].restart == (("auto-restart", "false"), ("retry-minimum-wait-interval", "5"))


def test_each_kind_of_endpoint_is_read_with_its_own_leaves() -> None:
    g = graph_from_xml(
        graph_xml(
            "<endpoint><id>v</id><vlan><interface>eth0</interface><vlan-id>10</vlan-id></vlan>"
            "</endpoint>"
            "<endpoint><id>x</id><vxlan><interface>eth1</interface><remote>192.0.2.2</remote>"
            "<local>192.0.2.1</local><vni>42</vni></vxlan></endpoint>"
            "<endpoint><id>y</id><vxlan><remote>192.0.2.3</remote><vni>7</vni>"
            "<dst-port>8472</dst-port></vxlan></endpoint>"
            "<endpoint><id>i</id><internal-group>grp</internal-group></endpoint>"
        )
    )
    assert g.endpoints == {
        "v": Endpoint("v", "vlan", interface="eth0", vlan_id=10),
        "x": Endpoint(
            "x", "vxlan", interface="eth1", remote="192.0.2.2", local="192.0.2.1", vni=42
        ),
        "y": Endpoint("y", "vxlan", remote="192.0.2.3", vni=7, dst_port=8472),
        "i": Endpoint("i", "internal", group="grp"),
    }
    assert g.endpoints["x"].dst_port == 4789  # the IANA VXLAN port when not set


def test_rule_match_and_rewrites_are_kept_in_the_models_field_order() -> None:
    g = graph_from_xml(
        graph_xml(
            rule_xml(
                "r",
                "<port-in>endpoint:lan</port-in><destination-port>80</destination-port>"
                "<ip-protocol>6</ip-protocol><ether-type>0x0800</ether-type>",
                "<set-destination-ipv4>10.0.0.2</set-destination-ipv4>"
                "<set-source-mac>02:00:00:00:00:01</set-source-mac>"
                "<output>nf:fw:in</output><output>endpoint:wan</output>",
            )
        )
    )
    rule = g.rules["r"]
    assert rule.match == (
        ("ether-type", "0x0800"),
        ("ip-protocol", "6"),
        ("destination-port", "80"),
    )
    assert rule.rewrites == (
        ("set-source-mac", "02:00:00:00:00:01"),
        ("set-destination-ipv4", "10.0.0.2"),
    )
    assert rule.outputs == (PortRef(nf="fw", port="in"), PortRef(endpoint="wan"))


def test_rule_that_drops_or_has_no_actions_outputs_nowhere() -> None:
    g = graph_from_xml(
        graph_xml(
            rule_xml("d", "<port-in>endpoint:lan</port-in>", "<drop/>")
            + rule_xml("n", "<port-in>endpoint:lan</port-in>", None, priority=5)
        )
    )
    assert (g.rules["d"].drop, g.rules["d"].outputs) == (True, ())
    assert (g.rules["n"].drop, g.rules["n"].outputs, g.rules["n"].priority) == (False, (), 5)


def test_element_without_its_key_or_mandatory_leaf_is_refused_naming_both() -> None:
    with pytest.raises(ValueError, match="graph element nf: no id"):
        graph_from_xml(graph_xml("<nf><template>t</template></nf>"))
    with pytest.raises(ValueError, match="graph element flow-rule: no priority"):
        graph_from_xml(
            graph_xml(
                "<flow-rule><id>r</id><match><port-in>endpoint:a</port-in></match></flow-rule>"
            )
        )


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("endpoint:lan", PortRef(endpoint="lan")),
        ("nf:fw:in", PortRef(nf="fw", port="in")),
        ("nf:fw:eth0.10", PortRef(nf="fw", port="eth0.10")),
    ],
)
def test_port_reference_parses_and_prints_back(text: str, ref: PortRef) -> None:
    assert PortRef.parse(text) == ref
    assert str(ref) == text


def test_graph_values_are_immutable() -> None:
    g = example_graph()
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.enabled = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.nfs["fw"].ports = ()  # type: ignore[misc]


def test_network_view_ignores_nf_parameters_and_follows_what_steering_uses() -> None:
    base = example_graph()
    fw = base.nfs["fw"]
    same = dataclasses.replace(
        base, nfs={**base.nfs, "fw": dataclasses.replace(fw, params=(("x", "1"),))}
    )
    assert same.network_view() == base.network_view()
    fewer_rules = dataclasses.replace(
        base, rules={k: v for k, v in base.rules.items() if k != "fw-to-lan"}
    )
    moved = dataclasses.replace(
        base, endpoints={**base.endpoints, "lan": Endpoint("lan", "interface", interface="x")}
    )
    more_ports = dataclasses.replace(
        base, nfs={**base.nfs, "fw": dataclasses.replace(fw, ports=("in", "out", "mgmt"))}
    )
    disabled = dataclasses.replace(base, enabled=False)
    views = {g.network_view() for g in (base, fewer_rules, moved, more_ports, disabled)}
    assert len(views) == 5
