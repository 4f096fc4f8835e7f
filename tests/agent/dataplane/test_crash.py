"""kill -9 between every pair of steps of a 3-NF commit, then restart: the kernel matches
exactly the old or the new running, with no orphan and no duplicate process."""

from __future__ import annotations

import os
import re
import time

from nnfv_agent.netconf.client import NetconfError

from .conftest import NC, SG, template_xml
from .test_lifecycle import DAEMON, daemon_graph, extra_interfaces, nf_pids

KILL_AFTER = "NNFV_FAULT_KILL_AFTER_STEP"


def _reaped(pid: int, timeout: float = 15) -> bool:
    """True once the agent (our child) has died and been reaped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        time.sleep(0.02)
    return False


def remove_triple(cpe) -> None:
    cpe.commit(
        f'<graphs xmlns="{SG}"><graph xmlns:nc="{NC}" nc:operation="remove">'
        "<name>g3</name></graph></graphs>"
    )


def _graph_names(xml: str) -> set[str]:
    return set(re.findall(r"<graph><name>([^<]+)</name>", xml))


def test_kill_between_any_two_steps_of_a_commit_recovers_to_old_or_new_running(cpe, tmp_path):
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON))
    cpe.push(daemon_graph("base", ("a", "daemon", {})))
    extra_interfaces(cpe, "lan9", "wan9")
    old = cpe.snapshot()
    base_pids = nf_pids(cpe, "base")["a"]
    triple = (
        daemon_graph("g3", ("x", "daemon", {}), ("y", "daemon", {}), ("z", "daemon", {}))
        .replace("lan0", "lan9")
        .replace("wan0", "wan9")
    )
    cpe.push(triple)
    new = cpe.snapshot()
    assert len(new.namespaces) == len(old.namespaces) + 3
    remove_triple(cpe)

    outcomes = []

    def same(a, b) -> bool:
        """The same kernel objects, and as many NF processes (pids of a restart differ)."""
        fields = ("namespaces", "links", "tables", "chains", "cgroups")
        return all(getattr(a, f) == getattr(b, f) for f in fields) and len(a.processes) == len(
            b.processes
        )

    def crash_at(point: str) -> bool:
        """Commit the triple with the agent set to die at `point`; False if it did not die."""
        cpe.stop_agent()
        cpe.start_agent(env={KILL_AFTER: point})
        try:
            cpe.push(triple)
        except (NetconfError, EOFError, OSError):
            pass
        if not _reaped(cpe.pid, timeout=3):
            return False
        cpe.pid = 0
        cpe.start_agent()
        with cpe.client() as c:
            running = _graph_names(c.get_config("running"))
        now = cpe.snapshot()
        if running == {"base"}:
            outcomes.append("old")
            assert same(now, old), f"kill at {point}: kernel differs from old running"
        else:
            assert running == {"base", "g3"}, running
            outcomes.append("new")
            assert same(now, new), f"kill at {point}: kernel differs from new running"
            assert all(len(p) == 1 for p in nf_pids(cpe, "g3").values()), "duplicate processes"
        assert nf_pids(cpe, "base")["a"] == base_pids, "the deployed graph was disturbed"
        assert not os.path.exists(os.path.join(cpe.dir, "state", "commit-journal"))
        return True

    step = 0
    while crash_at(str(step)):
        remove_triple(cpe)
        assert same(cpe.snapshot(), old)
        step += 1
    # Past the last step the commit went through: put the old running back.
    remove_triple(cpe)
    assert step >= 10, f"only {step} kill points: the plan of 3 NFs has more steps"
    assert outcomes == ["old"] * step
    assert crash_at("persisted")
    assert outcomes[-1] == "new", "a commit whose running was durable goes forward"
    remove_triple(cpe)
    assert same(cpe.snapshot(), old)
