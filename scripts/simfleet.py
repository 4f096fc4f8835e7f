"""Simulated CPEs: each is a network namespace with its own nnfv-agent, LAN host and WAN host.

    python scripts/simfleet.py up N [--dir DIR]     bring up N CPEs, write DIR/inventory.yml
    python scripts/simfleet.py down [--dir DIR]     tear every one of them down

A CPE `<id>` is the namespace `cpe-<id>` (its interfaces `lan0` and `wan0`), the hosts
`lan-<id>` and `wan-<id>` (each with `eth0`), and an agent process in the host's namespace that
manages `cpe-<id>` and listens on 127.0.0.1. Addresses come from the documentation ranges
(RFC 5737) and exist only inside these namespaces; nothing is routed off the machine.

The inventory holds no password: the fleet has its own SSH key pair (DIR/fleet_key, made by
`up`), whose public key every agent accepts for the user `admin`. The agents also accept
the test PASSWORD (agent_launcher.py), for the tests and benchmarks that connect with ncclient
directly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

sys.modules.setdefault("invoke", None)

from agent_launcher import (  # noqa: E402
    PASSWORD,
    READY_TIMEOUT,
    USER,
    AgentProcess,
    agent_config,
    stop_pid,
    write_config,
)

__all__ = ["PASSWORD", "USER", "SimCpe", "down", "sh", "up"]
LAN_NET, WAN_NET = "192.0.2", "198.51.100"
DEFAULT_DIR = Path("/tmp/nnfv-fleet")
CGROUP_MOUNT = Path("/sys/fs/cgroup")


def sh(
    *args: str,
    check: bool = True,
    ns: str | None = None,
    timeout: float = 30,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(
        cmd, check=check, capture_output=True, text=True, timeout=timeout, input=input
    )


@dataclass
class SimCpe:
    id: str
    dir: str
    port: int = 0
    pid: int = 0
    authorized_key: str = ""

    @property
    def cpe_ns(self) -> str:
        return f"cpe-{self.id}"

    @property
    def lan_ns(self) -> str:
        return f"lan-{self.id}"

    @property
    def wan_ns(self) -> str:
        return f"wan-{self.id}"

    @property
    def namespaces(self) -> list[str]:
        return [self.cpe_ns, self.lan_ns, self.wan_ns]

    lan_host = f"{LAN_NET}.10"
    lan_gateway = f"{LAN_NET}.1"
    wan_host = f"{WAN_NET}.10"
    wan_cpe = f"{WAN_NET}.2"

    # ---- bring-up -----------------------------------------------------------------------

    def create_network(self) -> None:
        for ns in self.namespaces:
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        for side, host_ns, addr in (
            ("lan", self.lan_ns, f"{self.lan_host}/24"),
            ("wan", self.wan_ns, f"{self.wan_host}/24"),
        ):
            sh(
                "ip",
                "link",
                "add",
                f"{side}0",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                host_ns,
                ns=self.cpe_ns,
            )
            sh("ip", "link", "set", f"{side}0", "up", ns=self.cpe_ns)
            sh("ip", "addr", "add", addr, "dev", "eth0", ns=host_ns)
            sh("ip", "link", "set", "eth0", "up", ns=host_ns)
        sh("ip", "route", "add", "default", "via", self.lan_gateway, ns=self.lan_ns)
        sh("ip", "route", "add", f"{LAN_NET}.0/24", "via", self.wan_cpe, ns=self.wan_ns)

    def write_config(self, **extra: object) -> Path:
        """This CPE's agent.toml: native data plane in its namespace, `extra` settings on top."""
        d = Path(self.dir)
        config = agent_config(
            d / "state",
            dataplane="native",
            netns=self.cpe_ns,
            node_id=self.id,
            authorized_keys=[self.authorized_key] if self.authorized_key else [],
            **{"log_level": "DEBUG", **extra},
        )
        return write_config(d / "agent.toml", config)

    def start_agent(
        self, timeout: float = READY_TIMEOUT, env: dict[str, str] | None = None
    ) -> None:
        d = Path(self.dir)
        agent = AgentProcess(d / "agent.toml", d / "agent.log", d / "port", self.port)
        try:
            # Its own session: the agent outlives this script (`up`) until `down` stops it.
            agent.start(env=env, new_session=True, timeout=timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"agent of {self.id}: {exc}") from exc
        self.pid, self.port = agent.pid, agent.port

    def stop_agent(self, sig: int = signal.SIGTERM) -> None:
        if self.pid:
            stop_pid(self.pid, sig)
        self.pid = 0

    # ---- tear-down ----------------------------------------------------------------------

    def agent_pids(self) -> list[int]:
        """Agents running with this CPE's config, including restarts not recorded here."""
        config = str(Path(self.dir) / "agent.toml")
        pids = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    cmdline = (proc / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if config.encode() in cmdline and any(b"nnfv-agent" in c for c in cmdline):
                    pids.append(int(proc.name))
        return pids

    def destroy(self) -> list[str]:
        """Remove everything of this CPE, whatever state it is in. Returns what was left."""
        self.stop_agent()
        for pid in self.agent_pids():
            self.pid = pid
            self.stop_agent()
        leftovers = []
        cgroot = f"nnfv/{self.id}"
        _thaw(cgroot)  # a frozen task does not die of SIGKILL until it is thawed
        for pid in _cgroup_pids(cgroot):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        listed = sh("ip", "netns", "list", check=False).stdout.split()
        for ns in [n for n in listed if n.startswith(f"nnfv-{self.id}-")]:
            leftovers.append(f"netns {ns}")
            sh("ip", "netns", "del", ns, check=False)
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns, check=False)
        leftovers += _remove_cgroups(cgroot)
        shutil.rmtree(self.dir, ignore_errors=True)
        return leftovers


def _cgroup_dirs(root: str) -> list[Path]:
    out = []
    for hierarchy in CGROUP_MOUNT.iterdir():
        d = hierarchy / root
        if d.is_dir():
            out.append(d)
    if (CGROUP_MOUNT / "cgroup.controllers").exists() and (CGROUP_MOUNT / root).is_dir():
        out.append(CGROUP_MOUNT / root)
    return out


def _thaw(root: str) -> None:
    """Thaw every cgroup below `root`: freezer.state on v1, cgroup.freeze on v2."""
    for d in _cgroup_dirs(root):
        for name, thawed in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
            for control in d.rglob(name):
                try:
                    control.write_text(thawed)
                except OSError:
                    pass


def _cgroup_pids(root: str) -> list[int]:
    pids = set()
    for d in _cgroup_dirs(root):
        for procs in d.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                pass
    return sorted(pids)


def _remove_cgroups(root: str) -> list[str]:
    leftovers = []
    for d in _cgroup_dirs(root):
        for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            leftovers.append(f"cgroup {sub}")
            try:
                sub.rmdir()
            except OSError:
                pass
        try:
            d.rmdir()
        except OSError:
            pass
    return leftovers


# ---- the fleet --------------------------------------------------------------------------


def fleet_key(base: Path) -> tuple[Path, str]:
    """The fleet's SSH key: (private key file, public key line), made on first use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = base / "fleet_key"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return path, public.decode()


def up(count: int, base: Path, prefix: str = "f") -> list[SimCpe]:
    base.mkdir(parents=True, exist_ok=True)
    key_file, public_key = fleet_key(base)
    cpes = []
    try:
        for i in range(count):
            cpe = SimCpe(
                f"{prefix}{i:03d}", str(base / f"{prefix}{i:03d}"), authorized_key=public_key
            )
            cpes.append(cpe)
            cpe.create_network()
            cpe.write_config()
            cpe.start_agent()
    except Exception:
        for cpe in cpes:
            cpe.destroy()
        raise
    (base / "fleet.json").write_text(json.dumps([asdict(c) for c in cpes], indent=1))
    write_inventory(cpes, base / "inventory.yml", key_file)
    return cpes


def write_inventory(cpes: list[SimCpe], path: Path, key_file: Path) -> None:
    """One entry per CPE, NETCONF with the fleet key; gather_facts runs nnfv.cpe.cpe_facts."""
    lines = ["all:", "  children:", "    cpes:", "      hosts:"]
    for c in cpes:
        lines += [
            f"        {c.id}:",
            "          ansible_host: 127.0.0.1",
            f"          ansible_port: {c.port}",
            f"          nnfv_lan_ns: {c.lan_ns}",
            f"          nnfv_wan_ns: {c.wan_ns}",
        ]
    lines += [
        "      vars:",
        "        ansible_connection: ansible.netcommon.netconf",
        "        ansible_network_os: nnfv.cpe.cpe",
        "        ansible_facts_modules: [nnfv.cpe.cpe_facts]",
        f"        ansible_user: {USER}",
        f"        ansible_private_key_file: {key_file}",
        "        ansible_netconf_host_key_checking: false",
        "        ansible_host_key_checking: false",
    ]
    path.write_text("\n".join(lines) + "\n")


def down(base: Path) -> list[str]:
    leftovers = []
    state = base / "fleet.json"
    if state.exists():
        for data in json.loads(state.read_text()):
            leftovers += SimCpe(**data).destroy()
    shutil.rmtree(base, ignore_errors=True)
    return leftovers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("count", type=int)
    p_up.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    p_up.add_argument(
        "--prefix", default="f", help="CPE ids are PREFIX000, PREFIX001, ... (letters, digits)"
    )
    p_down = sub.add_parser("down")
    p_down.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    if args.cmd == "up":
        cpes = up(args.count, args.dir, prefix=args.prefix)
        print(f"{len(cpes)} CPEs up; inventory: {args.dir / 'inventory.yml'}")
        for c in cpes:
            print(f"  {c.id}: agent 127.0.0.1:{c.port}, namespaces {', '.join(c.namespaces)}")
    else:
        left = down(args.dir)
        print("fleet down" + (f"; cleaned leftovers: {', '.join(left)}" if left else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
