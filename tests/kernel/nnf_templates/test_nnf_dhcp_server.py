"""The `dhcp-server` template: dnsmasq leasing addresses on its lan port.

client (busybox udhcpc) --veth-- [lan 198.18.1.1/24  dhcp-server]
"""

from __future__ import annotations

import ipaddress

PARAMS = {
    "address": "198.18.1.1/24",
    "range-start": "198.18.1.100",
    "range-end": "198.18.1.110",
}

# udhcpc's event script: record the lease it got (udhcpc -q exits after "bound").
LEASE_SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
{
    echo "ip=$ip"
    echo "mask=${mask:-}"
    echo "router=${router:-}"
    echo "dns=${dns:-}"
    echo "lease=${lease:-}"
} >"$LEASE_FILE"
"""


def setup(lab, params):
    lab.need("dnsmasq", "busybox")
    dhcp = lab.instance("dhcp-server", ["lan"], params)
    client = lab.netns()
    lab.link(client, "eth0", dhcp.ns, "lan")
    lab.host(client, "eth0")
    return dhcp, client


def get_lease(lab, client: str) -> dict[str, str] | None:
    script = lab.tmp / "udhcpc.script"
    script.write_text(LEASE_SCRIPT)
    script.chmod(0o755)
    lease = lab.tmp / "lease.txt"
    lease.unlink(missing_ok=True)
    lab.settle(client)
    res = lab.run(
        client,
        "env",
        f"LEASE_FILE={lease}",
        "busybox",
        "udhcpc",
        "-f",  # foreground
        "-q",  # exit once bound
        "-n",  # exit if no lease
        "-t",
        "4",
        "-T",
        "1",
        "-i",
        "eth0",
        "-s",
        str(script),
        check=False,
        timeout=30,
    )
    if res.returncode != 0 or not lease.exists():
        return None
    return dict(line.split("=", 1) for line in lease.read_text().splitlines())


def test_client_gets_a_lease_in_the_range(lab):
    params = dict(PARAMS, router="198.18.1.1", **{"dns-server": "198.18.1.53", "lease-time": "10m"})
    dhcp, client = setup(lab, params)
    dhcp.run("start")
    assert dhcp.run("status").returncode == 0

    lease = get_lease(lab, client)
    assert lease is not None, dhcp.log.read_text()
    ip = ipaddress.IPv4Address(lease["ip"])
    assert ipaddress.IPv4Address("198.18.1.100") <= ip <= ipaddress.IPv4Address("198.18.1.110")
    assert lease["mask"] == "24"
    assert lease["router"] == "198.18.1.1"
    assert lease["dns"] == "198.18.1.53"
    assert lease["lease"] == "600"
    assert lease["ip"] in (dhcp.workdir / "leases").read_text()

    # The client, with that address, reaches the server.
    lab.run(client, "ip", "addr", "add", f"{ip}/24", "dev", "eth0")
    assert lab.ping(client, "198.18.1.1")

    pid = int((dhcp.workdir / "dnsmasq.pid").read_text())
    assert pid in lab.pids(dhcp.ns)
    dhcp.run("stop")
    assert lab.pids(dhcp.ns) == []
    assert not (dhcp.workdir / "dnsmasq.pid").exists()
    assert dhcp.run("status", check=False).returncode != 0
    dhcp.run("stop")  # idempotent


def test_no_router_or_dns_unless_configured(lab):
    dhcp, client = setup(lab, PARAMS)
    dhcp.run("start")
    lease = get_lease(lab, client)
    assert lease is not None, dhcp.log.read_text()
    assert lease["router"] == "" and lease["dns"] == ""
    assert lease["lease"] == "3600"  # the default, 1h
    dhcp.run("stop")


def test_bad_parameters_are_refused_and_nothing_runs(lab):
    dhcp, _ = setup(lab, {"address": "198.18.1.1/24"})
    res = dhcp.run("start", check=False)
    assert res.returncode != 0 and "range-start is mandatory" in res.output
    cases = [
        ({"range-start": "198.18.2.100", "range-end": "198.18.2.110"}, "not in the subnet"),
        ({"range-start": "198.18.1.110", "range-end": "198.18.1.100"}, "is after"),
        ({"range-start": "198.18.1.100", "range-end": "198.18.1.300"}, "range-end"),
        ({"range-end": "198.18.1.110", "lease-time": "1x"}, "lease-time"),
    ]
    for params, message in cases:
        res = dhcp.run("start", params, check=False)
        assert res.returncode != 0 and message in res.output, (params, res.output)
    assert lab.pids(dhcp.ns) == []
    dhcp.run("stop")  # stop after a failed start does not fail
