"""Graphs that carry real packets between the simulated CPE's LAN and WAN hosts."""

from __future__ import annotations

from lxml import etree

from graphs import endpoint, fw_nat_graph, nf_xml, rule
from support.traffic import TcpServer, ping, ping_eventually, tcp_connect, tcp_connect_eventually

WAN_HOST = "198.51.100.10"


def same_subnet(cpe) -> str:
    """Give the WAN host a LAN-subnet address, for graphs that only bridge."""
    from simfleet import sh

    sh("ip", "addr", "add", "192.0.2.20/24", "dev", "eth0", ns=cpe.wan_ns)
    sh("ip", "route", "del", "192.0.2.0/24", "via", cpe.wan_cpe, ns=cpe.wan_ns, check=False)
    return "192.0.2.20"


def passthrough(name: str = "pt", lan: str = "lan0", wan: str = "wan0") -> str:
    return (
        f"<graph><name>{name}</name>{endpoint('lan', lan)}{endpoint('wan', wan)}"
        + rule("out", 10, "endpoint:lan", ["endpoint:wan"])
        + rule("back", 10, "endpoint:wan", ["endpoint:lan"])
        + "</graph>"
    )


def counters(state: str) -> dict[str, int]:
    """Packets counted per flow rule, from a <get> reply."""
    root = etree.fromstring(state.encode())
    ns = {"g": "urn:nnfv:yang:nnfv-service-graph"}
    return {
        r.findtext("g:id", namespaces=ns): int(r.findtext("g:counters/g:packets", namespaces=ns))
        for r in root.iterfind(".//g:flow-rule", ns)
    }


def test_passthrough_graph_forwards_ping_between_endpoints_and_leaves_nothing(cpe):
    target = same_subnet(cpe)
    assert not ping(cpe.lan_ns, target), "nothing must pass before a graph is deployed"
    cpe.push(passthrough())
    assert ping_eventually(cpe.lan_ns, target)
    state = cpe.get_state()
    assert counters(state)["out"] > 0 and counters(state)["back"] > 0
    assert "<state>deployed</state>" in state
    cpe.remove_all()
    assert not ping(cpe.lan_ns, target)
    cpe.assert_clean()


def test_firewall_chain_permits_allowed_tcp_port_and_drops_another(cpe):
    cpe.push(fw_nat_graph(allow_tcp="80"))
    assert ping_eventually(cpe.lan_ns, WAN_HOST)
    with TcpServer(cpe.wan_ns, "0.0.0.0", 80), TcpServer(cpe.wan_ns, "0.0.0.0", 8080):
        assert tcp_connect_eventually(cpe.lan_ns, WAN_HOST, 80)
        assert not tcp_connect(cpe.lan_ns, WAN_HOST, 8080)
    cpe.remove_all()
    cpe.assert_clean()


def test_nat_makes_the_wan_side_see_the_nat_address(cpe):
    cpe.push(fw_nat_graph())
    with TcpServer(cpe.wan_ns, "0.0.0.0", 5001) as server:
        assert tcp_connect_eventually(cpe.lan_ns, WAN_HOST, 5001)
        peers = server.peers()
    assert peers and set(peers) == {"198.51.100.2"}, peers
    cpe.remove_all()
    cpe.assert_clean()


def test_split_by_tcp_port_80_sends_web_traffic_through_one_nf_and_the_rest_through_another(cpe):
    target = same_subnet(cpe)
    tcp80 = "<ip-protocol>6</ip-protocol><destination-port>80</destination-port>"
    tcp80_back = "<ip-protocol>6</ip-protocol><source-port>80</source-port>"
    graph = (
        "<graph><name>split</name>"
        + nf_xml("web", "bridge")
        + nf_xml("rest", "bridge")
        + endpoint("lan", "lan0")
        + endpoint("wan", "wan0")
        + rule("lan-web", 200, "endpoint:lan", ["nf:web:in"], tcp80)
        + rule("lan-rest", 100, "endpoint:lan", ["nf:rest:in"])
        + rule("web-wan", 100, "nf:web:out", ["endpoint:wan"])
        + rule("rest-wan", 100, "nf:rest:out", ["endpoint:wan"])
        + rule("wan-web", 200, "endpoint:wan", ["nf:web:out"], tcp80_back)
        + rule("wan-rest", 100, "endpoint:wan", ["nf:rest:out"])
        + rule("web-lan", 100, "nf:web:in", ["endpoint:lan"])
        + rule("rest-lan", 100, "nf:rest:in", ["endpoint:lan"])
        + "</graph>"
    )
    cpe.push(graph)
    assert ping_eventually(cpe.lan_ns, target)
    before = counters(cpe.get_state())
    assert before["lan-web"] == 0 and before["lan-rest"] > 0
    with TcpServer(cpe.wan_ns, "0.0.0.0", 80):
        assert tcp_connect_eventually(cpe.lan_ns, target, 80)
    after_web = counters(cpe.get_state())
    assert after_web["lan-web"] > 0 and after_web["wan-web"] > 0
    assert after_web["lan-rest"] - before["lan-rest"] <= 2  # at most ARP, never the TCP flow
    with TcpServer(cpe.wan_ns, "0.0.0.0", 8080):
        assert tcp_connect_eventually(cpe.lan_ns, target, 8080)
    after_other = counters(cpe.get_state())
    assert after_other["lan-web"] == after_web["lan-web"]
    assert after_other["lan-rest"] >= after_web["lan-rest"] + 3
    cpe.remove_all()
    cpe.assert_clean()


LEASE_SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
echo "$ip" >"$LEASE_FILE"
"""


def test_dhcp_nnf_gives_a_lan_client_an_address(cpe, tmp_path):
    from simfleet import sh

    params = {
        "address": "192.0.2.1/24",
        "range-start": "192.0.2.100",
        "range-end": "192.0.2.120",
        "lease-time": "10m",
    }
    graph = (
        "<graph><name>dhcp</name>"
        + nf_xml("dhcp", "dhcp-server", params, ports=("lan",))
        + endpoint("lan", "lan0")
        + rule("to-dhcp", 10, "endpoint:lan", ["nf:dhcp:lan"])
        + rule("from-dhcp", 10, "nf:dhcp:lan", ["endpoint:lan"])
        + "</graph>"
    )
    cpe.push(graph)
    script = tmp_path / "lease.sh"
    script.write_text(LEASE_SCRIPT)
    script.chmod(0o755)
    lease = tmp_path / "lease"
    sh("ip", "addr", "flush", "dev", "eth0", ns=cpe.lan_ns)
    proc = sh(
        "env",
        f"LEASE_FILE={lease}",
        "busybox",
        "udhcpc",
        "-f",
        "-q",
        "-n",
        "-t",
        "5",
        "-T",
        "1",
        "-i",
        "eth0",
        "-s",
        str(script),
        ns=cpe.lan_ns,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0 and lease.exists(), proc.stdout + proc.stderr
    address = lease.read_text().strip()
    assert address.startswith("192.0.2.") and 100 <= int(address.rsplit(".", 1)[1]) <= 120
    cpe.remove_all()
    cpe.assert_clean()


def test_shipped_example_graph_firewall_nat_deploys_and_carries_traffic(cpe):
    """yang/examples/graph-firewall-nat.xml as shipped, on a CPE with its interface names."""
    from simfleet import sh
    from support.agentproc import EXAMPLES

    for old, new in (("lan0", "veth-lan"), ("wan0", "veth-wan")):
        sh("ip", "link", "set", old, "down", ns=cpe.cpe_ns)
        sh("ip", "link", "set", old, "name", new, ns=cpe.cpe_ns)
        sh("ip", "link", "set", new, "up", ns=cpe.cpe_ns)
    cpe.baseline = cpe.snapshot()
    text = (EXAMPLES / "graph-firewall-nat.xml").read_text()
    cpe.commit(text[text.index("<graphs") :])
    assert "<state>deployed</state>" in cpe.get_state()
    assert ping_eventually(cpe.lan_ns, WAN_HOST)
    with TcpServer(cpe.wan_ns, "0.0.0.0", 443) as server:
        assert tcp_connect_eventually(cpe.lan_ns, WAN_HOST, 443)
        assert set(server.peers()) == {"198.51.100.2"}
    cpe.remove_all()
    cpe.assert_clean()
