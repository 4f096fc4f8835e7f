"""The `bridge` template: a Linux bridge between two ports.

host A (198.18.3.1) --veth-- [in  bridge  out] --veth-- host B (198.18.3.2)
"""

from __future__ import annotations


def setup(lab, params):
    br = lab.instance("bridge", ["in", "out"], params)
    a, b = lab.netns(), lab.netns()
    lab.link(a, "eth0", br.ns, "in")
    lab.link(br.ns, "out", b, "eth0")
    lab.host(a, "eth0", "198.18.3.1/24")
    lab.host(b, "eth0", "198.18.3.2/24")
    return br, a, b


def stp_state(lab, ns) -> str:
    return lab.run(ns, "cat", "/sys/class/net/br0/bridge/stp_state").stdout.strip()


def test_ping_through_and_stp_update(lab):
    br, a, b = setup(lab, {})
    assert lab.no_ping(a, "198.18.3.2")
    br.run("start")
    assert br.run("status").returncode == 0
    assert lab.ping(a, "198.18.3.2"), lab.state(br, a, b)
    assert lab.ping(b, "198.18.3.1")
    lab.servers(b, "198.18.3.2", tcp=[8080])
    assert lab.probe(a, "tcp", "198.18.3.2", 8080) == "198.18.3.1"
    assert stp_state(lab, br.ns) == "0"

    index = lab.ifindex(br.ns, "br0")
    br.run("update", {"stp": "true"})
    assert stp_state(lab, br.ns) != "0"
    assert lab.ifindex(br.ns, "br0") == index
    br.run("update", {"stp": "false"})
    assert stp_state(lab, br.ns) == "0"
    assert lab.ping(a, "198.18.3.2")

    br.run("stop")
    assert not lab.has_link(br.ns, "br0")
    assert lab.no_ping(a, "198.18.3.2")
    assert br.run("status", check=False).returncode != 0
    br.run("stop")  # idempotent


def test_start_with_stp_and_bad_value(lab):
    br, _, _ = setup(lab, {"stp": "maybe"})
    res = br.run("start", check=False)
    assert res.returncode != 0 and "parameter stp" in res.output
    assert not lab.has_link(br.ns, "br0")
    br.run("stop")  # stop after a failed start does not fail
    br.run("start", {"stp": "true"})
    assert stp_state(lab, br.ns) != "0"
    assert br.run("status").returncode == 0
    br.run("stop")
