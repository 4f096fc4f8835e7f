"""scripts/simfleet.py: finding a CPE's agents by their command line; tearing a CPE down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from simfleet import SimCpe

FREEZER = Path("/sys/fs/cgroup/freezer")


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


@pytest.mark.skipif(
    os.geteuid() != 0 or not FREEZER.is_dir(), reason="needs root and the v1 freezer"
)
def test_destroy_kills_the_processes_of_a_frozen_nf_cgroup(tmp_path):
    """A test that fails while an NF is paused must still leave no process or cgroup."""
    node = f"t{uuid.uuid4().hex[:6]}"
    cpe = SimCpe(node, str(tmp_path))
    group = FREEZER / "nnfv" / node / f"nnfv-{node}-paused"
    group.mkdir(parents=True)
    proc = subprocess.Popen(["sleep", "600"])
    try:
        (group / "cgroup.procs").write_text(str(proc.pid))
        (group / "freezer.state").write_text("FROZEN")
        cpe.destroy()
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert not (FREEZER / "nnfv" / node).exists()
    finally:
        if group.exists():
            (group / "freezer.state").write_text("THAWED")
        proc.kill()
        proc.wait()
        for d in (group, group.parent):
            if d.exists():
                d.rmdir()
