"""Kernel object names: short enough for the kernel, the same every time, and each carrying
the node id of its agent, so that clean-up recognises its own and never another node's."""

from __future__ import annotations

import re

import pytest

from nnfv_agent.drivers.naming import IFNAMSIZ, LINK_KINDS, Names, digest, valid_ifname

NODE = "mirror1"
OTHER = "mirror12"  # the first node's id is a prefix of this one's


@pytest.fixture
def names() -> Names:
    return Names(NODE)


def every_link(names: Names, graph: str = "g", key: str = "k") -> list[str]:
    return [
        names.lsi_port(graph, key, "in"),
        names.vxlan(graph, key),
        names.internal_port(graph, key),
        names.internal_peer(graph, key),
        names.internal_bridge(key),
    ]


def test_digest_is_a_stable_prefix_of_a_sha1_of_the_parts() -> None:
    assert digest("a", "b") == digest("a", "b")
    assert len(digest("a")) == 10
    assert len(digest("a", length=4)) == 4
    assert re.fullmatch(r"[0-9a-f]{10}", digest("x"))
    # The parts are separated, so a different split is a different object.
    assert digest("ab", "c") != digest("a", "bc")


def test_every_link_name_is_exactly_the_kernel_limit_and_valid(names: Names) -> None:
    long = "a-very-long-graph-name-" * 5
    for name in every_link(names) + every_link(names, graph=long, key=long):
        assert len(name) == IFNAMSIZ == 15
        assert valid_ifname(name)


def test_every_link_kind_has_its_own_prefix(names: Names) -> None:
    assert [n[:2] for n in every_link(names)] == list(LINK_KINDS)


def test_link_names_carry_the_node_tag(names: Names) -> None:
    assert names.tag == digest(NODE, length=5)
    assert all(n[2:7] == names.tag for n in every_link(names))


def test_names_are_the_same_every_time_for_the_same_node_and_inputs() -> None:
    first, again = Names(NODE), Names(NODE)
    assert every_link(first) == every_link(again)
    assert first.nf_netns("g", "fw") == again.nf_netns("g", "fw")
    assert first.shared_netns("br") == again.shared_netns("br")
    assert first.lsi_table == again.lsi_table
    assert first.lsi_chain("g", "lan0") == again.lsi_chain("g", "lan0")
    assert first.nf_port_mac("g", "fw", "in") == again.nf_port_mac("g", "fw", "in")


def test_different_objects_of_one_node_get_different_names(names: Names) -> None:
    assert names.lsi_port("g", "fw", "in") != names.lsi_port("g", "fw", "out")
    assert names.lsi_port("g", "fw", "in") != names.lsi_port("h", "fw", "in")
    assert names.nf_netns("g", "fw") != names.nf_netns("g", "nat")
    assert names.lsi_chain("g", "lan0") != names.lsi_chain("h", "lan0")
    assert names.counter("g", "r1") != names.counter("h", "r1")


def test_two_nodes_never_share_a_name_for_the_same_object() -> None:
    mine, theirs = Names(NODE), Names(OTHER)
    assert set(every_link(mine)).isdisjoint(every_link(theirs))
    assert mine.nf_netns("g", "fw") != theirs.nf_netns("g", "fw")
    assert mine.lsi_table != theirs.lsi_table
    assert mine.nf_port_mac("g", "fw", "in") != theirs.nf_port_mac("g", "fw", "in")


def test_namespace_and_table_names_contain_the_node_id(names: Names) -> None:
    assert names.nf_netns("g", "fw").startswith(f"nnfv-{NODE}-")
    assert names.shared_netns("br").startswith(f"nnfv-{NODE}-s")
    assert names.lsi_table == f"nnfv_{NODE}_lsi"
    assert names.probe_netns().startswith(f"nnfv-probe-{NODE}-")


def test_own_links_are_recognised_and_other_nodes_links_are_not(names: Names) -> None:
    other = Names(OTHER)
    assert all(names.is_our_link(n) for n in every_link(names))
    assert not any(names.is_our_link(n) for n in every_link(other))


@pytest.mark.parametrize(
    "name",
    ["eth0", "lo", "", "nv", "zz" + "0" * 13],
    ids=["eth0", "lo", "empty", "kind-only", "unknown-kind"],
)
def test_foreign_link_names_are_not_ours(names: Names, name: str) -> None:
    assert not names.is_our_link(name)


def test_link_name_with_our_tag_but_a_bad_digest_or_length_is_not_ours(names: Names) -> None:
    good = names.lsi_port("g", "fw", "in")
    assert not names.is_our_link(good[:-1])  # too short
    assert not names.is_our_link(good[:7] + "ABCDEF12")  # not lowercase hex
    assert not names.is_our_link(good[:7] + "0123456g")


def test_own_namespaces_are_picked_from_a_listing_and_nothing_else(names: Names) -> None:
    other = Names(OTHER)
    mine = [names.nf_netns("g", "fw"), names.shared_netns("br")]
    listing = [
        *mine,
        other.nf_netns("g", "fw"),
        other.shared_netns("br"),
        names.probe_netns(),
        f"nnfv-{NODE}-notadigest",
        f"nnfv-{NODE}-" + "0" * 11,
        "ns1",
    ]
    assert names.our_netns(listing) == mine


def test_cgroup_of_a_namespace_is_its_name_without_the_node_prefix(names: Names) -> None:
    netns = names.nf_netns("g", "fw")
    assert names.cgroup(netns) == digest("g", "fw")
    assert names.our_netns([f"nnfv-{NODE}-{names.cgroup(netns)}"]) == [netns]


def test_probe_namespaces_are_fresh_and_only_this_nodes_are_recognised(names: Names) -> None:
    first, second = names.probe_netns(), names.probe_netns()
    assert first != second
    other = Names(OTHER).probe_netns()
    listing = [first, second, other, names.nf_netns("g", "fw"), f"nnfv-probe-{NODE}-xyz"]
    assert names.our_probe_netns(listing) == [first, second]


def test_own_tables_are_recognised_and_other_nodes_tables_are_not(names: Names) -> None:
    assert names.is_our_table(names.lsi_table)
    assert names.is_our_table(f"nnfv_{NODE}_0123456789ab")  # per-graph, of an earlier version
    assert not names.is_our_table(Names(OTHER).lsi_table)
    assert not names.is_our_table(f"nnfv_{OTHER}_0123456789ab")
    assert not names.is_our_table(f"nnfv_{NODE}_short")
    assert not names.is_our_table("filter")


def test_nf_port_mac_is_a_locally_administered_unicast_address(names: Names) -> None:
    mac = names.nf_port_mac("g", "fw", "in")
    assert re.fullmatch(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}", mac)
    first = int(mac[:2], 16)
    assert first & 0b10 and not first & 0b01  # local, not multicast
    assert mac != names.nf_port_mac("g", "fw", "out")


def test_rule_counter_name_is_stable_and_independent_of_the_node() -> None:
    assert (
        Names.counter("g", "r1")
        == Names(NODE).counter("g", "r1")
        == Names(OTHER).counter("g", "r1")
    )
    assert re.fullmatch(r"g[0-9a-f]{12}_r[0-9a-f]{12}", Names.counter("g", "r1"))
    assert Names.counter("g", "r1") != Names.counter("g", "r2")


def test_every_lsi_object_name_leads_with_its_graph_tag() -> None:
    tag = Names.lsi_tag("g")
    for name in (
        Names.counter("g", "r1"),
        Names.lsi_chain("g", "lan0"),
        Names.lsi_chain("g", "a-b"),
    ):
        assert Names.tag_of(name) == tag
    assert Names.tag_of("in_lan0") is None


def test_a_device_nft_cannot_name_unquoted_gets_a_digest_in_its_chain_name() -> None:
    assert Names.lsi_chain("g", "lan0").endswith("_lan0")
    odd = Names.lsi_chain("g", "wan-1")
    assert re.fullmatch(r"g[0-9a-f]{12}_d[0-9a-f]{8}", odd)
    assert odd != Names.lsi_chain("g", "wan-2")


@pytest.mark.parametrize(
    ("port", "expected"),
    [("in", "in"), ("eth-lan.10", "eth-lan.10"), ("a" * 16, "p2"), ("-x", "p2"), ("a b", "p2")],
)
def test_nf_interface_is_the_port_name_or_its_index_when_that_is_no_valid_name(
    port: str, expected: str
) -> None:
    assert Names.nf_ifname(port, 2) == expected


def test_nf_interface_of_a_shared_nf_gets_a_graph_suffix_within_the_limit() -> None:
    suffix = "-" + digest("g", length=4)
    assert Names.nf_ifname("in", 0, "g") == "in" + suffix
    long = Names.nf_ifname("a" * 15, 0, "g")
    assert long == "a" * 10 + suffix
    assert len(long) == IFNAMSIZ
    assert Names.nf_ifname("in", 0, "g") != Names.nf_ifname("in", 0, "h")


@pytest.mark.parametrize("name", ["", ".", "..", "a" * 16, "a/b", "a b", "-a", "é"], ids=repr)
def test_invalid_interface_names_are_refused(name: str) -> None:
    assert not valid_ifname(name)


@pytest.mark.parametrize("name", ["a", "eth0", "a" * 15, "v.1_x-y"])
def test_valid_interface_names_are_accepted(name: str) -> None:
    assert valid_ifname(name)
