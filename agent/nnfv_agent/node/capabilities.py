"""What this node can do and has: functional and infrastructural capabilities, resources.

Kernel features are probed once (they do not change while the agent runs). Executables,
packages, the template catalog and resources are read on each request, which costs a few
stat() calls and /proc reads.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from ..model.template import Template
from .probe import KernelProbe

NODE = "urn:nnfv:yang:nnfv-node"

# Executables that shipped templates and operators commonly need, reported even when unused.
WELL_KNOWN_EXECUTABLES = (
    "ip",
    "nft",
    "iptables",
    "dnsmasq",
    "swanctl",
    "charon",
    "bridge",
    "tc",
    "sysctl",
)
# Execution environments with a compute driver in this agent.
COMPUTE_DRIVERS = ("native",)
CHARON_PATHS = ("/usr/lib/ipsec/charon", "/usr/libexec/ipsec/charon", "/usr/sbin/charon-systemd")


@dataclass(frozen=True)
class Accelerator:
    name: str
    kind: str
    description: str = ""


@dataclass(frozen=True)
class Function:
    functional_type: str
    flavours: tuple[str, ...]
    ready: bool
    reason: str
    templates: tuple[str, ...]


class NodeCapabilities:
    def __init__(
        self,
        probe: KernelProbe,
        search_path: str,
        state_dir: Path,
        accelerators: tuple[Accelerator, ...] = (),
    ) -> None:
        self.probe = probe
        self.search_path = search_path
        self.state_dir = Path(state_dir)
        self.accelerators = accelerators

    # ---- dependencies -------------------------------------------------------------------

    def executable(self, name: str) -> str | None:
        found = shutil.which(name, path=self.search_path)
        if found is None and name == "charon":
            found = next((p for p in CHARON_PATHS if os.access(p, os.X_OK)), None)
        return found

    @staticmethod
    def package(name: str) -> bool:
        """Installed per dpkg (Debian) or opkg (OpenWrt)."""
        return any(
            Path(p).exists()
            for p in (
                f"/var/lib/dpkg/info/{name}.list",
                f"/var/lib/dpkg/info/{name}:amd64.list",
                f"/usr/lib/opkg/info/{name}.control",
            )
        )

    def missing(self, tpl: Template) -> str | None:
        """None when every dependency of `tpl` is met here, else what is missing."""
        for kind, name in tpl.dependencies:
            if kind == "kernel-feature":
                why = self.probe.missing(name)
                if why:
                    return why
            elif kind == "executable" and self.executable(name) is None:
                return f"missing capability: executable {name}"
            elif kind == "package" and not self.package(name):
                return f"missing capability: package {name}"
        return None

    def execution_environments(self) -> list[str]:
        """The environments NFs can run in here: those this agent has a compute driver for.

        A container runtime or /dev/kvm on the box does not count: without a driver, a
        template of that flavour cannot be deployed, so advertising it would be untrue.
        """
        return list(COMPUTE_DRIVERS)

    # ---- capabilities -------------------------------------------------------------------

    def functions(self, templates: dict[str, Template]) -> dict[str, Function]:
        by_type: dict[str, list[Template]] = {}
        for tpl in templates.values():
            by_type.setdefault(tpl.functional_type, []).append(tpl)
        envs = set(self.execution_environments())
        out = {}
        for ftype, tpls in sorted(by_type.items()):
            reasons: list[tuple[Template, str | None]] = []
            for tpl in sorted(tpls, key=lambda t: t.name):
                why: str | None
                if tpl.vnf_type not in envs:
                    why = (
                        f"missing capability: execution environment {tpl.vnf_type} "
                        "(this agent has no compute driver for it)"
                    )
                else:
                    why = self.missing(tpl)
                reasons.append((tpl, why))
            ready = [t for t, why in reasons if why is None]
            reason = "; ".join(f"{t.name}: {why}" for t, why in reasons if why)
            out[ftype] = Function(
                ftype,
                tuple(sorted({t.vnf_type for t in tpls})),
                bool(ready),
                "" if ready else reason,
                tuple(t.name for t, _ in reasons),
            )
        return out

    def xml(self, templates: dict[str, Template], committed: tuple[int, int]) -> str:
        root = etree.Element(f"{{{NODE}}}node", nsmap={None: NODE})
        caps = _sub(root, "capabilities")
        functional = _sub(caps, "functional")
        for fn in self.functions(templates).values():
            f = _sub(functional, "function")
            _leaf(f, "functional-type", fn.functional_type)
            for flavour in fn.flavours:
                _leaf(f, "flavour", flavour)
            _leaf(f, "ready", str(fn.ready).lower())
            if fn.reason:
                _leaf(f, "reason", fn.reason)
            for name in fn.templates:
                _leaf(f, "template", name)
        infra = _sub(caps, "infrastructural")
        _leaf(infra, "cpu-architecture", os.uname().machine)
        _leaf(infra, "cpu-count", os.cpu_count() or 1)
        for env in self.execution_environments():
            _leaf(infra, "execution-environment", env)
        for feature in self.probe.features().values():
            k = _sub(infra, "kernel-feature")
            _leaf(k, "name", feature.name)
            _leaf(k, "available", str(feature.available).lower())
            _leaf(k, "detail", feature.detail[:250])
        wanted = set(WELL_KNOWN_EXECUTABLES) | {
            n for t in templates.values() for kind, n in t.dependencies if kind == "executable"
        }
        for name in sorted(wanted):
            e = _sub(infra, "executable")
            _leaf(e, "name", name)
            path = self.executable(name)
            if path:
                _leaf(e, "path", path)
            _leaf(e, "available", str(path is not None).lower())
        for acc in self.accelerators:
            a = _sub(infra, "accelerator")
            _leaf(a, "name", acc.name)
            _leaf(a, "kind", acc.kind)
            _leaf(a, "available", "true")
            _leaf(a, "detail", acc.description or "declared in the agent configuration")
        res = _sub(root, "resources")
        mem = _meminfo()
        _leaf(res, "memory-total", mem.get("MemTotal", 0))
        _leaf(res, "memory-free", mem.get("MemAvailable", mem.get("MemFree", 0)))
        _leaf(res, "cpu-count", os.cpu_count() or 1)
        _leaf(res, "load-average-1", f"{os.getloadavg()[0]:.2f}")
        st = os.statvfs(self.state_dir)
        _leaf(res, "disk-free", st.f_bavail * st.f_frsize)
        com = _sub(res, "committed")
        _leaf(com, "memory", committed[0])
        _leaf(com, "cpu-weight", committed[1])
        _leaf(res, "last-update", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return etree.tostring(root, encoding="unicode")


def memory_available() -> int:
    mem = _meminfo()
    return mem.get("MemAvailable", mem.get("MemFree", 0))


def _meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                out[key] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def _sub(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NODE}}}{name}")


def _leaf(parent: etree._Element, name: str, value: object) -> None:
    etree.SubElement(parent, f"{{{NODE}}}{name}").text = str(value)
