"""Lifecycle scripts against the real kernel: they run inside the instance's cgroup, forks too.

The start wrapper moves itself in before it execs the script (on cgroup v1 through each
hierarchy's `tasks` file, which avoids the global lock a `cgroup.procs` write takes); these
tests read /proc/<pid>/cgroup of the script and of a child it forks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nnfv_agent.drivers.compute.cgroups import Cgroups, Limits
from nnfv_agent.drivers.compute.instance import NFInstance
from nnfv_agent.drivers.compute.scripts import run_script
from nnfv_agent.model.template import Template
from support.kernel import fresh_netns

MOUNT = Path("/sys/fs/cgroup")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="cgroups and namespaces need root")

# Prints the cgroups of the script, then of a child it forks, with a separator between.
SCRIPT = """#!/bin/sh
cat /proc/self/cgroup
echo --
sh -c 'cat /proc/self/cgroup'
"""


@pytest.fixture
def netns() -> Iterator[str]:
    with fresh_netns("tsc") as name:
        yield name


def template(cpu_weight: int | None) -> Template:
    return Template(
        name="probe",
        functional_type="probe",
        uri="file:///none",
        sha256="0" * 64,
        vnf_type="native",
        sharable=False,
        ports=(),
        scripts=(("start", "start"),),
        dependencies=(),
        cpu_weight=cpu_weight,
    )


def run_in(cgroups: Cgroups, netns: str, tmp_path: Path, cpu_weight: int | None = None):
    """Run SCRIPT as the start script of instance nf1; (script's, child's) controller -> path."""
    cgroups.create("nf1", Limits(cpu_weight=cpu_weight))
    script = tmp_path / "start"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    inst = NFInstance(netns, "g", "nf1", template(cpu_weight), (), ())
    run_script(
        inst=inst,
        event="start",
        script=script,
        template_dir=tmp_path,
        workdir=tmp_path,
        cgroup_joins=cgroups.join_files("nf1", cpu_weight),
    )
    log = (tmp_path / "nf.log").read_text().split("\n", 1)[1]  # after the header line
    own, child = log.split("--\n")
    return parse(own), parse(child)


def parse(text: str) -> dict[str, str]:
    paths = {}
    for line in text.strip().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):  # "" for the v2 line
            paths[controller] = path
    return paths


@pytest.mark.skipif(
    not (MOUNT / "freezer" / "tasks").exists(), reason="needs cgroup v1 hierarchies"
)
def test_v1_script_and_its_child_run_in_the_instance_cgroup_of_every_joined_hierarchy(
    cg: Cgroups, root: str, netns: str, tmp_path: Path
) -> None:
    before = Path("/proc/self/cgroup").read_text()

    own, child = run_in(cg, netns, tmp_path)

    joined = {f.relative_to(MOUNT).parts[0] for f in cg.join_files("nf1", None)}
    assert {"memory", "freezer", "pids"} <= joined
    for controller in joined:
        assert own[controller] == child[controller] == f"/{root}/nf1", controller
    assert Path("/proc/self/cgroup").read_text() == before  # the agent itself did not move


@pytest.mark.skipif(not (MOUNT / "cpu" / "tasks").exists(), reason="needs the v1 cpu hierarchy")
def test_v1_script_of_a_weighted_instance_also_joins_the_cpu_hierarchy(
    cg: Cgroups, root: str, netns: str, tmp_path: Path
) -> None:
    own, child = run_in(cg, netns, tmp_path, cpu_weight=300)
    assert own["cpu"] == child["cpu"] == f"/{root}/nf1"


def test_v2_script_and_its_child_run_in_the_instance_cgroup(
    cg2: Cgroups, root: str, netns: str, tmp_path: Path
) -> None:
    own, child = run_in(cg2, netns, tmp_path)
    assert own[""] == child[""] == f"/{root}/nf1"
