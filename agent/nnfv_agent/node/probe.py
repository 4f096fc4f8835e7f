"""Probe what this kernel can do by trying it in a throwaway namespace (never a fixed list).

The namespace is named after the node (``nnfv-probe-<node>-<random>``); one left behind by an
agent killed during a probe is removed by the next probe or start-up of the same node.
Feature names are the ones templates depend on and the YANG model describes (``vlan``,
``cgroup-memory``, ...).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass

from ..drivers.compute.cgroups import kernel_at_least
from ..drivers.naming import Names

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Feature:
    name: str
    available: bool
    detail: str


# Friendly names of link kinds, as used in capability reports and errors.
LINK_FEATURES = {
    "veth": "veth pairs",
    "bridge": "Linux bridge",
    "vxlan": "VXLAN tunnels",
    "vlan": "802.1Q VLAN devices",
    "gretap": "GRE tap tunnels",
    "wireguard": "WireGuard tunnels",
}


CGROUP_CONTROLLERS = ("memory", "cpu", "freezer", "pids")


class KernelProbe:
    def __init__(self, names: Names) -> None:
        self.names = names
        self._features: dict[str, Feature] | None = None
        self._lock = threading.Lock()

    def remove_stale(self) -> list[str]:
        """Remove probe namespaces of this node left by an agent killed during a probe."""
        with self._lock:
            return self._remove_stale()

    def _remove_stale(self) -> list[str]:
        try:
            listed = os.listdir("/run/netns")
        except FileNotFoundError:
            return []
        stale = self.names.our_probe_netns(listed)
        for name in stale:
            proc = _ip("netns", "del", name)
            if proc.returncode != 0:
                log.error("cannot remove stale probe namespace %s: %s", name, proc.stderr.strip())
            else:
                log.info("removed stale probe namespace %s", name)
        return stale

    def features(self) -> dict[str, Feature]:
        with self._lock:
            if self._features is None:
                self._features = self._probe()
            return self._features

    def has(self, name: str) -> bool:
        feature = self.features().get(name)
        return bool(feature and feature.available)

    def missing(self, name: str) -> str | None:
        """None when available, else a sentence naming what is missing."""
        feature = self.features().get(name)
        if feature is None:
            return f"missing capability: unknown kernel feature {name}"
        if feature.available:
            return None
        return f"missing capability: kernel feature {name} ({feature.detail})"

    def _probe(self) -> dict[str, Feature]:
        # `ip` rather than netlink: a one-off probe is not worth loading pyroute2 for.
        found: dict[str, Feature] = {}
        self._remove_stale()
        name = self.names.probe_netns()
        made = _ip("netns", "add", name)
        if made.returncode != 0:
            found["netns"] = Feature(
                "netns", False, f"cannot create a namespace: {made.stderr.strip()}"
            )
            return found
        found["netns"] = Feature("netns", True, "network namespaces")
        try:
            for kind, label in LINK_FEATURES.items():
                found[kind] = self._link(name, kind, label)
            found.update(self._nftables(name))
            found.update(_tc_flower(name))
            found.update(_xfrm(name))
        finally:
            _ip("netns", "del", name)
        found.update(_cgroups())
        return found

    @staticmethod
    def _link(ns: str, kind: str, label: str) -> Feature:
        args = {
            "veth": ["pveth0", "type", "veth", "peer", "name", "pveth1"],
            "bridge": ["pbridge", "type", "bridge"],
            "vxlan": [
                "pvxlan",
                "type",
                "vxlan",
                "id",
                "42",
                "remote",
                "127.0.0.2",
                "dstport",
                "4789",
            ],
            "vlan": ["pvlan", "link", "pvlanp", "type", "vlan", "id", "7"],
            "gretap": ["pgretap", "type", "gretap", "remote", "127.0.0.2", "local", "127.0.0.1"],
            "wireguard": ["pwg", "type", "wireguard"],
        }[kind]
        if kind == "vlan":
            _ip("-n", ns, "link", "add", "pvlanp", "type", "veth", "peer", "name", "pvlanq")
        proc = _ip("-n", ns, "link", "add", *args)
        if proc.returncode == 0:
            return Feature(kind, True, label)
        return Feature(
            kind, False, f"{label} not supported by this kernel: {proc.stderr.strip() or 'refused'}"
        )

    @staticmethod
    def _nftables(ns: str) -> dict[str, Feature]:
        if not shutil.which("nft"):
            return {
                f: Feature(f, False, "the nft command is missing")
                for f in ("nftables", "nft-netdev-fwd", "nft-payload-set")
            }
        hook = 'type filter hook ingress device "lo" priority 0;'
        checks: dict[str, str] = {
            "nftables": "table inet probe {\nchain c {\ntype filter hook input priority 0;\n}\n}",
            "nft-netdev-fwd": f'table netdev probe {{\nchain c {{\n{hook}\nfwd to "lo"\n}}\n}}',
            "nft-payload-set": f"table netdev probe2 {{\nchain c {{\n{hook}\n"
            "ip daddr set 127.0.0.1\n}\n}",
        }
        out = {}
        for feature, rule in checks.items():
            proc = subprocess.run(
                ["ip", "netns", "exec", ns, "nft", "-f", "-"],
                input=rule + "\n",
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            ok = proc.returncode == 0
            out[feature] = Feature(feature, ok, "nftables" if ok else proc.stderr.strip())
        return out


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)


def _cgroups() -> dict[str, Feature]:
    """`cgroup`, and `cgroup-<controller>` for each controller NF limits can use."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        with open("/sys/fs/cgroup/cgroup.controllers") as fh:
            ctrls = fh.read().split()
        version = "v2"
        # The v2 freezer is the cgroup.freeze core file (Linux 5.2+), not a listed controller.
        if kernel_at_least(5, 2):
            ctrls.append("freezer")
    else:
        version = "v1"
        ctrls = [c for c in CGROUP_CONTROLLERS if os.path.isdir(f"/sys/fs/cgroup/{c}")]
    found = {
        "cgroup": Feature("cgroup", bool(ctrls), f"{version}: " + " ".join(ctrls)),
    }
    for ctrl in CGROUP_CONTROLLERS:
        name = f"cgroup-{ctrl}"
        ok = ctrl in ctrls
        found[name] = Feature(
            name,
            ok,
            f"cgroup {version} {ctrl} controller"
            + ("" if ok else " is not available on this node"),
        )
    return found


def _tc_flower(ns: str) -> dict[str, Feature]:
    """tc flower classification (with a drop action), on a dummy-free veth in the namespace."""
    if not shutil.which("tc"):
        return {"tc-flower": Feature("tc-flower", False, "the tc command is missing")}
    _ip("-n", ns, "link", "add", "ptc0", "type", "veth", "peer", "name", "ptc1")
    steps = [
        ["tc", "qdisc", "add", "dev", "ptc0", "ingress"],
        [
            "tc",
            "filter",
            "add",
            "dev",
            "ptc0",
            "ingress",
            "protocol",
            "ip",
            "flower",
            "ip_proto",
            "tcp",
            "action",
            "drop",
        ],
    ]
    for step in steps:
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, *step],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if proc.returncode != 0:
            why = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "refused"
            return {
                "tc-flower": Feature(
                    "tc-flower", False, f"tc flower not supported by this kernel: {why}"
                )
            }
    return {"tc-flower": Feature("tc-flower", True, "tc flower classifier")}


def _xfrm(ns: str) -> dict[str, Feature]:
    """Try to install an ESP security association, inside the throwaway namespace only."""
    base = ["ip", "-n", ns, "xfrm", "state"]
    listed = subprocess.run(
        [*base, "list"], capture_output=True, text=True, timeout=10, check=False
    )
    out = {
        "xfrm": Feature(
            "xfrm",
            listed.returncode == 0,
            "IPsec transformation framework" if listed.returncode == 0 else listed.stderr.strip(),
        )
    }
    add = subprocess.run(
        [
            *base,
            "add",
            "src",
            "127.0.0.1",
            "dst",
            "127.0.0.2",
            "proto",
            "esp",
            "spi",
            "0x100",
            "mode",
            "tunnel",
            "enc",
            "cbc(aes)",
            "0x" + "11" * 16,
            "auth",
            "hmac(sha256)",
            "0x" + "22" * 32,
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    ok = add.returncode == 0
    out["esp"] = Feature(
        "esp",
        ok,
        "kernel ESP" if ok else f"kernel ESP missing: {add.stderr.strip() or 'not supported'}",
    )
    return out
