"""NF lifecycle through commits: rollback, minimal updates, pause, sharable NNFs, templates."""

from __future__ import annotations

import re
import tarfile
import time
from pathlib import Path

import pytest

from graphs import endpoint, graphs_config, nf_xml, rule
from nnfv_agent.netconf.client import NetconfError

from .conftest import NC, template_xml

# A daemon NF: one long-lived process, so that restarts are visible as new pids.
DAEMON = {
    "start": 'sleep 3600 & echo $! > "$NNFV_WORKDIR/pid"\n'
    'echo "started with $NNFV_PARAMS: ${NNFV_PARAM_COLOUR:-none}"',
    "stop": 'kill "$(cat "$NNFV_WORKDIR/pid")" 2>/dev/null || true',
}
DAEMON_WITH_UPDATE = {**DAEMON, "update": 'echo "update colour=${NNFV_PARAM_COLOUR:-none}"'}


def daemon_graph(name: str, *nfs: tuple[str, str, dict]) -> str:
    body = "".join(nf_xml(i, t, p) for i, t, p in nfs)
    hops = ["endpoint:lan"] + [x for i, _, _ in nfs for x in (f"nf:{i}:in", f"nf:{i}:out")]
    hops.append("endpoint:wan")
    rules = "".join(rule(f"r{k}", 10, hops[k], [hops[k + 1]]) for k in range(0, len(hops), 2))
    return (
        f"<graph><name>{name}</name>{body}{endpoint('lan', 'lan0')}"
        f"{endpoint('wan', 'wan0')}{rules}</graph>"
    )


def nf_pids(cpe, graph: str) -> dict[str, list[int]]:
    state = cpe.get_state()
    out = {}
    for nf in re.findall(r"<nf>(.*?)</nf>", state, re.S):
        if f"<name>{graph}</name>" not in state:
            continue
        nf_id = re.search(r"<id>([^<]+)</id>", nf).group(1)
        out[nf_id] = [int(p) for p in re.findall(r"<pid>(\d+)</pid>", nf)]
    return out


def extra_interfaces(cpe, *names: str) -> None:
    """More CPE interfaces (veth with a dangling peer), counted as the test's own."""
    from simfleet import sh

    for name in names:
        sh("ip", "link", "add", name, "type", "veth", "peer", "name", f"p{name}", ns=cpe.cpe_ns)
        sh("ip", "link", "set", name, "up", ns=cpe.cpe_ns)
    cpe.baseline = cpe.snapshot()


def data_of(reply: str) -> str:
    return reply[reply.index("<data") :]


def nf_log(cpe, netns: str) -> str:
    path = Path(cpe.dir) / "state" / "nf" / netns / "nf.log"
    return path.read_text() if path.exists() else ""


def namespace_of(cpe, nf: str) -> str:
    state = cpe.get_state()
    block = re.search(rf"<nf><id>{nf}</id>.*?</nf>", state, re.S).group(0)
    return re.search(r"<namespace>([^<]+)</namespace>", block).group(1)


@pytest.fixture
def daemon_templates(cpe, tmp_path):
    cpe.commit(
        template_xml(tmp_path, "daemon", DAEMON)
        + template_xml(tmp_path, "daemon-upd", DAEMON_WITH_UPDATE, params=("colour",)).replace(
            "<templates", "<templates", 1
        )
    )
    return cpe


def test_adding_an_nf_to_a_live_graph_keeps_the_other_nfs_pids(daemon_templates):
    cpe = daemon_templates
    cpe.push(daemon_graph("g", ("a", "daemon", {})))
    before = nf_pids(cpe, "g")
    assert len(before["a"]) == 1
    cpe.push(daemon_graph("g", ("a", "daemon", {}), ("b", "daemon", {})))
    after = nf_pids(cpe, "g")
    assert after["a"] == before["a"], "an unrelated NF was restarted"
    assert len(after["b"]) == 1
    cpe.remove_all()
    cpe.assert_clean()


def test_parameter_change_calls_update_script_without_restart(daemon_templates):
    cpe = daemon_templates
    cpe.push(daemon_graph("g", ("a", "daemon-upd", {"colour": "red"})))
    pids = nf_pids(cpe, "g")["a"]
    cpe.push(daemon_graph("g", ("a", "daemon-upd", {"colour": "blue"})))
    assert nf_pids(cpe, "g")["a"] == pids
    assert "update colour=blue" in nf_log(cpe, namespace_of(cpe, "a"))
    cpe.remove_all()
    cpe.assert_clean()


def test_parameter_change_without_update_script_restarts_only_that_nf(cpe, tmp_path):
    cpe.commit(
        template_xml(tmp_path, "daemon", DAEMON, params=("colour",))
        + template_xml(tmp_path, "other", DAEMON)
    )
    cpe.push(daemon_graph("g", ("a", "daemon", {"colour": "red"}), ("b", "other", {})))
    before = nf_pids(cpe, "g")
    cpe.push(daemon_graph("g", ("a", "daemon", {"colour": "green"}), ("b", "other", {})))
    after = nf_pids(cpe, "g")
    assert after["a"] != before["a"] and len(after["a"]) == 1
    assert after["b"] == before["b"]
    assert "started with colour: green" in nf_log(cpe, namespace_of(cpe, "a"))
    cpe.remove_all()
    cpe.assert_clean()


def test_failing_start_script_rolls_back_with_zero_leftovers(daemon_templates, tmp_path):
    cpe = daemon_templates
    extra_interfaces(cpe, "lan9", "wan9")
    cpe.push(daemon_graph("good", ("a", "daemon", {})))
    deployed = cpe.snapshot()
    cpe.commit(
        template_xml(
            tmp_path,
            "broken",
            {"start": 'sleep 3600 &\necho "no licence for this box" >&2\nexit 3', "stop": "true"},
        )
    )
    with cpe.client() as c:
        running_before = data_of(c.get_config("running"))
        c.edit_config(
            graphs_config(
                daemon_graph("bad", ("x", "daemon", {}), ("y", "broken", {}))
                .replace("lan0", "lan9")
                .replace("wan0", "wan9")
            )
        )
        with pytest.raises(NetconfError) as err:
            c.commit()
        assert data_of(c.get_config("running")) == running_before
    assert err.value.tag == "operation-failed"
    assert "NF y" in err.value.message and "exited with 3" in err.value.message
    assert "no licence for this box" in err.value.message
    leaks = cpe.snapshot().leaks_since(deployed)
    assert not leaks, f"the failed commit left {leaks}"
    cpe.remove_all()
    cpe.assert_clean()


def test_nf_paused_by_admin_state_is_frozen_and_resumes(daemon_templates):
    cpe = daemon_templates
    graph = daemon_graph("g", ("a", "daemon", {}))
    cpe.push(graph)
    ns = namespace_of(cpe, "a")
    freezer = Path(f"/sys/fs/cgroup/freezer/nnfv/{cpe.id}/{ns}/freezer.state")
    paused = graph.replace("<id>a</id>", "<id>a</id><admin-state>paused</admin-state>")
    cpe.push(paused)
    assert freezer.read_text().strip() == "FROZEN"
    assert "<state>paused</state>" in cpe.get_state()
    cpe.push(graph.replace("<id>a</id>", "<id>a</id><admin-state>running</admin-state>"))
    assert freezer.read_text().strip() == "THAWED"
    cpe.remove_all()  # stopping must also work on a paused NF
    cpe.assert_clean()


SHARED = {
    # One bridge per graph, named after the 4-hex suffix of that graph's interfaces.
    "start": 'for i in $NNFV_IFACES; do s=${i##*-}; b="b$s"\n'
    '  ip link show "$b" >/dev/null 2>&1 || ip link add "$b" type bridge\n'
    '  ip link set "$i" master "$b" up; ip link set "$b" up; done',
    "update": 'echo "update joined=${NNFV_JOINED_GRAPH:-} left=${NNFV_LEFT_GRAPH:-} '
    'graphs=$NNFV_GRAPHS"\n'
    'for i in $NNFV_IFACES; do s=${i##*-}; b="b$s"\n'
    '  ip link show "$b" >/dev/null 2>&1 || ip link add "$b" type bridge\n'
    '  ip link set "$i" master "$b" up; ip link set "$b" up; done',
    "stop": "true",
}


def test_sharable_nnf_serves_two_graphs_from_one_namespace(cpe, tmp_path):
    from simfleet import sh

    cpe.commit(template_xml(tmp_path, "hub", SHARED, sharable=True))
    for side in ("lan1", "wan1"):  # a second pair of CPE interfaces for the second graph
        sh("ip", "link", "add", side, "type", "veth", "peer", "name", f"p{side}", ns=cpe.cpe_ns)
        sh("ip", "link", "set", side, "up", ns=cpe.cpe_ns)
    cpe.baseline = cpe.snapshot()  # the extra interfaces are the test's, not leaks
    g1 = daemon_graph("one", ("h", "hub", {}))
    g2 = daemon_graph("two", ("h", "hub", {})).replace("lan0", "lan1").replace("wan0", "wan1")
    cpe.push(g1, g2)
    ns = {namespace_of(cpe, "h")}
    assert len(ns) == 1 and next(iter(ns)).startswith(f"nnfv-{cpe.id}-s")
    links = sh("ip", "-n", next(iter(ns)), "-br", "link", ns=None).stdout
    assert links.count("in-") == 2 and links.count("out-") == 2
    cpe.commit(
        f'<graphs xmlns="urn:nnfv:yang:nnfv-service-graph" xmlns:nc="{NC}"><graph '
        'nc:operation="delete"><name>two</name></graph></graphs>'
    )  # two leaves
    log = nf_log(cpe, next(iter(ns)))
    assert "left=two" in log
    assert Path(f"/run/netns/{next(iter(ns))}").exists()
    cpe.remove_all()
    cpe.assert_clean()


def test_template_with_wrong_digest_is_refused_and_nothing_is_created(cpe, tmp_path):
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON, sha256="0" * 64))
    with pytest.raises(NetconfError) as err:
        cpe.push(daemon_graph("g", ("a", "daemon", {})))
    assert "sha256 mismatch" in err.value.message
    cpe.assert_clean()


def test_malicious_archive_is_refused_and_writes_nothing_outside(cpe, tmp_path):
    evil = tmp_path / "evil.tgz"
    victim = tmp_path / "escaped"
    with tarfile.open(evil, "w:gz") as tar:
        for name in ("scripts/start", "scripts/stop", f"../../{'../' * 8}{victim}"):
            info = tarfile.TarInfo(name)
            info.size = 0
            tar.addfile(info)
        link = tarfile.TarInfo("scripts/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc"
        tar.addfile(link)
    from nnfv_agent.drivers.compute.archive import sha256_file

    xml = template_xml(tmp_path, "evil", DAEMON, archive="evil.tgz", sha256=sha256_file(evil))
    cpe.commit(xml)
    with pytest.raises(NetconfError) as err:
        cpe.push(daemon_graph("g", ("a", "evil", {})))
    assert "evil" in err.value.message
    assert not victim.exists()
    cpe.assert_clean()


def test_agent_killed_during_a_commit_restarts_consistent(cpe, tmp_path):
    import signal
    import threading

    cpe.commit(
        template_xml(tmp_path, "daemon", DAEMON)
        + template_xml(tmp_path, "slow", {"start": "sleep 3600 &\nsleep 5", "stop": "true"})
    )
    cpe.push(daemon_graph("stable", ("a", "daemon", {})))
    stable = cpe.snapshot()
    pids = nf_pids(cpe, "stable")["a"]

    def doomed_commit() -> None:
        try:
            cpe.push(
                daemon_graph("doomed", ("s", "slow", {}))
                .replace("lan0", "lan9")
                .replace("wan0", "wan9")
            )
        except (NetconfError, EOFError, OSError):
            pass

    from simfleet import sh

    for side in ("lan9", "wan9"):
        sh("ip", "link", "add", side, "type", "veth", "peer", "name", f"p{side}", ns=cpe.cpe_ns)
    worker = threading.Thread(target=doomed_commit)
    worker.start()
    deadline = time.monotonic() + 10
    while len(cpe.snapshot().namespaces) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    cpe.stop_agent(signal.SIGKILL)
    worker.join(10)
    cpe.start_agent()
    with cpe.client() as c:
        running = c.get_config("running")
    assert "doomed" not in running and "stable" in running
    now = cpe.snapshot()
    assert now.namespaces == stable.namespaces, "orphans of the killed commit remain"
    assert now.tables == stable.tables
    assert nf_pids(cpe, "stable")["a"] == pids, "the deployed graph was disturbed"
    cpe.remove_all()
    leaks = cpe.snapshot().leaks_since(cpe.baseline)
    assert set(leaks.pop("links", [])) <= {"lan9", "wan9", "plan9", "pwan9"}  # the test's own
    assert not leaks
