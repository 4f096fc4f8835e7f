"""Snapshots of the kernel objects an agent may create, to prove that nothing leaks."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Snapshot:
    namespaces: frozenset[str]
    links: frozenset[str]
    tables: frozenset[str]
    chains: frozenset[str]  # "table/chain" of the netdev tables
    cgroups: frozenset[str]
    processes: frozenset[int]

    def leaks_since(self, before: Snapshot) -> dict[str, list]:
        out = {}
        for field in ("namespaces", "links", "tables", "chains", "cgroups", "processes"):
            extra = sorted(getattr(self, field) - getattr(before, field))
            if extra:
                out[field] = extra
        return out


def snapshot(node_id: str, cpe_ns: str) -> Snapshot:
    namespaces = (
        frozenset(n for n in os.listdir("/run/netns") if n.startswith(f"nnfv-{node_id}-"))
        if os.path.isdir("/run/netns")
        else frozenset()
    )
    links = frozenset(json_list(["ip", "-n", cpe_ns, "-j", "link", "show"], "ifname"))
    tables = frozenset(
        item["table"]["name"]
        for item in json.loads(
            run(["ip", "netns", "exec", cpe_ns, "nft", "-j", "list", "tables"]) or "{}"
        ).get("nftables", [])
        if "table" in item
    )
    chains = frozenset(
        f"{item['chain']['table']}/{item['chain']['name']}"
        for item in json.loads(
            run(["ip", "netns", "exec", cpe_ns, "nft", "-j", "list", "chains", "netdev"]) or "{}"
        ).get("nftables", [])
        if "chain" in item
    )
    cgroups = set()
    procs = set()
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        root = hierarchy / "nnfv" / node_id
        if root.is_dir():
            for d in root.iterdir():
                if d.is_dir():
                    cgroups.add(f"{hierarchy.name}/{d.name}")
                    procs.update(int(p) for p in (d / "cgroup.procs").read_text().split())
    return Snapshot(namespaces, links, tables, chains, frozenset(cgroups), frozenset(procs))


def run(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30).stdout


def json_list(cmd: list[str], key: str) -> list[str]:
    out = run(cmd)
    return [item[key] for item in json.loads(out)] if out.strip() else []


@contextlib.contextmanager
def fresh_netns(prefix: str = "tnet") -> Iterator[str]:
    """A network namespace of the test's own, removed afterwards even when the test fails."""
    name = f"{prefix}{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def open_sockets() -> set[str]:
    """The sockets this process has open (as /proc names them), to find leaked ones."""
    links = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # closed meanwhile (the listing's own fd)
            continue
    return {link for link in links if link.startswith("socket:")}
