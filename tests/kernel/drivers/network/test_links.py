"""Links: veth pairs from the agent's own netlink request, and the long-lived pyroute2 client.

pyroute2's IPRoute keeps a few kB per request for as long as it lives, so it is replaced after
a bounded number of requests; bench/soak.py shows the effect on the agent's memory over 200
deploy/delete cycles.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from nnfv_agent.drivers.network import links as links_module
from nnfv_agent.drivers.network.links import LinkError, LinkExists, Links
from support.kernel import fresh_netns, open_sockets

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netlink queries of links need root")


def test_netlink_client_is_replaced_after_a_bounded_number_of_requests(monkeypatch):
    monkeypatch.setattr(links_module, "RECYCLE_AFTER", 5)
    links = Links(None)
    try:
        clients: list[object] = []  # kept alive, so that no two can share an id
        for _ in range(12):
            links.set_up("lo")
            current = links._pool.submit(lambda: links._ipr).result()
            if not clients or clients[-1] is not current:
                clients.append(current)
        assert len(clients) == 3, "each client serves at most RECYCLE_AFTER requests"
        assert links.bridge_ports("lo") == []  # the current one still works
    finally:
        links.close()


def test_enslaving_works_when_the_client_is_replaced_in_the_middle(monkeypatch, netns):
    links = Links(netns)
    try:
        links.ensure_bridge("tbr0")
        links.create_veth("tva0", "tvb0")
        # enslave looks two indices up: with a replacement due at each use, the client it
        # started with is closed before the call (it used to fail with EBADF).
        monkeypatch.setattr(links_module, "RECYCLE_AFTER", 1)
        links.enslave("tvb0", "tbr0")
        assert links.bridge_ports("tbr0") == ["tvb0"]
    finally:
        links.close()


def test_names_and_index_see_the_links_of_the_cpe_namespace_only(netns):
    links = Links(netns)
    try:
        subprocess.run(
            ["ip", "-n", netns, "link", "add", "q1", "type", "veth", "peer", "name", "q2"]
        )
        listed = json.loads(
            subprocess.run(["ip", "-n", netns, "-j", "link"], capture_output=True, text=True).stdout
        )
        assert sorted(links.names()) == sorted(i["ifname"] for i in listed) == ["lo", "q1", "q2"]
        assert links.index("q1") == next(i["ifindex"] for i in listed if i["ifname"] == "q1")
        assert links.index("eth0") is None and not links.exists("eth0")
        assert links.index("x" * 40) is None  # longer than any interface name can be
    finally:
        links.close()


def links_of(netns: str) -> dict[str, dict]:
    out = subprocess.run(["ip", "-n", netns, "-j", "link"], capture_output=True, text=True)
    return {i["ifname"]: i for i in json.loads(out.stdout)}


def test_veth_into_another_namespace_has_both_ends_up_and_the_peer_address(netns):
    links = Links(netns)
    try:
        with fresh_netns() as nf:
            links.create_veth("tv0", "eth0", nf, peer_address="02:4e:00:00:00:07")
            own, peer = links_of(netns)["tv0"], links_of(nf)["eth0"]
            assert "UP" in own["flags"] and "UP" in peer["flags"]
            assert peer["address"] == "02:4e:00:00:00:07"
            assert own["link_index"] == peer["ifindex"] and peer["link_index"] == own["ifindex"]
    finally:
        links.close()


def test_veth_within_the_cpe_namespace_has_both_ends_up(netns):
    links = Links(netns)
    try:
        links.create_veth("tv1", "tv2")
        present = links_of(netns)
        assert "UP" in present["tv1"]["flags"] and "UP" in present["tv2"]["flags"]
    finally:
        links.close()


def test_veth_whose_name_is_taken_is_refused_as_existing(netns):
    links = Links(netns)
    try:
        links.create_veth("tv3", "tv4")
        with pytest.raises(LinkExists, match="tv3"):
            links.create_veth("tv3", "tv5")
        assert "tv5" not in links.names()
        links.create_veth("tv6", "tv7")  # the socket still serves after a refusal
    finally:
        links.close()


def test_veth_into_a_missing_namespace_names_it_and_creates_nothing(netns):
    links = Links(netns)
    try:
        with pytest.raises(LinkError, match="nnfv-test-none"):
            links.create_veth("tv8", "eth0", "nnfv-test-none")
        assert "tv8" not in links.names()
    finally:
        links.close()


def test_closed_links_leave_no_netlink_socket_open(netns):
    before = open_sockets()
    links = Links(netns)
    links.create_veth("tv9", "tv10")
    links.set_up("tv9")  # the pyroute2 client too
    links.close()
    assert open_sockets() - before == set()
