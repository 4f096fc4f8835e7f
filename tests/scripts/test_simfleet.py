"""scripts/simfleet.py: finding a CPE's agents by their command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from simfleet import SimCpe


def test_agent_pids_finds_an_agent_started_outside_the_fleet_script(tmp_path):
    """A restarted agent is found in /proc/*/cmdline, whose arguments are NUL-separated."""
    cpe = SimCpe("tpids", str(tmp_path))
    config = str(Path(cpe.dir) / "agent.toml")
    other = str(tmp_path / "other" / "agent.toml")
    # Stand-ins with an agent's command line: `nnfv-agent --config <file>`.
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "nnfv-agent", "--config"]
    mine = subprocess.Popen([*argv, config])
    theirs = subprocess.Popen([*argv, other])
    try:
        assert cpe.agent_pids() == [mine.pid]
    finally:
        for proc in (mine, theirs):
            proc.kill()
            proc.wait()
