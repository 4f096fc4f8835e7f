"""LSIs and endpoints: isolation between graphs, internal and vxlan endpoints, refusals."""

from __future__ import annotations

import pytest

from graphs import endpoint, graphs_config, rule
from nnfv_agent.netconf.client import NetconfError
from simfleet import sh
from support.traffic import ping, ping_eventually

from .test_chains import counters, same_subnet


def host(cpe, name: str, cpe_if: str, address: str) -> str:
    """One more host namespace wired to a new CPE interface `cpe_if`."""
    ns = f"{name}-{cpe.id}"
    sh("ip", "netns", "add", ns)
    cpe.extra_namespaces = [*getattr(cpe, "extra_namespaces", []), ns]
    sh(
        "ip",
        "link",
        "add",
        cpe_if,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        ns,
        ns=cpe.cpe_ns,
    )
    sh("ip", "link", "set", cpe_if, "up", ns=cpe.cpe_ns)
    sh("ip", "addr", "add", address, "dev", "eth0", ns=ns)
    sh("ip", "link", "set", "eth0", "up", ns=ns)
    sh("ip", "link", "set", "lo", "up", ns=ns)
    return ns


@pytest.fixture
def hosts(cpe):
    yield cpe
    for ns in getattr(cpe, "extra_namespaces", []):
        sh("ip", "netns", "del", ns, check=False)


def bridge_graph(name: str, a: dict, b: dict) -> str:
    """Two endpoints, forwarding both ways. a/b: endpoint XML by id."""
    (ia, xa), (ib, xb) = next(iter(a.items())), next(iter(b.items()))
    return (
        f"<graph><name>{name}</name>{xa}{xb}"
        + rule("ab", 10, f"endpoint:{ia}", [f"endpoint:{ib}"])
        + rule("ba", 10, f"endpoint:{ib}", [f"endpoint:{ia}"])
        + "</graph>"
    )


def quiet(*namespaces: str) -> None:
    """No IPv6 (router solicitations, MLD) in these hosts: counters then count only our pings."""
    for ns in namespaces:
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)


def graph_counters(cpe, graph: str) -> dict[str, int]:
    with cpe.client() as c:
        return counters(
            c.rpc(
                '<get><filter type="xpath" '
                'xmlns:g="urn:nnfv:yang:nnfv-service-graph" '
                f"select=\"/g:graphs/g:graph[g:name='{graph}']\"/></get>"
            )
        )


def test_two_graphs_on_one_cpe_never_see_each_others_traffic(hosts):
    cpe = hosts
    wan_host = same_subnet(cpe)  # 192.0.2.20, on wan0
    ha = host(cpe, "ha", "a1", "192.0.2.30/24")
    hb = host(cpe, "hb", "b1", "192.0.2.40/24")
    quiet(cpe.lan_ns, cpe.wan_ns, ha, hb)
    cpe.baseline = cpe.snapshot()
    graph_a = bridge_graph("a", {"lan": endpoint("lan", "lan0")}, {"far": endpoint("far", "a1")})
    graph_b = bridge_graph("b", {"wan": endpoint("wan", "wan0")}, {"far": endpoint("far", "b1")})
    cpe.push(graph_a, graph_b)
    assert ping_eventually(cpe.lan_ns, "192.0.2.30")  # inside graph A
    assert ping_eventually(cpe.wan_ns, "192.0.2.40")  # inside graph B
    before = graph_counters(cpe, "b")
    assert not ping(cpe.lan_ns, "192.0.2.40", count=3)  # graph A's host -> graph B's host
    assert not ping(cpe.lan_ns, wan_host, count=2)
    assert graph_counters(cpe, "b") == before, "graph B saw graph A's packets"
    cpe.remove_all()
    cpe.assert_clean()


def test_internal_endpoint_joins_two_graphs(hosts):
    cpe = hosts
    target = same_subnet(cpe)
    join = "<endpoint><id>j</id><internal-group>shared-1</internal-group></endpoint>"
    a = bridge_graph("a", {"lan": endpoint("lan", "lan0")}, {"j": join})
    b = bridge_graph("b", {"j": join}, {"wan": endpoint("wan", "wan0")})
    cpe.push(a)
    assert not ping(cpe.lan_ns, target)
    cpe.push(b)
    assert ping_eventually(cpe.lan_ns, target)
    cpe.remove_all()
    cpe.assert_clean()


def test_vxlan_endpoint_carries_lan_traffic_to_a_remote_host(hosts):
    cpe = hosts
    remote_ns = host(cpe, "vx", "ul0", "203.0.113.2/24")
    sh("ip", "addr", "add", "203.0.113.1/24", "dev", "ul0", ns=cpe.cpe_ns)
    sh(
        "ip",
        "link",
        "add",
        "vx42",
        "type",
        "vxlan",
        "id",
        "42",
        "remote",
        "203.0.113.1",
        "local",
        "203.0.113.2",
        "dstport",
        "4789",
        ns=remote_ns,
    )
    sh("ip", "addr", "add", "192.0.2.99/24", "dev", "vx42", ns=remote_ns)
    sh("ip", "link", "set", "vx42", "up", ns=remote_ns)
    cpe.baseline = cpe.snapshot()
    vx = (
        "<endpoint><id>tun</id><vxlan><remote>203.0.113.2</remote><vni>42</vni>"
        "<local>203.0.113.1</local></vxlan></endpoint>"
    )
    cpe.push(bridge_graph("vx", {"lan": endpoint("lan", "lan0")}, {"tun": vx}))
    assert ping_eventually(cpe.lan_ns, "192.0.2.99")
    cpe.remove_all()
    cpe.assert_clean()


def test_vlan_endpoint_is_refused_at_validation_as_not_supported_by_the_driver(cpe):
    vlan = (
        "<endpoint><id>v</id><vlan><interface>wan0</interface><vlan-id>100</vlan-id>"
        "</vlan></endpoint>"
    )
    config = bridge_graph("v", {"lan": endpoint("lan", "lan0")}, {"v": vlan})
    with cpe.client() as c:
        c.edit_config(graphs_config(config))
        with pytest.raises(NetconfError) as refused:
            c.rpc("<validate><source><candidate/></source></validate>")
    message = "missing capability: vlan endpoints are not supported by this node's network driver"
    assert message in refused.value.message
    with pytest.raises(NetconfError) as err:
        cpe.push(config)
    assert err.value.tag == "operation-failed"
    assert message in err.value.message
    with cpe.client() as c:
        assert "<graphs" not in c.get_config("running")
    cpe.assert_clean()


def test_drop_rule_and_mac_rewrite_and_duplicate_output(hosts):
    cpe = hosts
    target = same_subnet(cpe)
    mirror_ns = host(cpe, "mir", "m1", "192.0.2.77/24")
    cpe.baseline = cpe.snapshot()
    icmp = "<ether-type>2048</ether-type><ip-protocol>1</ip-protocol>"
    graph = (
        "<graph><name>r</name>"
        + endpoint("lan", "lan0")
        + endpoint("wan", "wan0")
        + endpoint("mir", "m1")
        + rule("copy", 50, "endpoint:lan", ["endpoint:mir", "endpoint:wan"], icmp)
        + rule("out", 10, "endpoint:lan", ["endpoint:wan"])
        + rule("back", 10, "endpoint:wan", ["endpoint:lan"])
        + "</graph>"
    )
    cpe.push(graph)
    assert ping_eventually(cpe.lan_ns, target)
    seen = sh("ip", "-s", "-j", "link", "show", "eth0", ns=mirror_ns).stdout
    import json

    assert json.loads(seen)[0]["stats64"]["rx"]["packets"] > 0, "no copy reached the mirror"
    drop = graph.replace(
        rule("copy", 50, "endpoint:lan", ["endpoint:mir", "endpoint:wan"], icmp),
        rule("copy", 50, "endpoint:lan", match=icmp, drop=True),
    )
    cpe.push(drop, replace=True)
    assert not ping(cpe.lan_ns, target, count=2)
    cpe.remove_all()
    cpe.assert_clean()
