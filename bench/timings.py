"""Timings the tests no longer assert: CLI start-up, and how long Cgroups.kill_all takes.

nnfv-agent --help / --version         wall time of the command (it must not load the server)
kill_all(grace=0.5)                   a process that ignores SIGTERM, with the real freezer
kill_all(grace=0.5), stuck freezer    the same, with a freezer that never reports FROZEN
                                      (a task in uninterruptible sleep): at most grace plus
                                      FREEZE_TRY plus one SIGKILL round
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

from nnfv_agent.drivers.compute import cgroups as cgroups_module
from nnfv_agent.drivers.compute.cgroups import CgroupError, Cgroups, Limits

AGENT = Path(sys.executable).parent / "nnfv-agent"


def cli(arg: str, runs: int = 5) -> list[float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([str(AGENT), arg], capture_output=True, check=True)
        samples.append(time.perf_counter() - t0)
    return samples


def kill_all(stuck: bool, runs: int = 3) -> list[float]:
    cg = Cgroups(root=f"nnfv-bench-{uuid4().hex[:8]}")
    real = Cgroups._set_frozen

    def never_freezes(self: Cgroups, name: str, frozen: bool, timeout: float = 5.0) -> None:
        if frozen:
            time.sleep(timeout)
            raise CgroupError(f"cgroup {name} was not frozen within {timeout:g}s")
        real(self, name, frozen, timeout)

    if stuck:
        Cgroups._set_frozen = never_freezes  # type: ignore[method-assign]
    samples = []
    try:
        for i in range(runs):
            name = f"k{i}"
            cg.create(name, Limits())
            proc = subprocess.Popen(
                ["sh", "-c", "trap '' TERM; echo ready; sleep 60"],
                preexec_fn=cg.preexec(name),
                stdout=subprocess.PIPE,
            )
            proc.stdout.readline()
            t0 = time.perf_counter()
            cg.kill_all(name, grace=0.5)
            samples.append(time.perf_counter() - t0)
            proc.wait(5)
            proc.stdout.close()
            cg.delete(name)
    finally:
        Cgroups._set_frozen = real  # type: ignore[method-assign]
        cg.remove_empty_root()
    return samples


def main() -> int:
    for arg in ("--help", "--version"):
        ms = [x * 1000 for x in cli(arg)]
        print(f"nnfv-agent {arg:9}  p50 {statistics.median(ms):6.0f} ms  max {max(ms):6.0f} ms")
    print(f"FREEZE_TRY = {cgroups_module.FREEZE_TRY} s")
    for stuck in (False, True):
        s = kill_all(stuck)
        label = "stuck freezer" if stuck else "real freezer "
        print(f"kill_all(grace=0.5), {label}  max {max(s):.2f} s (n={len(s)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
