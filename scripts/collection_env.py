"""Run ansible-playbook with the nnfv.cpe collection of this checkout.

Ansible finds a collection under `<path>/ansible_collections/<namespace>/<name>`; this module
links the repository there (in a private temporary directory) and builds the environment that
tests, benchmarks and the fleet demo pass to ansible-playbook. ansible.netcommon (and its
own dependency ansible.utils) come from the `ansible` package in the virtual environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def collections_base() -> Path:
    """Where `collections_root` makes its directory (which may not exist yet).

    It is named after the user and this checkout's path, so that several checkouts (git
    worktrees) on one machine never take each other's place.
    """
    tag = hashlib.sha256(str(ROOT).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"nnfv-ansible-{os.getuid()}-{tag}"


def collections_root() -> Path:
    """<tmp>/ansible_collections/nnfv/cpe -> this checkout; returns <tmp>."""
    base = collections_base()
    link = base / "ansible_collections" / "nnfv" / "cpe"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not (link.is_symlink() and link.resolve() == ROOT):
        tmp = link.with_name(f".cpe-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(ROOT)
        tmp.replace(link)
    return base


def ansible_env(*, json_output: bool = False, forks: int = 10, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections_root()),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="true",
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORKS=str(forks),
        ANSIBLE_LOCAL_TEMP=str(collections_root() / "tmp"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    env.update(extra)
    return env


def playbook(
    playbook_path: Path | str,
    inventory: Path | str,
    *args: str,
    json_output: bool = True,
    forks: int = 10,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> tuple[int, dict | str, str]:
    """Run ansible-playbook; returns (exit code, parsed JSON or stdout text, stderr)."""
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook_path), *args]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**ansible_env(json_output=json_output, forks=forks), **(env or {})},
        cwd=str(Path(playbook_path).parent),
    )
    out: dict | str = proc.stdout
    if json_output:
        try:
            out = json.loads(proc.stdout[proc.stdout.index("{") :])
        except ValueError:
            out = proc.stdout
    return proc.returncode, out, proc.stderr


def chain_config(name: str, nfs: list[tuple], *, lan: str, wan: str) -> dict:
    """The service_graph `config` entry of graphs.chain_graph(): lan -> nf1 -> ... -> wan."""
    entries = []
    for nf in nfs:
        entry = {
            "id": nf[0],
            "functional_type": nf[1],
            "ports": [{"name": "in"}, {"name": "out"}],
        }
        params = nf[2] if len(nf) > 2 else {}
        if params:
            entry["config_parameters"] = [{"name": k, "value": v} for k, v in params.items()]
        entries.append(entry)
    hops = ["endpoint:lan"]
    hops += [p for nf in nfs for p in (f"nf:{nf[0]}:in", f"nf:{nf[0]}:out")]
    hops += ["endpoint:wan"]
    rules = []
    for i in range(0, len(hops), 2):
        a, b = hops[i], hops[i + 1]
        for rid, src, dst in ((f"fwd-{i // 2}", a, b), (f"rev-{i // 2}", b, a)):
            rules.append(
                {
                    "id": rid,
                    "priority": 100,
                    "match": {"port_in": src},
                    "actions": {"output": [dst]},
                }
            )
    return {
        "name": name,
        "nfs": entries,
        "endpoints": [{"id": "lan", "interface": lan}, {"id": "wan", "interface": wan}],
        "flow_rules": rules,
    }


def fw_nat_config(
    name: str = "fw-nat", *, allow_tcp: str = "", lan: str = "lan0", wan: str = "wan0"
) -> dict:
    """graphs.fw_nat_graph() as a service_graph `config` entry (simfleet addresses)."""
    fw = {"allow-tcp-ports": allow_tcp} if allow_tcp else {}
    nat = {"in-address": "192.0.2.1/24", "out-address": "198.51.100.2/24"}
    return chain_config(name, [("fw", "firewall", fw), ("nat", "nat", nat)], lan=lan, wan=wan)
