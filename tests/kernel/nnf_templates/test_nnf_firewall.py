"""The `firewall` template: a transparent bridge with a stateless nftables filter.

LAN host (198.18.0.1) --veth-- [in  firewall  out] --veth-- WAN host (198.18.0.2), one subnet.
"""

from __future__ import annotations

LAN, WAN = "198.18.0.1", "198.18.0.2"


def setup(lab, params):
    lab.need("nft")
    fw = lab.instance("firewall", ["in", "out"], params)
    lan, wan = lab.netns(), lab.netns()
    lab.link(lan, "eth0", fw.ns, "in")
    lab.link(fw.ns, "out", wan, "eth0")
    lab.host(lan, "eth0", f"{LAN}/24")
    lab.host(wan, "eth0", f"{WAN}/24")
    return fw, lan, wan


def test_filters_by_port_lists_and_updates_in_place(lab):
    fw, lan, wan = setup(lab, {"allow-tcp-ports": "8080, 9000-9010", "allow-udp-ports": "5353"})
    fw.run("start")
    assert fw.run("status").returncode == 0
    lab.servers(wan, WAN, tcp=[8080, 9005, 2222], udp=[5353, 6000])
    lab.servers(lan, LAN, tcp=[8080])

    assert lab.ping(lan, WAN), lab.state(fw, lan, wan)
    assert lab.ping(wan, LAN)
    # The WAN server sees the LAN host itself: the firewall is transparent.
    assert lab.probe(lan, "tcp", WAN, 8080) == LAN
    assert lab.probe(lan, "tcp", WAN, 9005) == LAN
    assert lab.blocked(lan, "tcp", WAN, 2222)
    assert lab.probe(lan, "udp", WAN, 5353) == LAN
    assert lab.blocked(lan, "udp", WAN, 6000)
    # out -> in only replies from allowed ports pass: a WAN client cannot reach LAN port 8080.
    assert lab.blocked(wan, "tcp", LAN, 8080)

    bridge = lab.ifindex(fw.ns, "br0")
    fw.run("update", {"allow-tcp-ports": "2222", "allow-icmp": "false"})
    assert lab.ifindex(fw.ns, "br0") == bridge, "update recreated the bridge"
    assert fw.run("status").returncode == 0
    assert lab.probe(lan, "tcp", WAN, 2222) == LAN
    assert lab.blocked(lan, "tcp", WAN, 8080)
    assert lab.probe(lan, "udp", WAN, 5353) == LAN
    assert lab.no_ping(lan, WAN)

    fw.run("stop")
    assert not lab.has_link(fw.ns, "br0")
    assert lab.run(fw.ns, "nft", "list", "tables").stdout.strip() == ""
    assert fw.run("status", check=False).returncode != 0
    fw.run("stop")  # idempotent


def test_defaults_pass_all_tcp_udp_and_icmp(lab):
    fw, lan, wan = setup(lab, {})
    fw.run("start")
    lab.servers(wan, WAN, tcp=[2222], udp=[6000])
    lab.servers(lan, LAN, tcp=[8080])
    assert lab.ping(lan, WAN)
    assert lab.probe(lan, "tcp", WAN, 2222) == LAN
    assert lab.probe(lan, "udp", WAN, 6000) == LAN
    assert lab.probe(wan, "tcp", LAN, 8080) == WAN
    ruleset = (fw.workdir / "ruleset.nft").read_text()
    assert "table bridge nnfv_fw" in ruleset
    fw.run("stop")


def test_invalid_port_list_is_refused_before_anything_is_set_up(lab):
    fw, _, _ = setup(lab, {"allow-tcp-ports": "80,http"})
    res = fw.run("start", check=False)
    assert res.returncode != 0
    assert "allow-tcp-ports" in res.output and "'http'" in res.output
    assert not lab.has_link(fw.ns, "br0")
    fw.run("stop")  # stop after a failed start does not fail
    for bad in ("70000", "90-80", "0", "1-", "08"):
        assert fw.run("start", {"allow-tcp-ports": bad}, check=False).returncode != 0, bad
    assert fw.run("start", {"allow-tcp-ports": "", "allow-icmp": "yes"}, check=False).returncode
    assert not lab.has_link(fw.ns, "br0")


def test_failed_update_keeps_the_running_rules(lab):
    fw, lan, wan = setup(lab, {"allow-tcp-ports": "8080"})
    fw.run("start")
    lab.servers(wan, WAN, tcp=[8080])
    assert fw.run("update", {"allow-tcp-ports": "8080,x"}, check=False).returncode != 0
    assert lab.probe(lan, "tcp", WAN, 8080) == LAN
    assert fw.run("status").returncode == 0
    fw.run("stop")


def test_allow_udp_false_blocks_all_udp_while_tcp_passes(lab):
    fw, lan, wan = setup(lab, {"allow-udp": "false"})
    fw.run("start")
    lab.servers(wan, WAN, tcp=[2222], udp=[53, 6000])
    assert lab.blocked(lan, "udp", WAN, 53)
    assert lab.blocked(lan, "udp", WAN, 6000)
    assert lab.probe(lan, "tcp", WAN, 2222) == LAN
    fw.run("update", {"allow-udp": "true", "allow-tcp": "false"})
    assert lab.probe(lan, "udp", WAN, 6000) == LAN
    assert lab.blocked(lan, "tcp", WAN, 2222)
    assert lab.ping(lan, WAN)
    fw.run("stop")


def test_port_list_for_a_protocol_switched_off_is_refused(lab):
    fw, _, _ = setup(lab, {"allow-tcp": "false", "allow-tcp-ports": "22"})
    res = fw.run("start", check=False)
    assert res.returncode != 0
    assert "allow-tcp-ports" in res.output and "allow-tcp is false" in res.output
    assert not lab.has_link(fw.ns, "br0")
    fw.run("stop")
