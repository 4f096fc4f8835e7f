"""Probe what this kernel can do by trying it in a throwaway namespace (never a fixed list)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass

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
    "8021q": "802.1Q VLAN devices",
    "gretap": "GRE tap tunnels",
    "wireguard": "WireGuard tunnels",
}


class KernelProbe:
    def __init__(self) -> None:
        self._features: dict[str, Feature] | None = None
        self._lock = threading.Lock()

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
        name = f"nnfv-probe-{os.urandom(4).hex()}"
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
            "8021q": ["pvlan", "link", "pvlanp", "type", "vlan", "id", "7"],
            "gretap": ["pgretap", "type", "gretap", "remote", "127.0.0.2", "local", "127.0.0.1"],
            "wireguard": ["pwg", "type", "wireguard"],
        }[kind]
        if kind == "8021q":
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
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        with open("/sys/fs/cgroup/cgroup.controllers") as fh:
            ctrls = fh.read().split()
        return {"cgroup": Feature("cgroup", True, "v2: " + " ".join(ctrls))}
    ctrls = [
        c for c in ("memory", "cpu", "freezer", "pids") if os.path.isdir(f"/sys/fs/cgroup/{c}")
    ]
    return {"cgroup": Feature("cgroup", bool(ctrls), "v1: " + " ".join(ctrls))}


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
