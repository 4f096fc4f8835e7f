"""Confirmed commit (RFC 6241 8.4) against the kernel: timeout, cancel and confirm."""

from __future__ import annotations

import time

from graphs import graphs_config

from .conftest import template_xml
from .test_lifecycle import DAEMON, daemon_graph, extra_interfaces, nf_pids


def _wait_for(check, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _trial() -> str:
    return (
        daemon_graph("trial", ("t", "daemon", {})).replace("lan0", "lan9").replace("wan0", "wan9")
    )


def _prepare(cpe, tmp_path):
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON))
    cpe.push(daemon_graph("base", ("a", "daemon", {})))
    extra_interfaces(cpe, "lan9", "wan9")
    return cpe.snapshot(), nf_pids(cpe, "base")["a"]


def _confirmed_commit(cpe, extra: str = "") -> None:
    with cpe.client() as c:
        c.edit_config(graphs_config(_trial()))
        c.rpc(f"<commit><confirmed/>{extra}</commit>")


def test_confirmed_commit_timeout_removes_the_trial_graph_from_the_kernel(cpe, tmp_path):
    before, pids = _prepare(cpe, tmp_path)
    _confirmed_commit(cpe, "<confirm-timeout>1</confirm-timeout><persist>p1</persist>")
    assert len(cpe.snapshot().namespaces) == len(before.namespaces) + 1
    assert _wait_for(lambda: cpe.snapshot().namespaces == before.namespaces)
    with cpe.client() as c:
        assert "trial" not in c.get_config("running")
    now = cpe.snapshot()
    assert (now.links, now.tables, now.chains, now.cgroups) == (
        before.links,
        before.tables,
        before.chains,
        before.cgroups,
    )
    assert nf_pids(cpe, "base")["a"] == pids


def test_cancel_commit_restores_the_kernel_and_confirm_keeps_it(cpe, tmp_path):
    before, pids = _prepare(cpe, tmp_path)
    _confirmed_commit(cpe, "<confirm-timeout>120</confirm-timeout><persist>p2</persist>")
    with cpe.client() as c:
        c.rpc("<cancel-commit><persist-id>p2</persist-id></cancel-commit>")
    now = cpe.snapshot()
    assert (now.namespaces, now.links, now.tables, now.chains) == (
        before.namespaces,
        before.links,
        before.tables,
        before.chains,
    )
    _confirmed_commit(cpe, "<confirm-timeout>120</confirm-timeout><persist>p3</persist>")
    with cpe.client() as c:
        c.rpc("<commit><persist-id>p3</persist-id></commit>")
    trial_pids = nf_pids(cpe, "trial")["t"]
    assert trial_pids
    assert nf_pids(cpe, "base")["a"] == pids
    cpe.stop_agent()
    cpe.start_agent()
    assert nf_pids(cpe, "trial")["t"] == trial_pids, "a confirmed commit survives a restart"
