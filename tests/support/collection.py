"""What the collection tests share: a template entry, reading running behind the collection's
back, restarting one CPE's agent of a fleet, and a target directory for the agent role."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from .clients import ncclient_connect

SG_FILTER = ("subtree", '<graphs xmlns="urn:nnfv:yang:nnfv-service-graph"/>')

# An nf_template `config` entry (the archive need not exist: only its configuration is pushed).
BRIDGE_TEMPLATE: dict[str, Any] = {
    "name": "my-bridge",
    "functional_type": "bridge",
    "uri": "file:///var/lib/nnfv/nnf/my-bridge.tgz",
    "sha256": "0" * 64,
    "ports": [{"name": "in", "index": 0}, {"name": "out", "index": 1}],
    "lifecycle_management_scripts": [
        {"event": "start", "script": "scripts/start"},
        {"event": "stop", "script": "scripts/stop"},
    ],
}


def running_xml(cpe: Any) -> str:
    """The running graphs, read by the admin with ncclient (not through the collection)."""
    with ncclient_connect(cpe) as m:
        return m.get_config("running", filter=SG_FILTER).data_xml


def restart_agent(fleet: Any, cpe: Any, **config: object) -> None:
    """Restart `cpe`'s agent with `config` on top of its agent.toml."""
    cpe.stop_agent()
    cpe.write_config(**config)
    cpe.start_agent()
    # keep fleet.json (read by `simfleet.py down`) in step with the new agent pid
    (fleet.dir / "fleet.json").write_text(json.dumps([asdict(c) for c in fleet.cpes]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def install_target(prefix: str, pid_file: str) -> Iterator[Path]:
    """A directory the agent role installs into (as root, with the system python3 the role
    targets); the agent it started (`pid_file`, relative) is stopped and the directory removed
    after."""
    if os.geteuid() != 0 or not shutil.which("start-stop-daemon"):
        pytest.skip("needs root and start-stop-daemon")
    if not Path("/usr/bin/python3").exists():
        pytest.skip("needs the system python3 (the CPE's interpreter)")
    base = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield base
    finally:
        pid = base / pid_file
        if pid.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid.read_text()), signal.SIGTERM)
        shutil.rmtree(base, ignore_errors=True)
