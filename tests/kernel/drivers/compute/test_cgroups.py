"""Cgroups against the real kernel: limits, process tracking, freezer, kill and removal.

The pure logic (limits, names, detection, v2 delegation) is tested on stand-in directories in
tests/unit/drivers/compute/test_cgroups.py, without root.

Every test works below its own root (nnfv-test-<random>) and the finalizer removes that root from
every hierarchy, killing whatever a failed test left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nnfv_agent.drivers.compute.cgroups import FREEZE_TRY, CgroupError, Cgroups, Limits
from nnfv_agent.drivers.compute.cgroups import manager as cgroups_module

MOUNT = Path("/sys/fs/cgroup")
UNIFIED = MOUNT / "unified"
V1_HIERARCHIES = ("memory", "cpu", "cpuacct", "freezer", "pids")
MiB = 1024 * 1024

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="cgroups need root"),
    pytest.mark.skipif(
        not (MOUNT / "freezer" / "cgroup.procs").exists(), reason="needs cgroup v1 hierarchies"
    ),
]


# --------------------------------------------------------------------------------------------
# fixtures (root, cg and cg2 are in conftest.py)


Spawn = Callable[..., subprocess.Popen]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a command inside a cgroup via preexec; everything started is reaped afterwards."""
    started: list[subprocess.Popen] = []

    def start(cgroups: Cgroups, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, preexec_fn=cgroups.preexec(name), text=True, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        if proc.stdout:
            proc.stdout.close()


def _instance_dirs(root: str, name: str) -> list[Path]:
    return [MOUNT / h / root / name for h in V1_HIERARCHIES]


def _cgroup_paths(pid: int) -> dict[str, str]:
    """controller -> path from /proc/<pid>/cgroup."""
    result = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            result[controller] = path
    return result


def _wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class VirtualClock:
    """Stands in for the `time` module of cgroups/manager.py: sleeps for real, and counts the time
    kill_all spends waiting by what it asks to sleep, which does not depend on machine load."""

    def __init__(self) -> None:
        self.waited = 0.0

    def monotonic(self) -> float:
        return self.waited

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
        self.waited += seconds


def _gone(pid: int) -> bool:
    """True once pid has exited (a zombie awaiting its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


# --------------------------------------------------------------------------------------------
# detection


def test_detects_cgroup_v1_with_all_controllers_on_this_machine(cg: Cgroups) -> None:
    assert cg.version == 1
    assert cg.controllers == {"memory", "cpu", "freezer", "pids"}


def test_unified_mount_is_detected_as_v2_with_only_the_core_freezer(cg2: Cgroups) -> None:
    # Hybrid mode: every controller is bound to a v1 hierarchy, the v2 tree has none.
    assert cg2.version == 2
    assert cg2.controllers == {"freezer"}


# --------------------------------------------------------------------------------------------
# create


def test_create_writes_limits_to_v1_files(cg: Cgroups, root: str) -> None:
    cg.create("nf1", Limits(memory_limit=64 * MiB, cpu_weight=50, pids_limit=5))

    assert all(d.is_dir() for d in _instance_dirs(root, "nf1"))
    assert (MOUNT / "memory" / root / "nf1" / "memory.limit_in_bytes").read_text() == "67108864\n"
    assert (MOUNT / "cpu" / root / "nf1" / "cpu.shares").read_text() == "512\n"
    assert (MOUNT / "pids" / root / "nf1" / "pids.max").read_text() == "5\n"
    assert cg.exists("nf1")


def test_create_is_idempotent_and_resets_unset_limits(cg: Cgroups, root: str) -> None:
    cg.create("nf1", Limits(memory_limit=64 * MiB, cpu_weight=50, pids_limit=5))
    cg.create("nf1", Limits(memory_limit=32 * MiB))

    memory = MOUNT / "memory" / root / "nf1" / "memory.limit_in_bytes"
    assert memory.read_text() == f"{32 * MiB}\n"
    assert (MOUNT / "cpu" / root / "nf1" / "cpu.shares").read_text() == "1024\n"
    assert (MOUNT / "pids" / root / "nf1" / "pids.max").read_text() == "max\n"

    cg.create("nf1", Limits())
    # v1 reports "unlimited" as the largest page-aligned value.
    assert int(memory.read_text()) > 2**62


def test_root_may_be_nested_so_agents_stay_apart(root: str) -> None:
    first = Cgroups(root=f"{root}/cpe1")
    second = Cgroups(root=f"{root}/cpe2")

    first.create("nf", Limits())
    second.create("other", Limits())

    assert (MOUNT / "freezer" / root / "cpe1" / "nf").is_dir()
    assert first.list() == ["nf"]
    assert second.list() == ["other"]


def test_create_refuses_limit_for_missing_controller(cg2: Cgroups) -> None:
    with pytest.raises(CgroupError, match="memory controller is not available"):
        cg2.create("nf1", Limits(memory_limit=64 * MiB))
    assert not cg2.exists("nf1")


def test_write_failure_names_file_and_cause(cg: Cgroups, root: str) -> None:
    cg.create("nf1", Limits())
    with pytest.raises(CgroupError, match=r"cannot write '999999' to .*/cgroup\.procs: No such"):
        cg.add_process("nf1", 999_999)  # beyond the default pid_max: never a live process


# --------------------------------------------------------------------------------------------
# processes


def test_process_started_with_preexec_is_in_every_hierarchy(
    cg: Cgroups, root: str, spawn: Spawn
) -> None:
    cg.create("nf1", Limits())

    proc = spawn(cg, "nf1", ["sleep", "60"])

    assert cg.pids("nf1") == [proc.pid]
    paths = _cgroup_paths(proc.pid)
    for hierarchy in V1_HIERARCHIES:
        assert paths[hierarchy] == f"/{root}/nf1", hierarchy


def test_child_forked_by_a_preexec_shell_is_tracked(cg: Cgroups, spawn: Spawn) -> None:
    cg.create("nf1", Limits())

    shell = spawn(cg, "nf1", ["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE)
    child = int(shell.stdout.readline())

    assert cg.pids("nf1") == sorted([shell.pid, child])


def test_add_process_moves_a_running_process(cg: Cgroups, spawn: Spawn) -> None:
    cg.create("a", Limits())
    cg.create("b", Limits())
    proc = spawn(cg, "a", ["sleep", "60"])

    cg.add_process("b", proc.pid)

    assert cg.pids("a") == []
    assert cg.pids("b") == [proc.pid]


def test_pids_of_missing_cgroup_is_empty(cg: Cgroups) -> None:
    assert cg.pids("never-created") == []


def test_preexec_for_missing_cgroup_fails_in_the_parent(cg: Cgroups) -> None:
    with pytest.raises(CgroupError, match="cgroup ghost does not exist"):
        cg.preexec("ghost")


def test_pids_limit_stops_forks_beyond_the_limit(cg: Cgroups, spawn: Spawn, root: str) -> None:
    cg.create("nf1", Limits(pids_limit=5))
    # Tries 20 forks and reports how many succeeded; stays alive to reap its children.
    forker = (
        "import os, sys, time\n"
        "kids = []\n"
        "for _ in range(20):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    kids.append(pid)\n"
        "print(len(kids), flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = spawn(cg, "nf1", [sys.executable, "-c", forker], stdout=subprocess.PIPE)

    started = int(proc.stdout.readline())

    assert started == 4  # the parent itself is the fifth
    assert len(cg.pids("nf1")) == 5
    events = (MOUNT / "pids" / root / "nf1" / "pids.events").read_text()
    assert int(events.split()[1]) >= 16
    cg.kill_all("nf1", grace=0.5)
    assert cg.pids("nf1") == []


def test_memory_usage_counts_what_the_instance_allocates(cg: Cgroups, spawn: Spawn) -> None:
    cg.create("nf1", Limits(memory_limit=256 * MiB))
    hog = "b = bytearray(32 * 1024 * 1024); print('ready', flush=True); import time; time.sleep(60)"

    proc = spawn(cg, "nf1", [sys.executable, "-c", hog], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "ready"

    usage = cg.memory_usage("nf1")
    assert usage is not None and usage >= 32 * MiB
    assert cg.memory_usage("never-created") is None


# --------------------------------------------------------------------------------------------
# freezer


def _counter(cg: Cgroups, spawn: Spawn, name: str, tmp_path: Path) -> Callable[[], int]:
    """Start a shell that keeps incrementing a number in a file; return a reader."""
    out = tmp_path / "count"
    script = f"i=0; while :; do i=$((i+1)); echo $i > {out}; sleep 0.02; done"
    spawn(cg, name, ["sh", "-c", script])

    def read() -> int:
        text = ""
        while not text.strip():
            text = out.read_text() if out.exists() else ""
        return int(text)

    assert _wait_until(lambda: out.exists() and read() > 2)
    return read


def test_freeze_stops_processes_and_thaw_resumes_them(
    cg: Cgroups, spawn: Spawn, root: str, tmp_path: Path
) -> None:
    cg.create("nf1", Limits())
    read = _counter(cg, spawn, "nf1", tmp_path)
    state = MOUNT / "freezer" / root / "nf1" / "freezer.state"

    cg.freeze("nf1")
    frozen_at = read()
    time.sleep(0.3)

    assert state.read_text() == "FROZEN\n"
    assert cg.is_frozen("nf1")
    assert read() == frozen_at

    cg.thaw("nf1")

    assert state.read_text() == "THAWED\n"
    assert not cg.is_frozen("nf1")
    assert _wait_until(lambda: read() > frozen_at + 2)


def test_freeze_and_thaw_work_on_v2(cg2: Cgroups, spawn: Spawn, root: str, tmp_path: Path) -> None:
    cg2.create("nf1", Limits())
    read = _counter(cg2, spawn, "nf1", tmp_path)

    cg2.freeze("nf1")
    frozen_at = read()
    time.sleep(0.3)

    assert (UNIFIED / root / "nf1" / "cgroup.freeze").read_text() == "1\n"
    assert cg2.is_frozen("nf1")
    assert read() == frozen_at

    cg2.thaw("nf1")
    assert not cg2.is_frozen("nf1")
    assert _wait_until(lambda: read() > frozen_at + 2)


def test_is_frozen_is_false_for_missing_cgroup(cg: Cgroups) -> None:
    assert not cg.is_frozen("never-created")


def test_freeze_of_missing_cgroup_names_the_file(cg: Cgroups) -> None:
    with pytest.raises(CgroupError, match=r"cannot write 'FROZEN' to .*/ghost/freezer\.state"):
        cg.freeze("ghost")


# --------------------------------------------------------------------------------------------
# kill and delete


def test_kill_all_ends_cooperative_processes_with_sigterm(cg: Cgroups, spawn: Spawn) -> None:
    cg.create("nf1", Limits())
    proc = spawn(cg, "nf1", ["sleep", "60"])

    clock = VirtualClock()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cgroups_module, "time", clock)
        cg.kill_all("nf1", grace=5.0)

    assert proc.wait(5) == -signal.SIGTERM
    assert cg.pids("nf1") == []
    # It did not wait for the grace period to end, only until the cgroup was empty.
    assert clock.waited < 5.0


def test_kill_all_escalates_to_sigkill_for_process_ignoring_sigterm(
    cg: Cgroups, spawn: Spawn
) -> None:
    cg.create("nf1", Limits())
    script = "trap '' TERM; echo ready; sleep 60"
    proc = spawn(cg, "nf1", ["sh", "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "ready"  # the trap is in place
    members = cg.pids("nf1")

    cg.kill_all("nf1", grace=0.5)

    assert proc.wait(5) == -signal.SIGKILL
    assert cg.pids("nf1") == []
    assert all(_gone(pid) for pid in members)
    assert not cg.is_frozen("nf1")


def test_kill_all_with_a_freezer_that_never_freezes_tries_it_once_and_still_kills(
    cg: Cgroups, spawn: Spawn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task stuck in uninterruptible sleep keeps v1 in FREEZING: simulated by a freezer that
    never reports FROZEN. kill_all gives up on it after one short try and signals without it;
    the time it spends waiting (its sleeps) stays within grace plus a small bounded margin."""
    cg.create("nf1", Limits())
    script = "trap '' TERM; echo ready; sleep 60"
    proc = spawn(cg, "nf1", ["sh", "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "ready"
    attempts: list[bool] = []
    real_set_frozen = Cgroups._set_frozen

    def stuck(self: Cgroups, name: str, frozen: bool, timeout: float = 5.0) -> None:
        attempts.append(frozen)
        if frozen:
            # The state file says FREEZING for as long as anyone waits.
            cgroups_module.time.sleep(timeout)
            raise CgroupError(f"cgroup {name} was not frozen within {timeout:g}s")
        real_set_frozen(self, name, frozen, timeout)

    clock = VirtualClock()
    monkeypatch.setattr(Cgroups, "_set_frozen", stuck)
    monkeypatch.setattr(cgroups_module, "time", clock)
    cg.kill_all("nf1", grace=0.5)

    assert proc.wait(5) == -signal.SIGKILL
    assert cg.pids("nf1") == []
    assert attempts.count(True) == 1, attempts
    # Grace, one freeze try and the SIGKILL round: never the 5 s per round of a freezer wait.
    assert clock.waited <= 0.5 + FREEZE_TRY + 0.5


def test_kill_all_of_frozen_cgroup_kills_and_leaves_it_thawed(cg: Cgroups, spawn: Spawn) -> None:
    cg.create("nf1", Limits())
    proc = spawn(cg, "nf1", ["sleep", "60"])
    cg.freeze("nf1")

    cg.kill_all("nf1", grace=1.0)

    assert proc.wait(5) == -signal.SIGTERM
    assert not cg.is_frozen("nf1")


def test_kill_all_on_v2_escalates_to_sigkill(cg2: Cgroups, spawn: Spawn) -> None:
    cg2.create("nf1", Limits())
    proc = spawn(
        cg2, "nf1", ["sh", "-c", "trap '' TERM; echo ready; sleep 60"], stdout=subprocess.PIPE
    )
    assert proc.stdout.readline().strip() == "ready"

    cg2.kill_all("nf1", grace=0.3)

    assert proc.wait(5) == -signal.SIGKILL
    assert cg2.pids("nf1") == []


def test_delete_kills_processes_and_removes_every_hierarchy_directory(
    cg: Cgroups, spawn: Spawn, root: str
) -> None:
    cg.create("nf1", Limits(memory_limit=64 * MiB, cpu_weight=200, pids_limit=50))
    shell = spawn(cg, "nf1", ["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE)
    child = int(shell.stdout.readline())

    cg.delete("nf1")

    assert [d for d in _instance_dirs(root, "nf1") if d.exists()] == []
    assert all((MOUNT / h / root).is_dir() for h in V1_HIERARCHIES), "root must stay"
    assert shell.wait(5) == -signal.SIGTERM
    assert _wait_until(lambda: _gone(child))
    assert not cg.exists("nf1")
    cg.delete("nf1")  # idempotent


def test_delete_on_v2_removes_the_directory(cg2: Cgroups, spawn: Spawn, root: str) -> None:
    cg2.create("nf1", Limits())
    proc = spawn(cg2, "nf1", ["sleep", "60"])

    cg2.delete("nf1")

    assert not (UNIFIED / root / "nf1").exists()
    assert (UNIFIED / root).is_dir()
    assert proc.wait(5) == -signal.SIGTERM


def test_list_finds_instances_and_half_created_orphans(cg: Cgroups, root: str) -> None:
    assert cg.list() == []
    cg.create("nf1", Limits())
    cg.create("nf2", Limits())
    # What a crash between two mkdirs leaves behind: the instance in one hierarchy only.
    (MOUNT / "pids" / root / "orphan").mkdir()

    assert cg.list() == ["nf1", "nf2", "orphan"]

    cg.delete("orphan")
    assert cg.list() == ["nf1", "nf2"]


def test_delete_empties_orphan_that_only_one_hierarchy_tracks(
    cg: Cgroups, spawn: Spawn, root: str
) -> None:
    cg.create("nf1", Limits())
    proc = spawn(cg, "nf1", ["sleep", "60"])
    orphan = MOUNT / "memory" / root / "orphan"
    orphan.mkdir()
    (orphan / "cgroup.procs").write_text(str(proc.pid))

    cg.delete("orphan")

    assert not orphan.exists()
    assert proc.wait(5) == -signal.SIGTERM


def test_remove_empty_root_removes_only_empty_root_directories(root: str, spawn: Spawn) -> None:
    idle = Cgroups(root=f"{root}/idle")
    busy = Cgroups(root=f"{root}/busy")
    idle.create("nf1", Limits())
    idle.delete("nf1")
    busy.create("nf1", Limits())
    spawn(busy, "nf1", ["sleep", "60"])

    removed = idle.remove_empty_root()
    assert removed and all(not d.exists() for d in removed)
    assert not [p for p in MOUNT.glob(f"*/{root}/idle")]
    assert busy.remove_empty_root() == []
    assert busy.pids("nf1") != []
    assert (MOUNT / "freezer" / root).is_dir()  # the shared parent stays
