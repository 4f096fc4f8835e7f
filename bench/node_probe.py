"""Cost of the node's capability report (`get` of /node) on a native agent.

The kernel probe (throwaway namespace) and the packing of the shipped templates happen at
start, for the capability monitor's baseline; every request re-reads executables, packages,
/proc and the catalog.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.modules.setdefault("invoke", None)

from local_agent import PASSWORD, USER, LocalAgent  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402

GET_NODE = '<get><filter type="subtree"><node xmlns="urn:nnfv:yang:nnfv-node"/></filter></get>'


def main() -> int:
    with LocalAgent(dataplane="native") as agent:
        with NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD) as c:
            t0 = time.perf_counter()
            c.rpc(GET_NODE)
            first = (time.perf_counter() - t0) * 1000
            samples = []
            for _ in range(50):
                t0 = time.perf_counter()
                c.rpc(GET_NODE)
                samples.append((time.perf_counter() - t0) * 1000)
    print("get /node (capabilities and resources) on a native agent over SSH")
    print(f"  first request                                   {first:7.1f} ms")
    print(
        f"  later requests: p50 {statistics.median(samples):.1f} ms, "
        f"max {max(samples):.1f} ms (n={len(samples)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
