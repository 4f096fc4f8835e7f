"""Runtime supervision on a real agent and a simulated CPE: faults injected while it runs.

A daemon is killed, an NF's namespace or a graph's LSI table is deleted, a start script starts
failing for good, a confirmed-commit rollback fails: the agent must report it, repair it under
its restart policy, and say when it cannot. Outcomes are awaited by polling with generous
deadlines; no duration is asserted.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree
from ncclient import manager

from graphs import endpoint, fw_nat_graph, graphs_config, rule
from simfleet import PASSWORD, USER, sh
from support.clients import ncclient_connect
from support.traffic import ping, ping_eventually

from .conftest import SG, Cpe, simulated_cpe, template_xml
from .test_chains import same_subnet
from .test_lifecycle import namespace_of, nf_log, nf_pids
from .test_reconcile import graph_state, nf_status

AGENT = "urn:nnfv:yang:nnfv-agent"
SESSION_EVENTS = ("netconf-session-start", "netconf-session-end")

# A forwarding NF with a daemon: a bridge between its ports, and one long-lived process. Its
# start fails while the file named by the parameter `fail-flag` exists.
BRIDGED = {
    "start": 'if [ -e "${NNFV_PARAM_FAIL_FLAG:-/nonexistent}" ]; then echo "refusing"; exit 1; fi\n'
    "ip link add br0 type bridge\n"
    'ip link set "$1" master br0\nip link set "$2" master br0\n'
    'ip link set "$1" up\nip link set "$2" up\nip link set br0 up\n'
    'sleep 3600 & echo $! > "$NNFV_WORKDIR/pid"\necho "started"',
    "stop": 'kill "$(cat "$NNFV_WORKDIR/pid")" 2>/dev/null || true\n'
    "ip link del br0 2>/dev/null || true",
}


@pytest.fixture
def sup_cpe(tmp_path) -> Iterator[Cpe]:
    """A CPE whose agent checks often and restarts soon, so that tests do not wait long."""
    with simulated_cpe(
        tmp_path,
        supervise_interval="0.5",
        restart_min_interval="0.3",
        restart_max_interval="2",
        rollback_retry_min="0.5",
        rollback_retry_max="2",
    ) as sim:
        yield sim


def bridged_graph(name: str = "g", nf_policy: str = "", flag: str = "") -> str:
    params = (
        f"<config-parameter><name>fail-flag</name><value>{flag}</value></config-parameter>"
        if flag
        else ""
    )
    policy = f"<restart-policy>{nf_policy}</restart-policy>" if nf_policy else ""
    nf = (
        f"<nf><id>x</id><template>bridged</template>{policy}"
        f"<port><name>in</name></port><port><name>out</name></port>{params}</nf>"
    )
    return (
        f"<graph><name>{name}</name>{nf}{endpoint('lan', 'lan0')}{endpoint('wan', 'wan0')}"
        + rule("1", 10, "endpoint:lan", ["nf:x:in"])
        + rule("2", 10, "nf:x:out", ["endpoint:wan"])
        + rule("3", 10, "endpoint:wan", ["nf:x:out"])
        + rule("4", 10, "nf:x:in", ["endpoint:lan"])
        + "</graph>"
    )


def deploy(cpe: Cpe, tmp_path: Path, *, template_policy: str = "", **graph: str) -> str:
    tpl = template_xml(tmp_path, "bridged", BRIDGED, params=("fail-flag",))
    if template_policy:
        tpl = tpl.replace(
            "</sharable>", f"</sharable><restart-policy>{template_policy}</restart-policy>"
        )
    cpe.commit(tpl)
    cpe.push(bridged_graph(**graph))
    target = same_subnet(cpe)
    assert ping_eventually(cpe.lan_ns, target), "the graph does not forward before the fault"
    return target


def wait_for(check: Callable[[], object], timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


def subscribe(cpe: Cpe) -> manager.Manager:
    m = ncclient_connect(cpe, username=USER, password=PASSWORD)
    m.create_subscription()
    return m


def wait_notification(
    m: manager.Manager, match: Callable[[etree._Element], bool], timeout: float = 60
) -> etree._Element | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = m.take_notification(timeout=0.5)
        if n is None:
            continue
        event = etree.fromstring(n.notification_xml.encode())[1]
        if etree.QName(event).localname not in SESSION_EVENTS and match(event):
            return event
    return None


def nf_failed(nf: str) -> Callable[[etree._Element], bool]:
    def match(e: etree._Element) -> bool:
        return (
            etree.QName(e).localname == "nf-state-change"
            and e.findtext(f"{{{SG}}}nf") == nf
            and e.findtext(f"{{{SG}}}state") == "failed"
        )

    return match


def restarted(cpe: Cpe, old: list[int]) -> bool:
    pids = nf_pids(cpe, "g").get("x", [])
    status = nf_status(cpe, "g", "x")
    return bool(pids) and set(pids).isdisjoint(old) and "<state>running</state>" in status


def leaf(status: str, name: str) -> str | None:
    found = re.search(rf"<{name}>([^<]*)</{name}>", status)
    return found.group(1) if found else None


def test_killed_nf_daemon_is_reported_failed_then_restarted_and_traffic_flows_again(
    sup_cpe, tmp_path
):
    cpe = sup_cpe
    target = deploy(cpe, tmp_path)
    old = nf_pids(cpe, "g")["x"]
    assert len(old) == 1
    with subscribe(cpe) as m:
        os.kill(old[0], signal.SIGKILL)
        event = wait_notification(m, nf_failed("x"))
        assert event is not None, "no nf-state-change failed after the daemon was killed"
        assert f"process {old[0]} exited" in event.findtext(f"{{{SG}}}reason")
    assert wait_for(lambda: restarted(cpe, old)), nf_status(cpe, "g", "x")
    status = nf_status(cpe, "g", "x")
    assert leaf(status, "restart-count") == "1"
    assert leaf(status, "last-failure") and leaf(status, "last-restarted")
    assert ping_eventually(cpe.lan_ns, target), "no traffic after the automatic restart"
    assert wait_for(lambda: graph_state(cpe, "g") == "deployed")
    cpe.remove_all()
    cpe.assert_clean()


def test_nf_restarted_by_a_commit_is_not_taken_for_a_failure(sup_cpe, tmp_path):
    cpe = sup_cpe
    deploy(cpe, tmp_path, flag="/nonexistent/a")
    old = nf_pids(cpe, "g")["x"]
    with subscribe(cpe) as m:
        # A parameter change without an update script: the commit restarts the NF, so its
        # daemon dies on purpose.
        cpe.push(bridged_graph(flag="/nonexistent/b"))
        new = nf_pids(cpe, "g")["x"]
        assert new and set(new).isdisjoint(old)
        # A real failure afterwards: every event before its report came from the commit.
        os.kill(new[0], signal.SIGKILL)
        seen: list[etree._Element] = []

        def killed(e: etree._Element) -> bool:
            seen.append(e)
            return nf_failed("x")(e) and f"process {new[0]} " in e.findtext(f"{{{SG}}}reason")

        assert wait_notification(m, killed) is not None
    before = [
        (etree.QName(e).localname, e.findtext(f"{{{SG}}}state") or e.findtext(f"{{{SG}}}event"))
        for e in seen[:-1]
    ]
    assert ("nf-state-change", "failed") not in before, before
    assert ("graph-change", "degraded") not in before, before
    assert wait_for(lambda: restarted(cpe, new))
    cpe.remove_all()
    cpe.assert_clean()


def test_deleted_nf_namespace_is_recreated_and_forwards_again(sup_cpe, tmp_path):
    cpe = sup_cpe
    target = deploy(cpe, tmp_path)
    old = nf_pids(cpe, "g")["x"]
    netns = namespace_of(cpe, "x")
    sh("ip", "netns", "del", netns)
    assert wait_for(lambda: restarted(cpe, old)), nf_status(cpe, "g", "x")
    assert Path(f"/run/netns/{netns}").exists()
    assert leaf(nf_status(cpe, "g", "x"), "restart-count") == "1"
    assert ping_eventually(cpe.lan_ns, target)
    cpe.remove_all()
    cpe.assert_clean()


@pytest.mark.parametrize("what", ["table", "chain"])
def test_deleted_lsi_table_or_chain_is_recreated_and_the_graph_recovers(sup_cpe, tmp_path, what):
    cpe = sup_cpe
    target = deploy(cpe, tmp_path)
    deployed = cpe.snapshot()
    new = deployed.tables - cpe.baseline.tables
    assert len(new) == 1, new
    table = next(iter(new))
    # The chain of an endpoint (not of an NF port, whose loss is the NF's failure).
    chain = min(c for c in deployed.chains if c.startswith(f"{table}/") and "_nv" not in c)
    with subscribe(cpe) as m:
        if what == "table":
            sh("nft", "delete", "table", "netdev", table, ns=cpe.cpe_ns)
        else:
            sh("nft", "delete", "chain", "netdev", *chain.split("/"), ns=cpe.cpe_ns)
        assert not ping(cpe.lan_ns, target), "traffic passed without the LSI"
        degraded = wait_notification(
            m,
            lambda e: (
                etree.QName(e).localname == "graph-change"
                and e.findtext(f"{{{SG}}}event") == "degraded"
            ),
        )
        reason = f"LSI {what}"
        assert degraded is not None and reason in degraded.findtext(f"{{{SG}}}reason")
    assert wait_for(lambda: cpe.snapshot().chains == deployed.chains)
    assert ping_eventually(cpe.lan_ns, target)
    assert wait_for(lambda: graph_state(cpe, "g") == "deployed")
    cpe.remove_all()
    cpe.assert_clean()


def test_deleted_firewall_filter_table_is_found_by_its_status_script_and_repaired(sup_cpe):
    cpe = sup_cpe
    cpe.push(fw_nat_graph())
    fw_ns = namespace_of(cpe, "fw")
    table = ["nft", "list", "table", "bridge", "nnfv_fw"]
    assert sh(*table, ns=fw_ns, check=False).returncode == 0
    with subscribe(cpe) as m:
        # Nothing the kernel reports: only the template's status script can see this.
        sh("nft", "delete", "table", "bridge", "nnfv_fw", ns=fw_ns)
        event = wait_notification(m, nf_failed("fw"))
        assert event is not None
        assert "nnfv_fw is missing" in (event.findtext(f"{{{SG}}}reason") or "")

    def repaired() -> bool:
        status = nf_status(cpe, "fw-nat", "fw")
        ns = namespace_of(cpe, "fw")
        return "<state>running</state>" in status and sh(*table, ns=ns, check=False).returncode == 0

    assert wait_for(repaired)
    assert wait_for(lambda: graph_state(cpe, "fw-nat") == "deployed")
    cpe.remove_all()
    cpe.assert_clean()


def test_start_script_failing_for_good_is_retried_up_to_the_maximum_then_stays_failed(
    sup_cpe, tmp_path
):
    cpe = sup_cpe
    flag = tmp_path / "fail"
    # The template allows 5 restarts; the NF overrides it with 2.
    deploy(
        cpe,
        tmp_path,
        template_policy="<max-restarts>5</max-restarts>"
        "<retry-minimum-wait-interval>0.2</retry-minimum-wait-interval>",
        nf_policy="<max-restarts>2</max-restarts>",
        flag=str(flag),
    )
    netns = namespace_of(cpe, "x")
    old = nf_pids(cpe, "g")["x"]
    flag.write_text("")
    os.kill(old[0], signal.SIGKILL)

    def exhausted() -> str | None:
        status = nf_status(cpe, "g", "x")
        return status if leaf(status, "restarts-exhausted") == "true" else None

    status = wait_for(exhausted)
    assert status, nf_status(cpe, "g", "x")
    assert leaf(status, "state") == "failed"
    assert leaf(status, "restart-count") == "2"
    assert "gave up after 2 restart(s)" in leaf(status, "last-error")
    assert graph_state(cpe, "g") == "degraded"
    assert leaf(status, "next-restart") is None, "a restart is still planned"
    assert nf_log(cpe, netns).count("refusing") == 2, "not exactly two restart attempts"
    flag.unlink()
    cpe.remove_all()
    cpe.assert_clean()


def rollback_state(cpe: Cpe) -> str:
    with cpe.client() as c:
        return c.rpc(
            f'<get><filter type="subtree"><confirmed-commit-rollback xmlns="{AGENT}"/>'
            "</filter></get>"
        )


def test_failed_confirmed_commit_rollback_is_retried_until_it_succeeds(sup_cpe, tmp_path):
    cpe = sup_cpe
    flag = tmp_path / "fail"
    deploy(cpe, tmp_path, flag=str(flag))
    rollback_file = Path(cpe.dir) / "state" / "confirmed-commit-rollback.xml"
    with cpe.client() as c:
        c.rpc(
            "<edit-config><target><candidate/></target><default-operation>replace"
            '</default-operation><config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
            f"{graphs_config()}</config></edit-config>"
        )
        c.rpc("<commit><confirmed/><persist>p1</persist></commit>")
    assert "<name>g</name>" not in cpe.get_state()
    flag.write_text("")  # the NF of the configuration to restore cannot start now
    with subscribe(cpe) as m:
        with cpe.client() as c:
            c.rpc("<cancel-commit><persist-id>p1</persist-id></cancel-commit>")
        failed = wait_notification(
            m,
            lambda e: (
                etree.QName(e).localname == "rollback-retry"
                and e.findtext(f"{{{AGENT}}}event") == "failed"
            ),
        )
        assert failed is not None, "no rollback-retry notification"
        assert "refusing" in failed.findtext(f"{{{AGENT}}}reason")
        assert rollback_file.exists(), "the rollback file was dropped after a failed rollback"
        state = wait_for(lambda: "<attempts>2</attempts>" in rollback_state(cpe))
        assert state, rollback_state(cpe)
        flag.unlink()
        done = wait_notification(
            m,
            lambda e: (
                etree.QName(e).localname == "rollback-retry"
                and e.findtext(f"{{{AGENT}}}event") == "succeeded"
            ),
        )
        assert done is not None
    assert "<confirmed-commit-rollback" not in rollback_state(cpe)
    assert not rollback_file.exists()
    assert nf_pids(cpe, "g")["x"], "the restored graph does not run"
    assert graph_state(cpe, "g") == "deployed"
    cpe.remove_all()
    cpe.assert_clean()
