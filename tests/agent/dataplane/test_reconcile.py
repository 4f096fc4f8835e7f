"""Start-up reconciliation under faults: damaged state, unresolvable NFs, a second agent.

Each test injects the fault into a real agent on a simulated CPE, restarts it, and checks what
the kernel and `get` say afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from support.kernel import snapshot

from .conftest import Cpe, simulated_cpe, template_xml, tool_dir
from .test_lifecycle import DAEMON, daemon_graph, extra_interfaces, namespace_of, nf_pids

TOOL = "nnfv-test-reconcile-tool"


@pytest.fixture
def tool_cpe(tmp_path):
    """A CPE whose agent also looks for executables in a directory the test controls."""
    bin_dir, path = tool_dir(tmp_path)
    with simulated_cpe(tmp_path, executable_path=path) as sim:
        sim.bin_dir = bin_dir
        yield sim


def state_dir(cpe) -> Path:
    return Path(cpe.dir) / "state"


def nf_status(cpe, graph: str, nf: str) -> str:
    state = cpe.get_state()
    block = re.search(rf"<graph><name>{graph}</name>.*?</graph>", state, re.S).group(0)
    return re.search(rf"<nf><id>{nf}</id>.*?</nf>", block, re.S).group(0)


def graph_state(cpe, graph: str) -> str:
    state = cpe.get_state()
    block = re.search(rf"<graph><name>{graph}</name>.*?</graph>", state, re.S).group(0)
    return re.search(r"<status><state>([^<]+)</state>", block.split("</nf>")[-1]).group(1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running(pid: int) -> bool:
    """Alive and not a zombie (the container's init may be slow to reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_unresolvable_nf_at_boot_is_failed_and_every_other_graph_keeps_running(tool_cpe, tmp_path):
    cpe = tool_cpe
    tool = cpe.bin_dir / TOOL
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    tooled = template_xml(tmp_path, "tooled", DAEMON).replace(
        "</sharable>",
        f"</sharable><dependency><kind>executable</kind><name>{TOOL}</name></dependency>",
    )
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON) + tooled)
    cpe.push(daemon_graph("good", ("a", "daemon", {})))
    extra_interfaces(cpe, "lan8", "wan8")
    cpe.push(
        daemon_graph("fragile", ("x", "tooled", {})).replace("lan0", "lan8").replace("wan0", "wan8")
    )
    good_pids = nf_pids(cpe, "good")["a"]
    fragile_ns = namespace_of(cpe, "x")
    before = cpe.snapshot()

    # The fault: the NF's state file is lost and its dependency is gone.
    cpe.stop_agent()
    (state_dir(cpe) / "nf" / f"{fragile_ns}.json").unlink()
    tool.unlink()
    cpe.start_agent()

    with cpe.client() as c:
        running = c.get_config("running")
    assert "<name>good</name>" in running and "<name>fragile</name>" in running
    after = cpe.snapshot()
    assert after.namespaces == before.namespaces, "NF namespaces were removed"
    assert after.tables == before.tables and after.chains == before.chains
    assert after.links == before.links
    assert nf_pids(cpe, "good")["a"] == good_pids, "an unrelated NF was restarted"
    assert graph_state(cpe, "good") == "deployed"
    status = nf_status(cpe, "fragile", "x")
    assert "<state>failed</state>" in status
    assert f"executable {TOOL}" in status
    assert graph_state(cpe, "fragile") == "failed"

    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    cpe.remove_all()
    cpe.assert_clean()


def test_damaged_running_file_without_earlier_generation_leaves_the_kernel_untouched(cpe, tmp_path):
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON))
    cpe.push(daemon_graph("g", ("a", "daemon", {})))
    pids = nf_pids(cpe, "g")["a"]
    before = cpe.snapshot()
    cpe.stop_agent()
    running = state_dir(cpe) / "running.xml"
    (state_dir(cpe) / "running.xml.prev").unlink()
    good = running.read_bytes()
    running.write_bytes(b"\0" * len(good))  # what a power cut leaves

    with pytest.raises(RuntimeError) as refused:
        cpe.start_agent()
    assert "running.xml is damaged" in str(refused.value)
    assert cpe.snapshot() == before, "a refused start changed the kernel"
    assert all(alive(p) for p in pids)

    running.write_bytes(good)
    cpe.start_agent()
    assert nf_pids(cpe, "g")["a"] == pids
    cpe.remove_all()
    cpe.assert_clean()


def test_garbage_nf_state_file_redeploys_that_nf_instead_of_crashing(cpe, tmp_path):
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON))
    cpe.push(daemon_graph("g", ("a", "daemon", {}), ("b", "daemon", {})))
    pids = nf_pids(cpe, "g")
    victim = state_dir(cpe) / "nf" / f"{namespace_of(cpe, 'a')}.json"
    cpe.stop_agent()
    victim.write_text('{"key": "half a json')
    cpe.start_agent()

    after = nf_pids(cpe, "g")
    assert after["b"] == pids["b"]
    assert after["a"] and after["a"] != pids["a"], "the NF was not redeployed"
    assert "<state>running</state>" in nf_status(cpe, "g", "a")
    assert victim.with_name(victim.name + ".damaged").exists()
    cpe.remove_all()
    cpe.assert_clean()


def test_paused_nf_rebuilt_at_start_is_paused_again(cpe, tmp_path):
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON))
    graph = daemon_graph("g", ("a", "daemon", {}))
    cpe.push(graph.replace("<id>a</id>", "<id>a</id><admin-state>paused</admin-state>"))
    ns = namespace_of(cpe, "a")
    old = nf_pids(cpe, "g")["a"]
    cpe.stop_agent()
    subprocess.run(["ip", "netns", "delete", ns], check=True)
    cpe.start_agent()

    assert Path(f"/run/netns/{ns}").exists(), "the NF was not rebuilt"
    new = nf_pids(cpe, "g")["a"]
    assert new and new != old and not any(running(pid) for pid in old)
    freezer = Path(f"/sys/fs/cgroup/freezer/nnfv/{cpe.id}/{ns}/freezer.state")
    assert freezer.read_text().strip() == "FROZEN"
    assert "<state>paused</state>" in nf_status(cpe, "g", "a")
    cpe.remove_all()
    cpe.assert_clean()


def test_probe_namespace_left_by_a_killed_agent_is_removed_at_start(cpe):
    stale = f"nnfv-probe-{cpe.id}-0badc0de"
    other = f"nnfv-probe-x{cpe.id}-0badc0de"
    for ns in (stale, other):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        cpe.stop_agent(signal.SIGKILL)
        cpe.start_agent()
        listed = os.listdir("/run/netns")
        assert stale not in listed
        assert other in listed, "a probe namespace of another node was removed"
    finally:
        for ns in (stale, other):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def test_agent_stop_leaves_no_empty_per_node_cgroup_directory(cpe, tmp_path):
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON))
    cpe.push(daemon_graph("g", ("a", "daemon", {})))
    cpe.remove_all()
    cpe.stop_agent()
    left = [p for p in Path("/sys/fs/cgroup").glob(f"*/nnfv/{cpe.id}")]
    assert left == []


class Guest(Cpe):
    """A second agent that manages the CPE namespace of another one."""

    host_ns = ""

    @property
    def cpe_ns(self) -> str:
        return self.host_ns

    @property
    def namespaces(self) -> list[str]:
        return []


def test_two_agents_in_one_namespace_leave_each_others_objects_alone(cpe, tmp_path):
    guest = Guest(f"g{uuid.uuid4().hex[:6]}", str(tmp_path / "guest"))
    guest.host_ns = cpe.cpe_ns
    try:
        guest.write_config(script_timeout="10")
        guest.start_agent()
        for agent, sub in ((cpe, "a"), (guest, "b")):
            agent.commit(template_xml(tmp_path / sub, "daemon", DAEMON))
            # The same graph name on both: only the node id tells their objects apart.
            agent.push(daemon_graph("shared-name", ("n", "daemon", {})))
        pids = {a.id: nf_pids(a, "shared-name")["n"] for a in (cpe, guest)}
        everything = snapshot(cpe.id, cpe.cpe_ns)
        assert len(everything.tables) == 2

        for agent in (cpe, guest):
            agent.stop_agent()
            agent.start_agent()
            now = snapshot(cpe.id, cpe.cpe_ns)
            assert now.links == everything.links, f"restart of {agent.id} removed links"
            assert now.tables == everything.tables, f"restart of {agent.id} removed tables"
            assert now.chains == everything.chains, f"restart of {agent.id} removed chains"
        for agent in (cpe, guest):
            assert nf_pids(agent, "shared-name")["n"] == pids[agent.id]
            assert graph_state(agent, "shared-name") == "deployed"

        guest.remove_all()
        cpe.remove_all()
        cpe.assert_clean()
    finally:
        guest.destroy()
