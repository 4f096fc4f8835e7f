"""`make demo`: start an agent on loopback, push the example graph over NETCONF, read it back.

Later milestones grow this into the fleet demo (simulated CPEs in network namespaces).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.modules.setdefault("invoke", None)

from local_agent import PASSWORD, USER, LocalAgent  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient, NetconfError  # noqa: E402

EXAMPLE = ROOT / "yang" / "examples" / "graph-firewall-nat.xml"


def pretty(xml: str) -> str:
    root = etree.fromstring(xml.encode())
    data = root[0] if len(root) else root
    return "\n".join(
        etree.tostring(el, pretty_print=True, encoding="unicode").rstrip() for el in data
    )


def main() -> int:
    graph = etree.tostring(etree.parse(str(EXAMPLE)).getroot(), encoding="unicode")
    with LocalAgent() as agent:
        print(f"agent listening on 127.0.0.1:{agent.port} (state in {agent.dir})")
        with NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD) as nc:
            print(f"NETCONF session {nc.session_id} open")
            nc.rpc("<lock><target><candidate/></target></lock>")
            nc.edit_config(graph)
            print(f"edit-config: {EXAMPLE.relative_to(ROOT)} -> candidate")
            nc.rpc("<validate><source><candidate/></source></validate>")
            print("validate: ok")
            nc.commit()
            nc.rpc("<unlock><target><candidate/></target></unlock>")
            print("commit: ok\n\nrunning datastore:")
            print(pretty(nc.get_config("running")))
            try:
                nc.edit_config(
                    re.sub(r"<priority>\d+</priority>", "<priority>high</priority>", graph, count=1)
                )
            except NetconfError as err:
                print(f"\na bad edit is refused: {err}")
    print("agent stopped, state removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
