"""Cgroups without root: limits, names, detection and both backends on stand-in directories.

A stand-in tree is a temporary directory laid out like /sys/fs/cgroup (v1: one directory per
hierarchy with a cgroup.procs; v2: cgroup.controllers at the top). Writes land in plain files,
so what the backends would ask of the kernel can be read back. These run on any host, cgroup
v1 or v2, as any user; the kernel tests are in tests/kernel/drivers/compute/test_cgroups.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from nnfv_agent.drivers.compute.cgroups import (
    CgroupError,
    Cgroups,
    Limits,
    cpu_shares,
    detect,
    kernel_at_least,
)
from nnfv_agent.drivers.compute.cgroups import manager as manager_module
from nnfv_agent.drivers.compute.cgroups.v1 import V1
from nnfv_agent.drivers.compute.cgroups.v2 import V2

MiB = 1024 * 1024
V1_HIERARCHIES = ("memory", "cpu", "cpuacct", "freezer", "pids")
V1_FILES = ("cgroup.procs", "memory.limit_in_bytes", "cpu.shares", "pids.max", "freezer.state")


def v1_tree(mount: Path, hierarchies: tuple[str, ...] = V1_HIERARCHIES) -> Path:
    for name in hierarchies:
        (mount / name).mkdir(parents=True)
        (mount / name / "cgroup.procs").write_text("")
    return mount


def v1_instance(mount: Path, root: str, name: str) -> list[Path]:
    """The directories `create` makes, with the files the kernel would put in them."""
    dirs = []
    for hierarchy in V1_HIERARCHIES:
        directory = mount / hierarchy / root / name
        directory.mkdir(parents=True)
        for filename in V1_FILES:
            (directory / filename).write_text("")
        dirs.append(directory)
    return dirs


def v1_tree_if_missing(mount: Path) -> Path:
    """Complete the hierarchies around instance directories made first."""
    for name in V1_HIERARCHIES:
        (mount / name / "cgroup.procs").touch()
    return mount


def v2_tree(mount: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    mount.mkdir(parents=True, exist_ok=True)
    (mount / "cgroup.controllers").write_text(controllers + "\n")
    (mount / "cgroup.subtree_control").write_text("")
    return mount


# --------------------------------------------------------------------------------------------
# limits and names


def test_cpu_weight_maps_to_v1_shares_with_default_1024() -> None:
    assert cpu_shares(100) == 1024
    assert cpu_shares(1) == 10
    assert cpu_shares(10000) == 102400


@pytest.mark.parametrize(
    "limits",
    [
        Limits(memory_limit=0),
        Limits(cpu_weight=0),
        Limits(cpu_weight=10001),
        Limits(pids_limit=0),
    ],
    ids=["memory_zero", "weight_zero", "weight_too_big", "pids_zero"],
)
def test_create_rejects_invalid_limits_before_touching_the_tree(
    tmp_path: Path, limits: Limits
) -> None:
    cg = Cgroups(root="nnfv", mount=v1_tree(tmp_path))
    with pytest.raises(CgroupError, match="must be"):
        cg.create("nf1", limits)
    assert not cg.exists("nf1")
    assert not (tmp_path / "memory" / "nnfv").exists()


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../../escape", "new\nline"])
def test_create_rejects_names_that_are_not_one_path_component(tmp_path: Path, name: str) -> None:
    cg = Cgroups(root="nnfv", mount=v1_tree(tmp_path))
    with pytest.raises(CgroupError, match="invalid cgroup name"):
        cg.create(name, Limits())


@pytest.mark.parametrize("root", ["nnfv/../../etc", "/", ""])
def test_constructor_rejects_a_root_that_is_not_plain_names(tmp_path: Path, root: str) -> None:
    with pytest.raises(CgroupError, match="invalid cgroup root"):
        Cgroups(root=root, mount=v1_tree(tmp_path))


def test_root_is_normalised_without_leading_or_doubled_slashes(tmp_path: Path) -> None:
    assert Cgroups(root="/nnfv//cpe1/", mount=v1_tree(tmp_path)).root == "nnfv/cpe1"


@pytest.mark.parametrize(
    ("release", "expected"),
    [("5.2.0", True), ("6.1.0-13-amd64", True), ("5.1.21", False), ("4.19.0", False)],
)
def test_kernel_at_least_compares_major_and_minor(release: str, expected: bool) -> None:
    assert kernel_at_least(5, 2, release) is expected


def test_kernel_release_that_is_not_numeric_counts_as_too_old() -> None:
    assert kernel_at_least(5, 2, "custom") is False


# --------------------------------------------------------------------------------------------
# detection


def test_a_tree_with_cgroup_controllers_is_v2(tmp_path: Path) -> None:
    backend = detect(v2_tree(tmp_path), "nnfv")
    assert isinstance(backend, V2)
    assert backend.version == 2


def test_a_tree_of_hierarchies_is_v1_with_the_controllers_found(tmp_path: Path) -> None:
    backend = detect(v1_tree(tmp_path, ("memory", "freezer", "cpuacct")), "nnfv")
    assert isinstance(backend, V1)
    assert backend.controllers == {"memory", "freezer"}  # cpuacct is tracked, never limited


def test_a_mount_without_any_hierarchy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CgroupError, match="no cgroup hierarchy found"):
        Cgroups(root="nnfv", mount=tmp_path)


def test_v2_freezer_depends_on_the_kernel_not_on_the_controller_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "uname", lambda: os.uname_result(("Linux", "h", "5.1.0", "", "")))
    assert Cgroups(root="nnfv", mount=v2_tree(tmp_path)).controllers == {"cpu", "memory", "pids"}
    monkeypatch.setattr(os, "uname", lambda: os.uname_result(("Linux", "h", "5.10.0", "", "")))
    assert "freezer" in Cgroups(root="nnfv", mount=tmp_path).controllers


# --------------------------------------------------------------------------------------------
# v1 backend


def test_v1_create_writes_each_limit_in_its_own_hierarchy(tmp_path: Path) -> None:
    v1_instance(tmp_path, "nnfv/cpe1", "nf1")  # the files the kernel would create
    cg = Cgroups(root="nnfv/cpe1", mount=v1_tree_if_missing(tmp_path))

    cg.create("nf1", Limits(memory_limit=64 * MiB, cpu_weight=50, pids_limit=5))

    assert all((tmp_path / h / "nnfv" / "cpe1" / "nf1").is_dir() for h in V1_HIERARCHIES)
    leaf = "nnfv/cpe1/nf1"
    assert (tmp_path / "memory" / leaf / "memory.limit_in_bytes").read_text() == str(64 * MiB)
    assert (tmp_path / "cpu" / leaf / "cpu.shares").read_text() == "512"
    assert (tmp_path / "pids" / leaf / "pids.max").read_text() == "5"


def test_v1_unset_limits_are_written_as_no_limit(tmp_path: Path) -> None:
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))
    cg.create("nf1", Limits())
    leaf = "nnfv/nf1"
    assert (tmp_path / "memory" / leaf / "memory.limit_in_bytes").read_text() == "-1"
    assert (tmp_path / "cpu" / leaf / "cpu.shares").read_text() == "1024"
    assert (tmp_path / "pids" / leaf / "pids.max").read_text() == "max"


def test_v1_refuses_a_limit_whose_controller_is_not_mounted(tmp_path: Path) -> None:
    cg = Cgroups(root="nnfv", mount=v1_tree(tmp_path, ("freezer", "cpu")))
    with pytest.raises(CgroupError, match="pids controller is not available \\(cgroup v1\\)"):
        cg.create("nf1", Limits(pids_limit=3))
    assert not cg.exists("nf1")


def test_v1_comounted_hierarchies_get_one_directory(tmp_path: Path) -> None:
    v1_tree(tmp_path, ("memory", "freezer", "cpu,cpuacct"))
    (tmp_path / "cpu").symlink_to("cpu,cpuacct")
    (tmp_path / "cpuacct").symlink_to("cpu,cpuacct")
    cg = Cgroups(root="nnfv", mount=tmp_path)

    assert len(cg.backend.dirs("nf1")) == 3
    assert cg.controllers == {"memory", "freezer", "cpu"}


def test_v1_processes_skip_the_cpu_hierarchies_at_the_default_weight(tmp_path: Path) -> None:
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))

    default = {f.parent.parent.parent.name for f in cg.join_files("nf1", None)}
    weighted = {f.parent.parent.parent.name for f in cg.join_files("nf1", 300)}

    assert default == {"memory", "freezer", "pids"}
    assert weighted == set(V1_HIERARCHIES)
    assert cg.join_files("nf1", 100) == cg.join_files("nf1", None)


def test_v1_processes_join_through_tasks_not_cgroup_procs(tmp_path: Path) -> None:
    # A cgroup.procs write waits for an RCU grace period on the kernel's global threadgroup
    # lock; a thread moving itself through `tasks` takes no global lock.
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))
    assert {f.name for f in cg.join_files("nf1", 300)} == {"tasks"}
    assert {f.name for f in cg.procs_files("nf1")} == {"cgroup.procs"}


def test_v1_freeze_and_thaw_write_the_freezer_state(tmp_path: Path) -> None:
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))
    state = tmp_path / "freezer" / "nnfv" / "nf1" / "freezer.state"

    cg.freeze("nf1")  # the stand-in file reads back FROZEN at once
    assert state.read_text() == "FROZEN"
    assert cg.is_frozen("nf1")

    cg.thaw("nf1")
    assert state.read_text() == "THAWED"
    assert not cg.is_frozen("nf1")


def test_v1_list_finds_leftovers_in_any_hierarchy(tmp_path: Path) -> None:
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))
    (tmp_path / "pids" / "nnfv" / "orphan").mkdir()
    assert cg.list() == ["nf1", "orphan"]


def test_pids_come_from_the_freezer_hierarchy(tmp_path: Path) -> None:
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))
    (tmp_path / "freezer" / "nnfv" / "nf1" / "cgroup.procs").write_text("30\n7\n")
    (tmp_path / "memory" / "nnfv" / "nf1" / "cgroup.procs").write_text("99\n")

    assert cg.pids("nf1") == [7, 30]
    assert cg.pids("never-created") == []


def test_memory_usage_reads_the_v1_counter(tmp_path: Path) -> None:
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))
    (tmp_path / "memory" / "nnfv" / "nf1" / "memory.usage_in_bytes").write_text("4096\n")

    assert cg.memory_usage("nf1") == 4096
    assert cg.memory_usage("never-created") is None


def test_procs_files_of_a_missing_cgroup_name_what_is_missing(tmp_path: Path) -> None:
    cg = Cgroups(root="nnfv", mount=v1_tree(tmp_path))
    with pytest.raises(CgroupError, match=r"cgroup ghost does not exist: missing .*/nnfv/ghost"):
        cg.preexec("ghost")


# --------------------------------------------------------------------------------------------
# v2 backend


def test_v2_create_delegates_controllers_down_to_the_instance(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    leaf = tmp_path / "nnfv" / "cpe1" / "nf1"
    leaf.mkdir(parents=True)
    control = ["cgroup.subtree_control", "memory.max", "cpu.weight", "pids.max"]
    for directory in (tmp_path, leaf.parent.parent, leaf.parent, leaf):
        for filename in control:
            (directory / filename).write_text("")
    cg = Cgroups(root="nnfv/cpe1", mount=tmp_path)

    cg.create("nf1", Limits(memory_limit=64 * MiB, cpu_weight=300, pids_limit=7))

    assert cg.version == 2
    assert {"cpu", "memory", "pids"} <= cg.controllers
    for directory in (tmp_path, tmp_path / "nnfv", tmp_path / "nnfv" / "cpe1"):
        assert (directory / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert (leaf / "memory.max").read_text() == str(64 * MiB)
    assert (leaf / "cpu.weight").read_text() == "300"
    assert (leaf / "pids.max").read_text() == "7"

    cg.create("nf1", Limits())
    assert [(leaf / f).read_text() for f in control[1:]] == ["max", "100", "max"]


def test_v2_without_controllers_delegates_nothing_and_refuses_limits(tmp_path: Path) -> None:
    cg = Cgroups(root="nnfv", mount=v2_tree(tmp_path, controllers=""))
    with pytest.raises(CgroupError, match="memory controller is not available \\(cgroup v2\\)"):
        cg.create("nf1", Limits(memory_limit=MiB))
    assert (tmp_path / "cgroup.subtree_control").read_text() == ""
    assert not cg.exists("nf1")


def test_v2_frozen_state_comes_from_cgroup_events(tmp_path: Path) -> None:
    cg = Cgroups(root="nnfv", mount=v2_tree(tmp_path))
    if "freezer" not in cg.controllers:
        cg.controllers.add("freezer")  # a kernel before 5.2: the state is still readable
    leaf = tmp_path / "nnfv" / "nf1"
    leaf.mkdir(parents=True)
    (leaf / "cgroup.freeze").write_text("")
    (leaf / "cgroup.events").write_text("populated 1\nfrozen 1\n")

    cg.freeze("nf1")

    assert (leaf / "cgroup.freeze").read_text() == "1"
    assert cg.is_frozen("nf1")
    (leaf / "cgroup.events").write_text("populated 1\nfrozen 0\n")
    assert not cg.is_frozen("nf1")


def test_v2_uses_cgroup_kill_only_where_the_kernel_has_it(tmp_path: Path) -> None:
    backend = detect(v2_tree(tmp_path), "nnfv")
    leaf = tmp_path / "nnfv" / "nf1"
    leaf.mkdir(parents=True)
    assert backend.kill_file("nf1") is None
    (leaf / "cgroup.kill").write_text("")
    assert backend.kill_file("nf1") == leaf / "cgroup.kill"


def test_v2_processes_join_the_one_tree_whatever_the_weight(tmp_path: Path) -> None:
    cg = Cgroups(root="nnfv", mount=v2_tree(tmp_path))
    (tmp_path / "nnfv" / "nf1").mkdir(parents=True)
    assert cg.join_files("nf1", None) == [tmp_path / "nnfv" / "nf1" / "cgroup.procs"]


# --------------------------------------------------------------------------------------------
# killing


def test_kill_all_of_missing_cgroup_signals_nothing_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cg = Cgroups(root="nnfv", mount=v1_tree(tmp_path))
    signalled: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: signalled.append((pid, sig)))

    cg.kill_all("never-created")

    assert signalled == []
    assert not cg.exists("never-created")
    assert cg.list() == []


def test_kill_all_refuses_to_signal_a_cgroup_holding_the_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))
    (tmp_path / "pids" / "nnfv" / "nf1" / "cgroup.procs").write_text(f"{os.getpid()}\n")
    signalled: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: signalled.append((pid, sig)))

    with pytest.raises(CgroupError, match="it contains the agent itself"):
        cg.kill_all("nf1")
    assert signalled == []


class VirtualClock:
    """Counts the time waited by what is asked to sleep; sleeps for nothing."""

    def __init__(self) -> None:
        self.waited = 0.0

    def monotonic(self) -> float:
        return self.waited

    def sleep(self, seconds: float) -> None:
        self.waited += seconds


def test_kill_all_bounds_its_wait_by_grace_when_the_freezer_never_freezes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue 10 bound, on a stand-in tree: the freezer stays FREEZING, the member ignores
    SIGTERM and dies at SIGKILL; kill_all tries the freezer once and waits grace plus a margin."""
    v1_instance(tmp_path, "nnfv", "nf1")
    cg = Cgroups(root="nnfv", mount=v1_tree_if_missing(tmp_path))
    procs = tmp_path / "freezer" / "nnfv" / "nf1" / "cgroup.procs"
    procs.write_text("4242\n")
    freezer = tmp_path / "freezer" / "nnfv" / "nf1" / "freezer.state"
    signals: list[int] = []
    freeze_requests: list[str] = []

    def kill(pid: int, sig: int) -> None:
        signals.append(sig)
        if sig == signal.SIGKILL:
            procs.write_text("")

    real_write = manager_module.write

    def write(path: Path, value: str) -> None:
        if path == freezer:
            freeze_requests.append(value)
            value = "FREEZING" if value == "FROZEN" else value
        real_write(path, value)

    clock = VirtualClock()
    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(manager_module, "write", write)
    monkeypatch.setattr(manager_module, "time", clock)

    cg.kill_all("nf1", grace=0.5)

    assert signals == [signal.SIGTERM, signal.SIGKILL]
    assert freeze_requests.count("FROZEN") == 1
    assert freezer.read_text() == "THAWED"
    assert clock.waited <= 0.5 + manager_module.FREEZE_TRY + 0.5
