"""What the collection tests share: a template entry, reading running behind the collection's
back, and restarting one CPE's agent of a fleet."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

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
