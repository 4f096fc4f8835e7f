"""netlink.py loads pyroute2 only when first needed; importing the drivers must not load it."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_network_driver_loads_no_pyroute2_module():
    # In a fresh interpreter: this test process may have imported pyroute2 already.
    code = (
        "import sys, nnfv_agent.drivers.network.native; "
        "print(sorted(m for m in sys.modules if m.startswith('pyroute2')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
