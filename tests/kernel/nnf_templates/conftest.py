"""Harness for the shipped NNF templates: namespaces, veth links and the script contract.

The scripts run as the agent ships them: the session packs every shipped template with the
catalog (which adds the shared shell library), fetches each archive by its digest and
extracts it, once. Each test gets a `lab`: it creates network namespaces named `tnnf-<hex>`,
veth pairs between them (created directly inside the namespaces, the root namespace is never
touched), and NNF instances whose lifecycle scripts it runs exactly as the agent does
(docs/nnf-template-guide.md):
`ip netns exec <instance> <script> <ifaces...>`, working directory `$NNFV_WORKDIR`, stdin from
/dev/null, stdout and stderr appended to `$NNFV_WORKDIR/nf.log`, the contract's environment
only, a 30 s timeout. At teardown it kills every process left in its namespaces, deletes them
and checks that none of its namespaces remains and that no script wrote into its template.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nnfv_agent.drivers.compute.archive import extract, fetch
from nnfv_agent.node.catalog import Catalog
from support.nnf_templates import Template, env_name

NS_PREFIX = "tnnf-"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def list_netns() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


@dataclass
class Result:
    returncode: int
    output: str


@dataclass
class Instance:
    """One NNF instance: its namespace (= instance name), working directory and parameters."""

    template: Template
    ns: str
    workdir: Path
    ifaces: list[str]
    params: dict[str, str] = field(default_factory=dict)
    graph: str = "g1"
    nf: str = "nf1"

    @property
    def log(self) -> Path:
        return self.workdir / "nf.log"

    def env(self, event: str) -> dict[str, str]:
        env = {
            "PATH": PATH,
            "NNFV_EVENT": event,
            "NNFV_GRAPH": self.graph,
            "NNFV_NF": self.nf,
            "NNFV_INSTANCE": self.ns,
            "NNFV_PORTS": " ".join(self.template.ports),
            "NNFV_IFACES": " ".join(self.ifaces),
            "NNFV_TEMPLATE_DIR": str(self.template.dir),
            "NNFV_WORKDIR": str(self.workdir),
        }
        for port, iface in zip(self.template.ports, self.ifaces, strict=True):
            env[f"NNFV_PORT_{env_name(port)}"] = iface
        unknown = set(self.params) - set(self.template.params)
        assert not unknown, f"parameters not declared by {self.template.name}: {unknown}"
        set_names = []
        for name, default in self.template.params.items():
            value = self.params.get(name, default)
            if value is not None:
                env[f"NNFV_PARAM_{env_name(name)}"] = value
                set_names.append(name)
        env["NNFV_PARAMS"] = " ".join(set_names)
        return env

    def run(
        self,
        event: str,
        params: dict[str, str | None] | None = None,
        *,
        check: bool = True,
        script: str | None = None,
        timeout: float = 30,
    ) -> Result:
        """Run the script of `event` (or `script`, relative to the template) like the agent."""
        for name, value in (params or {}).items():
            if value is None:
                self.params.pop(name, None)
            else:
                self.params[name] = value
        path = self.template.dir / script if script else self.template.scripts[event]
        with open(self.log, "ab") as log:
            log.write(f"=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {event}\n".encode())
            log.flush()
            start = log.tell()
            proc = subprocess.run(
                ["ip", "netns", "exec", self.ns, str(path), *self.ifaces],
                cwd=self.workdir,
                env=self.env(event),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                timeout=timeout,
                check=False,
            )
        output = self.log.read_bytes()[start:].decode(errors="replace")
        result = Result(proc.returncode, output)
        if check:
            assert proc.returncode == 0, f"{self.template.name} {event} failed:\n{output}"
        return result


class Lab:
    """Namespaces, links and processes of one test; everything is removed by cleanup()."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.host_ifaces: dict[str, list[str]] = {}

    @staticmethod
    def need(*executables: str) -> None:
        """Skip the test when an executable the template or the test needs is not installed."""
        missing = [e for e in executables if shutil.which(e, path=PATH) is None]
        if missing:
            pytest.skip(f"not installed: {', '.join(missing)}")

    # -- namespaces and links --------------------------------------------------------------

    def netns(self) -> str:
        name = NS_PREFIX + secrets.token_hex(4)
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.namespaces.append(name)
        self.run(name, "ip", "link", "set", "dev", "lo", "up")
        return name

    def link(self, ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
        """A veth pair between two namespaces, created inside them (not in the root one)."""
        subprocess.run(
            [
                "ip",
                "-n",
                ns_a,
                "link",
                "add",
                if_a,
                "type",
                "veth",
                "peer",
                "name",
                if_b,
                "netns",
                ns_b,
            ],
            check=True,
        )

    def host(
        self, ns: str, ifname: str, cidr: str | None = None, gateway: str | None = None
    ) -> None:
        """Raise a test host's interface, with an address and default route if given."""
        self.run(ns, "ip", "link", "set", "dev", ifname, "up")
        self.host_ifaces.setdefault(ns, []).append(ifname)
        if cidr:
            self.run(ns, "ip", "addr", "add", cidr, "dev", ifname)
        if gateway:
            self.run(ns, "ip", "route", "add", "default", "via", gateway)

    def settle(self, ns: str, timeout: float = 10.0) -> None:
        """Wait until the host interfaces of `ns` are operational.

        A veth raised before its peer gets its carrier later, and the kernel activates its
        transmit queue asynchronously (link watch, under the rtnl lock): on a busy machine,
        e.g. while it cleans up many deleted namespaces, that can take seconds, and until then
        every packet sent is dropped.
        """
        deadline = time.monotonic() + timeout
        for ifname in self.host_ifaces.get(ns, []):
            path = f"/sys/class/net/{ifname}/operstate"
            while self.run(ns, "cat", path, check=False).stdout.strip() != "up":
                if time.monotonic() > deadline:
                    return  # let the traffic check itself fail
                time.sleep(0.05)

    def run(self, ns: str, *argv: str, check: bool = True, timeout: float = 20):
        return subprocess.run(
            ["ip", "netns", "exec", ns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def ifindex(self, ns: str, ifname: str) -> int:
        out = self.run(ns, "cat", f"/sys/class/net/{ifname}/ifindex").stdout
        return int(out)

    def has_link(self, ns: str, ifname: str) -> bool:
        return self.run(ns, "ip", "link", "show", "dev", ifname, check=False).returncode == 0

    def pids(self, ns: str) -> list[int]:
        out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    # -- instances -------------------------------------------------------------------------

    def instance(self, template: str, ifaces: list[str], params: dict[str, str] | None = None):
        """A namespace for an NNF instance and its working directory (no script run yet)."""
        ns = self.netns()
        workdir = self.tmp / ns
        workdir.mkdir(mode=0o700)
        tpl = Template(template, staged_dir())
        return Instance(tpl, ns, workdir, ifaces, dict(params or {}))

    # -- traffic ---------------------------------------------------------------------------

    def ping(self, ns: str, addr: str, deadline: int = 10, settle: bool = True) -> bool:
        """True once one echo reply comes back (pings every 0.2 s until the deadline).

        The deadline is generous because it only matters when something is slow: after many
        namespaces were deleted, the kernel's clean-up holds the rtnl lock and a new port
        can take seconds to pass traffic. A working path answers the first ping anyway.
        """
        if settle:
            self.settle(ns)
            # A failed resolution from an earlier negative check must not linger.
            self.run(ns, "ip", "neigh", "flush", "all", check=False)
        argv = ["ping", "-n", "-q", "-c", "1", "-i", "0.2", "-w", str(deadline), addr]
        return self.run(ns, *argv, check=False).returncode == 0

    def no_ping(self, ns: str, addr: str) -> bool:
        """True when no echo reply comes back within 1 s."""
        return not self.ping(ns, addr, deadline=1, settle=False)

    def servers(self, ns: str, addr: str, tcp: list[int] = (), udp: list[int] = ()) -> None:
        """Start TCP and UDP servers in `ns` answering each client with its peer address."""
        argv = ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, addr]
        argv += [",".join(map(str, tcp)), ",".join(map(str, udp))]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.procs.append(proc)
        assert proc.stdout.readline().strip() == "ready", "test servers did not start"

    def probe(
        self, ns: str, proto: str, addr: str, port: int, timeout: float = 3.0, settle: bool = True
    ) -> str | None:
        """Reach a test server: its answer (our address as it saw it), None if no answer."""
        if settle:
            self.settle(ns)
        res = self.run(
            ns, sys.executable, "-c", CLIENT, proto, addr, str(port), str(timeout), check=False
        )
        return res.stdout.strip() if res.returncode == 0 else None

    def blocked(self, ns: str, proto: str, addr: str, port: int) -> bool:
        """True when a test server does not answer within 1 s."""
        return self.probe(ns, proto, addr, port, timeout=1.0, settle=False) is None

    def state(self, inst: Instance, *hosts: str) -> str:
        """The instance's log and the namespaces' links, addresses and neighbours, to explain
        a failed traffic check."""
        out = [inst.log.read_text()]
        for ns in (inst.ns, *hosts):
            out.append(f"--- {ns}")
            for argv in (["ip", "-s", "link"], ["ip", "addr"], ["ip", "neigh"]):
                out.append(self.run(ns, *argv, check=False).stdout)
        out.append(self.run(inst.ns, "bridge", "link", check=False).stdout)
        out.append(self.run(inst.ns, "nft", "list", "ruleset", check=False).stdout)
        return "\n".join(out)

    # -- teardown --------------------------------------------------------------------------

    def cleanup(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
        for ns in self.namespaces:
            # What the agent does through the cgroup: nothing started in the namespace survives.
            for _ in range(50):
                pids = self.pids(ns)
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.05)
            subprocess.run(["ip", "netns", "del", ns], check=False)


_STAGED: list[Path] = []


def staged_dir() -> Path:
    """Where the shipped templates are, as the agent runs them: packed by the catalog (with the
    shared shell library), fetched by their digest and extracted."""
    assert _STAGED, "the staged_templates fixture has not run"
    return _STAGED[0]


@pytest.fixture(scope="session", autouse=True)
def staged_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("shipped")
    catalog = Catalog(work / "cache")
    for name, tpl in catalog.shipped().items():
        assert tpl.uri is not None and tpl.sha256 is not None
        extract(fetch(tpl.uri, work / "fetched", tpl.sha256), work / "templates" / name)
    assert not catalog.problems, catalog.problems
    _STAGED[:] = [work / "templates"]
    return _STAGED[0]


def template_files() -> set[Path]:
    return {p for p in staged_dir().rglob("*") if "__pycache__" not in p.parts}


@pytest.fixture
def nnf_template() -> Callable[[str], Template]:
    """nnf_template("firewall") parses that template's descriptor, in its staged directory."""
    return lambda name: Template(name, staged_dir())


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    before = template_files()
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.cleanup()
    # Only this test's namespaces: other runs on the machine may have theirs at the same time.
    leftover = [ns for ns in list_netns() if ns in lab.namespaces]
    assert not leftover, f"namespaces left behind: {leftover}"
    created = template_files() - before
    assert not created, f"scripts wrote into their template directory: {sorted(created)}"


# A server answering each TCP connection and UDP datagram with the peer's address.
SERVER = r"""
import selectors, socket, sys
addr, tcp, udp = sys.argv[1], sys.argv[2], sys.argv[3]
sel = selectors.DefaultSelector()
for port in filter(None, tcp.split(",")):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ, "tcp")
for port in filter(None, udp.split(",")):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    sel.register(s, selectors.EVENT_READ, "udp")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if key.data == "tcp":
            conn, peer = s.accept()
            conn.sendall(peer[0].encode() + b"\n")
            conn.close()
        else:
            data, peer = s.recvfrom(2048)
            s.sendto(peer[0].encode() + b"\n", peer)
"""

# A client printing the server's answer; exit 1 when there is none within the timeout.
CLIENT = r"""
import socket, sys, time
proto, addr, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
try:
    if proto == "tcp":
        s = socket.create_connection((addr, port), timeout=timeout)
        data = s.recv(2048)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        deadline = time.monotonic() + timeout
        while True:  # a datagram may be lost: send again every 0.3 s
            s.sendto(b"hello", (addr, port))
            try:
                data, _ = s.recvfrom(2048)
                break
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise
except OSError as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)
print(data.decode().strip())
"""
