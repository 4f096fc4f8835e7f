"""The native network driver's steering: one node table, each graph's LSI changed on its own,
against nftables in a namespace the test made (veth pairs stand in for the LSI ports)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from nnfv_agent.drivers.naming import Names
from nnfv_agent.drivers.network.native import NativeNetwork, NetworkError
from nnfv_agent.model.graph import Endpoint, FlowRule, Graph, PortRef
from support.kernel import fresh_netns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and nftables need root")

NODE = "tnat"


@pytest.fixture
def netns() -> Iterator[str]:
    with fresh_netns() as name:
        for pair in (("a1", "b1"), ("a2", "b2"), ("c1", "d1")):
            sh(name, "ip", "link", "add", pair[0], "type", "veth", "peer", "name", pair[1])
        yield name


@pytest.fixture
def network(netns: str) -> Iterator[NativeNetwork]:
    driver = NativeNetwork(Names(NODE), netns)
    try:
        yield driver
    finally:
        driver.links.close()


def sh(netns: str, *args: str) -> str:
    cmd = ["ip", "netns", "exec", netns, *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def objects(netns: str) -> dict[str, set[str]]:
    """{kind: names} of everything in the netdev family of the namespace."""
    out: dict[str, set[str]] = {"table": set(), "chain": set(), "counter": set()}
    for item in json.loads(sh(netns, "nft", "-j", "list", "ruleset", "netdev"))["nftables"]:
        for kind, names in out.items():
            if kind in item:
                names.add(item[kind]["name"])
    return out


def counter(netns: str, name: str) -> int:
    listing = sh(netns, "nft", "-j", "list", "counter", "netdev", Names(NODE).lsi_table, name)
    return next(i["counter"]["packets"] for i in json.loads(listing)["nftables"] if "counter" in i)


def rule(rid: str, src: str, dst: str) -> FlowRule:
    return FlowRule(
        id=rid,
        priority=1,
        port_in=PortRef(endpoint=src),
        match=(("ether-type", "2048"),),  # IPv4 only: not the IPv6 a link sends when it comes up
        outputs=(PortRef(endpoint=dst),),
        drop=False,
        rewrites=(),
    )


def graph(name: str, ports: dict[str, str], *rules: FlowRule) -> Graph:
    endpoints = {e: Endpoint(id=e, kind="interface", interface=dev) for e, dev in ports.items()}
    return Graph(name=name, enabled=True, endpoints=endpoints, rules={r.id: r for r in rules})


def apply(network: NativeNetwork, graphs: dict[str, Graph | None]) -> None:
    network.apply_steering(network.steering_batch(graphs))


G1 = graph("g1", {"x": "a1", "y": "a2"}, rule("r1", "x", "y"))
G2 = graph("g2", {"x": "c1"})


def test_all_graphs_share_one_table_with_a_chain_per_port_and_a_counter_per_rule(netns, network):
    apply(network, {"g1": G1, "g2": G2})
    got = objects(netns)
    assert got["table"] == {network.names.lsi_table}
    assert got["chain"] == {
        Names.lsi_chain("g1", "a1"),
        Names.lsi_chain("g1", "a2"),
        Names.lsi_chain("g2", "c1"),
    }
    assert got["counter"] == {Names.counter("g1", "r1")}


def send_frames(netns: str, device: str, count: int) -> None:
    """`count` Ethernet frames out of `device` (they arrive on its veth peer's ingress)."""
    script = (
        "import socket\n"
        "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
        f"s.bind(({device!r}, 0))\n"
        "frame = b'\\xff' * 6 + b'\\x02' * 6 + b'\\x08\\x00' + bytes(46)\n"
        f"for _ in range({count}): s.send(frame)\n"
    )
    sh(netns, "python3", "-c", script)


def up(netns: str, *devices: str) -> None:
    for device in devices:
        sh(netns, "ip", "link", "set", device, "up")


def test_frames_are_counted_and_the_count_survives_a_rule_change(netns, network):
    apply(network, {"g1": G1})
    up(netns, "a1", "b1", "a2", "b2")
    send_frames(netns, "b1", 5)
    assert counter(netns, Names.counter("g1", "r1")) == 5
    changed = graph("g1", {"x": "a1", "y": "a2"}, rule("r1", "x", "y"), rule("r2", "y", "x"))
    apply(network, {"g1": changed})
    assert counter(netns, Names.counter("g1", "r1")) == 5
    send_frames(netns, "b1", 2)
    assert counter(netns, Names.counter("g1", "r1")) == 7
    assert counter(netns, Names.counter("g1", "r2")) == 0


def test_removing_a_rule_deletes_its_counter_and_keeps_the_others_count(netns, network):
    two = graph("g1", {"x": "a1", "y": "a2"}, rule("r1", "x", "y"), rule("r2", "y", "x"))
    apply(network, {"g1": two})
    up(netns, "a1", "b1", "a2", "b2")
    send_frames(netns, "b1", 4)
    apply(network, {"g1": graph("g1", {"x": "a1", "y": "a2"}, rule("r1", "x", "y"))})
    assert objects(netns)["counter"] == {Names.counter("g1", "r1")}
    assert counter(netns, Names.counter("g1", "r1")) == 4


def test_removing_one_graph_removes_its_objects_only(netns, network):
    apply(network, {"g1": G1, "g2": graph("g2", {"x": "c1"}, rule("q", "x", "x"))})
    up(netns, "c1", "d1")
    send_frames(netns, "d1", 3)
    apply(network, {"g1": None})
    got = objects(netns)
    assert got["chain"] == {Names.lsi_chain("g2", "c1")}
    assert got["counter"] == {Names.counter("g2", "q")}
    assert counter(netns, Names.counter("g2", "q")) == 3


def test_removing_the_last_graph_removes_the_table(netns, network):
    apply(network, {"g1": G1, "g2": G2})
    apply(network, {"g1": None, "g2": None})
    assert objects(netns)["table"] == set()


def test_a_driver_without_a_record_prunes_what_it_does_not_keep_and_old_per_graph_tables(
    netns, network
):
    apply(network, {"g1": G1, "g2": G2})
    legacy = f"{network.names.legacy_table_prefix}0123456789ab"
    other = Names("someone-else").lsi_table
    sh(netns, "nft", f"add table netdev {legacy}; add table netdev {other}")
    restarted = NativeNetwork(Names(NODE), netns)
    try:
        restarted.apply_steering(restarted.prune_batch(["g2"]))
    finally:
        restarted.links.close()
    got = objects(netns)
    assert got["table"] == {network.names.lsi_table, other}
    assert got["chain"] == {Names.lsi_chain("g2", "c1")}
    assert got["counter"] == set()


def test_a_port_whose_device_went_does_not_break_the_next_change(netns, network):
    apply(network, {"g1": G1})
    # Its peer goes too; older kernels drop the chain with it, newer ones keep it.
    sh(netns, "ip", "link", "del", "a2")
    apply(network, {"g1": graph("g1", {"x": "a1"})})
    got = objects(netns)
    assert got["chain"] == {Names.lsi_chain("g1", "a1")}
    assert got["counter"] == set()


def test_a_rejected_batch_changes_nothing_and_the_next_one_reads_the_table_again(netns, network):
    apply(network, {"g1": G1})
    before = objects(netns)
    bad_mac = FlowRule("r9", 1, PortRef(endpoint="x"), (("source-mac", "zz"),), (), True, ())
    with pytest.raises(NetworkError, match="steering rules rejected"):
        apply(network, {"g1": graph("g1", {"x": "a1", "y": "a2"}, bad_mac)})
    assert objects(netns) == before
    sh(netns, "nft", f"delete chain netdev {network.names.lsi_table} {Names.lsi_chain('g1', 'a1')}")
    apply(network, {"g1": None})
    assert objects(netns)["table"] == set()


def test_steering_to_a_device_that_does_not_exist_is_refused_before_nft_runs(netns, network):
    apply(network, {"g1": G1})
    before = objects(netns)
    broken = graph("g1", {"x": "a1", "y": "missing0"}, rule("r1", "x", "y"))
    with pytest.raises(NetworkError, match="missing0: no such device"):
        apply(network, {"g1": broken})
    assert objects(netns) == before


def test_rules_forward_to_the_ifindex_of_their_output(netns, network):
    apply(network, {"g1": G1})
    listing = sh(
        netns,
        "nft",
        "list",
        "chain",
        "netdev",
        network.names.lsi_table,
        Names.lsi_chain("g1", "a1"),
    )
    assert 'fwd to "a2"' in listing  # nft shows the index by its name


def test_a_change_rewrites_only_the_chain_it_changes(netns, network):
    both = graph("g1", {"x": "a1", "y": "a2"}, rule("r1", "x", "y"), rule("r2", "y", "x"))
    apply(network, {"g1": both})
    table, chain_y = network.names.lsi_table, Names.lsi_chain("g1", "a2")
    handle_y = sh(netns, "nft", "-a", "list", "chain", "netdev", table, chain_y)
    more = graph("g1", {"x": "a1", "y": "a2"}, *both.rules.values(), rule("r3", "x", "y"))
    batch = network.steering_batch({"g1": more})
    assert chain_y not in batch.text
    network.apply_steering(batch)
    # The rules of the untouched chain keep their handles: they were not written again.
    assert sh(netns, "nft", "-a", "list", "chain", "netdev", table, chain_y) == handle_y
    assert (
        len(
            sh(netns, "nft", "list", "chain", "netdev", table, Names.lsi_chain("g1", "a1")).split(
                "fwd to"
            )
        )
        == 3
    )


def test_a_device_made_again_has_its_chain_and_the_rules_to_it_written_again(netns, network):
    apply(network, {"g1": G1})
    old = {c.device: c.ifindex for c in network.written_chains("g1")}
    sh(netns, "ip", "link", "del", "a2")
    sh(netns, "ip", "link", "add", "a2", "type", "veth", "peer", "name", "b2")
    apply(network, {"g1": G1})
    now = {c.device: c.ifindex for c in network.written_chains("g1")}
    assert now["a1"] == old["a1"] and now["a2"] != old["a2"]
    assert now["a2"] == int(sh(netns, "cat", "/sys/class/net/a2/ifindex"))
    table = network.names.lsi_table
    assert Names.lsi_chain("g1", "a2") in objects(netns)["chain"]
    listing = sh(netns, "nft", "list", "chain", "netdev", table, Names.lsi_chain("g1", "a1"))
    assert 'fwd to "a2"' in listing


def test_a_record_read_back_from_the_kernel_has_no_written_chains(netns, network):
    apply(network, {"g1": G1})
    assert {c.device for c in network.written_chains("g1")} == {"a1", "a2"}
    network.forget_lsis()
    network.steering_batch({})  # reads the table back
    assert network.written_chains("g1") == frozenset()
