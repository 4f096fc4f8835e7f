"""netlink: the nftables table inventory by one netlink dump, in a namespace the test made."""

from __future__ import annotations

import os
import subprocess

import pytest

from nnfv_agent.drivers.naming import Names
from nnfv_agent.drivers.network import netlink, nsutil
from nnfv_agent.drivers.network.native import NativeNetwork

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and nftables need root")


def _nft(netns: str, script: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-f", "-"], input=script, text=True, check=True
    )


def test_netdev_table_names_lists_the_netdev_tables_of_the_namespace_only(netns):
    _nft(netns, "table netdev a {}\ntable netdev b {}\ntable inet not_netdev {}\n")
    with nsutil.entered(netns):
        names = netlink.netdev_table_names()
    assert sorted(names) == ["a", "b"]


def test_network_driver_inventory_keeps_its_own_node_tables_only(netns):
    ours, theirs = Names("n1"), Names("n2")
    _nft(netns, f"table netdev {ours.lsi_table} {{}}\ntable netdev {theirs.lsi_table} {{}}\n")
    network = NativeNetwork(ours, netns)
    try:
        assert network.our_tables() == [ours.lsi_table]
    finally:
        network.links.close()
