"""The `nat` template: an IPv4 router translating LAN sources to its WAN side.

LAN host 198.19.50.2/24 (gw .1) --veth-- [in 198.19.50.1  nat  out 198.51.100.1]
--veth-- WAN host 198.51.100.2/24, which has no route back to the LAN.
"""

from __future__ import annotations

LAN_HOST, WAN_HOST = "198.19.50.2", "198.51.100.2"
PARAMS = {"in-address": "198.19.50.1/24", "out-address": "198.51.100.1/24"}


def setup(lab, params):
    lab.need("nft")
    nat = lab.instance("nat", ["in", "out"], params)
    lan, wan = lab.netns(), lab.netns()
    lab.link(lan, "eth0", nat.ns, "in")
    lab.link(nat.ns, "out", wan, "eth0")
    lab.host(lan, "eth0", f"{LAN_HOST}/24", gateway="198.19.50.1")
    lab.host(wan, "eth0", f"{WAN_HOST}/24")
    return nat, lan, wan


def test_masquerade_then_snat_by_update(lab):
    nat, lan, wan = setup(lab, PARAMS)
    nat.run("start")
    assert nat.run("status").returncode == 0
    lab.servers(wan, WAN_HOST, tcp=[8080], udp=[5353])
    lab.servers(lan, LAN_HOST, tcp=[8080])

    # The WAN server sees the NAT's address, not the LAN host's.
    assert lab.probe(lan, "tcp", WAN_HOST, 8080) == "198.51.100.1", lab.state(nat, lan, wan)
    assert lab.probe(lan, "udp", WAN_HOST, 5353) == "198.51.100.1"
    assert lab.ping(lan, WAN_HOST)
    # The WAN host has no route to the LAN: nothing comes in unasked.
    assert lab.blocked(wan, "tcp", LAN_HOST, 8080)

    nat.run("update", {"mode": "snat", "snat-address": "198.51.100.7"})
    assert nat.run("status").returncode == 0
    assert lab.probe(lan, "tcp", WAN_HOST, 8080) == "198.51.100.7"

    nat.run("update", {"mode": "masquerade", "snat-address": None, "out-gateway": WAN_HOST})
    routes = lab.run(nat.ns, "ip", "route", "show", "default").stdout
    assert f"default via {WAN_HOST} dev out" in routes
    addrs = lab.run(nat.ns, "ip", "-4", "-o", "addr", "show", "dev", "out").stdout
    assert "198.51.100.7" not in addrs
    assert lab.probe(lan, "tcp", WAN_HOST, 8080) == "198.51.100.1"

    nat.run("stop")
    assert lab.run(nat.ns, "nft", "list", "tables").stdout.strip() == ""
    assert lab.run(nat.ns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"
    assert lab.blocked(lan, "tcp", WAN_HOST, 8080)
    assert nat.run("status", check=False).returncode != 0
    nat.run("stop")  # idempotent


def test_update_moves_the_addresses(lab):
    nat, lan, wan = setup(lab, PARAMS)
    nat.run("start")
    nat.run("update", {"in-address": "198.19.51.1/24", "out-address": "198.51.100.9/24"})
    addrs = lab.run(nat.ns, "ip", "-4", "-o", "addr", "show").stdout
    assert "198.19.51.1/24" in addrs and "198.51.100.9/24" in addrs
    assert "198.19.50.1/" not in addrs and "198.51.100.1/" not in addrs
    lab.run(lan, "ip", "addr", "add", "198.19.51.2/24", "dev", "eth0")
    lab.run(lan, "ip", "route", "replace", "default", "via", "198.19.51.1")
    lab.servers(wan, WAN_HOST, tcp=[8080])
    assert lab.probe(lan, "tcp", WAN_HOST, 8080) == "198.51.100.9"
    nat.run("stop")


def test_bad_parameters_are_refused_cleanly(lab):
    nat, _, _ = setup(lab, {"out-address": "198.51.100.1/24"})
    res = nat.run("start", check=False)
    assert res.returncode != 0 and "in-address is mandatory" in res.output
    cases = [
        ({"in-address": "198.19.50.1"}, "in-address"),
        ({"in-address": "198.19.50.256/24"}, "in-address"),
        ({"in-address": "198.19.50.1/33"}, "in-address"),
        ({"in-address": "198.19.50.1/24", "mode": "snat"}, "snat-address is mandatory"),
        ({"in-address": "198.19.50.1/24", "mode": "dnat"}, "mode"),
        ({"in-address": "198.19.50.1/24", "out-gateway": "gw"}, "out-gateway"),
    ]
    for params, message in cases:
        res = nat.run("start", params, check=False)
        assert res.returncode != 0 and message in res.output, (params, res.output)
        nat.params.pop("mode", None)
        nat.params.pop("out-gateway", None)
    assert lab.run(nat.ns, "ip", "-4", "-o", "addr", "show", "dev", "in").stdout == ""
    nat.run("stop")  # stop after a failed start does not fail
